import { expect } from "chai";
import { ethers } from "hardhat";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { DeviceKey } from "../../src/device";
import {
  READING_ABI_TYPES,
  encodeReading,
  TELEMETRY_TYPES,
  readingDigest,
  readingValues,
  structHash,
  typeHash,
} from "../../src/eip712";
import { MerkleTree } from "../../src/merkle";
import { ReadingBatch, readingDigestAndLeaf, readingLeaf } from "../../src/telemetry";
import type { Reading } from "../../src/telemetry";
import { anchorFixture, anchoredBatch, readingsOf, sign, TEMPERATURE } from "../helpers/anchor";
import { highS } from "../helpers/registry";

async function harness() {
  return ethers.deployContract("ReadingsHarness");
}

async function parityFixture() {
  const fx = await anchorFixture();
  return { fx, h: await harness() };
}

const reading = fc.record({
  device: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => ethers.getAddress(ethers.hexlify(b))),
  sequence: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  timestamp: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  metric: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ethers.hexlify(b)),
  value: fc.bigInt({ min: -(2n ** 255n), max: 2n ** 255n - 1n }),
  payloadHash: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ethers.hexlify(b)),
});

describe("TelemetryAnchor: readings", function () {
  describe("parity (TypeScript == Solidity)", function () {
    it("the Reading type hash matches Readings.READING_TYPEHASH", async function () {
      const h = await loadFixture(harness);
      expect(await h.readingTypeHash()).to.equal(typeHash(TELEMETRY_TYPES, "Reading"));
    });

    it("property: leaf, struct hash and digest match the contracts and StandardMerkleTree", async function () {
      const { fx, h } = await loadFixture(parityFixture);
      await fc.assert(
        fc.asyncProperty(reading, async (r: Reading) => {
          expect(ethers.hexlify(encodeReading(r))).to.equal(
            ethers.AbiCoder.defaultAbiCoder().encode(READING_ABI_TYPES, readingValues(r)),
          );
          expect(await h.leaf(r)).to.equal(readingLeaf(r));
          expect(StandardMerkleTree.of([readingValues(r)], READING_ABI_TYPES).leafHash(readingValues(r))).to.equal(
            readingLeaf(r),
          );
          expect(await h.structHash(r)).to.equal(structHash(TELEMETRY_TYPES, "Reading", { ...r }));
          expect(await fx.anchor.readingDigest(r)).to.equal(readingDigest(fx.telemetry, r));
          expect(readingDigest(fx.telemetry, r)).to.equal(
            ethers.TypedDataEncoder.hash(fx.telemetry, { Reading: [...TELEMETRY_TYPES.Reading] }, r),
          );
          // The batcher's one-encoding form gives the same digest and leaf.
          const { digest, leaf } = readingDigestAndLeaf(fx.telemetry, r);
          expect([ethers.hexlify(digest), ethers.hexlify(leaf)]).to.deep.equal([
            readingDigest(fx.telemetry, r),
            readingLeaf(r),
          ]);
        }),
        { numRuns: 30 },
      );
    });

    it("a signature by ethers' signTypedData is the same as DeviceKey.signReading", async function () {
      const fx = await loadFixture(anchorFixture);
      const wallet = ethers.Wallet.createRandom();
      const device = DeviceKey.fromPrivateKey(wallet.privateKey);
      const [r] = readingsOf(device, 1);
      expect(device.signReading(fx.telemetry, r!)).to.equal(
        await wallet.signTypedData(fx.telemetry, { Reading: [...TELEMETRY_TYPES.Reading] }, r!),
      );
    });
  });

  describe("verifyReading", function () {
    it("accepts every reading of an anchored batch with its proof", async function () {
      const fx = await loadFixture(anchorFixture);
      const { batch, anchored } = await anchoredBatch(fx, 9);
      for (let i = 0; i < batch.length; i++) {
        const params = { batchId: anchored.batchId, reading: batch.readings[i]!.reading, proof: batch.proof(i) };
        expect(await fx.anchorClient.verifyReading(params)).to.equal(true);
      }
    });

    it("rejects a tampered value, a wrong proof, a wrong batch id and batch id 0", async function () {
      const fx = await loadFixture(anchorFixture);
      const { batch, anchored } = await anchoredBatch(fx, 9);
      const { reading } = batch.readings[4]!;
      const proof = batch.proof(4);
      const verify = (r: Reading, p: string[], batchId = anchored.batchId) =>
        fx.anchorClient.verifyReading({ batchId, reading: r, proof: p });
      expect(await verify({ ...reading, value: reading.value + 1n }, proof)).to.equal(false);
      expect(await verify(reading, batch.proof(5))).to.equal(false);
      expect(await verify(reading, proof.slice(1))).to.equal(false);
      expect(await verify(reading, proof, anchored.batchId + 1n)).to.equal(false);
      expect(await verify(reading, proof, 0n)).to.equal(false);
    });

    it("rejects a reading of a batch that was never anchored", async function () {
      const fx = await loadFixture(anchorFixture);
      const batch = await ReadingBatch.build(sign(fx, fx.device, readingsOf(fx.device, 4)));
      expect(
        await fx.anchorClient.verifyReading({
          batchId: 1n,
          reading: batch.readings[0]!.reading,
          proof: batch.proof(0),
        }),
      ).to.equal(false);
    });
  });

  describe("verifyReadings", function () {
    it("accepts a multiproof of several readings", async function () {
      const fx = await loadFixture(anchorFixture);
      const { batch, anchored } = await anchoredBatch(fx, 13);
      const multiProof = batch.multiProof([0, 5, 6, 12]);
      const readings = multiProof.indices.map((i) => batch.readings[i]!.reading);
      expect(await fx.anchorClient.verifyReadings({ batchId: anchored.batchId, readings, multiProof })).to.equal(true);
      const tampered = readings.map((r, i) => (i === 1 ? { ...r, metric: ethers.id("other") } : r));
      expect(
        await fx.anchorClient.verifyReadings({ batchId: anchored.batchId, readings: tampered, multiProof }),
      ).to.equal(false);
      expect(await fx.anchorClient.verifyReadings({ batchId: 0n, readings, multiProof })).to.equal(false);
    });

    it("security: an empty reading set reverts with AnchorEmptyInput (GHSA-wprv-93r4-jj2p)", async function () {
      const fx = await loadFixture(anchorFixture);
      const { batch, anchored } = await anchoredBatch(fx, 4);
      // With no leaves, OpenZeppelin's multiproof returns proof[0]: the root itself would "prove" nothing.
      await expect(fx.anchor.verifyReadings(anchored.batchId, [], [batch.root], [])).to.be.revertedWithCustomError(
        fx.anchor,
        "AnchorEmptyInput",
      );
    });
  });

  describe("checkProvenReading", function () {
    it("returns the anchoring moment for a signed, anchored reading of an active device", async function () {
      const fx = await loadFixture(anchorFixture);
      const { batch, anchored } = await anchoredBatch(fx, 5);
      const { reading, signature } = batch.readings[2]!;
      const record = await fx.anchorClient.getAnchor(batch.root);
      expect(
        await fx.anchorClient.checkProvenReading({
          batchId: anchored.batchId,
          reading,
          signature,
          proof: batch.proof(2),
        }),
      ).to.equal(record.anchoredMoment);
      expect(record.anchoredMoment >> 16n).to.equal(record.anchoredAt);
    });

    it("reverts with AnchorInvalidReadingSignature for another key's signature", async function () {
      const fx = await loadFixture(anchorFixture);
      const { batch, anchored } = await anchoredBatch(fx, 3);
      const { reading } = batch.readings[0]!;
      const intruder = DeviceKey.generate();
      const forged = intruder.signDigest(readingDigest(fx.telemetry, reading));
      await expect(fx.anchor.checkProvenReading(anchored.batchId, reading, forged, batch.proof(0)))
        .to.be.revertedWithCustomError(fx.anchor, "AnchorInvalidReadingSignature")
        .withArgs(reading.device, intruder.address);
    });

    it("security: a malleable (high-s) signature is rejected", async function () {
      const fx = await loadFixture(anchorFixture);
      const { batch, anchored } = await anchoredBatch(fx, 3);
      const { reading, signature } = batch.readings[0]!;
      await expect(fx.anchor.checkProvenReading(anchored.batchId, reading, highS(signature), batch.proof(0)))
        .to.be.revertedWithCustomError(fx.anchor, "AnchorInvalidReadingSignature")
        .withArgs(reading.device, ethers.ZeroAddress);
    });

    it("security: a signature for another chain or anchor contract is rejected", async function () {
      const fx = await loadFixture(anchorFixture);
      const { batch, anchored } = await anchoredBatch(fx, 3);
      const { reading } = batch.readings[0]!;
      for (const domain of [
        { ...fx.telemetry, chainId: fx.telemetry.chainId + 1n },
        { ...fx.telemetry, verifyingContract: fx.other.address },
      ]) {
        const signature = fx.device.signReading(domain, reading);
        await expect(
          fx.anchor.checkProvenReading(anchored.batchId, reading, signature, batch.proof(0)),
        ).to.be.revertedWithCustomError(fx.anchor, "AnchorInvalidReadingSignature");
      }
    });

    it("reverts with AnchorReadingNotAnchored for a wrong proof or batch id", async function () {
      const fx = await loadFixture(anchorFixture);
      const { batch, anchored } = await anchoredBatch(fx, 3);
      const { reading, signature } = batch.readings[0]!;
      const wrong = batch.proof(1);
      const root = MerkleTree.processProof(readingLeaf(reading), wrong);
      await expect(fx.anchor.checkProvenReading(anchored.batchId, reading, signature, wrong))
        .to.be.revertedWithCustomError(fx.anchor, "AnchorReadingNotAnchored")
        .withArgs(anchored.batchId, root);
      await expect(fx.anchor.checkProvenReading(0n, reading, signature, batch.proof(0)))
        .to.be.revertedWithCustomError(fx.anchor, "AnchorReadingNotAnchored")
        .withArgs(0n, batch.root);
    });

    it("security: a revoked device's readings anchored after revocation fail with AnchorDeviceNotValid", async function () {
      const fx = await loadFixture(anchorFixture);
      await fx.registry.connect(fx.owner).revoke(fx.deviceId, 7);
      const { batch, anchored } = await anchoredBatch(fx, 3);
      const { reading, signature } = batch.readings[0]!;
      const { anchoredMoment } = await fx.anchorClient.getAnchor(batch.root);
      await expect(fx.anchor.checkProvenReading(anchored.batchId, reading, signature, batch.proof(0)))
        .to.be.revertedWithCustomError(fx.anchor, "AnchorDeviceNotValid")
        .withArgs(reading.device, anchoredMoment);
    });

    it("security (same block): a reading anchored before a revocation in the same block stays valid; after it, not", async function () {
      const fx = await loadFixture(anchorFixture);
      const early = await ReadingBatch.build(sign(fx, fx.device, readingsOf(fx.device, 2)));
      const late = await ReadingBatch.build(sign(fx, fx.device, readingsOf(fx.device, 2, 10n)));
      // One block: anchor, revoke, anchor, in that order.
      await ethers.provider.send("evm_setAutomine", [false]);
      try {
        const a = await fx.anchor.connect(fx.relayer).anchor(early.header(), { gasLimit: 300_000 });
        const r = await fx.registry.connect(fx.owner).revoke(fx.deviceId, 7, { gasLimit: 300_000 });
        const b = await fx.anchor.connect(fx.relayer).anchor(late.header(), { gasLimit: 300_000 });
        await ethers.provider.send("evm_mine", []);
        const [ra, rr, rb] = await Promise.all([a.wait(), r.wait(), b.wait()]);
        expect(new Set([ra!.blockNumber, rr!.blockNumber, rb!.blockNumber]).size).to.equal(1);
        expect([ra!.index, rr!.index, rb!.index]).to.deep.equal([0, 1, 2]);
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
      }
      const before = early.readings[0]!;
      await expect(fx.anchor.checkProvenReading(1n, before.reading, before.signature, early.proof(0))).not.to.be
        .reverted;
      const after = late.readings[0]!;
      const { anchoredMoment } = await fx.anchorClient.getAnchor(late.root);
      await expect(fx.anchor.checkProvenReading(2n, after.reading, after.signature, late.proof(0)))
        .to.be.revertedWithCustomError(fx.anchor, "AnchorDeviceNotValid")
        .withArgs(after.reading.device, anchoredMoment);
      // Both batches share one block time; only the registry moment tells them apart.
      const first = await fx.anchorClient.getAnchor(early.root);
      expect(first.anchoredAt).to.equal((await fx.anchorClient.getAnchor(late.root)).anchoredAt);
      expect(first.registrySeq).to.be.lessThan(anchoredMoment & 0xffffn);
    });

    it("readings anchored before a revocation stay provable", async function () {
      const fx = await loadFixture(anchorFixture);
      const { batch, anchored } = await anchoredBatch(fx, 3);
      await fx.registry.connect(fx.owner).revoke(fx.deviceId, 7);
      const { reading, signature } = batch.readings[1]!;
      await expect(fx.anchor.checkProvenReading(anchored.batchId, reading, signature, batch.proof(1))).not.to.be
        .reverted;
    });

    it("readings of an unknown key fail with AnchorDeviceNotValid", async function () {
      const fx = await loadFixture(anchorFixture);
      const stranger = DeviceKey.generate();
      const batch = await ReadingBatch.build(sign(fx, stranger, readingsOf(stranger, 2)));
      const anchored = await fx.anchorClient.anchor(batch.header());
      const { reading, signature } = batch.readings[0]!;
      await expect(
        fx.anchor.checkProvenReading(anchored.batchId, reading, signature, batch.proof(0)),
      ).to.be.revertedWithCustomError(fx.anchor, "AnchorDeviceNotValid");
    });
  });

  describe("readingDigest", function () {
    it("depends on every field", async function () {
      const fx = await loadFixture(anchorFixture);
      const [r] = readingsOf(fx.device, 1);
      const base = await fx.anchor.readingDigest(r!);
      const variants: Reading[] = [
        { ...r!, device: fx.other.address },
        { ...r!, sequence: r!.sequence + 1n },
        { ...r!, timestamp: r!.timestamp + 1n },
        { ...r!, metric: ethers.id("humidity") },
        { ...r!, value: -r!.value },
        { ...r!, payloadHash: ethers.id("x") },
      ];
      for (const variant of variants) expect(await fx.anchor.readingDigest(variant)).not.to.equal(base);
      expect(TEMPERATURE).to.equal(ethers.encodeBytes32String("temperature.mC"));
    });
  });
});
