/**
 * A real, throwaway PostgreSQL for tests and benchmarks (Debian's `postgresql` package, installed by
 * `.ci/run`): a new cluster in a temporary folder, listening on a free loopback port, with trust
 * authentication for local connections only. PostgreSQL refuses to run as root, so under root the cluster
 * belongs to the `postgres` system user and its programs run as that user (`setpriv`, which execs: the
 * child process is the server itself and receives its signals).
 *
 * `IOTRAIL_TEST_DATABASE_URL` (set by `.ci/run`, which starts one cluster for the whole run) is used by
 * {@link testDatabase} instead of starting a cluster per test process.
 */
import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { ConfigError } from "../errors";
import { freePort, untilOutput } from "./anvil";
import { procStat } from "./proc";

/** The newest installed server's bin folder, or undefined. */
export function postgresBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, "bin", "postgres")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin");
}

export const postgresAvailable = () => postgresBinDir() !== undefined;

export interface PostgresCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** A new, empty database on this cluster; its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server (fast shutdown: clients are disconnected) and keeps the data. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and deletes the folder. */
  destroy(): Promise<void>;
  /** CPU seconds (user + system) the server and its backends have used since it started, from /proc. */
  cpuSeconds(): number;
}

const asRoot = () => process.getuid?.() === 0;

/** `command` run as the cluster's owner (the postgres user under root). */
function owned(binary: string, args: string[]): [string, string[]] {
  return asRoot()
    ? ["setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", binary, ...args]]
    : [binary, args];
}

let databases = 0;

export async function startPostgres(timeoutMs = 30_000): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new ConfigError("PostgreSQL is not installed (/usr/lib/postgresql/<version>/bin)");
  const dir = mkdtempSync(join(tmpdir(), "iotrail-postgres-"));
  const data = join(dir, "data");
  const superuser = "postgres";
  if (asRoot()) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
    chownSync(dir, uid, gid);
  }
  const [initdb, initArgs] = owned(join(bin, "initdb"), [
    "-D",
    data,
    "-U",
    superuser,
    "--auth=trust",
    "--encoding=UTF8",
    "--no-sync",
  ]);
  execFileSync(initdb, initArgs, { stdio: "pipe" });
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const [server, args] = owned(join(bin, "postgres"), [
      "-D",
      data,
      "-p",
      String(port),
      "-k",
      dir,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "max_connections=200",
    ]);
    child = spawn(server, args, { stdio: ["ignore", "pipe", "pipe"] });
    if (process.env.POSTGRES_LOG) child.stderr!.on("data", (chunk: Buffer) => process.stderr.write(chunk));
    await untilOutput(child, "database system is ready to accept connections", timeoutMs, "postgres");
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null) return resolve();
      running.once("exit", () => resolve());
      running.kill("SIGINT"); // fast shutdown
    });
  await start();
  const url = `postgres://${superuser}@127.0.0.1:${port}/postgres`;
  // A test process that dies leaves no server behind.
  const onExit = () => child?.kill("SIGQUIT");
  process.once("exit", onExit);
  return {
    url,
    port,
    createDatabase: (name) => createDatabase(url, name),
    stop,
    start,
    cpuSeconds: () => (child?.pid === undefined ? 0 : processTreeCpuSeconds(child.pid)),
    destroy: async () => {
      await stop();
      process.removeListener("exit", onExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** CPU seconds of a process and its children (PostgreSQL's backends are the postmaster's children), from /proc. */
function processTreeCpuSeconds(root: number): number {
  let seconds = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat !== undefined && (Number(entry) === root || stat.parent === root)) seconds += stat.cpuSeconds;
  }
  return seconds;
}

/** Creates a new, empty database on the cluster at `url` and returns its URL. */
export async function createDatabase(url: string, name?: string): Promise<string> {
  const database = name ?? `iotrail_${process.pid}_${Date.now()}_${databases++}`;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) throw new ConfigError(`not a plain database name: ${database}`);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
  const target = new URL(url);
  target.pathname = `/${database}`;
  return target.toString();
}

let shared: Promise<PostgresCluster> | undefined;

/**
 * A new database for a test: on `IOTRAIL_TEST_DATABASE_URL`'s cluster when set, else on a cluster this
 * process starts once (and stops when it exits).
 */
export async function testDatabase(): Promise<string> {
  const url = process.env.IOTRAIL_TEST_DATABASE_URL;
  if (url !== undefined && url !== "") return createDatabase(url);
  shared ??= startPostgres();
  return (await shared).createDatabase();
}
