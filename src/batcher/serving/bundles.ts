/**
 * Proof bundles and dumps of sealed batches, built off the ingest thread: rebuilding a 10,000-reading batch
 * and its bundles takes seconds of CPU, which must never stall ingest. One worker thread opens the store
 * read-only (SQLite WAL lets it read while the ingest thread writes), keeps the last batches it built, and
 * answers with ready JSON text. Requests beyond `maxWaiting` are refused at once (the API answers 503).
 */
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { IotrailError } from "../../errors";
import { buildProofBundle } from "../../proof";
import type { BundleSource, ProofBundle } from "../../proof";
import { LotIndex } from "../../registry";
import type { LotEntryProof, LotIndexParts } from "../../registry";
import type { ReadingBatch } from "../../telemetry";
import type { BatchRecord, ReadingStore } from "../storage";
import { startWorker } from "../support";

/** What a bundle names besides the batch: the deployment and the anchoring account. */
export interface BundleContext {
  chainId: bigint;
  anchor: string;
  registry: string;
  submitter: string;
  /** Lots whose unclaimed entries the batcher accepts: their devices' bundles carry the lot proof. */
  lots?: readonly LotIndex[];
}

/** The lot proof of `device` from the context's lots, as the bundle's `device.lot`. */
function lotOf(context: BundleContext, device: string): { lot: LotEntryProof } | Record<string, never> {
  for (const index of context.lots ?? []) {
    const lot = index.membership(device);
    if (lot !== undefined) return { lot };
  }
  return {};
}

/** A context as a worker thread receives it: lots as their (shared) memory. */
type PostedContext = Omit<BundleContext, "lots"> & { lots?: LotIndexParts[] };

/** The context for a worker thread: the lots' memory is shared, not copied. */
function postContext(context: BundleContext): PostedContext {
  return { ...context, lots: context.lots?.map((lot) => lot.parts()) };
}

/** The context a worker thread received from {@link postContext}. */
export function receiveContext(posted: PostedContext): BundleContext {
  const { lots, ...rest } = posted;
  return lots === undefined ? rest : { ...rest, lots: lots.map((parts) => LotIndex.fromParts(parts)) };
}

export type BundleJob =
  | { kind: "bundle"; localId: number; device: string; index: number }
  | { kind: "bundles"; localId: number; offset: number; limit: number }
  | {
      kind: "range";
      device: string;
      fromSequence: string;
      toSequence: string;
      sources: Array<{ localId: number; indices: number[] }>;
    }
  | { kind: "dump"; localId: number };

/** A bundle source: the readings at `indices` of an anchored batch. */
function sourceOf(
  context: BundleContext,
  record: BatchRecord,
  batch: ReadingBatch,
  indices: readonly number[],
): BundleSource {
  const anchor = record.anchor!;
  return {
    batch,
    anchored: {
      batchId: anchor.chainBatchId,
      root: record.root,
      submitter: context.submitter,
      transactionHash: anchor.transactionHash,
      blockNumber: anchor.blockNumber,
      blockHash: anchor.blockHash,
      anchoredAt: anchor.anchoredAt,
    },
    indices,
  };
}

/** The proof bundle of `device`'s readings at `indices` of an anchored batch. */
export function bundleFor(
  context: BundleContext,
  record: BatchRecord,
  batch: ReadingBatch,
  device: string,
  indices: number[],
): ProofBundle {
  return buildProofBundle({
    chainId: context.chainId,
    anchor: context.anchor,
    registry: context.registry,
    sources: [sourceOf(context, record, batch, indices)],
    ...lotOf(context, device),
  });
}

