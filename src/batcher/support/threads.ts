/** Worker threads of the batcher: started from TypeScript (through ts-node) or from compiled JavaScript. */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { Worker } from "node:worker_threads";
import type { ResourceLimits } from "node:worker_threads";

/**
 * Starts the worker module at `modulePath` (its path without the extension, for example
 * `join(__dirname, "check-worker")` from its sibling) with `workerData`.
 */
export function startWorker(modulePath: string, workerData: unknown, resourceLimits?: ResourceLimits): Worker {
  const typescript = __filename.endsWith(".ts");
  const source = `${modulePath}${typescript ? ".ts" : ".js"}`;
  const options = { workerData, ...(resourceLimits === undefined ? {} : { resourceLimits }) };
  if (!typescript) return new Worker(source, options);
  const bootstrap = `require("ts-node").register({ transpileOnly: true }); require(${JSON.stringify(source)});`;
  return new Worker(bootstrap, { eval: true, ...options });
}

/**
 * Lowers the calling worker thread's scheduling priority (Linux: `nice` on the thread's own id), so that on
 * a busy machine the ingest thread, which writes, acknowledges and seals, gets the CPU first. Best effort:
 * elsewhere, or without /proc, nothing changes.
 */
export function lowerThreadPriority(nice: number): void {
  try {
    const thread = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isInteger(thread) && thread !== process.pid) setPriority(thread, nice);
  } catch {
    // not Linux, or not allowed: keep the default priority
  }
}
