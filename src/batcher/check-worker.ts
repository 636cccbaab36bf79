/**
 * Worker thread body of {@link CheckPool}: runs the stateless checks (size, JSON, schema, domain,
 * signature) on lists of raw messages.
 */
import { parentPort, workerData } from "node:worker_threads";
import { batchVerifyBackend, secp256k1Backend } from "../crypto";
import { initKeccak, keccakBackend } from "../merkle";
import { checkMessages } from "./validate";
import type { CheckOptions } from "./validate";

export interface CheckJob {
  id: number;
  messages: Uint8Array[];
}

async function run(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error("check-worker runs in a worker thread");
  const options = workerData as CheckOptions;
  await initKeccak();
  port.on("message", (job: CheckJob) => {
    port.postMessage({ id: job.id, results: checkMessages(job.messages, options) });
  });
  port.postMessage({
    ready: true,
    secp256k1: secp256k1Backend(),
    batchVerify: batchVerifyBackend(),
    keccak: keccakBackend(),
  });
}

void run();
