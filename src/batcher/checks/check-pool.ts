/**
 * Runs the stateless checks of incoming messages (signature recovery is about 90% of ingest cost) on
 * worker threads, or inline with `threads: 0`. Each worker reports which crypto path it loaded: native
 * libsecp256k1 or the pure-JS fallback, WebAssembly or JS keccak.
 */
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { batchVerifyBackend, secp256k1Backend } from "../../crypto";
import { initKeccak, keccakBackend } from "../../merkle";
import { IotrailError } from "../../errors";
import { packMessages, transferList, unpackChecked } from "./check-wire";
import type { PackedChecked } from "./check-wire";
import { checkMessages } from "./validate";
import { startWorker } from "../support";
import type { Checked, CheckOptions } from "./validate";
import type { CheckJob } from "./check-worker";

export interface CryptoPath {
  secp256k1: "native" | "js";
  /** `native`: signatures of known device keys are checked in batches (see SignerBatchChecker). */
  batchVerify: "native" | "none";
  keccak: "wasm" | "js";
  threads: number;
}

interface Pending {
  resolve: (results: Checked[]) => void;
  reject: (error: Error) => void;
  size: number;
}

interface PoolWorker {
  worker: Worker;
  /** Jobs sent to this worker and not answered yet. */
  jobs: Map<number, Pending>;
  load: number;
}

/**
 * Check threads allocate many short-lived objects per message; a larger young generation means fewer
 * scavenges (about 5% more throughput in `npm run bench:batcher`).
 */
const YOUNG = { maxYoungGenerationSizeMb: 64 };

/** Starts a check worker. */
function spawnWorker(options: CheckOptions): Worker {
  return startWorker(join(__dirname, "check-worker"), options, YOUNG);
}

export class CheckPool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly options: CheckOptions,
    readonly path: CryptoPath,
  ) {}

  /** Starts `threads` workers (0: check inline on the calling thread) and waits until they are ready. */
  static async start(params: CheckOptions & { threads: number }): Promise<CheckPool> {
    const { threads, ...options } = params;
    await initKeccak();
    if (threads === 0) {
      const path = { secp256k1: secp256k1Backend(), batchVerify: batchVerifyBackend(), keccak: keccakBackend() };
      return new CheckPool(options, { ...path, threads: 0 });
    }
    const started = await Promise.all(Array.from({ length: threads }, () => readyWorker(options)));
    const { secp256k1, batchVerify, keccak } = started[0]!.ready;
    const pool = new CheckPool(options, { secp256k1, batchVerify, keccak, threads });
    for (const { worker } of started) pool.adopt(worker);
    return pool;
  }

  private adopt(worker: Worker): void {
    const entry: PoolWorker = { worker, jobs: new Map(), load: 0 };
    this.workers.push(entry);
    worker.on("message", (message: { id: number; packed: PackedChecked }) => {
      const job = entry.jobs.get(message.id);
      if (job === undefined) return;
      entry.jobs.delete(message.id);
      entry.load -= job.size;
      job.resolve(unpackChecked(message.packed));
    });
    worker.on("error", () => undefined); // followed by "exit"
    worker.once("exit", (code) => {
      this.workers.splice(this.workers.indexOf(entry), 1);
      const error = new IotrailError("WORKER_EXIT", `a check worker exited with code ${code}`);
      for (const job of entry.jobs.values()) job.reject(error);
      if (this.closed) return;
      // Replace it; until then the other workers (or, with none left, the calling thread) take the jobs.
      void readyWorker(this.options).then(
        ({ worker: replacement }) => (this.closed ? void replacement.terminate() : this.adopt(replacement)),
        () => undefined,
      );
    });
  }

  /** Runs checks 1 to 5 on each message; results in input order. */
  check(messages: Uint8Array[]): Promise<Checked[]> {
    if (this.closed) return Promise.reject(new IotrailError("POOL_CLOSED", "the check pool is closed"));
    if (this.workers.length === 0) return Promise.resolve(checkMessages(messages, this.options));
    let target = this.workers[0]!;
    for (const entry of this.workers) if (entry.load < target.load) target = entry;
    const id = this.nextId++;
    target.load += messages.length;
    return new Promise<Checked[]>((resolve, reject) => {
      target.jobs.set(id, { resolve, reject, size: messages.length });
      const job: CheckJob = { id, messages: packMessages(messages) };
      target.worker.postMessage(job, transferList(job.messages));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
  }
}

async function readyWorker(options: CheckOptions) {
  const worker = spawnWorker(options);
  const ready = await new Promise<Omit<CryptoPath, "threads">>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return { worker, ready };
}
