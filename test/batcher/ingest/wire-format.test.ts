import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { API_ROUTES, checkMessage, openApiDocument } from "../../../src/batcher";
import { telemetryDomain } from "../../../src/eip712";
import { encodeIngestMessage, parseReading } from "../../../src/telemetry";
import ingestSchema from "../../../schemas/ingest-message.v1.schema.json";
import replySchema from "../../../schemas/ingest-reply.v1.schema.json";
import {
  batcherFixture,
  connectDevice,
  deviceTopics,
  liveReadings,
  postReadings,
  startBatcher,
  startRpcServer,
  testConfig,
  waitFor,
  wireMessage,
} from "../../helpers/batcher";

const FIXTURE = readFileSync(join(__dirname, "..", "..", "fixtures", "ingest-message.v1.json"), "utf8");
const DOMAIN = telemetryDomain(31337n, "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9");

function validator(schema: object) {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

describe("wire formats", function () {
  describe("ingest message (schemas/ingest-message.v1)", function () {
    const valid = validator(ingestSchema);

    it("the golden fixture validates, is what encodeIngestMessage writes, and the batcher's checks accept it", function () {
      const message = JSON.parse(FIXTURE) as { reading: unknown; signature: string };
      expect(valid(message), JSON.stringify(valid.errors)).to.equal(true);
      const reading = parseReading(message.reading);
      expect(encodeIngestMessage({ domain: DOMAIN, reading, signature: message.signature })).to.equal(
        JSON.stringify(message),
      );
      const checked = checkMessage(FIXTURE, { domain: DOMAIN, maxBytes: 4096 });
      expect(checked.status, checked.status === "rejected" ? checked.message : "").to.equal("checked");
    });

    it("the schema and the batcher's check 3 agree on what is well formed", function () {
      const base = JSON.parse(FIXTURE) as Record<string, Record<string, unknown>>;
      const variants: Array<[string, (m: Record<string, Record<string, unknown>>) => void]> = [
        ["unknown top-level field", (m) => ((m as Record<string, unknown>).extra = 1)],
        ["unknown reading field", (m) => (m.reading!.extra = 1)],
        ["unknown domain field", (m) => (m.domain!.name = "iotrail TelemetryAnchor")],
        ["missing reading field", (m) => delete m.reading!.metric],
        ["short signature", (m) => ((m as Record<string, unknown>).signature = "0x1234")],
        ["chain id as a number", (m) => (m.domain!.chainId = 31337)],
        ["negative sequence", (m) => (m.reading!.sequence = "-1")],
        ["sequence as a JSON integer", (m) => (m.reading!.sequence = 42)],
        ["sequence above uint64", (m) => (m.reading!.sequence = "18446744073709551616")],
        ["value as a negative JSON integer", (m) => (m.reading!.value = -1250)],
        ["value -0", (m) => (m.reading!.value = "-0")],
        ["value at int256's minimum", (m) => (m.reading!.value = (-(2n ** 255n)).toString())],
        ["value below int256's minimum", (m) => (m.reading!.value = (-(2n ** 255n) - 1n).toString())],
        ["sequence at uint64's maximum", (m) => (m.reading!.sequence = (2n ** 64n - 1n).toString())],
        ["metric too short", (m) => (m.reading!.metric = "0x1234")],
        ["device not an address", (m) => (m.reading!.device = "0x1234")],
      ];
      for (const [name, mutate] of variants) {
        const message = JSON.parse(JSON.stringify(base)) as Record<string, Record<string, unknown>>;
        mutate(message);
        const checked = checkMessage(JSON.stringify(message), { domain: DOMAIN, maxBytes: 4096 });
        const schemaSays = valid(message);
        const checkSays = !(checked.status === "rejected" && checked.code === "E_SCHEMA");
        const said = checked.status === "rejected" ? `${checked.code}: ${checked.message}` : checked.status;
        expect(schemaSays, `${name}: schema ${schemaSays}, check ${said}`).to.equal(checkSays);
      }
    });
  });

  describe("ingest replies (schemas/ingest-reply.v1) over HTTP and MQTT", function () {
    it("every reply the batcher gives validates against the schema", async function () {
      const fx = await loadFixture(batcherFixture);
      const rpc = await startRpcServer();
      const service = await startBatcher(testConfig(fx, rpc.url));
      const valid = validator(replySchema);
      try {
        const [device] = fx.devices;
        const [first, second] = liveReadings(device!, 2);
        const replies: unknown[] = [];
        replies.push((await postReadings(service.httpUrl, wireMessage(fx, device!, first!))).body); // accepted
        replies.push((await postReadings(service.httpUrl, wireMessage(fx, device!, first!))).body); // duplicate
        replies.push((await postReadings(service.httpUrl, "{}")).body); // rejected
        const many = await postReadings(service.httpUrl, `[${wireMessage(fx, device!, second!)},"x"]`);
        replies.push(...(many.body.results as unknown[]));
        const client = await connectDevice(service.mqttUrl!, fx, device!);
        const topics = deviceTopics(device!);
        const onMqtt: unknown[] = [];
        client.on("message", (_topic, payload) => onMqtt.push(JSON.parse(payload.toString())));
        await client.subscribeAsync(topics.replies, { qos: 1 });
        const [third] = liveReadings(device!, 1, 3n);
        await client.publishAsync(topics.readings, wireMessage(fx, device!, third!), { qos: 1 });
        await client.publishAsync(topics.readings, "not json", { qos: 1 });
        await waitFor(() => (onMqtt.length >= 2 ? true : undefined), 10_000, "two MQTT replies");
        await client.endAsync();
        replies.push(...onMqtt);
        expect(replies.map((r) => (r as { status: string }).status)).to.include.members([
          "accepted",
          "duplicate",
          "rejected",
        ]);
        for (const reply of replies)
          expect(valid(reply), `${JSON.stringify(reply)}: ${JSON.stringify(valid.errors)}`).to.equal(true);
      } finally {
        await service.stop();
        await rpc.close();
      }
    });
  });

  describe("OpenAPI (GET /openapi.json)", function () {
    it("describes exactly the routes the batcher serves, and real answers validate against the described schemas", async function () {
      const fx = await loadFixture(batcherFixture);
      const rpc = await startRpcServer();
      const service = await startBatcher(testConfig(fx, rpc.url));
      try {
        const served = (await (await fetch(`${service.httpUrl}/openapi.json`)).json()) as {
          openapi: string;
          paths: Record<string, Record<string, unknown>>;
        };
        expect(served).to.deep.equal(JSON.parse(JSON.stringify(openApiDocument())));
        expect(served.openapi).to.equal("3.1.0");
        // Every route Fastify serves is described, and every described route is served.
        const registered = service.routes.map((r) => `${r.method} ${r.url}`).sort();
        expect(registered).to.deep.equal(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());

        const ajv = new Ajv2020({ allErrors: true, strict: false });
        addFormats(ajv);
        ajv.addSchema(served, "openapi");
        const answer = async (pathTemplate: string, url: string, init?: RequestInit) => {
          const response = await fetch(`${service.httpUrl}${url}`, init);
          const body = (await response.json()) as unknown;
          const pointer = `openapi#/paths/${pathTemplate.replace(/~/g, "~0").replace(/\//g, "~1")}/${(init?.method ?? "get").toLowerCase()}/responses/${response.status}/content/application~1json/schema`;
          const validate = ajv.getSchema(pointer) ?? ajv.compile({ $ref: pointer });
          expect(validate(body), `${url} ${response.status}: ${JSON.stringify(validate.errors)}`).to.equal(true);
          return { status: response.status, body };
        };
        const [device] = fx.devices;
        const readings = liveReadings(device!, 3);
        await answer("/v1/readings", "/v1/readings", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: wireMessage(fx, device!, readings[0]!),
        });
        await answer("/v1/readings", "/v1/readings", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: `[${readings.map((r) => wireMessage(fx, device!, r)).join(",")}]`,
        });
        await answer("/v1/readings", "/v1/readings", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{",
        });
        await answer("/v1/readings/{device}/{sequence}/bundle", `/v1/readings/${device!.address}/99/bundle`);
        await answer("/v1/batches/{id}", "/v1/batches/77");
        await waitFor(
          async () => ((await fetch(`${service.httpUrl}/v1/batches/1`)).status === 200 ? true : undefined),
          10_000,
          "a batch",
        );
        await waitFor(
          async () => {
            const view = (await (await fetch(`${service.httpUrl}/v1/batches/1`)).json()) as { anchor?: unknown };
            return view.anchor === undefined ? undefined : true;
          },
          15_000,
          "batch 1 anchored",
        );
        expect((await answer("/v1/batches/{id}", "/v1/batches/1")).status).to.equal(200);
        expect((await answer("/v1/batches/{id}/bundles", "/v1/batches/1/bundles?limit=2")).status).to.equal(200);
        expect(
          (
            await answer(
              "/v1/readings/{device}/{sequence}/bundle",
              `/v1/readings/${device!.address}/${readings[1]!.sequence}/bundle`,
            )
          ).status,
        ).to.equal(200);
        expect(
          (await answer("/v1/devices/{device}/bundle", `/v1/devices/${device!.address}/bundle?from=1&to=3`)).status,
        ).to.equal(200);
        expect(
          (await answer("/v1/devices/{device}/bundle", `/v1/devices/${device!.address}/bundle?from=1&to=5`)).status,
        ).to.equal(409);
        expect(
          (await answer("/v1/devices/{device}/bundle", `/v1/devices/${device!.address}/bundle?from=5&to=1`)).status,
        ).to.equal(400);
        expect((await answer("/health", "/health")).status).to.equal(200);
      } finally {
        await service.stop();
        await rpc.close();
      }
    });
  });
});
