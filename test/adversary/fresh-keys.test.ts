/**
 * A flood of fresh keys from an anonymous HTTP sender (M-6): every reading of a key the batcher does not know
 * costs registry calls at the node. Each request was bounded already; now each client's lookups of unknown
 * keys are bounded per second too, and the rest of its readings are answered 429.
 */
import { expect } from "chai";
import hre from "hardhat";
import { request } from "node:http";
import type { BatcherService } from "../../src/batcher";
import { DeviceKey } from "../../src/device";
import { anchorFixture } from "../helpers/anchor";
import { liveReadings, startBatcher, startRpcServer, testConfig, wireMessage } from "../helpers/batcher";
import { RpcProxy } from "../helpers/rpc-proxy";

/** POSTs `body` to the batcher from the loopback address `from` (a second client on the same machine). */
function post(url: string, body: string, from: string): Promise<{ status: number; body: unknown }> {
  const target = new URL(`${url}/v1/readings`);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        localAddress: from,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()) }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("adversary: a flood of fresh keys from an anonymous HTTP sender", function () {
  this.timeout(120_000);
  let rpc: { url: string; close: () => Promise<void> };
  let proxy: RpcProxy;
  let service: BatcherService | undefined;
  before(async function () {
    // Under solidity-coverage the instrumented in-process chain resets connections under this flood of
    // registry calls (CI's coverage step failed once with ECONNRESET in the proxy); the test runs in npm test.
    if ((hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING === true) this.skip();
    rpc = await startRpcServer();
    proxy = await RpcProxy.start(rpc.url);
  });
  after(async function () {
    await service?.stop();
    await proxy?.close();
    await rpc?.close();
  });

  it("security (M-6): one client's lookups of unknown keys are bounded per second (429 past it); another client and known devices are unaffected", async function () {
    const fx = await anchorFixture();
    const config = testConfig(fx, proxy.url);
    service = await startBatcher({
      ...config,
      anchoring: { ...config.anchoring, enabled: false },
      ingest: { ...config.ingest, lookupsPerClient: { perSecond: 20, burst: 100 } },
    });
    const fresh = (count: number) =>
      Array.from({ length: count }, () => {
        const key = DeviceKey.generate();
        return wireMessage(fx, key, liveReadings(key, 1)[0]!);
      });
    const calls = () => proxy.seen.filter((method) => method === "eth_call").length;
    const before = calls();
    const started = Date.now();
    // 1,500 fresh keys in three requests, at once, from 127.0.0.1.
    const answers = await Promise.all(
      [0, 1, 2].map(() => post(service!.httpUrl, `[${fresh(500).join(",")}]`, "127.0.0.1")),
    );
    const seconds = (Date.now() - started) / 1000;
    // A request whose every message was refused is answered 429 as a whole, with the first outcome as its
    // body (the API's rule for batches); otherwise 202 with one result per message.
    type Outcome = { status: string; reason?: string };
    const results = answers.flatMap((a): Outcome[] => {
      const body = a.body as { results?: Outcome[] } & Outcome;
      if (body.results !== undefined) return body.results;
      expect(a.status, "a batch answered without per-message results").to.equal(429);
      return Array.from({ length: 500 }, () => body);
    });
    expect(results).to.have.length(1_500);
    const budgeted = results.filter((r) => r.status === "busy" && r.reason === "lookup-budget").length;
    const looked = results.length - budgeted;
    // At most the burst plus what refills while it ran; at most two calls per key (getDevice, getKey).
    expect(looked, "readings whose keys were looked up").to.be.at.most(100 + Math.ceil(20 * seconds) + 1);
    expect(budgeted).to.be.at.least(1_500 - 100 - Math.ceil(20 * seconds) - 1);
    expect(calls() - before, "eth_calls the node served").to.be.at.most(2 * looked);
    // Another client still has its own budget; a known device is never charged.
    const other = await post(service.httpUrl, `[${fresh(10).join(",")}]`, "127.0.0.2");
    const otherResults = (other.body as { results: { status: string; code?: string }[] }).results;
    expect(otherResults.every((r) => r.status === "rejected" && r.code === "E_UNKNOWN_DEVICE")).to.equal(true);
    const known = await post(
      service.httpUrl,
      `[${wireMessage(fx, fx.device, liveReadings(fx.device, 1)[0]!)}]`,
      "127.0.0.1",
    );
    expect((known.body as { results: { status: string }[] }).results[0]!.status).to.equal("accepted");
  });
});
