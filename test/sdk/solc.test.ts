import { expect } from "chai";
import { SOLC_VERSION, localSolcBuild } from "../../src/tooling/solc";

describe("offline solc", function () {
  describe("localSolcBuild", function () {
    it("returns the npm package's soljson.js for the pinned version", function () {
      const build = localSolcBuild(SOLC_VERSION);
      expect(build).to.include({ version: SOLC_VERSION, isSolcJs: true });
      expect(build.compilerPath).to.match(/solc\/soljson\.js$/);
      expect(build.longVersion).to.match(new RegExp(`^${SOLC_VERSION.replace(/\./g, "\\.")}\\+commit\\.[0-9a-f]{8}$`));
    });

    it("fails with a clear message when the requested version differs from the installed package", function () {
      expect(() => localSolcBuild("0.8.29")).to.throw(/solc@0\.8\.30, but Solidity 0\.8\.29 was requested/);
    });
  });
});
