import { expect } from "chai";
import { ethers } from "hardhat";
import { runDemo } from "../../src/demo";

describe("demo", function () {
  describe("runDemo", function () {
    it("anchors a fleet's readings; the partner's bundle verifies, a tampered or revoked one does not", async function () {
      const lines: string[] = [];
      const { anchoring } = await runDemo({
        signers: await ethers.getSigners(),
        devices: 5,
        readingsPerDevice: 12,
        log: (line) => lines.push(line),
      });
      expect(anchoring.report.ok).to.equal(true);
      expect(anchoring.bundle.readings).to.have.length(12);
      expect(anchoring.bundle.batches).to.have.length(2);
      const failed = (r: typeof anchoring.report) => r.checks.filter((c) => c.status === "fail").map((c) => c.check);
      expect(failed(anchoring.tamperedReport)).to.deep.equal(["device-signature", "merkle-inclusion"]);
      expect(failed(anchoring.revokedReport)).to.deep.equal(["device-valid"]);
      expect(lines).to.include("\n== telemetry anchoring");
      expect(lines.some((l) => l.includes("in one transaction"))).to.equal(true);
    });
  });
});
