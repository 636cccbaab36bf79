/**
 * Ingest fuzzing from outside (security review): thousands of generated inputs over HTTP and MQTT to a
 * running batcher, malformed and valid interleaved. Expected: no 5xx, no crash, every valid reading stored
 * and provable, and the service healthy at the end.
 */
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import type { MqttClient } from "mqtt";
import type { BatcherService } from "../../../src/batcher";
import { DeviceKey } from "../../../src/device";
import type { Reading } from "../../../src/telemetry";
import { verifyBundle } from "../../../src/verify";
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
import type { BatcherFixture } from "../../helpers/batcher";
import { pinned } from "../../helpers/bundle";

const INPUTS = 5_000;

type Input =
  | { kind: "valid"; device: number }
  | { kind: "replay" }
  | { kind: "bad-signature"; device: number; byte: number }
  | { kind: "stranger" }
  | { kind: "raw"; body: string }
  | { kind: "huge-number"; device: number; digits: number }
  | { kind: "deep"; depth: number }
  | { kind: "oversized"; size: number }
  | { kind: "wrong-types"; value: unknown };

const input: fc.Arbitrary<Input> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("valid" as const), device: fc.nat(9) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("replay" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("bad-signature" as const), device: fc.nat(9), byte: fc.nat(64) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("stranger" as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("raw" as const), body: fc.string({ maxLength: 200 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("huge-number" as const),
      device: fc.nat(9),
      digits: fc.integer({ min: 20, max: 400 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deep" as const), depth: fc.integer({ min: 1, max: 3000 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("oversized" as const), size: fc.integer({ min: 4_097, max: 20_000 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("wrong-types" as const), value: fc.jsonValue() }) },
);

describe("ingest fuzzing from outside", function () {
  let rpc: { url: string; close: () => Promise<void> };
  let service: BatcherService | undefined;
  const clients: MqttClient[] = [];

  before(async function () {
    rpc = await startRpcServer();
  });

  after(async function () {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
    await service?.stop();
    await rpc.close();
  });

  it(`security: ${INPUTS} generated inputs over HTTP and MQTT: no 5xx, no crash, every valid reading stored and provable`, async function () {
    this.timeout(600_000);
    const fx: BatcherFixture = await loadFixture(batcherFixture);
    const config = testConfig(fx, rpc.url);
    service = await startBatcher({
      ...config,
      http: { ...config.http, getsPerSecond: 10_000 },
      sealing: { maxReadings: 1_000, maxAgeMs: 300, intervalMs: 25 },
    });
    const devices = fx.devices.slice(0, 10);
    const mqttClients = await Promise.all(devices.map((device) => connectDevice(service!.mqttUrl!, fx, device)));
    clients.push(...mqttClients);
    let closedConnections = 0;
    mqttClients.forEach((client) => client.on("close", () => (closedConnections += 1)));
    const nextSequence = devices.map(() => 1n);
    const valid: Reading[] = [];
    let lastValid: string | undefined;
    const statuses = new Map<number, number>();

    const message = (item: Input): { body: string | Buffer; device: number; valid?: Reading } => {
      switch (item.kind) {
        case "valid": {
          const device = devices[item.device]!;
          const [reading] = liveReadings(device, 1, nextSequence[item.device]!);
          nextSequence[item.device]! += 1n;
          lastValid = wireMessage(fx, device, reading!);
          return { body: lastValid, device: item.device, valid: reading! };
        }
        case "replay":
          return { body: lastValid ?? "{}", device: 0 };
        case "bad-signature": {
          const device = devices[item.device]!;
          const [reading] = liveReadings(device, 1, 1_000_000n + nextSequence[item.device]!);
          const parsed = JSON.parse(wireMessage(fx, device, reading!)) as { signature: string };
          const hex = parsed.signature.slice(2);
          const at = item.byte * 2;
          const flipped = hex.slice(0, at) + (hex[at] === "0" ? "1" : "0") + hex.slice(at + 1);
          return { body: JSON.stringify({ ...parsed, signature: `0x${flipped}` }), device: item.device };
        }
        case "stranger": {
          const stranger = DeviceKey.generate();
          return { body: wireMessage(fx, stranger, liveReadings(stranger, 1)[0]!), device: 0 };
        }
        case "raw":
          return { body: item.body, device: 0 };
        case "huge-number": {
          const device = devices[item.device]!;
          const parsed = JSON.parse(wireMessage(fx, device, liveReadings(device, 1)[0]!)) as {
            reading: Record<string, string>;
          };
          parsed.reading.sequence = "9".repeat(item.digits);
          return { body: JSON.stringify(parsed), device: item.device };
        }
        case "deep":
          return { body: `{"reading":${"[".repeat(item.depth)}${"]".repeat(item.depth)}}`, device: 0 };
        case "oversized":
          return { body: Buffer.alloc(item.size, 0x20), device: 0 };
        case "wrong-types":
          return {
            body: JSON.stringify({ domain: item.value, reading: item.value, signature: item.value }),
            device: 0,
          };
      }
    };

    const inputs = fc.sample(fc.tuple(input, fc.boolean(), fc.nat(9)), { numRuns: INPUTS, seed: 20261130 });
    for (let start = 0; start < inputs.length; start += 50) {
      const chunk = inputs.slice(start, start + 50).map(([item, mqtt, sender]) => {
        const built = message(item);
        // Over MQTT, a message goes out on its sender's own topic (valid readings on their device's); a body
        // past the broker's packet limit would end the connection, so those go over HTTP.
        const device =
          built.valid === undefined && item.kind !== "bad-signature" && item.kind !== "huge-number"
            ? sender
            : built.device;
        return { ...built, device, overMqtt: mqtt && built.body.length <= 8_000 };
      });
      await Promise.all(
        chunk.map(async ({ body, device, valid: reading, overMqtt }) => {
          if (overMqtt) {
            // QoS 1: the PUBACK comes after the message was checked (and stored, when valid).
            await mqttClients[device]!.publishAsync(deviceTopics(devices[device]!).readings, body, { qos: 1 });
          } else {
            const response = await fetch(`${service!.httpUrl}/v1/readings`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body,
            });
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
            await response.arrayBuffer();
          }
          if (reading !== undefined) valid.push(reading);
        }),
      );
    }

    expect(
      [...statuses.keys()].filter((status) => status >= 500),
      JSON.stringify([...statuses]),
    ).to.deep.equal([]);
    expect(closedConnections).to.equal(0);
    expect(valid.length).to.be.greaterThan(INPUTS / 3);
    for (const reading of valid) {
      expect(
        await service.store.getReading(reading.device, reading.sequence),
        `${reading.device} #${reading.sequence}`,
      ).to.not.equal(undefined);
    }

    // Every valid reading is provable: sealed, anchored, and its bundle's signature and proof hold.
    await waitFor(
      async () => ((await service!.store.unsealed()).count === 0 ? true : undefined),
      30_000,
      "everything sealed",
    );
    await waitFor(
      async () => {
        await mine(1);
        const counts = await service!.store.batchCounts();
        return counts.pending === 0 ? true : undefined;
      },
      60_000,
      "everything anchored",
    );
    let checked = 0;
    for (const reading of valid) {
      const response = await fetch(`${service.httpUrl}/v1/readings/${reading.device}/${reading.sequence}/bundle`);
      expect(response.status).to.equal(200);
      const report = await verifyBundle(await response.text(), checked % 100 === 0 ? pinned(fx) : {});
      expect(
        report.checks.filter((c) => c.status === "fail"),
        `${reading.device} #${reading.sequence}`,
      ).to.deep.equal([]);
      checked += 1;
    }
    // Healthy at the end: it answers and takes a new reading.
    expect(await (await fetch(`${service.httpUrl}/health`)).json()).to.deep.include({ status: "ok" });
    const device = devices[0]!;
    const [last] = liveReadings(device, 1, nextSequence[0]!);
    expect((await postReadings(service.httpUrl, wireMessage(fx, device, last!))).status).to.equal(202);
  });
});
