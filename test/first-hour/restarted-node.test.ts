/**
 * Issue 24, defect 4: after a node restart and a fresh deploy (the same addresses), the batcher started on the
 * old batcher.sqlite without a word, said "ok" with its final batches, and every bundle it served failed
 * root-anchored. At start it now checks that its newest final batches are anchored on this chain, by this
 * anchor, in the blocks it recorded, and otherwise refuses to start, naming the cause and what to do.
 */
import { expect } from "chai";
import hre from "hardhat";
import { JsonRpcProvider } from "ethers";
import type { JsonRpcSigner } from "ethers";
import { BatcherService, encodeIngestMessage, loadBatcherConfig } from "../../src/batcher";
import { DeviceKey } from "../../src/device";
import { ConfigError } from "../../src/errors";
import { DeviceRegistryClient, registerDeviceKeys } from "../../src/registry";
import { anvilBinary, startAnvil } from "../../src/tooling/anvil";
import type { AnvilNode } from "../../src/tooling/anvil";
import { ANCHORER_KEY, liveReadings, postReadings, tempDatabase, waitFor } from "../helpers/batcher";
import { telemetryDomain } from "../../src/eip712";
import { deployRegistryAndAnchor } from "../helpers/node";
import { Wallet } from "ethers";
import pino from "pino";

describe("first hour (issue 24): a batcher on a reset node's old database", function () {
  this.timeout(120_000);
  let node: AnvilNode | undefined;
  before(function () {
    if (
      anvilBinary() === undefined ||
      (hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING
    ) {
      this.skip();
    }
  });
  after(async function () {
    await node?.stop();
  });

  /** A fresh anvil with the registry and anchor deployed (the same addresses each time), and a device. */
  async function freshChain() {
    node = await startAnvil();
    const provider = new JsonRpcProvider(node.url, undefined, { pollingInterval: 50 });
    const [admin, manufacturer, owner] = (await Promise.all(
      [0, 1, 2].map((i) => provider.getSigner(i)),
    )) as JsonRpcSigner[];
    const anchorer = new Wallet(ANCHORER_KEY).address;
    const { registry, anchor } = await deployRegistryAndAnchor(admin!, {
      manufacturer: manufacturer!.address,
      anchorer,
    });
    await (await admin!.sendTransaction({ to: anchorer, value: 10n ** 18n })).wait();
    return { provider, registry, anchor: await anchor.getAddress(), manufacturer: manufacturer!, owner: owner! };
  }

  const config = (url: string, anchor: string, database: string) => ({
    ...loadBatcherConfig({ env: { BATCHER_PRIVATE_KEY: ANCHORER_KEY } }),
    rpcUrl: url,
    anchor,
    database,
    http: { ...loadBatcherConfig({ env: {} }).http, port: 0 },
    mqtt: { enabled: false as const },
    ingest: { ...loadBatcherConfig({ env: {} }).ingest, threads: 0 },
    sealing: { maxReadings: 50, maxAgeMs: 100, intervalMs: 20 },
    anchoring: { ...loadBatcherConfig({ env: {} }).anchoring, confirmations: 1, intervalMs: 25 },
    logLevel: "silent",
  });

  it("refuses to start, naming the cause and what to do; a new database starts", async function () {
    const first = await freshChain();
    const device = DeviceKey.generate();
    await registerDeviceKeys({
      registry: new DeviceRegistryClient({ contract: first.registry.connect(first.manufacturer) }),
      registrant: first.manufacturer.address,
      keys: [device],
      owner: first.owner.address,
      metadataHash: () => `0x${"00".repeat(32)}`,
      deadline: 2n ** 40n,
    });
    const database = tempDatabase();
    const logger = pino({ level: "silent" });
    const service = await BatcherService.start(config(node!.url, first.anchor, database), { logger });
    const domain = telemetryDomain(31337n, first.anchor);
    const wire = liveReadings(device, 3).map((reading) =>
      encodeIngestMessage({ domain, reading, signature: device.signReading(domain, reading) }),
    );
    await postReadings(service.httpUrl, `[${wire.join(",")}]`);
    await waitFor(
      async () => ((await service.store.batchCounts()).final > 0 ? true : undefined),
      30_000,
      "a final batch",
    );
    await service.stop();
    first.provider.destroy();
    await node!.stop();

    // The node restarts empty; the same deploy lands at the same addresses.
    const second = await freshChain();
    expect(second.anchor).to.equal(first.anchor);
    const refused = await BatcherService.start(config(node!.url, second.anchor, database), { logger }).catch(
      (error: unknown) => error,
    );
    expect(refused).to.be.instanceOf(ConfigError);
    expect((refused as Error).message).to.contain("a node that was reset since");
    expect((refused as Error).message).to.contain("Start with a new database");
    const fresh = await BatcherService.start(config(node!.url, second.anchor, tempDatabase()), { logger });
    await fresh.stop();
    second.provider.destroy();
  });
});
