// Child processes of the batcher benches: `iotrail batcher` shards started from a config file, their CPU time
// from /proc, and what their store holds at the end.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { procStat } from "../src/tooling/proc";

const CLI = join(__dirname, "..", "bin", "iotrail.js");

export interface Shard {
  child: ChildProcess;
  httpUrl: string;
  mqttUrl?: string;
}

/** CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = procStat(String(pid));
  if (stat === undefined) throw new Error(`process ${pid} has ended`);
  return stat.cpuSeconds;
}

/** CPU seconds per thread of a process, keyed `name:tid`, from /proc. */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = procStat(`${pid}/task/${tid}`);
    if (stat !== undefined) out.set(`${stat.name}:${tid}`, stat.cpuSeconds);
  }
  return out;
}

/**
 * The batchers' extra Node arguments: BENCH_NODE_ARGS (space-separated flags), and with BENCH_PROFILE=<dir>
 * those that write their CPU profiles there.
 */
export function shardNodeArgs(): string[] {
  const dir = process.env.BENCH_PROFILE;
  const extra = process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  return dir === undefined || dir === "" ? extra : [...extra, "--cpu-prof", `--cpu-prof-dir=${dir}`];
}

export async function startShard(
  config: Record<string, unknown>,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<Shard> {
  const dir = mkdtempSync(join(tmpdir(), "iotrail-bench-wire-"));
  const path = join(dir, "batcher.json");
  writeFileSync(path, JSON.stringify(config));
  const child = spawn(process.execPath, [...nodeArgs, CLI, "batcher", "-c", path], {
    env: { ...process.env, ...env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  return new Promise<Shard>((resolve, reject) => {
    let httpUrl: string | undefined;
    let mqttUrl: string | undefined;
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      httpUrl ??= /"url":"(http:[^"]+)","msg":"HTTP API listening"/.exec(log)?.[1];
      mqttUrl ??= /"url":"(mqtt:[^"]+)"[^}]*"msg":"embedded MQTT broker listening"/.exec(log)?.[1];
      if (httpUrl !== undefined && /"msg":"batcher started"/.test(log)) {
        child.stdout!.removeListener("data", onData);
        // The rest of the shard's log goes to a file beside its configuration (BENCH_WIRE_LOGS=1 names it).
        const logFile = createWriteStream(join(dir, "batcher.log"));
        child.stdout!.pipe(logFile);
        if (process.env.BENCH_WIRE_LOGS === "1") console.log(`shard log: ${join(dir, "batcher.log")}`);
        resolve({ child, httpUrl, ...(mqttUrl === undefined ? {} : { mqttUrl }) });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`batcher exited (${code}) before starting:\n${log.slice(-3000)}`)));
  });
}

export async function stopShard(shard: Shard): Promise<void> {
  if (shard.child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    shard.child.once("exit", () => resolve());
    shard.child.kill("SIGTERM");
  });
}

/** Readings stored, and (PostgreSQL) the bytes of the readings table with its indexes. */
export async function storedFigures(database: string): Promise<{ count: number; bytes?: number }> {
  if (database.startsWith("postgres")) {
    const client = new Client({ connectionString: database });
    await client.connect();
    const { rows } = await client.query<{ n: number; bytes: string }>(
      "SELECT count(*)::int AS n, pg_total_relation_size('readings') AS bytes FROM readings",
    );
    await client.end();
    return { count: rows[0]!.n, bytes: Number(rows[0]!.bytes) };
  }
  const Database = (await import("better-sqlite3")).default;
  const db = new Database(database, { readonly: true });
  const { n } = db.prepare("SELECT count(*) AS n FROM readings").get() as { n: number };
  db.close();
  return { count: n };
}

/** The peak resident set size of a process so far (VmHWM), in MiB. */
export function peakRssMiB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match === null ? 0 : Math.round(Number(match[1]) / 1024);
}
