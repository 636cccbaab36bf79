/**
 * The rogue manufacturer (N-M2): any holder of MANUFACTURER_ROLE can commit a lot holding any key, since a
 * commit proves no possession. It tries to make a lot vouch for a key whose owner revoked it, or rotated it
 * away. The rule: a key's own device record decides over any lot from the moment the record names the key,
 * in the contract, in the verifier and in the batcher.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { JsonRpcProvider } from "ethers";
import { dirname, join } from "node:path";
import type { BatcherService } from "../../src/batcher";
import { DeviceKey } from "../../src/device";
import { Lot, claimLotDevice } from "../../src/registry";
import { writeLotEntries } from "../../src/registry/lot-entries";
import { ReadingBatch } from "../../src/telemetry";
import { pinTrust, verifyBundle } from "../../src/verify";
import { anchorFixture, readingsOf, sign } from "../helpers/anchor";
import type { AnchorFixture } from "../helpers/anchor";
import { anchorBatch, bundleOf } from "../helpers/bundle";
import {
  liveReadings,
  postReadings,
  startBatcher,
  startRpcServer,
  tempDatabase,
  testConfig,
  wireMessage,
} from "../helpers/batcher";
import { FAR_DEADLINE, METADATA, registeredDevice, registryFixture } from "../helpers/registry";

/** manufacturer2 commits a one-entry lot holding `key` (the rogue lot). */
async function rogueLot(
  fx: { registry: AnchorFixture["registry"]; manufacturer2: AnchorFixture["manufacturer2"] },
  key: string,
) {
  const lot = Lot.build([{ key, metadataHash: METADATA }]);
  await (await fx.registry.connect(fx.manufacturer2).commitLot(lot.root, fx.manufacturer2.address, 1, "")).wait();
  const lotId = await fx.registry.lotCount();
  return { lot, lotId, proof: lot.proof(key) };
}

