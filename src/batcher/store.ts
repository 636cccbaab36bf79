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
import type { Database as Sqlite } from "better-sqlite3";
import { getBytes } from "ethers";
import { InvalidInputError, IotrailError } from "../errors";
import { initKeccak } from "../merkle";
import { ReadingBatch, parseReading, readingToJson } from "../telemetry";
import type { Reading, SignedReading } from "../telemetry";
import type { SequenceLedger } from "./validate";

export type AppendStatus = "accepted" | "duplicate" | "conflict";

export interface AppendItem extends SignedReading {
  /** The reading's EIP-712 digest (deduplication compares digests, never signature bytes). */
  digest: string;
}

export type BatchStatus = "sealed" | "pending" | "anchored" | "final" | "failed";

export interface BatchRecord {
  /** The store's own sequential id (the on-chain batch id is recorded once anchored). */
  localId: number;
  root: string;
  readingCount: number;
  fromTimestamp: bigint;
  toTimestamp: bigint;
  sealedAt: number;
  status: BatchStatus;
}

export interface StoredReading extends SignedReading {
  receivedAt: number;
  batchLocalId?: number;
  leafIndex?: number;
}

export interface ReadingStore extends SequenceLedger {
  /** Stores new readings durably, in one transaction; one status per item, in order. */
  append(items: readonly AppendItem[], receivedAt?: number): AppendStatus[];
  /** Number of readings not yet in a batch, and when the oldest arrived (ms). */
  unsealed(): { count: number; oldestReceivedAt?: number };
  /** Seals up to `limit` of the oldest unsealed readings into a batch, or returns undefined if none. */
  seal(limit: number, sealedAt?: number): Promise<BatchRecord | undefined>;
  /** Rebuilds a sealed batch (same order, same root) from the stored readings. */
  loadBatch(localId: number): Promise<ReadingBatch>;
  getBatch(localId: number): BatchRecord | undefined;
  getReading(device: string, sequence: bigint): StoredReading | undefined;
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

const SCHEMA = `
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

export const STORE_SCHEMA_VERSION = 1;

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
  sealed_at: number;
  status: BatchStatus;
}

export class SqliteReadingStore implements ReadingStore {
  private readonly db: Sqlite;

  /** Opens (or creates) the store at `path` (":memory:" for tests that need no durability). */
  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.exec(SCHEMA);
    const version = this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as
      { value: string } | undefined;
    if (version === undefined) {
      this.db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(String(STORE_SCHEMA_VERSION));
    } else if (Number(version.value) !== STORE_SCHEMA_VERSION) {
      throw new InvalidInputError(`unsupported store schema version ${version.value}`, {
        details: { version: version.value, supported: [STORE_SCHEMA_VERSION] },
      });
    }
  }

  append(items: readonly AppendItem[], receivedAt = Date.now()): AppendStatus[] {
    const insert = this.db.prepare(
      `INSERT INTO readings (device, sequence, digest, body, signature, received_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device, sequence) DO NOTHING`,
    );
    const existing = this.db.prepare("SELECT digest FROM readings WHERE device = ? AND sequence = ?");
    const run = this.db.transaction((batch: readonly AppendItem[]) =>
      batch.map(({ reading, signature, digest }): AppendStatus => {
        const device = reading.device.toLowerCase();
        const sequence = seqKey(reading.sequence);
        const digestBytes = getBytes(digest);
        const body = JSON.stringify(readingToJson(reading));
        if (insert.run(device, sequence, digestBytes, body, signature, receivedAt).changes === 1) return "accepted";
        const row = existing.get(device, sequence) as { digest: Buffer };
        return Buffer.compare(row.digest, Buffer.from(digestBytes)) === 0 ? "duplicate" : "conflict";
      }),
    );
    return run(items);
  }

  sequenceStatus(device: string, sequence: bigint, digest: string): "new" | "duplicate" | "conflict" {
    const row = this.db
      .prepare("SELECT digest FROM readings WHERE device = ? AND sequence = ?")
      .get(device.toLowerCase(), seqKey(sequence)) as { digest: Buffer } | undefined;
    if (row === undefined) return "new";
    return Buffer.compare(row.digest, Buffer.from(getBytes(digest))) === 0 ? "duplicate" : "conflict";
  }

  unsealed(): { count: number; oldestReceivedAt?: number } {
    const row = this.db
      .prepare("SELECT COUNT(*) AS count, MIN(received_at) AS oldest FROM readings WHERE batch_id IS NULL")
      .get() as { count: number; oldest: number | null };
    return { count: row.count, ...(row.oldest === null ? {} : { oldestReceivedAt: row.oldest }) };
  }

  async seal(limit: number, sealedAt = Date.now()): Promise<BatchRecord | undefined> {
    if (!Number.isInteger(limit) || limit < 1) throw new InvalidInputError("a batch holds at least one reading");
    const rows = this.db
      .prepare("SELECT id, body, signature FROM readings WHERE batch_id IS NULL ORDER BY id LIMIT ?")
      .all(limit) as Pick<ReadingRow, "id" | "body" | "signature">[];
    if (rows.length === 0) return undefined;
    await initKeccak();
    const batch = await ReadingBatch.build(rows.map((row) => this.decode(row)));
    const header = batch.header();
    const record = this.db.transaction(() => {
      const { lastInsertRowid } = this.db
        .prepare(
          "INSERT INTO batches (root, reading_count, from_ts, to_ts, sealed_at, status) VALUES (?, ?, ?, ?, ?, 'sealed')",
        )
        .run(batch.root, rows.length, header.fromTimestamp.toString(), header.toTimestamp.toString(), sealedAt);
      const localId = Number(lastInsertRowid);
      const assign = this.db.prepare(
        "UPDATE readings SET batch_id = ?, leaf_index = ? WHERE id = ? AND batch_id IS NULL",
      );
      rows.forEach((row, index) => {
        if (assign.run(localId, index, row.id).changes !== 1) {
          throw new StoreCorruptError("a reading was sealed twice", { readingId: row.id });
        }
      });
      return localId;
    })();
    return this.getBatch(record);
  }

  async loadBatch(localId: number): Promise<ReadingBatch> {
    const record = this.getBatch(localId);
    if (record === undefined) throw new InvalidInputError(`no batch ${localId}`, { details: { localId } });
    const rows = this.db
      .prepare("SELECT id, body, signature FROM readings WHERE batch_id = ? ORDER BY leaf_index")
      .all(localId) as Pick<ReadingRow, "id" | "body" | "signature">[];
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
    if (row === undefined) return undefined;
    return {
      localId: row.id,
      root: row.root,
      readingCount: row.reading_count,
      fromTimestamp: BigInt(row.from_ts),
      toTimestamp: BigInt(row.to_ts),
      sealedAt: row.sealed_at,
      status: row.status,
    };
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
