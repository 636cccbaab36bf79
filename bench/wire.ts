// npm run bench:wire: batcher throughput over the real wire. Simulated devices (the CLI's simulator) publish
// signed readings over MQTT (the embedded broker, and a real Mosquitto 2 with the shipped configuration)
// or POST them over HTTP, and a reading counts only when the batcher's verdict for it arrives (after its
// durable write). The batchers run as `iotrail batcher` child processes (one per shard), so their CPU time
// is their own; the devices and the chain (an in-process Hardhat node) live in this process.
//
// Cases: SQLite with one batcher (embedded broker, Mosquitto, HTTP) and PostgreSQL with one and two shards
// behind Mosquitto (MQTT 5 shared subscription). Each reports acknowledged readings/s, p50/p99 latency from
// send to verdict, and the batchers' CPU time per reading. `--quick` runs small counts (harness check).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeviceKey } from "../src/device";
import { simulate } from "../src/simulator";
import type { SimulationSummary } from "../src/simulator";
import { mosquittoAvailable, startMosquitto } from "../src/tooling/mosquitto";
import type { MosquittoBroker } from "../src/tooling/mosquitto";
import { postgresAvailable, startPostgres } from "../src/tooling/postgres";
import type { PostgresCluster } from "../src/tooling/postgres";
import { anchorFixture } from "../test/helpers/anchor";
import { registerFleet, startRpcServer } from "../test/helpers/batcher";
import { QUICK, record } from "./report";
import { cpuSeconds, shardNodeArgs, threadCpuSeconds, startShard, stopShard, storedFigures } from "./processes";
import type { Shard } from "./processes";

const DEVICES = QUICK ? 20 : 100;
const PER_DEVICE = QUICK ? 50 : 600;
const SHARD_PASSWORD = "bench-shard-password-0123456789";

export interface WireCase {
  name: string;
  store: "sqlite" | "postgres";
  transport: "embedded" | "mosquitto" | "http";
  shards: number;
  sent: number;
  acknowledged: number;
  perSecond: number;
  /** Latency from send to verdict at saturation (everything offered at once). */
  saturationLatencyMs: { p50: number; p99: number };
  /** The paced rate (80% of `perSecond`) at which `latencyMs` was measured. */
  pacedPerSecond: number;
  latencyMs: { p50: number; p99: number };
  /** CPU time of the batcher processes (user + system) per acknowledged reading at saturation, microseconds. */
  cpuMicrosPerReading: number;
  /** The bench process: the simulated devices and the in-process chain the batchers anchor on. */
  devicesCpuMicrosPerReading: number;
  /** CPU time of the broker (Mosquitto, when it carries the readings) per acknowledged reading, microseconds. */
  brokerCpuMicrosPerReading?: number;
  /** CPU time of the PostgreSQL server and its backends per acknowledged reading, microseconds. */
  databaseCpuMicrosPerReading?: number;
  /**
   * PostgreSQL: the readings table with its indexes, per stored reading, in bytes (sealing updates every row,
   * so this includes the old row versions until autovacuum reuses their space).
   */
  databaseBytesPerReading?: number;
  /** Readings stored in the database at the end (checked: equals the acknowledged ones). */
  stored: number;
}

async function main(): Promise<void> {
  if (!mosquittoAvailable() || !postgresAvailable()) throw new Error("the wire bench needs mosquitto and postgresql");
  const rpc = await startRpcServer();
  const fx = await anchorFixture();
  const devices: DeviceKey[] = await registerFleet(fx, DEVICES);
  const devicePassword = (key: DeviceKey) => `pw-${key.address.slice(2, 14).toLowerCase()}`;
  const broker = await startMosquitto({
    "iotrail-batcher": SHARD_PASSWORD,
    "iotrail-batcher-1": SHARD_PASSWORD,
    "iotrail-batcher-2": SHARD_PASSWORD,
    ...Object.fromEntries(devices.map((key) => [key.address.toLowerCase(), devicePassword(key)])),
  });
  const postgres = await startPostgres();
  try {
    await runCases(fx, devices, devicePassword, rpc.url, broker, postgres);
  } finally {
    await broker.stop();
    await postgres.destroy();
    await rpc.close();
  }
}

