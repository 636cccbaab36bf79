/** Readings from a lot's unclaimed entries: the batcher judges them from the lot it holds (config `lots`). */
import { expect } from "chai";
import { mine } from "@nomicfoundation/hardhat-network-helpers";
import { JsonRpcProvider } from "ethers";
import { dirname, join } from "node:path";
import { ConfigError } from "../../../src/errors";
import type { BatcherService } from "../../../src/batcher";
import { DeviceKey } from "../../../src/device";
import { Lot, claimLotDevice } from "../../../src/registry";
import { writeLotEntries } from "../../../src/registry/lot-entries";
import { readingDigest } from "../../../src/eip712";
import { pinTrust, verifyBundle } from "../../../src/verify";
import { anchorFixture } from "../../helpers/anchor";
import type { AnchorFixture } from "../../helpers/anchor";
import {
  connectDevice,
  deviceTopics,
  liveReadings,
  postReadings,
  startBatcher,
  startRpcServer,
  tempDatabase,
  testConfig,
  waitFor,
  wireMessage,
} from "../../helpers/batcher";
import { FAR_DEADLINE, METADATA } from "../../helpers/registry";

interface LotFixture {
  fx: AnchorFixture;
  keys: DeviceKey[];
  lot: Lot;
  lotId: bigint;
  entries: string;
}

/** A committed lot of `count` fresh keys, and its entries file. */
async function committedLot(count = 4): Promise<LotFixture> {
  const fx = await anchorFixture();
  const keys = Array.from({ length: count }, () => DeviceKey.generate());
  const lot = Lot.build(keys.map((key) => ({ key: key.address, metadataHash: METADATA })));
  const { lotId } = await fx.client.commitLot({ root: lot.root, owner: fx.owner.address, deviceCount: count });
  const entries = join(dirname(tempDatabase()), "lot.csv");
  await writeLotEntries(entries, lot.entries);
  return { fx, keys, lot, lotId, entries };
}

/** The manufacturer revokes `key`'s entry within the lot. */
async function revokeEntry(l: LotFixture, key: DeviceKey): Promise<void> {
  await l.fx.client.revokeLotDevice({
    lotId: l.lotId,
    key: key.address,
    metadataHash: METADATA,
    proof: l.lot.proof(key.address),
    reason: 7,
  });
}

