/**
 * The default {@link ReadingStore}: SQLite in WAL mode with synchronous (FULL) commits, for one batcher
 * process. better-sqlite3 is synchronous, so each method does its work before it returns its promise.
 */
import Database from "better-sqlite3";
import type { Database as Sqlite, Statement } from "better-sqlite3";
import { getAddress, getBytes } from "ethers";
import { InvalidInputError } from "../../errors";
import { initKeccak } from "../../merkle";
import { readingToJson } from "../../telemetry";
import type { ReadingBatch } from "../../telemetry";
import {
  BATCH_STATUSES,
  StoreCorruptError,
  batchRecord,
  catalogEntry,
  deviceKey,
  rebuildBatch,
  sealSummary,
  storedReading,
  txRecord,
} from "./store";
import type {
  AnchorPlacement,
  AnchorTxRecord,
  AnchorTxState,
  AppendItem,
  AppendStatus,
  BatchRecord,
  BatchRow,
  BatchStatus,
  CatalogEntry,
  ReadingPlacement,
  ReadingRow,
  ReadingStore,
  SealSummary,
  SequenceStatus,
  StoredReading,
  TxRow,
} from "./store";

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

export const SQLITE_SCHEMA_VERSION = 3;

export class SqliteReadingStore implements ReadingStore {
  readonly engine = "sqlite";
  private readonly db: Sqlite;

