import { expect } from "chai";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { ethers, network } from "hardhat";
import { Wallet } from "ethers";
import type { BatcherService } from "../src/batcher";
import {
  ANCHORER_KEY,
  batcherFixture,
  liveReadings,
  startBatcher,
  startRpcServer,
  testConfig,
  waitFor,
  postReadings,
  wireBatch,
} from "../test/helpers/batcher";
import type { BatcherFixture } from "../test/helpers/batcher";
import { RpcProxy } from "../test/helpers/rpc-proxy";

async function postAll(service: BatcherService, fx: BatcherFixture, deviceIndex: number, count: number, first = 1n) {
  const device = fx.devices[deviceIndex]!;
  const answer = await postReadings(service.httpUrl, wireBatch(fx, device, liveReadings(device, count, first)));
  expect(answer.status).to.equal(202);
  const results = answer.body.results as { status: string }[];
  expect(results.every((r) => r.status === "accepted")).to.equal(true);
}

const settled = (service: BatcherService) => async () => {
  // Unsealed first: a batch sealed between two reads in the other order would be missed.
  if ((await service.store.unsealed()).count !== 0) return undefined;
  const counts = await service.store.batchCounts();
  return counts.pending === 0 && (await service.store.openTxs()).length === 0 ? counts : undefined;
};

/** Every BatchAnchored root on the chain, with how often it appears. */
async function anchoredRoots(fx: BatcherFixture): Promise<Map<string, number>> {
  const logs = await fx.anchor.queryFilter(fx.anchor.filters.BatchAnchored());
  const roots = new Map<string, number>();
  for (const log of logs) roots.set(log.args.root, (roots.get(log.args.root) ?? 0) + 1);
  return roots;
}

/** The first anchoring transaction the store has recorded (recorded comes before broadcast). */
const firstOpenTx = (service: BatcherService, what: string) =>
  waitFor(async () => (await service.store.openTxs())[0], 5_000, what);

/** Resolves once the node holds `hash` (mined or in its mempool). */
const known = (hash: string, what: string) =>
  waitFor(async () => ((await ethers.provider.getTransaction(hash)) !== null ? true : undefined), 5_000, what);

