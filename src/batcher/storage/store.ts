/**
 * Durable storage of accepted readings and sealed batches. `ReadingStore` is the interface the batcher
 * uses; `SqliteReadingStore` (`store-sqlite.ts`, the default) and `PostgresReadingStore`
 * (`store-postgres.ts`, shared by several batcher shards) implement it with the same guarantees: when
 * `append` resolves, the readings survive a crash or a power loss, so the batcher acknowledges only after it.
 *
 * Readings are unique by (device, sequence). Appending the same reading again reports `duplicate`;
 * another reading under a taken (device, sequence) reports `conflict`. Sealing assigns the oldest unsealed
 * readings to a new batch and records each one's leaf index in the same transaction as the batch, so a
 * batch always rebuilds to the same root.
 */
import { getAddress } from "ethers";
import { IotrailError } from "../../errors";
import { MerkleTree } from "../../merkle";
import { ReadingBatch, parseReading } from "../../telemetry";
import type { Reading, SignedReading } from "../../telemetry";

/** Which (device, sequence) pairs were accepted already, and with which digest. */
export type SequenceStatus = "new" | "duplicate" | "conflict";

export interface SequenceLedger {
  /** Is (device, sequence) free, taken by this digest (a duplicate), or taken by another (a conflict)? */
  sequenceStatus(device: string, sequence: bigint, digest: string): Promise<SequenceStatus>;
}

export type AppendStatus = "accepted" | "duplicate" | "conflict";

export interface AppendItem extends SignedReading {
  /** The reading's EIP-712 digest (deduplication compares digests, never signature bytes). */
  digest: string;
  /**
   * Work the check threads already did, so the writing thread does not repeat it: the reading's canonical
   * JSON (`JSON.stringify(readingToJson(reading))`), the digest's bytes and the reading's Merkle leaf.
   */
  prepared?: { body: string; digest: Uint8Array; leaf: Uint8Array };
}

/**
 * A batch's life: `pending` once sealed (waiting for, or inside, an anchoring transaction), `anchored` when
 * the transaction is mined, `final` at the configured confirmation depth, `failed` when the anchor
 * reverted (the reason is kept; the batch is not retried blindly). A reorg sends an anchored batch back
 * to `pending`.
 */
export type BatchStatus = "pending" | "anchored" | "final" | "failed";

/** Where a batch's root was anchored. */
export interface AnchorPlacement {
  /** The on-chain batch id. */
  chainBatchId: bigint;
  transactionHash: string;
  blockNumber: number;
  blockHash: string;
  /** Block timestamp (seconds). */
  anchoredAt: bigint;
}

export interface BatchRecord {
  /** The store's own sequential id (the on-chain batch id is recorded once anchored). */
  localId: number;
  root: string;
  readingCount: number;
  fromTimestamp: bigint;
  toTimestamp: bigint;
  /** keccak-256 of the batch dump (what `contentHash` commits to on-chain). */
  contentHash: string;
  sealedAt: number;
  status: BatchStatus;
  anchor?: AnchorPlacement;
  /** Why the batch failed, or why it last went back to pending. */
  note?: string;
}

export type AnchorTxState = "sent" | "mined" | "reverted" | "replaced" | "dropped";

/** One signed anchoring transaction, recorded before it is broadcast. */
export interface AnchorTxRecord {
  hash: string;
  nonce: number;
  /** The signed transaction, so that it can be broadcast again after a restart. */
  raw: string;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  batchIds: number[];
  state: AnchorTxState;
  sentAt: number;
  note?: string;
}

export interface StoredReading extends SignedReading {
  receivedAt: number;
  batchLocalId?: number;
  leafIndex?: number;
}

/** Where a stored reading is: its batch and leaf once sealed. */
export interface ReadingPlacement {
  sequence: bigint;
  batchLocalId?: number;
  leafIndex?: number;
}

/** One device's anchored readings, as {@link ReadingStore.catalog} lists them. */
export interface CatalogEntry {
  device: string;
  firstSequence: bigint;
  lastSequence: bigint;
  readings: number;
  /** bytes32 metric ids, sorted. */
  metrics: string[];
}

/**
 * Every method resolves once its work is durable (writes) or read (queries). Implementations must be safe
 * to call concurrently: several group commits may be in flight at once.
 */
