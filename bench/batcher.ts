// npm run bench: batcher ingest throughput, end to end from raw messages through the checks (size, JSON,
// schema, domain, signature, device, sequence, timestamp), durable group-commit writes (SQLite WAL,
// synchronous FULL) to sealed batches with their trees, against a baseline that checks each signature
// with ethers' verifyTypedData and builds batch trees with StandardMerkleTree, in the same run, on the
// same messages and the same store code. Target: >= 20,000 readings/s and >= 50x the baseline. The same
// pipeline then takes version-2 (CBOR) messages, and their CPU per reading is set against JSON's.
// Each case runs in its own process so that its peak memory (max RSS) is its own.
import { execFileSync } from "node:child_process";
import { QUICK, record } from "./report";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { verifyTypedData } from "ethers";
import {
  CheckPool,
  encodeIngestMessage,
  IngestPipeline,
  ReadingValidator,
  Sealer,
  SqliteReadingStore,
  StaticDeviceDirectory,
} from "../src/batcher";
import type { AppendItem } from "../src/batcher";
import { DeviceKey } from "../src/device";
import { readingDigest, READING_ABI_TYPES, readingValues, TELEMETRY_TYPES, telemetryDomain } from "../src/eip712";
import { initKeccak } from "../src/merkle";
import { encodeIngestMessageCbor, metricId, parseReading, ZERO_HASH } from "../src/telemetry";

const DOMAIN = telemetryDomain(31337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const DEVICES = 100;
const BATCH = 10_000;
const WINDOW = { pastSeconds: 10 * 365 * 86_400, futureSeconds: 86_400 };

interface Result {
  mode: string;
  count: number;
  ms: number;
  perSecond: number;
  peakMiB: number;
  /** RSS when ingest starts (the pre-built messages are in memory by then). */
  startMiB: number;
  batches: number;
  /** CPU time of all threads (user + system) per reading, in microseconds. */
  cpuMicros: number;
}

type Format = "json" | "cbor";

/**
 * `count` signed wire messages from 100 devices (deterministic keys), built before timing starts: version 1
 * (JSON) or version 2 (CBOR, carrying its device, as over HTTP; the domain left out).
 */
async function messages(count: number, format: Format = "json"): Promise<{ devices: DeviceKey[]; raw: Uint8Array[] }> {
  await initKeccak();
  const devices = Array.from({ length: DEVICES }, (_, i) =>
    DeviceKey.fromPrivateKey(`0x${(i + 1).toString(16).padStart(64, "0")}`),
  );
  const now = BigInt(Math.floor(Date.now() / 1000));
  const raw: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const device = devices[i % DEVICES]!;
    const reading = {
      device: device.address,
      sequence: BigInt(Math.floor(i / DEVICES) + 1),
      timestamp: now - 3_600n + BigInt(i % 3_600),
      metric: metricId("temperature.mC"),
      value: BigInt(20_000 + (i % 1_000)),
      payloadHash: ZERO_HASH,
    };
    const signature = device.signReading(DOMAIN, reading);
    raw.push(
      format === "cbor"
        ? encodeIngestMessageCbor({ domain: DOMAIN, reading, signature, omit: { domain: true } })
        : Buffer.from(encodeIngestMessage({ domain: DOMAIN, reading, signature })),
    );
  }
  return { devices, raw };
}

function cpuPerReading(since: NodeJS.CpuUsage, count: number): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / count;
}

function peakTracker(): () => { peakMiB: number; startMiB: number } {
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  return () => {
    clearInterval(timer);
    return { peakMiB: Math.max(peak, process.memoryUsage().rss) / 2 ** 20, startMiB: start / 2 ** 20 };
  };
}

/** iotrail: the service's pipeline (check threads, group commit) and sealer. */
async function fast(count: number, threads: number, format: Format = "json"): Promise<Result> {
  const { devices, raw } = await messages(count, format);
  const dir = mkdtempSync(join(tmpdir(), "iotrail-bench-"));
  const store = new SqliteReadingStore(join(dir, "batcher.sqlite"));
  const pool = await CheckPool.start({ domain: DOMAIN, maxBytes: 4096, threads });
  const validator = new ReadingValidator({
    domain: DOMAIN,
    devices: new StaticDeviceDirectory(devices.map((d) => [d.address, "active"])),
    ledger: store,
    window: WINDOW,
  });
  const pipeline = new IngestPipeline({ store, validator, pool, queueLimit: 40_000 });
  const sealer = new Sealer({ store, maxReadings: BATCH, maxAgeMs: 60_000 });
  const peak = peakTracker();
  const cpu = process.cpuUsage();
  const start = performance.now();
  sealer.start(20);
  const chunk = 1_000; // a gateway's NDJSON batch
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < raw.length; i += chunk) {
    inFlight.push(
      pipeline.submit(raw.slice(i, i + chunk)).then((outcomes) => {
        for (const outcome of outcomes) if (outcome.status !== "accepted") throw new Error(JSON.stringify(outcome));
      }),
    );
    if (inFlight.length >= 16) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await sealer.stop();
  await new Sealer({ store, maxReadings: BATCH, maxAgeMs: 0 }).tick(); // the last partial batch
  const ms = performance.now() - start;
  const cpuMicros = cpuPerReading(cpu, count);
  const { peakMiB, startMiB } = peak();
  const batches = Object.values(await store.batchCounts()).reduce((a, b) => a + b, 0);
  if ((await store.unsealed()).count !== 0) throw new Error("readings left unsealed");
  await pool.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  const mode = `iotrail, ${threads} check thread(s)${format === "cbor" ? ", CBOR (version 2)" : ""}`;
  return { mode, count, ms, perSecond: (count * 1000) / ms, peakMiB, startMiB, batches, cpuMicros };
}