/** Runs one job against a store; the JSON text of the answer. Shared by the worker and the inline mode. */
export async function runBundleJob(
  store: ReadingStore,
  context: BundleContext,
  load: (localId: number) => Promise<ReadingBatch>,
  job: BundleJob,
): Promise<string> {
  if (job.kind === "range") {
    const sources: BundleSource[] = [];
    for (const { localId, indices } of job.sources) {
      const record = await store.getBatch(localId);
      if (record?.anchor === undefined) throw new IotrailError("NOT_FOUND", `batch ${localId} is not anchored`);
      sources.push(sourceOf(context, record, await load(localId), indices));
    }
    const bundle = buildProofBundle({
      chainId: context.chainId,
      anchor: context.anchor,
      registry: context.registry,
      sources,
      range: { fromSequence: BigInt(job.fromSequence), toSequence: BigInt(job.toSequence) },
      ...lotOf(context, job.device),
    });
    return JSON.stringify(bundle);
  }
  const record = await store.getBatch(job.localId);
  if (record === undefined) throw new IotrailError("NOT_FOUND", `no batch ${job.localId}`);
  const batch = await load(job.localId);
  if (job.kind === "dump") return batch.dumpJson();
  if (job.kind === "bundle") return JSON.stringify(bundleFor(context, record, batch, job.device, [job.index]));
  const byDevice = new Map<string, number[]>();
  batch.readings.forEach(({ reading }, index) => {
    const list = byDevice.get(reading.device) ?? [];
    list.push(index);
    byDevice.set(reading.device, list);
  });
  const devices = [...byDevice.keys()].sort();
  const page = devices.slice(job.offset, job.offset + job.limit);
  const bundles = page.map((device) => bundleFor(context, record, batch, device, byDevice.get(device)!));
  return JSON.stringify({ devices: devices.length, offset: job.offset, limit: job.limit, bundles });
}

/** The last `size` batches loaded, by local id. */
export function batchCache(store: ReadingStore, size: number): (localId: number) => Promise<ReadingBatch> {
  const cache = new Map<number, Promise<ReadingBatch>>();
  return (localId) => {
    let batch = cache.get(localId);
    if (batch === undefined) {
      batch = store.loadBatch(localId);
      cache.set(localId, batch);
      batch.catch(() => cache.delete(localId));
      if (cache.size > size) cache.delete(cache.keys().next().value!);
    }
    return batch;
  };
}

interface Waiting {
  resolve: (text: string) => void;
  reject: (error: Error) => void;
}

export class BundleServer {
  private readonly jobs = new Map<number, Waiting>();
  private nextId = 1;

  private constructor(
    private readonly worker: Worker,
    private readonly maxWaiting: number,
  ) {
    worker.on("message", (message: { id: number; text?: string; error?: { code: string; message: string } }) => {
      const job = this.jobs.get(message.id);
      if (job === undefined) return;
      this.jobs.delete(message.id);
      if (message.error !== undefined) job.reject(new IotrailError(message.error.code, message.error.message));
      else job.resolve(message.text!);
    });
    worker.on("error", () => undefined); // followed by "exit"
    worker.once("exit", (code) => {
      const error = new IotrailError("WORKER_EXIT", `the bundle worker exited with code ${code}`);
      for (const job of this.jobs.values()) job.reject(error);
      this.jobs.clear();
    });
  }

  /** Starts the worker on the store at `database` (a file: an in-memory store cannot be shared). */
  static async start(params: { database: string; context: BundleContext; maxWaiting?: number }): Promise<BundleServer> {
    const worker = startWorker(join(__dirname, "bundle-worker"), {
      database: params.database,
      context: postContext(params.context),
    });
    await new Promise<void>((resolve, reject) => {
      worker.once("message", () => resolve());
      worker.once("error", (error: unknown) => {
        // An error from a worker arrives structured-cloned: a store's SqliteError as a plain object.
        const message = (error as { message?: unknown } | null)?.message;
        reject(
          new IotrailError("WORKER_START", `the bundle worker could not open the store: ${String(message ?? error)}`, {
            cause: error,
          }),
        );
      });
    });
    return new BundleServer(worker, params.maxWaiting ?? 32);
  }

  /** The JSON text of the job's answer; rejects at once with code `BUSY` when too many jobs wait. */
  run(job: BundleJob): Promise<string> {
    if (this.jobs.size >= this.maxWaiting) {
      return Promise.reject(new IotrailError("BUSY", `${this.jobs.size} bundle requests are waiting; retry later`));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      this.worker.postMessage({ id, job });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
