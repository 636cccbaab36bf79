import { expect } from "chai";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import { request } from "node:http";
import type { BatcherService } from "../../src/batcher";
import { DeviceKey } from "../../src/device";
import { verifyBundle } from "../../src/verify";
import {
  batcherFixture,
  postReadings as post,
  wireBatch,
  liveReadings,
  startBatcher,
  startRpcServer,
  testConfig,
  waitFor,
  wireMessage,
} from "../helpers/batcher";
import type { BatcherFixture } from "../helpers/batcher";
import { pinned } from "../helpers/bundle";

describe("BatcherService", function () {
  let rpc: { url: string; close: () => Promise<void> };
  let service: BatcherService | undefined;

  before(async function () {
    rpc = await startRpcServer();
  });

  afterEach(async function () {
    await service?.stop();
    service = undefined;
  });

  after(async function () {
    await rpc.close();
  });

  async function started(
    overrides: Record<string, unknown> = {},
  ): Promise<{ fx: BatcherFixture; service: BatcherService }> {
    const fx = await loadFixture(batcherFixture);
    service = await startBatcher(testConfig(fx, rpc.url, overrides));
    return { fx, service };
  }

  describe("POST /v1/readings", function () {
    it("answers 202 after the durable write, 200 for an exact duplicate, 409 E_SEQUENCE for other content", async function () {
      const { fx, service } = await started({
        anchoring: { ...testConfig(await loadFixture(batcherFixture), rpc.url).anchoring, enabled: false },
      });
      const device = fx.devices[1]!;
      const [reading] = liveReadings(device, 1);
      const first = await post(service.httpUrl, wireMessage(fx, device, reading!));
      expect(first.status).to.equal(202);
      expect(first.body).to.deep.equal({ status: "accepted", device: device.address, sequence: "1" });
      expect((await service.store.getReading(device.address, 1n))!.reading.value).to.equal(reading!.value);
      const again = await post(service.httpUrl, wireMessage(fx, device, reading!));
      expect(again.status).to.equal(200);
      expect(again.body.status).to.equal("duplicate");
      const changed = await post(service.httpUrl, wireMessage(fx, device, { ...reading!, value: 1n }));
      expect(changed.status).to.equal(409);
      expect(changed.body.code).to.equal("E_SEQUENCE");
      expect((await service.store.unsealed()).count).to.equal(1);
    });

    it("rejects each kind of bad input with its own code, and stays up", async function () {
      const { fx, service } = await started({
        anchoring: { ...testConfig(await loadFixture(batcherFixture), rpc.url).anchoring, enabled: false },
      });
      const device = fx.devices[2]!;
      const [reading] = liveReadings(device, 1, 5n);
      const good = JSON.parse(wireMessage(fx, device, reading!)) as Record<string, Record<string, string>>;
      const stranger = DeviceKey.generate();
      const suspended = fx.devices[3]!;
      const revoked = fx.devices[4]!;
      const idOf = async (key: DeviceKey) => (await fx.registry.getKey(key.address)).deviceId;
      await fx.registry.connect(fx.owner).suspend(await idOf(suspended), 1);
      await fx.registry.connect(fx.owner).revoke(await idOf(revoked), 2);
      const now = BigInt(Math.floor(Date.now() / 1000));
      const cases: [string, string, number][] = [
        ["malformed JSON", "{not json", 400],
        ["missing fields", JSON.stringify({ domain: good.domain, signature: good.signature }), 400],
        ["wrong types", JSON.stringify({ ...good, reading: { ...good.reading, sequence: "five", device: 42 } }), 400],
        ["unknown field", JSON.stringify({ ...good, extra: 1 }), 400],
        ["wrong chain", JSON.stringify({ ...good, domain: { ...good.domain, chainId: "1" } }), 422],
        [
          "wrong contract",
          JSON.stringify({ ...good, domain: { ...good.domain, verifyingContract: ethers.ZeroAddress } }),
          422,
        ],
        [
          "bad signature",
          JSON.stringify({ ...good, signature: device.signReading(fx.telemetry, { ...reading!, value: 9n }) }),
          422,
        ],
        ["unknown device", wireMessage(fx, stranger, liveReadings(stranger, 1)[0]!), 403],
        ["suspended device", wireMessage(fx, suspended, liveReadings(suspended, 1)[0]!), 403],
        ["revoked device", wireMessage(fx, revoked, liveReadings(revoked, 1)[0]!), 403],
        [
          "timestamp in the future",
          wireMessage(fx, device, { ...reading!, sequence: 6n, timestamp: now + 3_600n }),
          422,
        ],
        [
          "timestamp too old",
          wireMessage(fx, device, { ...reading!, sequence: 7n, timestamp: now - 30n * 86_400n }),
          422,
        ],
      ];
      const codes: Record<string, unknown> = {};
      for (const [name, body, status] of cases) {
        const answer = await post(service.httpUrl, body);
        expect(answer.status, name).to.equal(status);
        codes[name] = answer.body.code;
      }
      expect(codes).to.deep.equal({
        "malformed JSON": "E_MALFORMED",
        "missing fields": "E_SCHEMA",
        "wrong types": "E_SCHEMA",
        "unknown field": "E_SCHEMA",
        "wrong chain": "E_DOMAIN",
        "wrong contract": "E_DOMAIN",
        "bad signature": "E_SIGNATURE",
        "unknown device": "E_UNKNOWN_DEVICE",
        "suspended device": "E_DEVICE_INACTIVE",
        "revoked device": "E_DEVICE_INACTIVE",
        "timestamp in the future": "E_TIMESTAMP",
        "timestamp too old": "E_TIMESTAMP",
      });
      // A stale sequence number: another reading was accepted under it.
      expect((await post(service.httpUrl, wireMessage(fx, device, reading!))).status).to.equal(202);
      const stale = await post(service.httpUrl, wireMessage(fx, device, { ...reading!, value: 3n }));
      expect([stale.status, stale.body.code]).to.deep.equal([409, "E_SEQUENCE"]);
      const health = await fetch(`${service.httpUrl}/health`);
      expect(health.status).to.equal(200);
      const metrics = await (await fetch(`${service.httpUrl}/metrics`)).text();
      expect(metrics).to.match(/iotrail_ingest_rejections_total\{code="E_DEVICE_INACTIVE"\} 2/);
      expect(metrics).to.match(/iotrail_ingest_messages_total\{transport="http",outcome="accepted"\} 1/);
      expect((await service.store.unsealed()).count).to.equal(1);
    });

    it("refuses a body over the size limit from its Content-Length, before reading it (413 E_TOO_LARGE)", async function () {
      const { service } = await started({
        anchoring: { ...testConfig(await loadFixture(batcherFixture), rpc.url).anchoring, enabled: false },
      });
      const url = new URL(service.httpUrl);
      // Announce 10 MiB, send 1 KiB and keep the connection open: the answer must come without the rest.
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            method: "POST",
            path: "/v1/readings",
            headers: { "content-type": "application/json", "content-length": 10 << 20 },
          },
          (res) => {
            let body = "";
            res.on("data", (chunk: Buffer) => (body += chunk.toString()));
            res.on("end", () => resolve({ status: res.statusCode!, body }));
          },
        );
        req.on("error", reject);
        req.write("x".repeat(1024));
      });
      expect(answer.status).to.equal(413);
      expect(JSON.parse(answer.body)).to.include({ code: "E_TOO_LARGE" });
      // One message over the per-message limit, inside a small body.
      const fx = await loadFixture(batcherFixture);
      const big = JSON.stringify({
        ...JSON.parse(wireMessage(fx, fx.devices[1]!, liveReadings(fx.devices[1]!, 1)[0]!)),
        pad: "x".repeat(5000),
      });
      const tooBig = await post(service.httpUrl, big);
      expect([tooBig.status, tooBig.body.code]).to.deep.equal([413, "E_TOO_LARGE"]);
    });

    it("answers 413 to a body with more messages than the queue holds (retrying could never help)", async function () {
      const { fx, service } = await started({
        anchoring: { ...testConfig(await loadFixture(batcherFixture), rpc.url).anchoring, enabled: false },
        ingest: {
          queueLimit: 5,
          threads: 0,
          window: { pastSeconds: 86_400, futureSeconds: 300 },
          retryAfterSeconds: 2,
        },
      });
      const device = fx.devices[1]!;
      const readings = liveReadings(device, 6);
      const flood = await post(service.httpUrl, wireBatch(fx, device, readings));
      expect(flood.status).to.equal(413);
      expect(flood.body).to.deep.include({ code: "E_TOO_LARGE" });
      expect((await service.store.unsealed()).count).to.equal(0);
      const fits = await post(service.httpUrl, wireBatch(fx, device, readings.slice(0, 5)));
      expect(fits.status).to.equal(202);
      expect((fits.body.results as { status: string }[]).map((r) => r.status)).to.deep.equal(Array(5).fill("accepted"));
    });

    it("answers 429 with Retry-After while the queue is full; what it accepted is stored", async function () {
      const { fx, service } = await started({
        anchoring: { ...testConfig(await loadFixture(batcherFixture), rpc.url).anchoring, enabled: false },
        ingest: {
          queueLimit: 5,
          threads: 0,
          window: { pastSeconds: 86_400, futureSeconds: 300 },
          retryAfterSeconds: 2,
        },
      });
      let busy = 0;
      for (let round = 0; round < 5 && busy === 0; round++) {
        const answers = await Promise.all(
          fx.devices.slice(1, 9).map((device) => {
            const readings = liveReadings(device, 3, BigInt(1 + round * 3));
            return post(service.httpUrl, wireBatch(fx, device, readings)).then((answer) => ({
              answer,
              device,
              readings,
            }));
          }),
        );
        for (const { answer, device, readings } of answers) {
          if (answer.status === 429) {
            busy += 1;
            expect(answer.headers.get("retry-after")).to.equal("2");
            continue;
          }
          expect(answer.status).to.equal(202);
          // "Busy" is per message (P-H1): a body the queue half fits is half admitted; what is accepted is stored.
          const results = answer.body.results as { status: string }[];
          for (const [i, reading] of readings.entries()) {
            if (results[i]!.status === "busy") busy += 1;
            else expect(await service.store.getReading(device.address, reading.sequence)).to.not.equal(undefined);
          }
        }
      }
      expect(busy).to.be.greaterThan(0);
    });

    it("takes NDJSON batches, one outcome per line", async function () {
      const { fx, service } = await started({
        anchoring: { ...testConfig(await loadFixture(batcherFixture), rpc.url).anchoring, enabled: false },
      });
      const device = fx.devices[1]!;
      const lines = liveReadings(device, 3).map((reading) => wireMessage(fx, device, reading));
      const answer = await post(service.httpUrl, [...lines, "{bad"].join("\n") + "\n", "application/x-ndjson");
      expect(answer.status).to.equal(202);
      expect((answer.body.results as { status: string; code?: string }[]).map((r) => r.code ?? r.status)).to.deep.equal(
        ["accepted", "accepted", "accepted", "E_MALFORMED"],
      );
    });
  });

  describe("sealing, anchoring and bundles", function () {
    it("seals by size and age, anchors, serves bundles that verify against the chain, pending -> anchored -> final", async function () {
      const { fx, service } = await started();
      const device = fx.devices[5]!;
      const readings = liveReadings(device, 60);
      const answer = await post(service.httpUrl, wireBatch(fx, device, readings));
      expect(answer.status).to.equal(202);
      // 50 by size at once, the other 10 by age (200 ms).
      const batches = await waitFor(
        async () => {
          const counts = await service.store.batchCounts();
          return counts.anchored + counts.final === 2 ? counts : undefined;
        },
        15_000,
        "two anchored batches",
      );
      expect(batches.pending).to.equal(0);
      expect([
        (await service.store.getBatch(1))!.readingCount,
        (await service.store.getBatch(2))!.readingCount,
      ]).to.deep.equal([50, 10]);
      const bundleResponse = await fetch(`${service.httpUrl}/v1/readings/${device.address}/55/bundle`);
      expect(bundleResponse.status).to.equal(200);
      const bundle = await bundleResponse.json();
      const report = await verifyBundle(JSON.stringify(bundle), pinned(fx));
      expect(report.ok, JSON.stringify(report.checks.filter((c) => c.status === "fail"))).to.equal(true);
      await mine(2);
      await waitFor(
        async () => ((await service.store.batchCounts()).final === 2 ? true : undefined),
        10_000,
        "final batches",
      );
      expect(bundleResponse.headers.get("x-iotrail-batch-status")).to.be.oneOf(["anchored", "final"]);
      const status = await (await fetch(`${service.httpUrl}/v1/batches/1`)).json();
      expect(status).to.deep.include({ status: "final", final: true, readingCount: 50 });
      const byBatch = (await (await fetch(`${service.httpUrl}/v1/batches/2/bundles`)).json()) as { bundles: unknown[] };
      expect(byBatch.bundles).to.have.length(1);
      const batchReport = await verifyBundle(JSON.stringify(byBatch.bundles[0]), pinned(fx));
      expect(batchReport.ok).to.equal(true);
      expect((await fetch(`${service.httpUrl}/v1/readings/${device.address}/999/bundle`)).status).to.equal(404);
      expect((await fetch(`${service.httpUrl}/v1/batches/99`)).status).to.equal(404);
    });
  });
});
