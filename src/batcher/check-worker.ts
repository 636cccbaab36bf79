/**
 * Worker thread body of {@link CheckPool}: runs the stateless checks (size, JSON, schema, domain,
 * signature) on lists of raw messages.
 */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { batchVerifyBackend, secp256k1Backend } from "../crypto";
import { initKeccak, keccakBackend } from "../merkle";
import { packChecked, transferList, unpackMessages } from "./check-wire";
import type { PackedMessages } from "./check-wire";
import { checkMessages } from "./validate";
import type { CheckOptions } from "./validate";

export interface CheckJob {
  id: number;
  messages: PackedMessages;
}

/**
 * Lowers this thread's scheduling priority (Linux: nice +5 on the thread's own id), so that on a busy
 * machine the ingest thread, which writes, acknowledges and seals, gets the CPU it needs first and
 * check threads take what is left. Best effort: elsewhere, or without /proc, nothing changes.
 */
function yieldToIngestThread(): void {
  try {
    const thread = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isInteger(thread) && thread !== process.pid) setPriority(thread, CHECK_THREAD_NICE);
  } catch {
    // not Linux, or not allowed: keep the default priority
  }
}

const CHECK_THREAD_NICE = 5;

async function run(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error("check-worker runs in a worker thread");
  yieldToIngestThread();
  const options = workerData as CheckOptions;
  await initKeccak();
  port.on("message", (job: CheckJob) => {
    const packed = packChecked(checkMessages(unpackMessages(job.messages), options));
    port.postMessage({ id: job.id, packed }, transferList(packed));
  });
  port.postMessage({
    ready: true,
    secp256k1: secp256k1Backend(),
    batchVerify: batchVerifyBackend(),
    keccak: keccakBackend(),
  });
}

void run();
