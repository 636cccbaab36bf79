import hre from "hardhat";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import pino from "pino";
import { BatcherService, encodeIngestMessage, loadBatcherConfig } from "../../src/batcher";
import type { BatcherConfig } from "../../src/batcher";
import { DeviceKey } from "../../src/device";
import { serveInProcessChain } from "../../src/tooling/rpc-server";
import { registerDeviceKeys } from "../../src/registry";
import { metricId, ZERO_HASH } from "../../src/telemetry";
import type { Reading } from "../../src/telemetry";
import { anchorFixture } from "./anchor";
import type { AnchorFixture } from "./anchor";
import { devAccountKey } from "./node";
import { FAR_DEADLINE, METADATA } from "./registry";

/** Hardhat's default mnemonic: the key of account `index` of the in-process network. */
export const hardhatKey = devAccountKey;

/** The fixture's relayer (account 6) holds ANCHORER_ROLE. */
export const ANCHORER_KEY = hardhatKey(6);

export interface BatcherFixture extends AnchorFixture {
  devices: DeviceKey[];
}

/** Registers `count` new device keys, owned by the fixture's owner. */
export async function registerFleet(fx: AnchorFixture, count: number): Promise<DeviceKey[]> {
  const devices = Array.from({ length: count }, () => DeviceKey.generate());
  await registerDeviceKeys({
    registry: fx.client,
    registrant: fx.manufacturer.address,
    keys: devices,
    owner: fx.owner.address,
    metadataHash: () => METADATA,
    deadline: FAR_DEADLINE,
  });
  return devices;
}

/** The anchoring fixture plus ten more registered devices. */
export async function batcherFixture(): Promise<BatcherFixture> {
  const fx = await anchorFixture();
  return { ...fx, devices: [fx.device, ...(await registerFleet(fx, 10))] };
}

/** Serves the in-process Hardhat network over HTTP, as a node would. */
export function startRpcServer(): Promise<{ url: string; close: () => Promise<void> }> {
  return serveInProcessChain(hre);
}

export const tempDatabase = () => join(mkdtempSync(join(tmpdir(), "iotrail-batcher-")), "batcher.sqlite");

/** A test configuration: ephemeral ports, fast timers, two confirmations. */
export function testConfig(fx: AnchorFixture, rpcUrl: string, overrides: Record<string, unknown> = {}): BatcherConfig {
  return contractsTestConfig(
    rpcUrl,
    { chainId: fx.telemetry.chainId, anchor: fx.telemetry.verifyingContract, registry: String(fx.registry.target) },
    overrides,
  );
}

/** {@link testConfig} for contracts given by address, or (none given) resolved from a deployment record. */
export function contractsTestConfig(
  rpcUrl: string,
  contracts: { chainId: bigint; anchor?: string; registry?: string; deployments?: string },
  overrides: Record<string, unknown> = {},
): BatcherConfig {
  const config = loadBatcherConfig({
    env: { BATCHER_PRIVATE_KEY: ANCHORER_KEY, BATCHER_MQTT_OPERATOR_TOKEN: OPERATOR_TOKEN },
  });
  return {
    ...config,
    rpcUrl,
    ...contracts,
    database: tempDatabase(),
    rpcTimeoutMs: 2_000,
    http: { ...config.http, port: 0 },
    mqtt: { ...config.mqtt, port: 0 },
    ingest: { ...config.ingest, threads: 0 },
    sealing: { maxReadings: 50, maxAgeMs: 200, intervalMs: 20 },
    anchoring: { ...config.anchoring, confirmations: 2, intervalMs: 25, bumpAfterMs: 60_000, maxBackoffMs: 200 },
    registryRefreshMs: 50,
    logLevel: "silent",
    ...overrides,
  } as BatcherConfig;
}

export function startBatcher(config: BatcherConfig): Promise<BatcherService> {
  return BatcherService.start(config, { logger: pino({ level: process.env.BATCHER_TEST_LOG ?? "silent" }) });
}

/** The embedded broker's operator token in tests. */
export const OPERATOR_TOKEN = "test-operator-token-0123456789";

/** A device's readings and replies topics on the embedded broker. */
export function deviceTopics(device: DeviceKey) {
  const name = device.address.toLowerCase();
  return { readings: `iotrail/v1/readings/${name}`, replies: `iotrail/v1/replies/${name}` };
}

/** A login timestamp no other login in this process used: a login is good for one connection. */
let lastSecond = 0;
export function freshSecond(): bigint {
  lastSecond = Math.max(lastSecond + 1, Math.floor(Date.now() / 1000) - 200);
  return BigInt(lastSecond);
}

/** Connects `device` to the embedded broker with a fresh signed login; rejects when the broker refuses. */
export async function connectDevice(
  url: string,
  fx: AnchorFixture,
  device: DeviceKey,
  options: mqtt.IClientOptions = {},
): Promise<MqttClient> {
  const client = mqtt.connect(url, {
    ...device.mqttCredentials(fx.telemetry, freshSecond()),
    reconnectPeriod: 0,
    ...options,
  });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", (error) => {
      client.end(true);
      reject(error);
    });
  });
  return client;
}

/** Readings of `device` with timestamps around now (inside the batcher's window). */
export function liveReadings(device: DeviceKey, count: number, firstSequence = 1n): Reading[] {
  const now = BigInt(Math.floor(Date.now() / 1000));
  return Array.from({ length: count }, (_, i) => ({
    device: device.address,
    sequence: firstSequence + BigInt(i),
    timestamp: now - BigInt(count - i),
    metric: metricId("temperature.mC"),
    value: 21_000n + BigInt(i),
    payloadHash: ZERO_HASH,
  }));
}

/** The wire message a device sends for `reading`. */
export function wireMessage(fx: AnchorFixture, device: DeviceKey, reading: Reading): string {
  return encodeIngestMessage({ domain: fx.telemetry, reading, signature: device.signReading(fx.telemetry, reading) });
}

/** Several wire messages as one JSON array body. */
export function wireBatch(fx: AnchorFixture, device: DeviceKey, readings: readonly Reading[]): string {
  return `[${readings.map((reading) => wireMessage(fx, device, reading)).join(",")}]`;
}

/** POSTs a body to the batcher's /v1/readings. */
export async function postReadings(url: string, body: string | Uint8Array, contentType = "application/json") {
  const response = await fetch(`${url}/v1/readings`, {
    method: "POST",
    headers: { "content-type": contentType },
    body,
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

/** Polls `check` until it returns a value (not undefined) or the timeout passes. */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 15_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
