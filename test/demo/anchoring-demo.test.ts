import { expect } from "chai";
import { ethers } from "hardhat";
import { runAnchoringDemo } from "../../src/demo/anchoring-demo";
import { runRegistryDemo } from "../../src/demo/registry-demo";

describe("demo", function () {
  describe("runAnchoringDemo", function () {
    it("anchors a fleet's readings; the partner's bundle verifies, a tampered or revoked one does not", async function () {
      const [admin, manufacturer, owner, buyer, relayer, batcher] = await ethers.getSigners();
      const { registry } = await runRegistryDemo({
        admin: admin!,
        manufacturer: manufacturer!,
        owner: owner!,
        buyer: buyer!,
        relayer: relayer!,
      });
      const lines: string[] = [];
      const result = await runAnchoringDemo({
        registry,
        admin: admin!,
        manufacturer: manufacturer!,
        owner: owner!,
        batcher: batcher!,
        devices: 5,
        readingsPerDevice: 12,
        log: (line) => lines.push(line),
      });
      expect(result.report.ok).to.equal(true);
      expect(result.bundle.readings).to.have.length(12);
      expect(result.bundle.batches).to.have.length(2);
      const failed = (r: typeof result.report) => r.checks.filter((c) => c.status === "fail").map((c) => c.check);
      expect(failed(result.tamperedReport)).to.deep.equal(["device-signature", "merkle-inclusion"]);
      expect(failed(result.revokedReport)).to.deep.equal(["device-valid"]);
      expect(lines.some((l) => l.includes("in one transaction"))).to.equal(true);
    });
  });
});
