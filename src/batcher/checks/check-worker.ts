/**
 * Worker thread body of {@link CheckPool}: runs the stateless checks (size, JSON, schema, domain,
 * signature) on lists of raw messages.
 */
import { parentPort, workerData } from "node:worker_threads";
import { batchVerifyBackend, secp256k1Backend } from "../../crypto";
import { initKeccak, keccakBackend } from "../../merkle";
import { packChecked, transferList, unpackMessages } from "./check-wire";
import type { PackedMessages } from "./check-wire";
import { checkMessages } from "./validate";
import type { CheckOptions } from "./validate";
import { lowerThreadPriority } from "../support";

export interface CheckJob {
  id: number;
  messages: PackedMessages;
}

/** Check threads yield to the ingest thread (see `lowerThreadPriority`). */
const CHECK_THREAD_NICE = 5;

async function run(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error("check-worker runs in a worker thread");
  lowerThreadPriority(CHECK_THREAD_NICE);
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