export interface ReadingStore extends SequenceLedger {
  /** Which engine holds the data ("sqlite" or "postgres"). */
  readonly engine: StoreEngine;
  /**
   * The value bound to `key` in this store (the shared database of every shard): `value` when the key was
   * free (it is bound now), or with `replace` (it replaces what was bound), else what was bound before.
   */
  binding(key: string, value: string, replace?: boolean): Promise<string>;
  /** Stores new readings durably, in one transaction; one status per item, in order. */
  append(items: readonly AppendItem[], receivedAt?: number): Promise<AppendStatus[]>;
  /** Number of readings not yet in a batch, and when the oldest arrived (ms). */
  unsealed(): Promise<{ count: number; oldestReceivedAt?: number }>;
  /**
   * Seals up to `limit` of the oldest unsealed readings into a `pending` batch, or returns undefined if none.
   * A reading is never sealed into two batches, even by two sealers at once.
   */
  seal(limit: number, sealedAt?: number): Promise<BatchRecord | undefined>;
  /** Rebuilds a sealed batch (same order, same root) from the stored readings. */
  loadBatch(localId: number): Promise<ReadingBatch>;
  getBatch(localId: number): Promise<BatchRecord | undefined>;
  /** Batches in `status`, oldest first. */
  batchesWith(status: BatchStatus, limit?: number): Promise<BatchRecord[]>;
  /** Number of batches in each status. */
  batchCounts(): Promise<Record<BatchStatus, number>>;
  /** Batches newest first: those in `status` (any by default) with an id below `before`, at most `limit`. */
  listBatches(options: { status?: BatchStatus; before?: number; limit: number }): Promise<BatchRecord[]>;
  getReading(device: string, sequence: bigint): Promise<StoredReading | undefined>;
  /** Where `device`'s readings with sequences in [from, to] are, in sequence order, at most `limit` of them. */
  placements(device: string, from: bigint, to: bigint, limit: number): Promise<ReadingPlacement[]>;
  /** The devices with readings in a batch. */
  devicesIn(localId: number): Promise<string[]>;
  /**
   * What is for sale: each device with readings in anchored or final batches, by device address, with its
   * lowest and highest such sequence, their count and their metric ids; at most `limit` devices.
   */
  catalog(limit: number): Promise<CatalogEntry[]>;
  /** Records a signed anchoring transaction (before it is broadcast). */
  recordTx(tx: Omit<AnchorTxRecord, "state">): Promise<void>;
  /** Transactions in `sent` state, by nonce. */
  openTxs(): Promise<AnchorTxRecord[]>;
  /** Every anchoring transaction ever signed, oldest first (nothing is deleted). */
  transactions(): Promise<AnchorTxRecord[]>;
  setTxState(hash: string, state: AnchorTxState, note?: string): Promise<void>;
  markAnchored(localId: number, placement: AnchorPlacement): Promise<void>;
  markFinal(localId: number): Promise<void>;
  /** Back to pending (a reorg removed the anchor, or its transaction was dropped); `note` says why. */
  markPending(localId: number, note: string): Promise<void>;
  markFailed(localId: number, reason: string): Promise<void>;
  close(): Promise<void>;
}

export type StoreEngine = "sqlite" | "postgres";

/** The store's data does not add up (a batch no longer rebuilds to its root, a row is unreadable). */
export class StoreCorruptError extends IotrailError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("STORE_CORRUPT", message, { details });
  }
}

/**
 * What the implementations share: the row shapes both engines use (PostgreSQL returns its BIGINT and
 * NUMERIC columns as strings, SQLite returns numbers), the row mappers, and the sealing arithmetic.
 */

/** The timestamp in a reading's canonical JSON (the store writes that JSON itself). */
const TIMESTAMP_IN_BODY = /"timestamp":"(\d+)"/;

type Int = number | string;

/** A stored reading's row (the columns each engine reads back). */
export interface ReadingRow {
  id: Int;
  body: string;
  signature: string;
  received_at: Int;
  batch_id: Int | null;
  leaf_index: Int | null;
}

export interface BatchRow {
  id: Int;
  root: string;
  reading_count: Int;
  from_ts: Int;
  to_ts: Int;
  content_hash: string;
  sealed_at: Int;
  status: BatchStatus;
  chain_batch_id: Int | null;
  tx_hash: string | null;
  block_number: Int | null;
  block_hash: string | null;
  anchored_at: Int | null;
  note: string | null;
}

export interface TxRow {
  hash: string;
  nonce: Int;
  raw: string;
  max_fee: Int;
  priority_fee: Int;
  batch_ids: string;
  state: AnchorTxState;
  sent_at: Int;
  note: string | null;
}

/** Every batch status, in the order of a batch's life. */
export const BATCH_STATUSES: readonly BatchStatus[] = ["pending", "anchored", "final", "failed"];

/** The canonical (lower-case) form a device address is stored under. */
export const deviceKey = (device: string) => device.toLowerCase();

/** A reading back from its row: its canonical JSON parsed; a row that does not parse is corruption. */
export function decodeStoredReading(row: Pick<ReadingRow, "id" | "body" | "signature">): SignedReading {
  let reading: Reading;
  try {
    reading = parseReading(JSON.parse(row.body) as unknown);
  } catch (cause) {
    throw new StoreCorruptError(`stored reading ${row.id} is unreadable`, {
      readingId: Number(row.id),
      cause: String(cause),
    });
  }
  return { reading, signature: row.signature };
}

