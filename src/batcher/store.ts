/**
 * Durable storage of accepted readings and sealed batches. `ReadingStore` is the interface the batcher
 * uses (a PostgreSQL implementation can fill it later); `SqliteReadingStore` implements it with SQLite in
 * WAL mode and synchronous (FULL) commits: when `append` returns, the readings survive a crash or a power
 * loss, so the batcher acknowledges only after it.
 *
 * Readings are unique by (device, sequence). Appending the same reading again reports `duplicate`;
 * another reading under a taken (device, sequence) reports `conflict`. Sealing assigns the oldest unsealed
 * readings to a new batch and records each one's leaf index in the same transaction as the batch, so a
 * batch always rebuilds to the same root.
 */
import Database from "better-sqlite3";
import type { Database as Sqlite, Statement } from "better-sqlite3";
import { getAddress, getBytes } from "ethers";
import { InvalidInputError, IotrailError } from "../errors";
import { initKeccak, MerkleTree } from "../merkle";
import { ReadingBatch, parseReading, readingToJson } from "../telemetry";
import type { Reading, SignedReading } from "../telemetry";
import type { SequenceLedger } from "./validate";

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

export interface ReadingStore extends SequenceLedger {
  /** Stores new readings durably, in one transaction; one status per item, in order. */
  append(items: readonly AppendItem[], receivedAt?: number): AppendStatus[];
  /** Number of readings not yet in a batch, and when the oldest arrived (ms). */
  unsealed(): { count: number; oldestReceivedAt?: number };
  /** Seals up to `limit` of the oldest unsealed readings into a `pending` batch, or returns undefined if none. */
  seal(limit: number, sealedAt?: number): Promise<BatchRecord | undefined>;
  /** Rebuilds a sealed batch (same order, same root) from the stored readings. */
  loadBatch(localId: number): Promise<ReadingBatch>;
  getBatch(localId: number): BatchRecord | undefined;
  /** Batches in `status`, oldest first. */
  batchesWith(status: BatchStatus, limit?: number): BatchRecord[];
  /** Number of batches in each status. */
  batchCounts(): Record<BatchStatus, number>;
  /** Batches newest first: those in `status` (any by default) with an id below `before`, at most `limit`. */
  listBatches(options: { status?: BatchStatus; before?: number; limit: number }): BatchRecord[];
  getReading(device: string, sequence: bigint): StoredReading | undefined;
  /** Where `device`'s readings with sequences in [from, to] are, in sequence order, at most `limit` of them. */
  placements(device: string, from: bigint, to: bigint, limit: number): ReadingPlacement[];
  /** The devices with readings in a batch. */
  devicesIn(localId: number): string[];
  /** Records a signed anchoring transaction (before it is broadcast). */
  recordTx(tx: Omit<AnchorTxRecord, "state">): void;
  /** Transactions in `sent` state, by nonce. */
  openTxs(): AnchorTxRecord[];
  /** Every anchoring transaction ever signed, oldest first (nothing is deleted). */
  transactions(): AnchorTxRecord[];
  setTxState(hash: string, state: AnchorTxState, note?: string): void;
  markAnchored(localId: number, placement: AnchorPlacement): void;
  markFinal(localId: number): void;
  /** Back to pending (a reorg removed the anchor, or its transaction was dropped); `note` says why. */
  markPending(localId: number, note: string): void;
  markFailed(localId: number, reason: string): void;
  close(): void;
}

/** The store's data does not add up (a batch no longer rebuilds to its root, a row is unreadable). */
export class StoreCorruptError extends IotrailError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("STORE_CORRUPT", message, { details });
  }
}

/** uint64 as 20 decimal digits, so that text order is numeric order. */
const seqKey = (sequence: bigint) => sequence.toString().padStart(20, "0");

