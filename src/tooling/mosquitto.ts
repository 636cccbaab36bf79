/**
 * A real Mosquitto broker for tests (Debian package `mosquitto`, installed by `.ci/run`), started in a
 * throwaway folder with the shipped configuration (`mosquitto/iotrail.conf` and `mosquitto/iotrail.acl`):
 * only the paths, the port and the users' password file differ.
 */
import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../errors";
import { freePort, stopChild, untilOutput } from "./anvil";

export const MOSQUITTO_BINARY = "/usr/sbin/mosquitto";
const PASSWD_BINARY = "/usr/bin/mosquitto_passwd";
const SHIPPED = join(__dirname, "..", "..", "mosquitto");

export interface MosquittoBroker {
  url: string;
  port: number;
  /** The ports the broker opened listen sockets on (from its log). */
  listeningPorts(): number[];
  /** The broker's process id (for CPU accounting). */
  pid(): number;
  /** Stops the broker (SIGTERM: it saves its persistent sessions) and starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function mosquittoAvailable(): boolean {
  return existsSync(MOSQUITTO_BINARY) && existsSync(PASSWD_BINARY);
}

/** Starts Mosquitto with the shipped configuration and these users; resolves once it listens. */
export async function startMosquitto(users: Record<string, string>, timeoutMs = 10_000): Promise<MosquittoBroker> {
  if (!mosquittoAvailable()) throw new ConfigError(`Mosquitto is not installed (${MOSQUITTO_BINARY})`);
  const dir = mkdtempSync(join(tmpdir(), "iotrail-mosquitto-"));
  const passwd = join(dir, "iotrail.passwd");
  writeFileSync(passwd, "", { mode: 0o600 });
  for (const [user, password] of Object.entries(users)) execFileSync(PASSWD_BINARY, ["-b", passwd, user, password]);
  const acl = join(dir, "iotrail.acl");
  writeFileSync(acl, readFileSync(join(SHIPPED, "iotrail.acl")), { mode: 0o600 });
  const port = await freePort();
  const config = readFileSync(join(SHIPPED, "iotrail.conf"), "utf8")
    .replace("/etc/mosquitto/iotrail.passwd", passwd)
    .replace("/etc/mosquitto/iotrail.acl", acl)
    .replace("listener 1883 127.0.0.1", `listener ${port} 127.0.0.1`)
    .replace("persistence_location /var/lib/mosquitto/", `persistence_location ${dir}/`);
  // Root runs the broker as root in the throwaway folder (it would otherwise switch to the "mosquitto" user).
  const configFile = join(dir, "iotrail.conf");
  writeFileSync(configFile, `${config}\nuser ${process.getuid?.() === 0 ? "root" : (process.env.USER ?? "root")}\n`);
  // -v (every packet logged) only when asked: it costs the broker time and fills the pipe under load.
  const verbose = process.env.MOSQUITTO_LOG ? ["-v"] : [];
  let log = "";
  let child: ChildProcess;
  const start = async () => {
    child = spawn(MOSQUITTO_BINARY, ["-c", configFile, ...verbose], { stdio: ["ignore", "pipe", "pipe"] });
    // MOSQUITTO_LOG=1 shows the broker's verbose log (connections, refusals) while a test runs.
    if (process.env.MOSQUITTO_LOG) child.stderr!.on("data", (chunk: Buffer) => process.stderr.write(chunk));
    log = "";
    const keep = (chunk: Buffer) => {
      if (log.length < 65_536) log += chunk.toString();
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    await untilOutput(child, `listen socket on port ${port}`, timeoutMs, "mosquitto");
    // Every listener opens before the broker serves; give a default listener, if any, the time to show.
    await new Promise((resolve) => setTimeout(resolve, 200));
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    listeningPorts: () => [...log.matchAll(/listen socket on port (\d+)/g)].map((match) => Number(match[1])),
    pid: () => child.pid!,
    restart: async () => {
      await stopChild(child);
      await start();
    },
    stop: () => stopChild(child),
  };
}