describe("batcher: lots held by the batcher", function () {
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

  const start = (l: LotFixture, overrides: Record<string, unknown> = {}) =>
    startBatcher(testConfig(l.fx, rpc.url, { lots: [{ id: l.lotId, entries: l.entries }], ...overrides }));

  /** The verdict code (or status) of one reading of `key` posted now. */
  const post = async (l: LotFixture, key: DeviceKey, sequence = 1n) => {
    const [reading] = liveReadings(key, 1, sequence);
    const answer = await postReadings(service!.httpUrl, `[${wireMessage(l.fx, key, reading!)}]`);
    const [result] = answer.body.results as { status: string; code?: string }[];
    return result!.code ?? result!.status;
  };

  describe("loadLots", function () {
    it("an unclaimed entry reports without claiming; its bundle carries the lot proof and verifies against the chain", async function () {
      const l = await committedLot();
      service = await start(l);
      const key = l.keys[2]!;
      expect(await post(l, key)).to.equal("accepted");
      await waitFor(
        async () => ((await service!.store.batchCounts()).anchored > 0 ? true : undefined),
        15_000,
        "anchored",
      );
      await mine(2);
      const response = await fetch(`${service.httpUrl}/v1/readings/${key.address}/1/bundle`);
      expect(response.status).to.equal(200);
      const text = await response.text();
      const bundle = JSON.parse(text) as { device: { lot?: { lotId: string; proof: string[] } } };
      expect(bundle.device.lot?.lotId).to.equal(l.lotId.toString());
      expect(bundle.device.lot?.proof).to.deep.equal(l.lot.proof(key.address));
      const report = await verifyBundle(text, {
        provider,
        trusted: pinTrust(
          { anchor: l.fx.telemetry.verifyingContract, registry: String(l.fx.registry.target) },
          { kind: "program", what: "test" },
        ),
      });
      expect(report.verdict, JSON.stringify(report.reasons)).to.equal("verified");
    });

    it("security (rogue manufacturer): entries that do not rebuild to the committed root are refused at start", async function () {
      const l = await committedLot();
      const forged = join(dirname(l.entries), "forged.csv");
      const stranger = DeviceKey.generate();
      await writeLotEntries(forged, [...l.lot.entries, { key: stranger.address, metadataHash: METADATA }]);
      const refused = await start({ ...l, entries: forged }).then(
        (started) => {
          service = started;
          return undefined;
        },
        (error: unknown) => error,
      );
      expect(refused).to.be.instanceOf(ConfigError);
      expect((refused as Error).message).to.contain("committed root");
    });

    it("a lot id that was never committed is refused at start", async function () {
      const l = await committedLot();
      const refused = await start({ ...l, lotId: 99n }).catch((error: unknown) => error);
      expect(refused).to.be.instanceOf(ConfigError);
      expect((refused as Error).message).to.contain("not committed");
    });

    it("an unclaimed entry logs in to the embedded broker and its reading is stored", async function () {
      const l = await committedLot();
      service = await start(l);
      const key = l.keys[0]!;
      const [reading] = liveReadings(key, 1);
      const client = await connectDevice(service.mqttUrl!, l.fx, key);
      try {
        // QoS 1: the PUBACK comes after the durable write.
        await client.publishAsync(deviceTopics(key).readings, wireMessage(l.fx, key, reading!), { qos: 1 });
      } finally {
        await client.endAsync();
      }
      const digest = readingDigest(l.fx.telemetry, reading!);
      expect(await service.store.sequenceStatus(key.address, 1n, digest)).to.equal("duplicate");
    });

    it("a key outside the lot is still unknown", async function () {
      const l = await committedLot();
      service = await start(l);
      expect(await post(l, DeviceKey.generate())).to.equal("E_UNKNOWN_DEVICE");
    });

    it("security: an entry revoked before the batcher started is inactive (read from the chain's logs)", async function () {
      const l = await committedLot();
      const key = l.keys[1]!;
      await revokeEntry(l, key);
      service = await start(l);
      expect(await post(l, key)).to.equal("E_DEVICE_INACTIVE");
      expect(await post(l, l.keys[0]!)).to.equal("accepted");
    });
  });

  describe("refresh", function () {
    it("security: an entry revoked while the batcher runs is refused after the next refresh", async function () {
      const l = await committedLot();
      service = await start(l);
      const key = l.keys[0]!;
      expect(await post(l, key, 1n)).to.equal("accepted");
      await revokeEntry(l, key);
      await waitFor(
        async () => ((await post(l, key, 2n)) === "E_DEVICE_INACTIVE" ? true : undefined),
        10_000,
        "refused",
      );
    });

    it("security: a revoked lot ends every unclaimed entry", async function () {
      const l = await committedLot();
      service = await start(l);
      expect(await post(l, l.keys[3]!, 1n)).to.equal("accepted");
      await l.fx.client.revokeLot({ lotId: l.lotId, reason: 3 });
      await waitFor(
        async () => ((await post(l, l.keys[3]!, 2n)) === "E_DEVICE_INACTIVE" ? true : undefined),
        10_000,
        "refused",
      );
    });

    it("security: once claimed, the device's record decides (a suspended device is refused)", async function () {
      const l = await committedLot();
      service = await start(l);
      const key = l.keys[1]!;
      const deviceId = await claimLotDevice({
        registry: l.fx.client,
        lot: l.lot,
        lotId: l.lotId,
        key,
        deadline: FAR_DEADLINE,
      });
      await (await l.fx.registry.connect(l.fx.owner).suspend(deviceId, 2)).wait();
      await waitFor(
        async () => ((await post(l, key, 1n)) === "E_DEVICE_INACTIVE" ? true : undefined),
        10_000,
        "refused",
      );
    });
  });
});