async function runCases(
  fx: Awaited<ReturnType<typeof anchorFixture>>,
  devices: DeviceKey[],
  devicePassword: (key: DeviceKey) => string,
  rpcUrl: string,
  broker: MosquittoBroker,
  postgres: PostgresCluster,
): Promise<void> {
  const base = {
    rpcUrl,
    chainId: fx.telemetry.chainId.toString(),
    anchor: fx.telemetry.verifyingContract,
    registry: String(fx.registry.target),
    http: { port: 0 },
    anchoring: { enabled: false },
    sealing: { maxReadings: 10_000, maxAgeMs: 1_000, intervalMs: 200 },
    ingest: { queueLimit: 40_000 },
  };
  const all: Pick<WireCase, "name" | "store" | "transport" | "shards">[] = [
    { name: "SQLite, embedded broker (MQTT, QoS 1)", store: "sqlite", transport: "embedded", shards: 1 },
    { name: "SQLite, Mosquitto 2 (MQTT 5, QoS 1)", store: "sqlite", transport: "mosquitto", shards: 1 },
    { name: "SQLite, HTTP (500 readings per request)", store: "sqlite", transport: "http", shards: 1 },
    { name: "PostgreSQL, Mosquitto 2, one shard", store: "postgres", transport: "mosquitto", shards: 1 },
    { name: "PostgreSQL, Mosquitto 2, two shards", store: "postgres", transport: "mosquitto", shards: 2 },
  ];
  // BENCH_WIRE_CASES=2,4 runs only those (1-based), to look at one path.
  const only = process.env.BENCH_WIRE_CASES?.split(",").map(Number);
  const cases = only === undefined ? all : all.filter((_, i) => only.includes(i + 1));
  const results: WireCase[] = [];
  let firstSequence = 1n;
  for (const spec of cases) {
    const database =
      spec.store === "postgres"
        ? await postgres.createDatabase()
        : join(mkdtempSync(join(tmpdir(), "iotrail-bench-sqlite-")), "batcher.sqlite");
    const shards: Shard[] = [];
    for (let i = 1; i <= spec.shards; i++) {
      const mqtt =
        spec.transport === "embedded"
          ? { port: 0, messagesPerSecond: 100_000, burst: 100_000 }
          : spec.transport === "mosquitto"
            ? {
                url: `mqtt://iotrail-batcher-${i}:${SHARD_PASSWORD}@127.0.0.1:${broker.port}`,
                clientId: `iotrail-batcher-${i}`,
                ...(spec.shards > 1 ? { shareGroup: "iotrail" } : {}),
              }
            : { enabled: false };
      shards.push(await startShard({ ...base, database, mqtt }, {}, shardNodeArgs()));
    }
    const url =
      spec.transport === "embedded"
        ? shards[0]!.mqttUrl!
        : spec.transport === "mosquitto"
          ? broker.url
          : shards[0]!.httpUrl;
    const credentials =
      spec.transport === "mosquitto"
        ? { credentials: (key: DeviceKey) => ({ username: key.address.toLowerCase(), password: devicePassword(key) }) }
        : {};
    const common = {
      keys: devices,
      domain: fx.telemetry,
      url,
      httpBatch: 500,
      drainMs: 60_000,
      presign: true,
      ...credentials,
    };
    // Saturation: every reading offered at once; the rate is what the batcher acknowledges.
    // CPU counters start with the clock (after presigning and connecting).
    let cpuBefore: number[] = [];
    let threadsBefore = new Map<string, number>();
    let brokerBefore = 0;
    let databaseBefore = 0;
    let devicesBefore = process.cpuUsage();
    const summary: SimulationSummary = await simulate({
      ...common,
      rate: 1_000_000,
      count: PER_DEVICE,
      firstSequence,
      onStart: () => {
        threadsBefore = threadCpuSeconds(shards[0]!.child.pid!);
        cpuBefore = shards.map((shard) => cpuSeconds(shard.child.pid!));
        brokerBefore = cpuSeconds(broker.pid());
        databaseBefore = postgres.cpuSeconds();
        devicesBefore = process.cpuUsage();
      },
    });
    if (process.env.BENCH_THREADS === "1") {
      const after = threadCpuSeconds(shards[0]!.child.pid!);
      for (const [name, seconds] of after) {
        const used = seconds - (threadsBefore.get(name) ?? 0);
        if (used > 0.05) console.log(`  thread ${name}: ${Math.round((used * 1e6) / summary.acknowledged)} µs/reading`);
      }
    }
    const cpu = shards.reduce((sum, shard, i) => sum + cpuSeconds(shard.child.pid!) - cpuBefore[i]!, 0);
    const perReading = (seconds: number) => Math.round((seconds * 1e6) / Math.max(1, summary.acknowledged));
    const brokerCpu = perReading(cpuSeconds(broker.pid()) - brokerBefore);
    const databaseCpu = perReading(postgres.cpuSeconds() - databaseBefore);
    const { user, system } = process.cpuUsage(devicesBefore);
    const devicesCpu = perReading((user + system) / 1e6);
    firstSequence += BigInt(PER_DEVICE);
    // Latency: paced at 80% of that rate for a few seconds.
    const paced = Math.max(100, Math.floor(summary.acknowledgedPerSecond * 0.8));
    const pacedCount = Math.max(5, Math.floor((paced * (QUICK ? 1 : 6)) / DEVICES));
    const latency = await simulate({ ...common, rate: paced, count: pacedCount, firstSequence });
    firstSequence += BigInt(pacedCount);
    await Promise.all(shards.map(stopShard));
    const figures = await storedFigures(database);
    const stored = figures.count;
    const result: WireCase = {
      ...spec,
      sent: summary.sent + latency.sent,
      acknowledged: summary.acknowledged + latency.acknowledged,
      perSecond: summary.acknowledgedPerSecond,
      saturationLatencyMs: { p50: summary.latencyMs.p50, p99: summary.latencyMs.p99 },
      pacedPerSecond: paced,
      latencyMs: { p50: latency.latencyMs.p50, p99: latency.latencyMs.p99 },
      cpuMicrosPerReading: perReading(cpu),
      devicesCpuMicrosPerReading: devicesCpu,
      ...(spec.transport === "mosquitto" ? { brokerCpuMicrosPerReading: brokerCpu } : {}),
      ...(spec.store === "postgres" ? { databaseCpuMicrosPerReading: databaseCpu } : {}),
      ...(figures.bytes === undefined
        ? {}
        : { databaseBytesPerReading: Math.round(figures.bytes / Math.max(1, stored)) }),
      stored,
    };
    console.log(
      `${spec.name.padEnd(42)} ${String(result.perSecond).padStart(6)}/s  at ${result.pacedPerSecond}/s: p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms  ${result.cpuMicrosPerReading} µs CPU/reading (broker ${result.brokerCpuMicrosPerReading ?? "-"}, database ${result.databaseCpuMicrosPerReading ?? "-"}, devices and chain ${result.devicesCpuMicrosPerReading})  (${result.acknowledged}/${result.sent} acknowledged, ${stored} stored)`,
    );
    if (stored !== result.acknowledged) {
      throw new Error(
        `${spec.name}: ${stored} stored, ${result.acknowledged} acknowledged (${JSON.stringify({ ...summary, sequences: undefined })}, ${JSON.stringify({ ...latency, sequences: undefined })})`,
      );
    }
    results.push(result);
  }
  record("wire", { devices: DEVICES, readingsPerDevice: PER_DEVICE, cases: results });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