describe("adversary: a rogue manufacturer", function () {
  describe("DeviceRegistry.lotEntryValidAt", function () {
    it("security (N-M2): a lot committed after the owner revoked K does not vouch for K", async function () {
      const fx = await registryFixture();
      const { key, deviceId } = await registeredDevice(fx);
      await fx.registry.connect(fx.owner).revoke(deviceId, 1);
      await time.increase(5);
      const rogue = await rogueLot(fx, key.address);
      await time.increase(5);
      const now = await time.latest();
      expect(await fx.registry.validAt(key.address, now)).to.equal(false);
      expect(
        await fx.registry.lotEntryValidAt(rogue.lotId, key.address, METADATA, rogue.proof, now),
        "the rogue lot vouches for a revoked key",
      ).to.equal(false);
    });

    it("security (N-M2): a lot holding a key rotated away does not vouch for it after the rotation", async function () {
      const fx = await registryFixture();
      const { key, deviceId } = await registeredDevice(fx);
      const rogue = await rogueLot(fx, key.address);
      const beforeRotation = await time.latest();
      await time.increase(5);
      const next = DeviceKey.generate();
      await fx.registry.connect(fx.owner).rotateKey(deviceId, {
        key: next.address,
        deadline: FAR_DEADLINE,
        signature: next.signKeyAcceptance({ domain: fx.domain, deviceId, deadline: FAR_DEADLINE }),
      });
      await time.increase(5);
      const now = await time.latest();
      expect(await fx.registry.lotEntryValidAt(rogue.lotId, key.address, METADATA, rogue.proof, now)).to.equal(false);
      // Before the rotation the record named K as active: the record's answer, as before.
      expect(
        await fx.registry.lotEntryValidAt(rogue.lotId, key.address, METADATA, rogue.proof, beforeRotation),
      ).to.equal(true);
    });

    it("a key in lots of two manufacturers: each lot vouches on its own until a record exists, then the record decides for both", async function () {
      const fx = await registryFixture();
      const key = DeviceKey.generate();
      const lotA = Lot.build([{ key: key.address, metadataHash: METADATA }]);
      await fx.registry.connect(fx.manufacturer).commitLot(lotA.root, fx.owner.address, 1, "");
      const a = await fx.registry.lotCount();
      const b = (await rogueLot(fx, key.address)).lotId;
      const proof = lotA.proof(key.address); // both lots are the same one leaf
      // Lot A's manufacturer revokes the entry in its lot: lot B still vouches on its own (its own attestation).
      await fx.registry.connect(fx.manufacturer).revokeLotDevice(a, key.address, METADATA, proof, 4);
      const afterEntryRevoke = await time.latest();
      expect(await fx.registry.lotEntryValidAt(a, key.address, METADATA, proof, afterEntryRevoke)).to.equal(false);
      expect(await fx.registry.lotEntryValidAt(b, key.address, METADATA, proof, afterEntryRevoke)).to.equal(true);
      // The key's holder claims it from lot B; its owner revokes the device: no lot vouches from then on.
      const deviceId = await claimLotDevice({
        registry: fx.client,
        lot: lotA,
        lotId: b,
        key,
        deadline: FAR_DEADLINE,
      });
      await time.increase(2);
      await fx.registry.connect(fx.manufacturer2).revoke(deviceId, 9);
      await time.increase(2);
      const now = await time.latest();
      expect(await fx.registry.lotEntryValidAt(a, key.address, METADATA, proof, now)).to.equal(false);
      expect(await fx.registry.lotEntryValidAt(b, key.address, METADATA, proof, now)).to.equal(false);
      // Answers about the time before the record are unchanged.
      expect(await fx.registry.lotEntryValidAt(b, key.address, METADATA, proof, afterEntryRevoke)).to.equal(true);
    });
  });

  describe("verifyBundle", function () {
    it("security (N-M2): a bundle naming a rogue lot for a revoked key fails device-valid", async function () {
      const fx = await anchorFixture();
      await fx.registry.connect(fx.owner).revoke(fx.deviceId, 1);
      const rogue = await rogueLot(fx, fx.device.address);
      await time.increase(5);
      // The thief signs with the revoked key; a careless (or colluding) anchorer anchors the batch.
      const batch = await ReadingBatch.build(sign(fx, fx.device, readingsOf(fx.device, 3)));
      const source = await anchorBatch(fx, batch);
      const bundle = bundleOf(fx, [{ source, indices: [0, 1, 2] }], {
        lot: { lotId: rogue.lotId, metadataHash: METADATA, proof: rogue.proof },
      });
      const report = await verifyBundle(bundle, {
        provider: ethers.provider,
        trusted: pinTrust({ anchor: fx.telemetry.verifyingContract }, { kind: "program", what: "test" }),
      });
      expect(report.verdict).to.equal("failed");
      const device = report.checks.find((c) => c.check === "device-valid")!;
      expect(device.status).to.equal("fail");
      expect(device.message).to.contain("its own device record");
    });

    it("a genuine lot entry: the verdict names the lot and the manufacturer that vouched", async function () {
      const fx = await anchorFixture();
      const key = DeviceKey.generate();
      const rogue = await rogueLot(fx, key.address); // manufacturer2's lot, honest this time
      await time.increase(5);
      const batch = await ReadingBatch.build(sign(fx, key, readingsOf(key, 2)));
      const source = await anchorBatch(fx, batch);
      const bundle = bundleOf(fx, [{ source, indices: [0, 1] }], {
        lot: { lotId: rogue.lotId, metadataHash: METADATA, proof: rogue.proof },
      });
      const report = await verifyBundle(bundle, {
        provider: ethers.provider,
        trusted: pinTrust({ anchor: fx.telemetry.verifyingContract }, { kind: "program", what: "test" }),
      });
      expect(report.verdict).to.equal("verified");
      const device = report.checks.find((c) => c.check === "device-valid")!;
      expect(device.message).to.contain(`lot ${rogue.lotId}`);
      expect(device.message).to.contain(`manufacturer ${fx.manufacturer2.address}`);
    });
  });

  describe("the batcher's held lots", function () {
    let rpc: { url: string; close: () => Promise<void> };
    let service: BatcherService | undefined;
    let provider: JsonRpcProvider;

    before(async function () {
      rpc = await startRpcServer();
      provider = new JsonRpcProvider(rpc.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    });
    afterEach(async function () {
      await service?.stop();
      service = undefined;
    });
    after(async function () {
      provider.destroy();
      await rpc.close();
    });

    it("security (N-M2): a held lot holding a revoked key does not make the batcher accept its readings", async function () {
      const fx = await anchorFixture();
      await (await fx.registry.connect(fx.owner).revoke(fx.deviceId, 1)).wait();
      // The rogue lot holds the revoked key and a fresh one; the operator was talked into holding it.
      const fresh = DeviceKey.generate();
      const lot = Lot.build([
        { key: fx.device.address, metadataHash: METADATA },
        { key: fresh.address, metadataHash: METADATA },
      ]);
      await (await fx.registry.connect(fx.manufacturer2).commitLot(lot.root, fx.manufacturer2.address, 2, "")).wait();
      const lotId = await fx.registry.lotCount();
      const entries = join(dirname(tempDatabase()), "rogue-lot.csv");
      await writeLotEntries(entries, lot.entries);
      await mine(1);
      service = await startBatcher(testConfig(fx, rpc.url, { lots: [{ id: lotId, entries }] }));
      const post = async (key: DeviceKey) => {
        const [reading] = liveReadings(key, 1);
        const answer = await postReadings(service!.httpUrl, `[${wireMessage(fx, key, reading!)}]`);
        const [result] = answer.body.results as { status: string; code?: string }[];
        return result!.code ?? result!.status;
      };
      expect(await post(fx.device), "a revoked key vouched for by a held lot").to.equal("E_DEVICE_INACTIVE");
      expect(await post(fresh)).to.equal("accepted");
    });
  });
});
