import { expect } from "chai";
import { JsonRpcProvider, Wallet } from "ethers";
import type { BatcherService } from "../src/batcher";
import { DeviceKey } from "../src/device";
import { DeviceRegistryClient, registerDeviceKeys } from "../src/registry";
import { anvilBinary, startAnvil } from "../src/tooling/anvil";
import type { AnvilNode } from "../src/tooling/anvil";
import { telemetryDomain } from "../src/eip712";
import { pinTrust, verifyBundle } from "../src/verify";
import {
  hardhatKey,
  liveReadings,
  startBatcher,
  testConfig,
  waitFor,
  postReadings,
  wireBatch,
} from "../test/helpers/batcher";
import type { AnchorFixture } from "../test/helpers/anchor";
import { deployRegistryAndAnchor } from "../test/helpers/node";
import { FAR_DEADLINE, METADATA } from "../test/helpers/registry";

describe("batcher on anvil: a reorg before finality", function () {
  this.timeout(120_000);
  let node: AnvilNode;
  let provider: JsonRpcProvider;
  let service: BatcherService | undefined;

  before(async function () {
    if (anvilBinary() === undefined) this.skip();
    node = await startAnvil();
    provider = new JsonRpcProvider(node.url, undefined, { pollingInterval: 50, cacheTimeout: -1 });
  });

  after(async function () {
    await service?.stop();
    provider?.destroy();
    await node?.stop();
  });

  it("re-anchors a batch whose anchor a reorg removed, and serves its bundle as not final until it is", async function () {
    const [admin, manufacturer, owner] = [0, 1, 2].map((i) => new Wallet(hardhatKey(i), provider));
    const batcherKey = hardhatKey(3);
    const { registry, anchor } = await deployRegistryAndAnchor(admin!, {
      manufacturer: manufacturer!.address,
      anchorer: new Wallet(batcherKey).address,
    });
    const device = DeviceKey.generate();
    await registerDeviceKeys({
      registry: new DeviceRegistryClient({ contract: registry.connect(manufacturer!) }),
      registrant: manufacturer!.address,
      keys: [device],
      owner: owner!.address,
      metadataHash: () => METADATA,
      deadline: FAR_DEADLINE,
    });
    const { chainId } = await provider.getNetwork();
    const fx = { telemetry: telemetryDomain(chainId, await anchor.getAddress()), registry } as unknown as AnchorFixture;
    const config = testConfig(fx, node.url);
    config.anchoring.confirmations = 4;
    config.privateKey = batcherKey;
    service = await startBatcher(config);
    const readings = liveReadings(device, 5);
    const response = await postReadings(service.httpUrl, wireBatch(fx, device, readings));
    expect(response.status).to.equal(202);
    const store = service.store;
    const first = await waitFor(async () => (await store.getBatch(1))?.anchor, 15_000, "the first anchor");
    const bundleUrl = `${service.httpUrl}/v1/readings/${device.address}/3/bundle`;
    const before = await fetch(bundleUrl);
    expect(before.headers.get("x-iotrail-batch-status")).to.equal("anchored");

    // Reorganize the anchoring block away (the new blocks are empty).
    const head = await provider.getBlockNumber();
    await provider.send("anvil_reorg", [head - first.blockNumber + 1, []]);
    const again = await waitFor(
      async () => {
        const batch = (await store.getBatch(1))!;
        return batch.anchor !== undefined && batch.anchor.blockHash !== first.blockHash ? batch : undefined;
      },
      15_000,
      "the batch anchored again",
    );
    expect(again.status).to.equal("anchored");
    const pending = await fetch(bundleUrl);
    expect(pending.status).to.equal(200);
    expect(pending.headers.get("x-iotrail-batch-status")).to.equal("anchored");
    const transactions = await store.transactions();
    expect(transactions.length).to.be.greaterThanOrEqual(2);

    await provider.send("anvil_mine", [4]);
    await waitFor(async () => ((await store.getBatch(1))!.status === "final" ? true : undefined), 15_000, "final");
    const final = await fetch(bundleUrl);
    expect(final.headers.get("x-iotrail-batch-status")).to.equal("final");
    const report = await verifyBundle(await final.text(), {
      provider: new JsonRpcProvider(node.url),
      trusted: pinTrust({ anchor: await anchor.getAddress() }, { kind: "program", what: "test" }),
      minConfirmations: 4,
    });
    expect(report.ok, JSON.stringify(report.checks.filter((c) => c.status === "fail"))).to.equal(true);
    const logs = await anchor.queryFilter(anchor.filters.BatchAnchored());
    expect(logs.map((log) => log.args.root)).to.deep.equal([(await store.getBatch(1))!.root]);
  });
});