const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS readings (
  id INTEGER PRIMARY KEY,
  device TEXT NOT NULL,
  sequence TEXT NOT NULL,
  digest BLOB NOT NULL,
  body TEXT NOT NULL,
  signature TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  batch_id INTEGER,
  leaf_index INTEGER,
  UNIQUE (device, sequence)
);
CREATE INDEX IF NOT EXISTS readings_unsealed ON readings (id) WHERE batch_id IS NULL;
CREATE INDEX IF NOT EXISTS readings_by_batch ON readings (batch_id, leaf_index) WHERE batch_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS batches (
  id INTEGER PRIMARY KEY,
  root TEXT NOT NULL UNIQUE,
  reading_count INTEGER NOT NULL,
  from_ts TEXT NOT NULL,
  to_ts TEXT NOT NULL,
  sealed_at INTEGER NOT NULL,
  status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/** Version 2: anchoring state per batch and the anchoring transactions. */
const MIGRATE_V1_TO_V2 = `
ALTER TABLE batches ADD COLUMN content_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE batches ADD COLUMN chain_batch_id TEXT;
ALTER TABLE batches ADD COLUMN tx_hash TEXT;
ALTER TABLE batches ADD COLUMN block_number INTEGER;
ALTER TABLE batches ADD COLUMN block_hash TEXT;
ALTER TABLE batches ADD COLUMN anchored_at TEXT;
ALTER TABLE batches ADD COLUMN note TEXT;
UPDATE batches SET status = 'pending' WHERE status = 'sealed';
CREATE INDEX batches_by_status ON batches (status, id);
CREATE TABLE anchor_txs (
  hash TEXT PRIMARY KEY,
  nonce INTEGER NOT NULL,
  raw TEXT NOT NULL,
  max_fee TEXT NOT NULL,
  priority_fee TEXT NOT NULL,
  batch_ids TEXT NOT NULL,
  state TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  note TEXT
);
CREATE INDEX anchor_txs_open ON anchor_txs (nonce) WHERE state = 'sent';
`;

/** Version 3: each reading's Merkle leaf, computed at ingest, so that sealing does not decode readings. */
const MIGRATE_V2_TO_V3 = `ALTER TABLE readings ADD COLUMN leaf BLOB;`;

export const STORE_SCHEMA_VERSION = 3;

/** The timestamp in a reading's canonical JSON (the store writes that JSON itself). */
const TIMESTAMP_IN_BODY = /"timestamp":"(\d+)"/;

interface ReadingRow {
  id: number;
  body: string;
  signature: string;
  received_at: number;
  batch_id: number | null;
  leaf_index: number | null;
}

interface BatchRow {
  id: number;
  root: string;
  reading_count: number;
  from_ts: string;
  to_ts: string;
  content_hash: string;
  sealed_at: number;
  status: BatchStatus;
  chain_batch_id: string | null;
  tx_hash: string | null;
  block_number: number | null;
  block_hash: string | null;
  anchored_at: string | null;
  note: string | null;
}

interface TxRow {
  hash: string;
  nonce: number;
  raw: string;
  max_fee: string;
  priority_fee: string;
  batch_ids: string;
  state: AnchorTxState;
  sent_at: number;
  note: string | null;
}

/** Every batch status, in the order of a batch's life. */
export const BATCH_STATUSES: readonly BatchStatus[] = ["pending", "anchored", "final", "failed"];

export class SqliteReadingStore implements ReadingStore {
  private readonly db: Sqlite;

  /** Opens (or creates, or migrates) the store at `path` (":memory:" for tests that need no durability). */
  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.transaction(() => this.migrate())();
  }

  private migrate(): void {
    const hasMeta = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    const row = hasMeta
      ? (this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined)
      : undefined;
    let version = row === undefined ? 0 : Number(row.value);
    if (!Number.isInteger(version) || version < 0 || version > STORE_SCHEMA_VERSION) {
      throw new InvalidInputError(`unsupported store schema version ${row!.value}`, {
        details: { version: row!.value, supported: [1, 2, STORE_SCHEMA_VERSION] },
      });
    }
    if (version === 0) {
      this.db.exec(SCHEMA_V1);
      version = 1;
    }
    if (version === 1) {
      this.db.exec(MIGRATE_V1_TO_V2);
      version = 2;
    }
    if (version === 2) {
      this.db.exec(MIGRATE_V2_TO_V3);
      version = 3;
    }
    this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)").run(String(version));
  }

  append(items: readonly AppendItem[], receivedAt = Date.now()): AppendStatus[] {
    this.appendTx ??= this.db.transaction((batch: readonly AppendItem[], at: number) => {
      const insert = this.statement(
        `INSERT INTO readings (device, sequence, digest, body, signature, received_at, leaf)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device, sequence) DO NOTHING`,
      );
      const existing = this.statement("SELECT digest FROM readings WHERE device = ? AND sequence = ?");
      return batch.map(({ reading, signature, digest, prepared }): AppendStatus => {
        const device = reading.device.toLowerCase();
        const sequence = seqKey(reading.sequence);
        const digestBytes = prepared?.digest ?? getBytes(digest);
        const body = prepared?.body ?? JSON.stringify(readingToJson(reading));
        const leaf = prepared?.leaf ?? null;
        if (insert.run(device, sequence, digestBytes, body, signature, at, leaf).changes === 1) return "accepted";
        const row = existing.get(device, sequence) as { digest: Buffer };
        return Buffer.compare(row.digest, Buffer.from(digestBytes)) === 0 ? "duplicate" : "conflict";
      });
    });
    const statuses = this.appendTx(items, receivedAt);
    if (this.unsealedCache !== undefined) {
      const accepted = statuses.filter((status) => status === "accepted").length;
      this.unsealedCache.count += accepted;
      if (accepted > 0) this.unsealedCache.oldestReceivedAt ??= receivedAt;
    }
    return statuses;
  }

  /** {@link unsealed}, kept up to date by `append` (this store is its database's only writer) and reset by `seal`. */
  private unsealedCache: { count: number; oldestReceivedAt?: number } | undefined;

  private appendTx: ((items: readonly AppendItem[], at: number) => AppendStatus[]) | undefined;
  private readonly statements = new Map<string, Statement>();

  /** Prepared once per store (statements are compiled SQL; the hot paths reuse them). */
  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  sequenceStatus(device: string, sequence: bigint, digest: string): "new" | "duplicate" | "conflict" {
    const row = this.statement("SELECT digest FROM readings WHERE device = ? AND sequence = ?").get(
      device.toLowerCase(),
      seqKey(sequence),
    ) as { digest: Buffer } | undefined;
    if (row === undefined) return "new";
    return Buffer.compare(row.digest, Buffer.from(getBytes(digest))) === 0 ? "duplicate" : "conflict";
  }

  unsealed(): { count: number; oldestReceivedAt?: number } {
    if (this.unsealedCache === undefined) {
      const row = this.statement(
        "SELECT COUNT(*) AS count, MIN(received_at) AS oldest FROM readings WHERE batch_id IS NULL",
      ).get() as { count: number; oldest: number | null };
      this.unsealedCache = { count: row.count, ...(row.oldest === null ? {} : { oldestReceivedAt: row.oldest }) };
    }
    return { ...this.unsealedCache };
  }

  async seal(limit: number, sealedAt = Date.now()): Promise<BatchRecord | undefined> {
    if (!Number.isInteger(limit) || limit < 1) throw new InvalidInputError("a batch holds at least one reading");
    const rows = this.statement(
      "SELECT id, body, signature, leaf FROM readings WHERE batch_id IS NULL ORDER BY id LIMIT ?",
    ).all(limit) as (Pick<ReadingRow, "id" | "body" | "signature"> & { leaf: Buffer | null })[];
    if (rows.length === 0) return undefined;
    await initKeccak();
    const sealed = rows.every((row) => row.leaf !== null)
      ? this.sealFromLeaves(rows)
      : await this.sealFromReadings(rows);
    const localId = this.db.transaction(() => {
      const { lastInsertRowid } = this.db
        .prepare(
          `INSERT INTO batches (root, reading_count, from_ts, to_ts, content_hash, sealed_at, status)
           VALUES (?, ?, ?, ?, ?, ?, 'pending')`,
        )
        .run(sealed.root, rows.length, sealed.from.toString(), sealed.to.toString(), sealed.contentHash, sealedAt);
      const id = Number(lastInsertRowid);
      const first = rows[0]!.id;
      const last = rows[rows.length - 1]!.id;
      if (last - first === rows.length - 1) {
        // Consecutive ids (the usual case: rows are never deleted): one statement assigns the whole range.
        const { changes } = this.statement(
          "UPDATE readings SET batch_id = ?, leaf_index = id - ? WHERE id BETWEEN ? AND ? AND batch_id IS NULL",
        ).run(id, first, first, last);
        if (changes !== rows.length)
          throw new StoreCorruptError("a reading was sealed twice", { from: first, to: last });
      } else {
        const assign = this.statement(
          "UPDATE readings SET batch_id = ?, leaf_index = ? WHERE id = ? AND batch_id IS NULL",
        );
        rows.forEach((row, index) => {
          if (assign.run(id, index, row.id).changes !== 1) {
            throw new StoreCorruptError("a reading was sealed twice", { readingId: row.id });
          }
        });
      }
      return id;
    })();
    this.unsealedCache = undefined;
    return this.getBatch(localId);
  }

  /** Root, time window and content hash from the stored leaves and canonical JSON (no decoding). */
  private sealFromLeaves(rows: { id: number; body: string; signature: string; leaf: Buffer | null }[]) {
    const packed = new Uint8Array(rows.length * 32);
    let from: bigint | undefined;
    let to: bigint | undefined;
    rows.forEach((row, index) => {
      packed.set(row.leaf!, index * 32);
      const match = TIMESTAMP_IN_BODY.exec(row.body);
      if (match === null) throw new StoreCorruptError(`stored reading ${row.id} is unreadable`, { readingId: row.id });
      const timestamp = BigInt(match[1]!);
      if (from === undefined || timestamp < from) from = timestamp;
      if (to === undefined || timestamp > to) to = timestamp;
    });
    const root = MerkleTree.fromPackedLeafHashes(packed).root;
    const contentHash = ReadingBatch.contentHashOf(ReadingBatch.dumpJsonOf(root, rows));
    return { root, from: from!, to: to!, contentHash };
  }

  private async sealFromReadings(rows: Pick<ReadingRow, "id" | "body" | "signature">[]) {
    const batch = await ReadingBatch.build(rows.map((row) => this.decode(row)));
    const header = batch.header();
    return { root: batch.root, from: header.fromTimestamp, to: header.toTimestamp, contentHash: header.contentHash };
  }

  async loadBatch(localId: number): Promise<ReadingBatch> {
    const record = this.getBatch(localId);
    if (record === undefined) throw new InvalidInputError(`no batch ${localId}`, { details: { localId } });
    const rows = this.db
      .prepare("SELECT id, body, signature FROM readings WHERE batch_id = ? ORDER BY leaf_index")
      .all(localId) as Pick<ReadingRow, "id" | "body" | "signature">[];
    await initKeccak();
    const batch = await ReadingBatch.build(rows.map((row) => this.decode(row)));
    if (batch.root !== record.root) {
      throw new StoreCorruptError(`batch ${localId} no longer rebuilds to its root`, {
        localId,
        root: record.root,
        rebuilt: batch.root,
      });
    }
    return batch;
  }

  getBatch(localId: number): BatchRecord | undefined {
    const row = this.db.prepare("SELECT * FROM batches WHERE id = ?").get(localId) as BatchRow | undefined;
    return row === undefined ? undefined : batchRecord(row);
  }

  batchesWith(status: BatchStatus, limit = 1_000): BatchRecord[] {
    const rows = this.db
      .prepare("SELECT * FROM batches WHERE status = ? ORDER BY id LIMIT ?")
      .all(status, limit) as BatchRow[];
    return rows.map(batchRecord);
  }

  listBatches(options: { status?: BatchStatus; before?: number; limit: number }): BatchRecord[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM batches WHERE id < ? ${options.status === undefined ? "" : "AND status = ?"} ORDER BY id DESC LIMIT ?`,
      )
      .all(
        ...[
          options.before ?? Number.MAX_SAFE_INTEGER,
          ...(options.status === undefined ? [] : [options.status]),
          options.limit,
        ],
      ) as BatchRow[];
    return rows.map(batchRecord);
  }

  batchCounts(): Record<BatchStatus, number> {
    const counts = Object.fromEntries(BATCH_STATUSES.map((status) => [status, 0])) as Record<BatchStatus, number>;
    const rows = this.db.prepare("SELECT status, COUNT(*) AS n FROM batches GROUP BY status").all() as {
      status: BatchStatus;
      n: number;
    }[];
    for (const { status, n } of rows) counts[status] = n;
    return counts;
  }

  getReading(device: string, sequence: bigint): StoredReading | undefined {
    const row = this.db
      .prepare("SELECT * FROM readings WHERE device = ? AND sequence = ?")
      .get(device.toLowerCase(), seqKey(sequence)) as ReadingRow | undefined;
    if (row === undefined) return undefined;
    return {
      ...this.decode(row),
      receivedAt: row.received_at,
      ...(row.batch_id === null ? {} : { batchLocalId: row.batch_id, leafIndex: row.leaf_index! }),
    };
  }

  placements(device: string, from: bigint, to: bigint, limit: number): ReadingPlacement[] {
    const rows = this.db
      .prepare(
        "SELECT sequence, batch_id, leaf_index FROM readings WHERE device = ? AND sequence BETWEEN ? AND ? ORDER BY sequence LIMIT ?",
      )
      .all(device.toLowerCase(), seqKey(from), seqKey(to), limit) as {
      sequence: string;
      batch_id: number | null;
      leaf_index: number | null;
    }[];
    return rows.map((row) => ({
      sequence: BigInt(row.sequence),
      ...(row.batch_id === null ? {} : { batchLocalId: row.batch_id, leafIndex: row.leaf_index! }),
    }));
  }

  devicesIn(localId: number): string[] {
    const rows = this.db
      .prepare("SELECT DISTINCT device FROM readings WHERE batch_id = ? ORDER BY device")
      .all(localId) as { device: string }[];
    return rows.map((row) => getAddress(row.device));
  }

  recordTx(tx: Omit<AnchorTxRecord, "state">): void {
    this.db
      .prepare(
        `INSERT INTO anchor_txs (hash, nonce, raw, max_fee, priority_fee, batch_ids, state, sent_at, note)
         VALUES (?, ?, ?, ?, ?, ?, 'sent', ?, ?)`,
      )
      .run(
        tx.hash.toLowerCase(),
        tx.nonce,
        tx.raw,
        tx.maxFeePerGas.toString(),
        tx.maxPriorityFeePerGas.toString(),
        JSON.stringify(tx.batchIds),
        tx.sentAt,
        tx.note ?? null,
      );
  }

  openTxs(): AnchorTxRecord[] {
    const rows = this.db
      .prepare("SELECT * FROM anchor_txs WHERE state = 'sent' ORDER BY nonce, sent_at, rowid")
      .all() as TxRow[];
    return rows.map(txRecord);
  }

  transactions(): AnchorTxRecord[] {
    return (this.db.prepare("SELECT * FROM anchor_txs ORDER BY rowid").all() as TxRow[]).map(txRecord);
  }

  setTxState(hash: string, state: AnchorTxState, note?: string): void {
    this.db
      .prepare("UPDATE anchor_txs SET state = ?, note = COALESCE(?, note) WHERE hash = ?")
      .run(state, note ?? null, hash.toLowerCase());
  }

  markAnchored(localId: number, placement: AnchorPlacement): void {
    this.db
      .prepare(
        `UPDATE batches SET status = 'anchored', chain_batch_id = ?, tx_hash = ?, block_number = ?, block_hash = ?,
         anchored_at = ?, note = NULL WHERE id = ?`,
      )
      .run(
        placement.chainBatchId.toString(),
        placement.transactionHash,
        placement.blockNumber,
        placement.blockHash,
        placement.anchoredAt.toString(),
        localId,
      );
  }

  markFinal(localId: number): void {
    this.db.prepare("UPDATE batches SET status = 'final' WHERE id = ? AND status = 'anchored'").run(localId);
  }

  markPending(localId: number, note: string): void {
    this.db
      .prepare(
        `UPDATE batches SET status = 'pending', chain_batch_id = NULL, tx_hash = NULL, block_number = NULL,
         block_hash = NULL, anchored_at = NULL, note = ? WHERE id = ?`,
      )
      .run(note, localId);
  }

  markFailed(localId: number, reason: string): void {
    this.db.prepare("UPDATE batches SET status = 'failed', note = ? WHERE id = ?").run(reason, localId);
  }

  close(): void {
    this.db.close();
  }

  private decode(row: Pick<ReadingRow, "id" | "body" | "signature">): SignedReading {
    let reading: Reading;
    try {
      reading = parseReading(JSON.parse(row.body) as unknown);
    } catch (cause) {
      throw new StoreCorruptError(`stored reading ${row.id} is unreadable`, {
        readingId: row.id,
        cause: String(cause),
      });
    }
    return { reading, signature: row.signature };
  }
}

function batchRecord(row: BatchRow): BatchRecord {
  return {
    localId: row.id,
    root: row.root,
    readingCount: row.reading_count,
    fromTimestamp: BigInt(row.from_ts),
    toTimestamp: BigInt(row.to_ts),
    contentHash: row.content_hash,
    sealedAt: row.sealed_at,
    status: row.status,
    ...(row.chain_batch_id === null
      ? {}
      : {
          anchor: {
            chainBatchId: BigInt(row.chain_batch_id),
            transactionHash: row.tx_hash!,
            blockNumber: row.block_number!,
            blockHash: row.block_hash!,
            anchoredAt: BigInt(row.anchored_at!),
          },
        }),
    ...(row.note === null ? {} : { note: row.note }),
  };
}

function txRecord(row: TxRow): AnchorTxRecord {
  return {
    hash: row.hash,
    nonce: row.nonce,
    raw: row.raw,
    maxFeePerGas: BigInt(row.max_fee),
    maxPriorityFeePerGas: BigInt(row.priority_fee),
    batchIds: JSON.parse(row.batch_ids) as number[],
    state: row.state,
    sentAt: row.sent_at,
    ...(row.note === null ? {} : { note: row.note }),
  };
}