  /** Opens (or creates, or migrates) the store at `path` (":memory:" for tests that need no durability). */
  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    // IMMEDIATE: the write lock is taken at BEGIN (waiting out other writers), never upgraded after a read,
    // which SQLite refuses at once (SQLITE_BUSY) when another connection wrote in between.
    this.db.transaction(() => this.migrate()).immediate();
  }

  private migrate(): void {
    const hasMeta = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    const row = hasMeta
      ? (this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined)
      : undefined;
    let version = row === undefined ? 0 : Number(row.value);
    if (!Number.isInteger(version) || version < 0 || version > SQLITE_SCHEMA_VERSION) {
      throw new InvalidInputError(`unsupported store schema version ${row!.value}`, {
        details: { version: row!.value, supported: [1, 2, SQLITE_SCHEMA_VERSION] },
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
    if (row?.value !== String(version)) {
      this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)").run(String(version));
    }
  }

  async append(items: readonly AppendItem[], receivedAt = Date.now()): Promise<AppendStatus[]> {
    return this.appendNow(items, receivedAt);
  }

  /** {@link append}'s synchronous body (the transaction commits before it returns). */
  appendNow(items: readonly AppendItem[], receivedAt = Date.now()): AppendStatus[] {
    this.appendTx ??= this.db.transaction((batch: readonly AppendItem[], at: number) => {
      const insert = this.statement(
        `INSERT INTO readings (device, sequence, digest, body, signature, received_at, leaf)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device, sequence) DO NOTHING`,
      );
      const existing = this.statement("SELECT digest FROM readings WHERE device = ? AND sequence = ?");
      return batch.map(({ reading, signature, digest, prepared }): AppendStatus => {
        const device = deviceKey(reading.device);
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

  async sequenceStatus(device: string, sequence: bigint, digest: string): Promise<SequenceStatus> {
    const row = this.statement("SELECT digest FROM readings WHERE device = ? AND sequence = ?").get(
      deviceKey(device),
      seqKey(sequence),
    ) as { digest: Buffer } | undefined;
    if (row === undefined) return "new";
    return Buffer.compare(row.digest, Buffer.from(getBytes(digest))) === 0 ? "duplicate" : "conflict";
  }

  async binding(key: string, value: string, replace = false): Promise<string> {
    this.statement(
      replace
        ? "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        : "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
    ).run(`binding:${key}`, value);
    return (this.statement("SELECT value FROM meta WHERE key = ?").get(`binding:${key}`) as { value: string }).value;
  }

  async unsealed(): Promise<{ count: number; oldestReceivedAt?: number }> {
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
    await initKeccak();
    const select = this.statement(
      "SELECT id, body, signature, leaf FROM readings WHERE batch_id IS NULL ORDER BY id LIMIT ?",
    );
    for (;;) {
      const rows = select.all(limit) as { id: number; body: string; signature: string; leaf: Buffer | null }[];
      if (rows.length === 0) return undefined;
      const sealed = await sealSummary(rows);
      // The summary was computed outside the transaction: another sealer (another store on this file) may
      // have taken these rows meanwhile. The transaction checks, and the pass starts over if so.
      const localId = this.db
        .transaction(() => {
          const now = select.all(limit) as { id: number }[];
          if (now.length !== rows.length || now.some((row, i) => row.id !== rows[i]!.id)) return undefined;
          return this.assign(rows, sealed, sealedAt);
        })
        .immediate();
      if (localId === undefined) continue;
      this.unsealedCache = undefined;
      return this.getBatch(localId);
    }
  }

  /** Records the batch and each reading's leaf index (inside the sealing transaction). */
  private assign(rows: readonly { id: number }[], sealed: SealSummary, sealedAt: number): number {
    const { lastInsertRowid } = this.statement(
      `INSERT INTO batches (root, reading_count, from_ts, to_ts, content_hash, sealed_at, status)
       VALUES (?, ?, ?, ?, ?, ?, 'pending')`,
    ).run(sealed.root, rows.length, sealed.from.toString(), sealed.to.toString(), sealed.contentHash, sealedAt);
    const id = Number(lastInsertRowid);
    const first = rows[0]!.id;
    const last = rows[rows.length - 1]!.id;
    if (last - first === rows.length - 1) {
      // Consecutive ids (the usual case: rows are never deleted): one statement assigns the whole range.
      const { changes } = this.statement(
        "UPDATE readings SET batch_id = ?, leaf_index = id - ? WHERE id BETWEEN ? AND ? AND batch_id IS NULL",
      ).run(id, first, first, last);
      if (changes !== rows.length) throw new StoreCorruptError("a reading was sealed twice", { from: first, to: last });
      return id;
    }
    const update = this.statement("UPDATE readings SET batch_id = ?, leaf_index = ? WHERE id = ? AND batch_id IS NULL");
    rows.forEach((row, index) => {
      if (update.run(id, index, row.id).changes !== 1) {
        throw new StoreCorruptError("a reading was sealed twice", { readingId: row.id });
      }
    });
    return id;
  }

  async loadBatch(localId: number): Promise<ReadingBatch> {
    const record = await this.getBatch(localId);
    if (record === undefined) throw new InvalidInputError(`no batch ${localId}`, { details: { localId } });
    const rows = this.statement("SELECT id, body, signature FROM readings WHERE batch_id = ? ORDER BY leaf_index").all(
      localId,
    ) as Pick<ReadingRow, "id" | "body" | "signature">[];
    await initKeccak();
    return rebuildBatch(record, rows);
  }

  async getBatch(localId: number): Promise<BatchRecord | undefined> {
    const row = this.db.prepare("SELECT * FROM batches WHERE id = ?").get(localId) as BatchRow | undefined;
    return row === undefined ? undefined : batchRecord(row);
  }

  async batchesWith(status: BatchStatus, limit = 1_000): Promise<BatchRecord[]> {
    const rows = this.db
      .prepare("SELECT * FROM batches WHERE status = ? ORDER BY id LIMIT ?")
      .all(status, limit) as BatchRow[];
    return rows.map(batchRecord);
  }

  async listBatches(options: { status?: BatchStatus; before?: number; limit: number }): Promise<BatchRecord[]> {
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

  async batchCounts(): Promise<Record<BatchStatus, number>> {
    const counts = Object.fromEntries(BATCH_STATUSES.map((status) => [status, 0])) as Record<BatchStatus, number>;
    const rows = this.db.prepare("SELECT status, COUNT(*) AS n FROM batches GROUP BY status").all() as {
      status: BatchStatus;
      n: number;
    }[];
    for (const { status, n } of rows) counts[status] = n;
    return counts;
  }

  async getReading(device: string, sequence: bigint): Promise<StoredReading | undefined> {
    const row = this.statement("SELECT * FROM readings WHERE device = ? AND sequence = ?").get(
      deviceKey(device),
      seqKey(sequence),
    ) as ReadingRow | undefined;
    return row === undefined ? undefined : storedReading(row);
  }

  async placements(device: string, from: bigint, to: bigint, limit: number): Promise<ReadingPlacement[]> {
    const rows = this.db
      .prepare(
        "SELECT sequence, batch_id, leaf_index FROM readings WHERE device = ? AND sequence BETWEEN ? AND ? ORDER BY sequence LIMIT ?",
      )
      .all(deviceKey(device), seqKey(from), seqKey(to), limit) as {
      sequence: string;
      batch_id: number | null;
      leaf_index: number | null;
    }[];
    return rows.map((row) => ({
      sequence: BigInt(row.sequence),
      ...(row.batch_id === null ? {} : { batchLocalId: row.batch_id, leafIndex: row.leaf_index! }),
    }));
  }

  async devicesIn(localId: number): Promise<string[]> {
    const rows = this.db
      .prepare("SELECT DISTINCT device FROM readings WHERE batch_id = ? ORDER BY device")
      .all(localId) as { device: string }[];
    return rows.map((row) => getAddress(row.device));
  }

  async catalog(limit: number): Promise<CatalogEntry[]> {
    const rows = this.db
      .prepare(
        `SELECT r.device AS device, MIN(r.sequence) AS first, MAX(r.sequence) AS last, COUNT(*) AS count,
                GROUP_CONCAT(DISTINCT json_extract(r.body, '$.metric')) AS metrics
         FROM readings r JOIN batches b ON b.id = r.batch_id
         WHERE b.status IN ('anchored', 'final')
         GROUP BY r.device ORDER BY r.device LIMIT ?`,
      )
      .all(limit) as { device: string; first: string; last: string; count: number; metrics: string | null }[];
    return rows.map((row) => catalogEntry(row.device, row.first, row.last, row.count, row.metrics));
  }

  async recordTx(tx: Omit<AnchorTxRecord, "state">): Promise<void> {
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

  async openTxs(): Promise<AnchorTxRecord[]> {
    const rows = this.db
      .prepare("SELECT * FROM anchor_txs WHERE state = 'sent' ORDER BY nonce, sent_at, rowid")
      .all() as TxRow[];
    return rows.map(txRecord);
  }

  async transactions(): Promise<AnchorTxRecord[]> {
    return (this.db.prepare("SELECT * FROM anchor_txs ORDER BY rowid").all() as TxRow[]).map(txRecord);
  }

  async setTxState(hash: string, state: AnchorTxState, note?: string): Promise<void> {
    this.db
      .prepare("UPDATE anchor_txs SET state = ?, note = COALESCE(?, note) WHERE hash = ?")
      .run(state, note ?? null, hash.toLowerCase());
  }

  async markAnchored(localId: number, placement: AnchorPlacement): Promise<void> {
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

  async markFinal(localId: number): Promise<void> {
    this.db.prepare("UPDATE batches SET status = 'final' WHERE id = ? AND status = 'anchored'").run(localId);
  }

  async markPending(localId: number, note: string): Promise<void> {
    this.db
      .prepare(
        `UPDATE batches SET status = 'pending', chain_batch_id = NULL, tx_hash = NULL, block_number = NULL,
         block_hash = NULL, anchored_at = NULL, note = ? WHERE id = ?`,
      )
      .run(note, localId);
  }

  async markFailed(localId: number, reason: string): Promise<void> {
    this.db.prepare("UPDATE batches SET status = 'failed', note = ? WHERE id = ?").run(reason, localId);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
