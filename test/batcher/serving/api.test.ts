/** The batcher's HTTP edges: malformed bodies (review findings), expensive reads (M-5) and the admin side (I-9). */
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import type { BatcherService } from "../../../src/batcher";
import { jsonArrayItems, ndjsonLines } from "../../../src/batcher";
import type { BatcherFixture } from "../../helpers/batcher";
import {
  batcherFixture,
  liveReadings,
  postReadings,
  startBatcher,
  startRpcServer,
  testConfig,
  waitFor,
  wireBatch,
  wireMessage,
} from "../../helpers/batcher";

describe("batcher HTTP API", function () {
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

  const noAnchoring = async () => ({
    anchoring: { ...testConfig(await loadFixture(batcherFixture), rpc.url).anchoring, enabled: false },
  });

  describe("jsonArrayItems", function () {
    it("property: the items of any JSON array are its elements' own bytes, whatever their nesting", function () {
      fc.assert(
        fc.property(fc.array(fc.json({ depthSize: "large" })), (elements) => {
          const body = Buffer.from(` [ ${elements.join(" ,\n")} ] `);
          const items = jsonArrayItems(body)!;
          expect(items.map((item: Uint8Array) => JSON.parse(Buffer.from(item).toString()))).to.deep.equal(
            elements.map((element) => JSON.parse(element)),
          );
        }),
      );
    });

    it("is undefined for anything but one array: unbalanced, unterminated, trailing text, empty items", function () {
      for (const text of ["", "{}", "[", "[1", "[1,]", "[,1]", "[1,,2]", '["a]', "[1] 2", "[}]", "[1]]"]) {
        expect(jsonArrayItems(Buffer.from(text)), text).to.equal(undefined);
      }
      expect(jsonArrayItems(Buffer.from("[]"))).to.deep.equal([]);
      expect(
        ndjsonLines(Buffer.from("a\n\n  \nb\r\n")).map((l: Uint8Array) => Buffer.from(l).toString()),
      ).to.deep.equal(["a", "b\r"]);
    });
  });

  describe("POST /v1/readings", function () {
    it("security: a deeply nested JSON-array body gets a 4xx answer, never a 500", async function () {
      const { service } = await started(await noAnchoring());
      const deep = `[${"[".repeat(5000)}${"]".repeat(5000)}]`;
      const answer = await postReadings(service.httpUrl, deep);
      expect(answer.status).to.equal(202);
      const [outcome] = answer.body.results as { code: string }[];
      expect(outcome!.code).to.equal("E_TOO_LARGE");
      // The same depth as a single message, and a deep item small enough to be parsed: 4xx each.
      const single = await postReadings(service.httpUrl, `{"x":${"[".repeat(5000)}${"]".repeat(5000)}}`);
      expect([single.status, single.body.code]).to.deep.equal([413, "E_TOO_LARGE"]);
      const small = await postReadings(service.httpUrl, `[{"x":${"[".repeat(1500)}${"]".repeat(1500)}}]`);
      expect((small.body.results as { code: string }[])[0]!.code).to.equal("E_SCHEMA");
    });

    it("invalid UTF-8 inside a JSON-array item is E_MALFORMED, as it is alone", async function () {
      const { fx, service } = await started(await noAnchoring());
      const device = fx.devices[1]!;
      const good = wireMessage(fx, device, liveReadings(device, 1)[0]!);
      const bad = Buffer.concat([Buffer.from('{"x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
      const body = Buffer.concat([Buffer.from("["), Buffer.from(good), Buffer.from(","), bad, Buffer.from("]")]);
      const response = await fetch(`${service.httpUrl}/v1/readings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const results = ((await response.json()) as { results: { status: string; code?: string }[] }).results;
      expect(results.map((r) => r.code ?? r.status)).to.deep.equal(["accepted", "E_MALFORMED"]);
      const alone = await fetch(`${service.httpUrl}/v1/readings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: bad,
      });
      expect(((await alone.json()) as { code: string }).code).to.equal("E_MALFORMED");
    });

    it("a wrong or missing content type gets 415", async function () {
      const { fx, service } = await started(await noAnchoring());
      const device = fx.devices[1]!;
      const body = wireMessage(fx, device, liveReadings(device, 1)[0]!);
      const contentTypes: Record<string, string>[] = [
        { "content-type": "text/plain" },
        { "content-type": "application/xml" },
        {},
      ];
      for (const headers of contentTypes) {
        const response = await fetch(`${service.httpUrl}/v1/readings`, { method: "POST", headers, body });
        expect(response.status, JSON.stringify(headers)).to.equal(415);
      }
    });
  });

  describe("reads of sealed batches (M-5)", function () {
    async function anchoredBatch(fx: BatcherFixture, service: BatcherService, devices = 20, perDevice = 10) {
      for (const device of fx.devices.slice(0, devices)) {
        expect(
          (await postReadings(service.httpUrl, wireBatch(fx, device, liveReadings(device, perDevice)))).status,
        ).to.equal(202);
      }
      await waitFor(
        async () =>
          (await service.store.batchCounts()).anchored + (await service.store.batchCounts()).final > 0
            ? true
            : undefined,
        15_000,
        "an anchored batch",
      );
      await mine(2);
    }

    it("paginates a batch's bundles by device, with a link to the next page", async function () {
      const { fx, service } = await started({ sealing: { maxReadings: 100, maxAgeMs: 10_000, intervalMs: 20 } });
      await anchoredBatch(fx, service, 10, 10);
      const first = (await (await fetch(`${service.httpUrl}/v1/batches/1/bundles?limit=4`)).json()) as {
        devices: number;
        bundles: unknown[];
        next?: string;
      };
      expect(first.devices).to.equal(10);
      expect(first.bundles).to.have.length(4);
      expect(first.next).to.equal("/v1/batches/1/bundles?offset=4&limit=4");
      const last = (await (await fetch(`${service.httpUrl}/v1/batches/1/bundles?offset=8&limit=4`)).json()) as {
        bundles: unknown[];
        next?: string;
      };
      expect(last.bundles).to.have.length(2);
      expect(last).to.not.have.property("next");
      expect((await fetch(`${service.httpUrl}/v1/batches/1/bundles?limit=0`)).status).to.equal(400);
      expect((await fetch(`${service.httpUrl}/v1/batches/1/bundles?limit=501`)).status).to.equal(400);
    });

    it("security (M-5): ingest goes on while a client hammers bundles and dumps; over its rate it gets 429", async function () {
      const { fx, service } = await started({ sealing: { maxReadings: 2000, maxAgeMs: 10_000, intervalMs: 20 } });
      await anchoredBatch(fx, service, 10, 200);
      // A client asking for the batch's heavy reads 400 times at once, far past its rate.
      let pendingReads = 400;
      const statuses: number[] = [];
      const storm = Promise.all(
        Array.from({ length: 400 }, (_, i) =>
          fetch(`${service.httpUrl}/v1/batches/1/${i % 2 === 0 ? "bundles?limit=500" : "dump"}`).then(
            async (response) => {
              await response.arrayBuffer();
              statuses.push(response.status);
              pendingReads -= 1;
            },
          ),
        ),
      );
      // Meanwhile a device keeps reporting: its readings are stored and answered while reads still wait.
      const device = fx.devices[10]!;
      const waitingAtFirstAnswer: number[] = [];
      for (const reading of liveReadings(device, 10)) {
        expect((await postReadings(service.httpUrl, wireMessage(fx, device, reading))).status).to.equal(202);
        waitingAtFirstAnswer.push(pendingReads);
      }
      await storm;
      expect(waitingAtFirstAnswer[0]).to.be.greaterThan(0);
      expect(statuses.filter((s) => s === 429).length).to.be.greaterThan(0);
      expect(statuses.every((s) => s === 200 || s === 429 || s === 503)).to.equal(true);
      const metrics = await (await fetch(`${service.httpUrl}/metrics`)).text();
      expect(metrics).to.match(/iotrail_ingest_messages_total\{transport="http",outcome="accepted"\} 2010/);
      expect(metrics).to.not.match(/outcome="busy"\} [1-9]/);
    });
  });

  describe("admin side (I-9)", function () {
    it("security (I-9): with BATCHER_ADMIN_TOKEN, /metrics needs the token and /health shows details only with it", async function () {
      const fx = await loadFixture(batcherFixture);
      const config = testConfig(fx, rpc.url);
      service = await startBatcher({ ...config, http: { ...config.http, adminToken: "an-admin-token-0123456789" } });
      expect((await fetch(`${service.httpUrl}/metrics`)).status).to.equal(401);
      const wrong = await fetch(`${service.httpUrl}/metrics`, { headers: { authorization: "Bearer nope" } });
      expect(wrong.status).to.equal(401);
      const right = await fetch(`${service.httpUrl}/metrics`, {
        headers: { authorization: "Bearer an-admin-token-0123456789" },
      });
      expect(right.status).to.equal(200);
      expect(await (await fetch(`${service.httpUrl}/health`)).json()).to.deep.equal({ status: "ok" });
      const details = (await (
        await fetch(`${service.httpUrl}/health`, { headers: { authorization: "Bearer an-admin-token-0123456789" } })
      ).json()) as Record<string, unknown>;
      expect(details).to.have.property("crypto");
    });
  });
});