/** Baseline: ethers verifyTypedData per message, the same store, StandardMerkleTree per batch. */
async function baseline(count: number): Promise<Result> {
  const { devices, raw } = await messages(count);
  const active = new Set(devices.map((d) => d.address));
  const dir = mkdtempSync(join(tmpdir(), "iotrail-bench-"));
  const store = new SqliteReadingStore(join(dir, "batcher.sqlite"));
  const types = { Reading: [...TELEMETRY_TYPES.Reading] };
  const peak = peakTracker();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const group: AppendItem[] = [];
  const stored: AppendItem[] = [];
  let batches = 0;
  const sealBatch = (items: AppendItem[]) => {
    StandardMerkleTree.of(
      items.map(({ reading }) => readingValues(reading)),
      [...READING_ABI_TYPES],
    );
    batches += 1;
  };
  for (const message of raw) {
    const parsed = JSON.parse(Buffer.from(message).toString("utf8")) as { reading: unknown; signature: string };
    const reading = parseReading(parsed.reading);
    const signer = verifyTypedData(DOMAIN, types, reading, parsed.signature);
    if (signer !== reading.device || !active.has(signer)) throw new Error("baseline: bad signature");
    group.push({ reading, signature: parsed.signature, digest: readingDigest(DOMAIN, reading) });
    if (group.length === 1_000) {
      await store.append(group);
      stored.push(...group.splice(0));
      if (stored.length >= BATCH) sealBatch(stored.splice(0, BATCH));
    }
  }
  if (group.length > 0) (await store.append(group), stored.push(...group.splice(0)));
  if (stored.length > 0) sealBatch(stored.splice(0));
  const ms = performance.now() - start;
  const cpuMicros = cpuPerReading(cpu, count);
  const { peakMiB, startMiB } = peak();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    mode: "baseline (ethers verifyTypedData + StandardMerkleTree)",
    count,
    ms,
    perSecond: (count * 1000) / ms,
    peakMiB,
    startMiB,
    batches,
    cpuMicros,
  };
}

function run(args: string[]): Result {
  const out = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", __filename, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split("\n").pop()!) as Result;
}

const fmt = (r: Result) =>
  `  ${r.mode.padEnd(56)} ${String(r.count).padStart(7)} readings: ${(r.ms / 1000).toFixed(2).padStart(6)} s, ` +
  `${Math.round(r.perSecond).toLocaleString("en-US").padStart(7)}/s, ${r.batches} batches, ` +
  `CPU ${r.cpuMicros.toFixed(0)} us/reading, peak RSS ${r.peakMiB.toFixed(0)} MiB ` +
  `(${r.startMiB.toFixed(0)} MiB at start, messages built)`;

async function main(): Promise<void> {
  const [mode, count, threads] = process.argv.slice(2);
  if (mode === "fast") {
    const format = (process.argv[5] ?? "json") as Format;
    return void console.log(JSON.stringify(await fast(Number(count), Number(threads), format)));
  }
  if (mode === "baseline") return void console.log(JSON.stringify(await baseline(Number(count))));
  console.log("batcher ingest, end to end (checks -> durable store -> sealed batches), 100 devices");
  const base = run(["baseline", QUICK ? "1000" : "5000"]);
  console.log(fmt(base));
  let best: Result | undefined;
  const results: Result[] = [];
  for (const t of [0, 1, 2]) {
    const result = run(["fast", QUICK ? "10000" : "200000", String(t)]);
    results.push(result);
    console.log(fmt(result));
    if (best === undefined || result.perSecond > best.perSecond) best = result;
  }
  // Version-2 (CBOR) messages through the same pipeline, in the same run, next to the JSON rows.
  const cbor: Result[] = [];
  for (const t of [1, 2]) {
    const result = run(["fast", QUICK ? "10000" : "200000", String(t), "cbor"]);
    cbor.push(result);
    console.log(fmt(result));
  }
  const cborBest = cbor.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  const jsonSameThreads = results.find((r) => r.mode === cborBest.mode.replace(", CBOR (version 2)", ""))!;
  const cborCpuRatio = cborBest.cpuMicros / jsonSameThreads.cpuMicros;
  console.log(
    `CBOR against JSON, same threads (${cborBest.mode}): ${cborBest.cpuMicros.toFixed(0)} against ${jsonSameThreads.cpuMicros.toFixed(0)} us of CPU per reading (${cborCpuRatio.toFixed(2)}x)`,
  );
  const ratio = best!.perSecond / base.perSecond;
  record("batcherInMemory", {
    baseline: base,
    runs: results,
    best: best!,
    ratio,
    cbor: { runs: cbor, best: cborBest, cpuRatio: cborCpuRatio },
  });
  console.log(
    `target: ${Math.round(best!.perSecond).toLocaleString("en-US")}/s (>= 20,000/s: ${best!.perSecond >= 20_000 ? "met" : "MISSED"}), ` +
      `${ratio.toFixed(0)}x the baseline (>= 50x: ${ratio >= 50 ? "met" : "MISSED"}); best: ${best!.mode}`,
  );
}

void main();
