import { expect } from "chai";
import { ethers } from "hardhat";
import { runDemo } from "../../src/demo";

describe("demo", function () {
  describe("runDemo", function () {
    it("anchors a fleet's readings (bundle verifies, tampered or revoked does not) and pays by channel and escrow", async function () {
      const lines: string[] = [];
      const { anchoring, payments } = await runDemo({
        signers: await ethers.getSigners(),
        devices: 5,
        readingsPerDevice: 12,
        vouchers: 200,
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
      expect(payments.paid).to.equal(200n * 10n ** 12n);
      expect(payments.channelTransactions).to.equal(2);
      expect(payments.escrowStatus).to.equal(2); // Released
    });
  });
});