describe("Anchorer (transaction manager) under faults", function () {
  let rpc: { url: string; close: () => Promise<void> };
  let proxy: RpcProxy;
  let service: BatcherService | undefined;

  before(async function () {
    rpc = await startRpcServer();
  });

  beforeEach(async function () {
    proxy = await RpcProxy.start(rpc.url);
  });

  afterEach(async function () {
    await network.provider.send("evm_setAutomine", [true]);
    await service?.stop();
    service = undefined;
    await proxy.close();
  });

  after(async function () {
    await rpc.close();
  });

  async function started(params: { manualMining?: boolean; bumpAfterMs?: number } = {}) {
    const fx = await loadFixture(batcherFixture);
    if (params.manualMining === true) await network.provider.send("evm_setAutomine", [false]);
    const config = testConfig(fx, proxy.url, { rpcTimeoutMs: 400 });
    if (params.bumpAfterMs !== undefined) config.anchoring.bumpAfterMs = params.bumpAfterMs;
    service = await startBatcher(config);
    return { fx, service };
  }

  it("the RPC endpoint down, timing out, answering 5xx or resetting: ingest goes on, anchoring retries and recovers", async function () {
    const { fx, service } = await started();
    await postAll(service, fx, 1, 1); // the device's state is now cached
    await waitFor(settled(service), 10_000, "first batch anchored");
    let sequence = 2n;
    for (const mode of ["down", "timeout", "5xx", "reset"] as const) {
      await proxy.set(mode);
      const errorsBefore = await rpcErrors(service);
      await postAll(service, fx, 1, 5, sequence);
      sequence += 5n;
      await waitFor(
        async () => ((await service.store.batchCounts()).pending > 0 ? true : undefined),
        5_000,
        `sealed while ${mode}`,
      );
      await waitFor(
        async () => ((await rpcErrors(service)) > errorsBefore ? true : undefined),
        5_000,
        `a failed pass while ${mode}`,
      );
      expect((await service.store.batchCounts()).pending, mode).to.be.greaterThan(0);
      await proxy.set("ok");
      await waitFor(settled(service), 10_000, `recovery after ${mode}`);
    }
    const roots = await anchoredRoots(fx);
    expect(roots.size).to.equal(5);
    expect([...roots.values()].every((n) => n === 1)).to.equal(true);
    for (let s = 1n; s < sequence; s++)
      expect((await service.store.getReading(fx.devices[1]!.address, s))?.batchLocalId).to.not.equal(undefined);
  });

  it('"nonce too low" while the earlier transaction was mined: the receipt is found and recorded', async function () {
    const { fx, service } = await started();
    let lied = false;
    proxy.intercept = (method) => {
      if (method !== "eth_sendRawTransaction" || lied) return undefined;
      lied = true;
      return { forward: true, error: { code: -32000, message: "nonce too low" } };
    };
    await postAll(service, fx, 2, 3);
    await waitFor(settled(service), 10_000, "anchored");
    expect(lied).to.equal(true);
    const txs = await service.store.transactions();
    expect(txs.map((tx) => tx.state)).to.deep.equal(["mined"]);
    expect((await service.store.getBatch(1))!.anchor!.transactionHash).to.equal(txs[0]!.hash);
  });

  it("a nonce taken by another transaction of the account: the roots are requeued and anchored at the next nonce", async function () {
    const { fx, service } = await started();
    let blocked = true;
    proxy.intercept = (method) =>
      method === "eth_sendRawTransaction" && blocked
        ? { forward: false, error: { code: -32603, message: "upstream unavailable" } }
        : undefined;
    await postAll(service, fx, 2, 3);
    const first = await firstOpenTx(service, "a recorded tx");
    // Someone else uses the anchoring key: a plain transfer takes the nonce.
    const operator = new Wallet(ANCHORER_KEY, ethers.provider);
    await (await operator.sendTransaction({ to: fx.other.address, value: 1n, nonce: first.nonce })).wait();
    blocked = false;
    await waitFor(settled(service), 10_000, "anchored after the nonce was taken");
    const txs = await service.store.transactions();
    expect(txs[0]!.state).to.equal("dropped");
    expect(txs[txs.length - 1]!).to.deep.include({ state: "mined", nonce: first.nonce + 1 });
    expect((await anchoredRoots(fx)).get((await service.store.getBatch(1))!.root)).to.equal(1);
  });

  it("an underpriced send is sent again with higher fees", async function () {
    const { fx, service } = await started();
    let refused = false;
    proxy.intercept = (method) => {
      if (method !== "eth_sendRawTransaction" || refused) return undefined;
      refused = true;
      return { forward: false, error: { code: -32000, message: "transaction underpriced" } };
    };
    await postAll(service, fx, 3, 3);
    await waitFor(settled(service), 10_000, "anchored");
    const [underpriced, sent] = await service.store.transactions();
    expect(underpriced!.state).to.equal("dropped");
    expect(underpriced!.note).to.match(/underpriced/);
    expect(sent!.state).to.equal("mined");
    expect(sent!.maxFeePerGas >= (underpriced!.maxFeePerGas * 125n) / 100n).to.equal(true);
  });

  it("a transaction dropped from the mempool is broadcast again", async function () {
    const { fx, service } = await started({ manualMining: true });
    await postAll(service, fx, 4, 3);
    const tx = await firstOpenTx(service, "a tx");
    await known(tx.hash, "in the mempool");
    await network.provider.send("hardhat_dropTransaction", [tx.hash]);
    expect(await ethers.provider.getTransaction(tx.hash)).to.equal(null);
    await known(tx.hash, "broadcast again");
    await mine(1);
    await waitFor(settled(service), 10_000, "anchored");
    expect((await service.store.transactions()).map((t) => t.state)).to.deep.equal(["mined"]);
  });

  it("a stuck transaction is replaced at the same nonce with bumped fees; the replaced one is kept on record", async function () {
    const { fx, service } = await started({ manualMining: true, bumpAfterMs: 150 });
    await postAll(service, fx, 5, 3);
    const replacement = await waitFor(async () => (await service.store.transactions())[1], 5_000, "a replacement");
    await known(replacement.hash, "the replacement in the mempool");
    await mine(1);
    await waitFor(settled(service), 10_000, "anchored");
    const txs = await service.store.transactions();
    const mined = txs.filter((t) => t.state === "mined");
    expect(mined).to.have.length(1);
    expect(txs.every((t) => t.nonce === txs[0]!.nonce)).to.equal(true);
    expect(txs[0]!.state).to.equal("replaced");
    expect(mined[0]!.maxFeePerGas >= (txs[0]!.maxFeePerGas * 125n) / 100n).to.equal(true);
    expect((await anchoredRoots(fx)).size).to.equal(1);
  });

  it("the anchoring role is lost: the batch is failed with the decoded reason and not retried blindly", async function () {
    const { fx, service } = await started();
    await fx.anchor.connect(fx.admin).revokeRole(await fx.anchor.ANCHORER_ROLE(), fx.relayer.address);
    await postAll(service, fx, 6, 3);
    const failed = await waitFor(async () => (await service.store.batchesWith("failed"))[0], 5_000, "a failed batch");
    expect(failed.note).to.match(/AccessControlUnauthorizedAccount/);
    const sends = proxy.seen.filter((m) => m === "eth_sendRawTransaction").length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await service.store.getBatch(failed.localId))!.status).to.equal("failed");
    expect(proxy.seen.filter((m) => m === "eth_sendRawTransaction").length).to.equal(sends);
    expect(await service.store.transactions()).to.deep.equal([]);
    const view = await (await fetch(`${service.httpUrl}/v1/batches/${failed.localId}`)).json();
    expect(view).to.deep.include({ status: "failed" });
  });

  it("security (L-5): one root anchored elsewhere does not fail the others: it is adopted, the rest anchored", async function () {
    const { fx, service } = await started({ manualMining: true });
    const other = (await ethers.getSigners())[8]!;
    await fx.anchor.connect(fx.admin).grantRole(await fx.anchor.ANCHORER_ROLE(), other.address);
    await mine(1);
    // Several batches in one anchorMany: the devices' states are read first, then anchoring is held back
    // (the node does not answer) until the batches are sealed.
    await postAll(service, fx, 8, 1);
    await postAll(service, fx, 9, 1);
    await proxy.set("timeout");
    await postAll(service, fx, 8, 60, 2n); // sealed by size
    await postAll(service, fx, 9, 3, 2n); // sealed by age
    await waitFor(
      async () => ((await service.store.unsealed()).count === 0 ? true : undefined),
      5_000,
      "everything sealed",
    );
    await proxy.set("ok");
    const tx = await firstOpenTx(service, "the anchorMany");
    expect(tx.batchIds.length).to.be.greaterThan(1);
    await known(tx.hash, "the anchorMany in the mempool");
    // Another anchorer anchors the last root first, in the same block (a higher tip).
    const second = (await service.store.getBatch(tx.batchIds[tx.batchIds.length - 1]!))!;
    const front = await fx.anchor.connect(other).anchor(
      {
        root: second.root,
        readingCount: second.readingCount,
        fromTimestamp: second.fromTimestamp,
        toTimestamp: second.toTimestamp,
        contentHash: second.contentHash,
        contentURI: "",
      },
      { maxPriorityFeePerGas: ethers.parseUnits("100", "gwei"), maxFeePerGas: ethers.parseUnits("200", "gwei") },
    );
    await mine(1);
    const receipt = await ethers.provider.getTransactionReceipt(tx.hash);
    expect(receipt?.status).to.equal(0); // the batcher's anchorMany reverted (AnchorRootAlreadyAnchored)
    // The second root is adopted from the other transaction; the first is anchored by the next pass.
    await waitFor(
      async () => ((await service.store.getBatch(second.localId))!.anchor === undefined ? undefined : true),
      5_000,
      "adopted",
    );
    expect((await service.store.getBatch(second.localId))!.anchor!.transactionHash).to.equal(front.hash);
    await waitFor(
      async () => {
        await mine(1);
        return (await service.store.getBatch(tx.batchIds[0]!))!.anchor === undefined ? undefined : true;
      },
      10_000,
      "the first root anchored",
    );
    expect(await service.store.batchesWith("failed")).to.deep.equal([]);
    expect((await service.store.transactions()).map((t) => t.state)).to.include("reverted");
  });

  it("an anchor that reverts once mined marks its batches failed with the reason", async function () {
    const { fx, service } = await started({ manualMining: true });
    await postAll(service, fx, 7, 3);
    const tx = await firstOpenTx(service, "a tx");
    // Recorded comes before broadcast: wait until the node holds it, so that both land in the next block.
    await known(tx.hash, "the anchor in the mempool");
    // The admin revokes the role with a higher tip, so the revocation is mined first in the same block.
    await fx.anchor.connect(fx.admin).revokeRole(await fx.anchor.ANCHORER_ROLE(), fx.relayer.address, {
      maxPriorityFeePerGas: ethers.parseUnits("100", "gwei"),
      maxFeePerGas: ethers.parseUnits("200", "gwei"),
    });
    await mine(1);
    const failed = await waitFor(async () => (await service.store.batchesWith("failed"))[0], 5_000, "a failed batch");
    expect(failed.note).to.match(/reverted: AccessControlUnauthorizedAccount/);
    expect((await service.store.transactions()).map((t) => t.state)).to.deep.equal(["reverted"]);
  });
});

async function rpcErrors(service: BatcherService): Promise<number> {
  const metric = await service.metrics.rpcErrors.get();
  return metric.values[0]?.value ?? 0;
}
