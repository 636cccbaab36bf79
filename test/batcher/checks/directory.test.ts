/** RegistryDeviceDirectory: bounded work for unknown keys (review finding M-6) and a watcher that cannot stall (L-6). */
import { expect } from "chai";
import { mine } from "@nomicfoundation/hardhat-network-helpers";
import { JsonRpcProvider } from "ethers";
import { ethers } from "hardhat";
import { RegistryDeviceDirectory } from "../../../src/batcher";
import type { BatcherService } from "../../../src/batcher";
import { DeviceKey } from "../../../src/device";
import { anchorFixture } from "../../helpers/anchor";
import {
  liveReadings,
  postReadings,
  registerFleet,
  startBatcher,
  startRpcServer,
  testConfig,
  wireMessage,
} from "../../helpers/batcher";
import { RpcProxy } from "../../helpers/rpc-proxy";

describe("RegistryDeviceDirectory", function () {
  let rpc: { url: string; close: () => Promise<void> };
  let proxy: RpcProxy;
  let service: BatcherService | undefined;
  const providers: JsonRpcProvider[] = [];

  before(async function () {
    rpc = await startRpcServer();
  });

  beforeEach(async function () {
    proxy = await RpcProxy.start(rpc.url);
  });

  afterEach(async function () {
    await service?.stop();
    service = undefined;
    providers.splice(0).forEach((p) => p.destroy());
    await proxy.close();
  });

  after(async function () {
    await rpc.close();
  });

  const directoryOver = async (options: Partial<ConstructorParameters<typeof RegistryDeviceDirectory>[0]> = {}) => {
    const fx = await anchorFixture();
    const provider = new JsonRpcProvider(proxy.url, undefined, {
      staticNetwork: true,
      batchMaxCount: 1,
      cacheTimeout: -1,
    });
    providers.push(provider);
    return {
      fx,
      directory: new RegistryDeviceDirectory({ registry: String(fx.registry.target), provider, ...options }),
    };
  };

  describe("prepare", function () {
    it("security (M-6): a flood of fresh keys does not hold up registered devices' readings", async function () {
      const fx = await anchorFixture();
      const [device] = await registerFleet(fx, 1);
      service = await startBatcher({
        ...testConfig(fx, proxy.url),
        anchoring: { ...testConfig(fx, rpc.url).anchoring, enabled: false },
      });
      const [first, second] = liveReadings(device!, 2);
      expect((await postReadings(service.httpUrl, wireMessage(fx, device!, first!))).status).to.equal(202);
      // From now on every lookup of a key is held until released.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      proxy.gate = (method) => (method === "eth_call" ? released : undefined);
      const flood = Array.from({ length: 300 }, () => DeviceKey.generate());
      const body = `[${flood.map((key) => wireMessage(fx, key, liveReadings(key, 1)[0]!)).join(",")}]`;
      let floodAnswered = false;
      const floodAnswer = postReadings(service.httpUrl, body).then((answer) => {
        floodAnswered = true;
        return answer;
      });
      // The registered device's reading, in its own request and mixed into a flood body, is stored now.
      expect((await postReadings(service.httpUrl, wireMessage(fx, device!, second!))).status).to.equal(202);
      const [third] = liveReadings(device!, 1, 3n);
      const mixed = `[${wireMessage(fx, device!, third!)},${flood
        .slice(0, 50)
        .map((key) => wireMessage(fx, key, liveReadings(key, 1, 2n)[0]!))
        .join(",")}]`;
      const mixedAnswer = postReadings(service.httpUrl, mixed);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await service.store.getReading(device!.address, 3n)).to.not.equal(undefined);
      expect(floodAnswered).to.equal(false);
      release();
      const answer = await floodAnswer;
      expect(answer.status).to.be.below(500);
      const outcomes = (answer.body as { results: { code?: string }[] }).results;
      expect(new Set(outcomes.map((o) => o.code))).to.deep.equal(new Set(["E_UNKNOWN_DEVICE"]));
      expect((await mixedAnswer).status).to.be.below(500);
    });

    it("looks up at most maxConcurrentLookups keys at once, and answers keys beyond maxQueuedLookups as retry-later", async function () {
      const { directory } = await directoryOver({ maxConcurrentLookups: 3, maxQueuedLookups: 10 });
      let inFlight = 0;
      let most = 0;
      proxy.gate = async (method) => {
        if (method !== "eth_call") return;
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
      };
      const keys = Array.from({ length: 20 }, () => DeviceKey.generate().address);
      const failed = await directory.prepare(keys);
      expect(most).to.equal(3);
      expect(failed.size).to.equal(20 - 3 - 10);
      expect(keys.filter((k) => directory.state(k) === "unknown" && !failed.has(k.toLowerCase()))).to.have.length(13);
    });

    it("caches at most maxCachedKeys states, dropping the least recently used", async function () {
      const { fx, directory } = await directoryOver({ maxCachedKeys: 3 });
      const keys = Array.from({ length: 5 }, () => DeviceKey.generate().address);
      await directory.prepare([fx.device.address]);
      await directory.prepare(keys.slice(0, 2));
      directory.state(fx.device.address); // used: now the most recent
      await directory.prepare(keys.slice(2, 4)); // evicts keys 0 and 1, the least recently used
      expect(directory.size).to.equal(3);
      expect(directory.pending([fx.device.address]).size).to.equal(0);
      expect(directory.pending(keys.slice(0, 2)).size).to.equal(2);
    });

    it("asks again about an unknown key only after unknownTtlMs (a negative entry)", async function () {
      const { directory } = await directoryOver({ unknownTtlMs: 150 });
      const key = DeviceKey.generate().address;
      const asked = () => proxy.seen.filter((m) => m === "eth_call").length;
      await directory.prepare([key]);
      const once = asked();
      await directory.prepare([key]);
      expect(asked()).to.equal(once);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await directory.prepare([key]);
      expect(asked()).to.equal(2 * once); // one more lookup, as costly as the first
    });
  });

  describe("refresh", function () {
    it("security (L-6): a provider's block-range limit does not stall the watcher; it reads smaller ranges", async function () {
      const { fx, directory } = await directoryOver({ logChunkBlocks: 64 });
      await directory.prepare([fx.device.address]);
      expect(directory.state(fx.device.address)).to.equal("active");
      await directory.refresh(); // sets the starting block
      proxy.intercept = (method, params) => {
        if (method !== "eth_getLogs") return undefined;
        const filter = params[0] as { fromBlock: string; toBlock: string };
        const span = Number(BigInt(filter.toBlock) - BigInt(filter.fromBlock)) + 1;
        return span > 10 ? { forward: false, error: { code: -32005, message: "block range too large" } } : undefined;
      };
      await mine(30);
      await fx.registry.connect(fx.owner).revoke(fx.deviceId, 1);
      let failures = 0;
      for (let attempt = 0; attempt < 10 && directory.state(fx.device.address) === "active"; attempt++) {
        await directory.refresh().catch(() => (failures += 1));
      }
      expect(failures).to.be.greaterThan(0);
      expect(directory.state(fx.device.address)).to.equal("revoked");
    });

    it("a lot status change marks cached states stale instead of reading every key again", async function () {
      const { fx, directory } = await directoryOver();
      const keys = [fx.device.address, ...Array.from({ length: 5 }, () => DeviceKey.generate().address)];
      await directory.prepare(keys);
      await mine(20); // the fixture's own events fall out of the refresh's overlap
      await directory.refresh();
      await fx.registry.connect(fx.manufacturer).commitLot(ethers.id("a lot"), fx.owner.address, 1, "");
      await fx.registry.connect(fx.manufacturer).closeLot(1n);
      const before = proxy.seen.filter((m) => m === "eth_call").length;
      await directory.refresh();
      expect(proxy.seen.filter((m) => m === "eth_call").length).to.equal(before);
      // Unknown keys are now asked again on their next use.
      expect(directory.pending(keys).size).to.equal(5);
    });
  });
});
