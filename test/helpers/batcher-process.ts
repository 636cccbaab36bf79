/** `iotrail batcher` as a child process, for the fault tests that kill it. */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ANCHORER_KEY } from "./batcher";

const CLI = join(__dirname, "..", "..", "bin", "iotrail.js");

export interface BatcherProcess {
  process: ChildProcess;
  /** The HTTP API's URL, once it listens. */
  url: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it logged so far. */
  log(): string;
}

/** Writes `config` to a new folder's batcher.json and returns its path. */
export function writeConfig(config: Record<string, unknown>): string {
  const path = join(mkdtempSync(join(tmpdir(), "iotrail-process-")), "batcher.json");
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** `iotrail batcher -c <config>`, anchoring with the test anchorer key, optionally armed to SIGKILL itself at `failpoint`. */
export function runBatcher(configPath: string, options: { failpoint?: string; env?: Record<string, string> } = {}) {
  const child = spawn(process.execPath, [CLI, "batcher", "-c", configPath], {
    env: {
      ...process.env,
      BATCHER_PRIVATE_KEY: ANCHORER_KEY,
      IOTRAIL_FAILPOINT: options.failpoint ?? "",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      const match = /"url":"(http:[^"]+)","msg":"HTTP API listening"/.exec(log);
      if (match !== null) resolve(match[1]!);
    });
    child.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
    child.once("exit", () => reject(new Error(`the batcher exited before listening:\n${log}`)));
  });
  url.catch(() => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { process: child, url, exited, log: () => log } satisfies BatcherProcess;
}
