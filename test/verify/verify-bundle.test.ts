import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { DeviceKey } from "../../src/device";
import { Lot } from "../../src/registry";
import { ReadingBatch } from "../../src/telemetry";
import { pinTrust, formatReport, verifyBundle } from "../../src/verify";
import type { CheckName, VerificationReport } from "../../src/verify";
import { readingsOf, sign } from "../helpers/anchor";
import { anchorBatch, bundleFixture, bundleOf, clone, pinned } from "../helpers/bundle";
import { METADATA } from "../helpers/registry";

function failed(report: VerificationReport): CheckName[] {
  return [...new Set(report.checks.filter((c) => c.status === "fail").map((c) => c.check))];
}

function statusOf(report: VerificationReport, check: CheckName): string[] {
  return report.checks.filter((c) => c.check === check).map((c) => c.status);
}

describe("verifyBundle", function () {
  describe("a good bundle", function () {
    it("passes every check against the chain the test anchored to", async function () {
      const fx = await loadFixture(bundleFixture);
      const report = await verifyBundle(JSON.stringify(fx.bundle), pinned(fx));
      expect(report.ok, formatReport(report)).to.equal(true);
      expect(report.mode).to.equal("online");
      expect(report.checks.filter((c) => c.status !== "pass")).to.deep.equal([]);
      expect(statusOf(report, "device-signature")).to.have.length(12);
      expect(statusOf(report, "merkle-inclusion")).to.have.length(12);
      expect(statusOf(report, "device-valid")).to.deep.equal(["pass", "pass"]);
      expect(report.verdict).to.equal("verified");
      expect(formatReport(report)).to.contain("VERIFIED (online, against the anchor pinned by test)");
    });

    it("offline mode runs every check but the chain checks, which it skips", async function () {
      const fx = await loadFixture(bundleFixture);
      const report = await verifyBundle(fx.bundle, { trusted: pinned(fx).trusted });
      expect(report.ok).to.equal(false);
      expect(report.verdict).to.equal("not-verified");
      expect(report.mode).to.equal("offline");
      const skipped = report.checks.filter((c) => c.status === "skip").map((c) => c.check);
      expect(skipped).to.deep.equal([
        "chain-id",
        "anchor-contract",
        "root-anchored",
        "anchor-transaction",
        "confirmations",
        "device-valid",
      ]);
    });

    it("a lot entry that was never claimed is valid through its lot membership proof", async function () {
      const fx = await loadFixture(bundleFixture);
      const device = DeviceKey.generate();
      const lot = Lot.build([
        { key: device.address, metadataHash: METADATA },
        { key: DeviceKey.generate().address, metadataHash: METADATA },
      ]);
      await fx.registry.connect(fx.manufacturer).commitLot(lot.root, fx.owner.address, 2, "ipfs://lot");
      const source = await anchorBatch(fx, await ReadingBatch.build(sign(fx, device, readingsOf(device, 3))));
      const lotRef = { lotId: 1n, metadataHash: METADATA, proof: lot.proof(device.address) };
      const bundle = bundleOf(fx, [{ source, indices: [0, 1, 2] }], { lot: lotRef });
      const report = await verifyBundle(bundle, pinned(fx));
      expect(report.ok, formatReport(report)).to.equal(true);
      const withoutLot = bundleOf(fx, [{ source, indices: [0, 1, 2] }]);
      expect(failed(await verifyBundle(withoutLot, pinned(fx)))).to.deep.equal(["device-valid"]);
    });
  });

  describe("bad bundles each fail a named check", function () {
    it("a tampered value: the device signature and the Merkle inclusion fail", async function () {
      const fx = await loadFixture(bundleFixture);
      const bundle = clone(fx.bundle);
      bundle.readings[2]!.reading.value = "99999";
      const report = await verifyBundle(bundle, pinned(fx));
      expect(report.ok).to.equal(false);
      expect(failed(report)).to.deep.equal(["device-signature", "merkle-inclusion"]);
      expect(report.checks.find((c) => c.status === "fail")!.subject).to.equal("reading #3");
    });

    it("a wrong proof: the Merkle inclusion fails", async function () {
      const fx = await loadFixture(bundleFixture);
      const bundle = clone(fx.bundle);
      bundle.readings[0]!.proof = bundle.readings[1]!.proof;
      expect(failed(await verifyBundle(bundle, pinned(fx)))).to.deep.equal(["merkle-inclusion"]);
    });

    it("a wrong chain id: the signature (domain) and the chain check fail", async function () {
      const fx = await loadFixture(bundleFixture);
      const bundle = clone(fx.bundle);
      bundle.chainId = "1";
      expect(failed(await verifyBundle(bundle, pinned(fx)))).to.deep.equal(["device-signature", "chain-id"]);
    });

    it("an unanchored root: the root-anchored check fails", async function () {
      const fx = await loadFixture(bundleFixture);
      const batch = await ReadingBatch.build(sign(fx, fx.device, readingsOf(fx.device, 3, 100n)));
      const fake = { batchId: 3n, root: batch.root, submitter: fx.relayer.address };
      const bundle = bundleOf(fx, [
        {
          source: {
            batch,
            anchored: {
              ...fake,
              transactionHash: ethers.id("tx"),
              blockNumber: 1,
              blockHash: ethers.id("b"),
              anchoredAt: 0n,
            },
          },
          indices: [0, 1, 2],
        },
      ]);
      const report = await verifyBundle(bundle, pinned(fx));
      expect(failed(report)).to.deep.equal(["root-anchored"]);
      expect(report.checks.find((c) => c.status === "fail")!.message).to.contain("is not anchored");
    });

    it("a batch id that does not match the root's anchor record fails root-anchored", async function () {
      const fx = await loadFixture(bundleFixture);
      const bundle = clone(fx.bundle);
      bundle.batches[0]!.batchId = "2";
      bundle.batches[1]!.batchId = "1";
      bundle.readings.forEach((r) => (r.batchId = r.batchId === "1" ? "2" : "1"));
      expect(failed(await verifyBundle(bundle, pinned(fx)))).to.deep.equal(["root-anchored", "anchor-transaction"]);
    });

    it("a revoked device: readings anchored after the revocation fail device-valid", async function () {
      const fx = await loadFixture(bundleFixture);
      await fx.registry.connect(fx.owner).revoke(fx.deviceId, 3);
      const late = await anchorBatch(fx, await ReadingBatch.build(sign(fx, fx.device, readingsOf(fx.device, 2, 13n))));
      const bundle = bundleOf(fx, [
        { source: fx.first, indices: [0] },
        { source: late, indices: [0, 1] },
      ]);
      const report = await verifyBundle(bundle, pinned(fx));
      expect(failed(report)).to.deep.equal(["completeness", "device-valid"]);
      // the earlier batch, anchored while the device was active, still passes
      expect(statusOf(report, "device-valid")).to.deep.equal(["pass", "fail"]);
    });

    it("a missing field: the schema check names it", async function () {
      const fx = await loadFixture(bundleFixture);
      const bundle = clone(fx.bundle) as unknown as { readings: { reading: Record<string, unknown> }[] };
      delete bundle.readings[0]!.reading.payloadHash;
      const report = await verifyBundle(bundle);
      expect(failed(report)).to.deep.equal(["schema"]);
      expect(report.checks.find((c) => c.check === "schema")!.message).to.contain('missing field "payloadHash"');
    });

    it("malformed JSON: the json check fails and the rest is skipped", async function () {
      const report = await verifyBundle('{"version": 1, "readings": [');
      expect(failed(report)).to.deep.equal(["json"]);
      expect(report.checks.slice(1).every((c) => c.status === "skip")).to.equal(true);
    });

    it("a wrong version: the version check fails", async function () {
      const fx = await loadFixture(bundleFixture);
      const report = await verifyBundle({ ...fx.bundle, version: 2 });
      expect(failed(report)).to.deep.equal(["version"]);
      expect(report.checks[0]!.message).to.contain("unsupported bundle version 2");
    });

    it("gaps in the claimed range are reported", async function () {
      const fx = await loadFixture(bundleFixture);
      const bundle = clone(fx.bundle);
      bundle.readings = bundle.readings.filter((r) => !["4", "7", "8"].includes(r.reading.sequence));
      const report = await verifyBundle(bundle, pinned(fx));
      expect(failed(report)).to.deep.equal(["completeness"]);
      const check = report.checks.find((c) => c.check === "completeness")!;
      expect(check.message).to.equal("3 reading(s) missing from 1..12: 4, 7..8");
    });

    it("a reading outside the claimed range, or a repeated sequence, fails completeness", async function () {
      const fx = await loadFixture(bundleFixture);
      const narrow = clone(fx.bundle);
      narrow.range = { fromSequence: "1", toSequence: "10" };
      expect(failed(await verifyBundle(narrow))).to.deep.equal(["completeness"]);
      const repeated = clone(fx.bundle);
      repeated.readings.push(repeated.readings[0]!);
      expect(failed(await verifyBundle(repeated))).to.deep.equal(["completeness"]);
    });

    it("too few confirmations fail until enough blocks are mined", async function () {
      const fx = await loadFixture(bundleFixture);
      const report = await verifyBundle(fx.bundle, pinned(fx, { minConfirmations: 6 }));
      expect(failed(report)).to.deep.equal(["confirmations"]);
      await mine(5);
      expect((await verifyBundle(fx.bundle, pinned(fx, { minConfirmations: 6 }))).ok).to.equal(true);
    });

    it("a block hash that is not the transaction's (a reorganized anchor) fails anchor-transaction", async function () {
      const fx = await loadFixture(bundleFixture);
      const bundle = clone(fx.bundle);
      bundle.batches[0]!.blockHash = ethers.id("another block");
      expect(failed(await verifyBundle(bundle, pinned(fx)))).to.deep.equal(["anchor-transaction"]);
    });

    it("an anchor address other than the one the partner trusts fails anchor-contract", async function () {
      const fx = await loadFixture(bundleFixture);
      const trusted = pinTrust({ anchor: fx.other.address }, { kind: "program", what: "test" });
      const report = await verifyBundle(fx.bundle, { provider: ethers.provider, trusted });
      expect(failed(report)).to.deep.equal(["anchor-contract"]);
      expect((await verifyBundle(fx.bundle, pinned(fx))).ok).to.equal(true);
    });

    it("a registry other than the anchor's fails anchor-contract", async function () {
      const fx = await loadFixture(bundleFixture);
      const bundle = clone(fx.bundle);
      bundle.registry = fx.other.address;
      expect(failed(await verifyBundle(bundle, pinned(fx)))).to.deep.equal(["anchor-contract"]);
    });
  });
});