export function storedReading(row: ReadingRow): StoredReading {
  return {
    ...decodeStoredReading(row),
    receivedAt: Number(row.received_at),
    ...(row.batch_id === null ? {} : { batchLocalId: Number(row.batch_id), leafIndex: Number(row.leaf_index) }),
  };
}

/** What a new batch records: root, time window and content hash of `rows` in leaf order. */
export interface SealSummary {
  root: string;
  from: bigint;
  to: bigint;
  contentHash: string;
}

/**
 * Root, time window and content hash of the rows about to be sealed: from the leaves computed at ingest
 * and the canonical JSON when every row has its leaf (no decoding), else by decoding each reading.
 * The caller has initialised keccak (`initKeccak`).
 */
export async function sealSummary(
  rows: readonly { id: Int; body: string; signature: string; leaf: Uint8Array | null }[],
): Promise<SealSummary> {
  if (rows.some((row) => row.leaf === null)) {
    const batch = await ReadingBatch.build(rows.map((row) => decodeStoredReading(row)));
    const header = batch.header();
    return { root: batch.root, from: header.fromTimestamp, to: header.toTimestamp, contentHash: header.contentHash };
  }
  const packed = new Uint8Array(rows.length * 32);
  let from: bigint | undefined;
  let to: bigint | undefined;
  rows.forEach((row, index) => {
    packed.set(row.leaf!, index * 32);
    const match = TIMESTAMP_IN_BODY.exec(row.body);
    if (match === null) {
      throw new StoreCorruptError(`stored reading ${row.id} is unreadable`, { readingId: Number(row.id) });
    }
    const timestamp = BigInt(match[1]!);
    if (from === undefined || timestamp < from) from = timestamp;
    if (to === undefined || timestamp > to) to = timestamp;
  });
  const root = MerkleTree.fromPackedLeafHashes(packed).root;
  const contentHash = ReadingBatch.contentHashOf(ReadingBatch.dumpJsonOf(root, rows));
  return { root, from: from!, to: to!, contentHash };
}

/** Rebuilds a batch from its rows in leaf order; a root that no longer matches is corruption. */
export async function rebuildBatch(
  record: BatchRecord,
  rows: readonly Pick<ReadingRow, "id" | "body" | "signature">[],
): Promise<ReadingBatch> {
  const batch = await ReadingBatch.build(rows.map((row) => decodeStoredReading(row)));
  if (batch.root !== record.root) {
    throw new StoreCorruptError(`batch ${record.localId} no longer rebuilds to its root`, {
      localId: record.localId,
      root: record.root,
      rebuilt: batch.root,
    });
  }
  return batch;
}

export function batchRecord(row: BatchRow): BatchRecord {
  return {
    localId: Number(row.id),
    root: row.root,
    readingCount: Number(row.reading_count),
    fromTimestamp: BigInt(row.from_ts),
    toTimestamp: BigInt(row.to_ts),
    contentHash: row.content_hash,
    sealedAt: Number(row.sealed_at),
    status: row.status,
    ...(row.chain_batch_id === null
      ? {}
      : {
          anchor: {
            chainBatchId: BigInt(row.chain_batch_id),
            transactionHash: row.tx_hash!,
            blockNumber: Number(row.block_number),
            blockHash: row.block_hash!,
            anchoredAt: BigInt(row.anchored_at!),
          },
        }),
    ...(row.note === null ? {} : { note: row.note }),
  };
}

/** A catalog row of either engine: sequences as decimal text (SQLite pads them), metrics comma-joined. */
export function catalogEntry(
  device: string,
  first: string,
  last: string,
  count: number,
  metrics: string | null,
): CatalogEntry {
  return {
    device: getAddress(device),
    firstSequence: BigInt(first),
    lastSequence: BigInt(last),
    readings: count,
    metrics: (metrics ?? "")
      .split(",")
      .filter((m) => m !== "")
      .sort(),
  };
}

export function txRecord(row: TxRow): AnchorTxRecord {
  return {
    hash: row.hash,
    nonce: Number(row.nonce),
    raw: row.raw,
    maxFeePerGas: BigInt(row.max_fee),
    maxPriorityFeePerGas: BigInt(row.priority_fee),
    batchIds: JSON.parse(row.batch_ids) as number[],
    state: row.state,
    sentAt: Number(row.sent_at),
    ...(row.note === null ? {} : { note: row.note }),
  };
}

/** Is `database` a PostgreSQL connection string (`postgres://` or `postgresql://`)? */
export { isPostgresUrl } from "../../database";
