/**
 * {@link ReadingStore} on PostgreSQL (the `pg` driver), for several batcher shards sharing one database.
 * The guarantees are SQLite's:
 * - `append` resolves after the commit (PostgreSQL's default `synchronous_commit = on` flushes the WAL), so
 *   an acknowledged reading survives a crash of the batcher or of the database;
 * - readings are unique by (device, sequence), which the database enforces across shards: a repeat with the
 *   same digest is a `duplicate`, another digest a `conflict`;
 * - sealing takes the oldest unsealed readings `FOR UPDATE SKIP LOCKED` and assigns them in the batch's own
 *   transaction, so a reading never lands in two batches, even with two sealers;
 * - the schema is versioned (`iotrail_meta`) and migrated under an advisory lock, so shards starting
 *   together migrate once.
 *
 * Bulk ingest is one multi-row `INSERT … SELECT FROM unnest(…)` per group commit.
 */
import { getAddress } from "ethers";
import { Pool } from "pg";
import type { PoolClient, PoolConfig } from "pg";
import type { Logger } from "pino";
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
  SequenceStatus,
  StoredReading,
  TxRow,
} from "./store";

/** Migrations in order: `MIGRATIONS[i]` takes the schema from version i to i + 1. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE readings (
     id BIGSERIAL PRIMARY KEY,
     device TEXT NOT NULL,
     sequence NUMERIC(20, 0) NOT NULL,
     digest BYTEA NOT NULL,
     body TEXT NOT NULL,
     signature TEXT NOT NULL,
     received_at BIGINT NOT NULL,
     leaf BYTEA,
     batch_id BIGINT,
     leaf_index INTEGER,
     UNIQUE (device, sequence)
   );
   CREATE INDEX readings_unsealed ON readings (id) WHERE batch_id IS NULL;
   CREATE INDEX readings_by_batch ON readings (batch_id, leaf_index) WHERE batch_id IS NOT NULL;
   CREATE TABLE batches (
     id BIGSERIAL PRIMARY KEY,
     root TEXT NOT NULL UNIQUE,
     reading_count INTEGER NOT NULL,
     from_ts NUMERIC(20, 0) NOT NULL,
     to_ts NUMERIC(20, 0) NOT NULL,
     content_hash TEXT NOT NULL,
     sealed_at BIGINT NOT NULL,
     status TEXT NOT NULL,
     chain_batch_id NUMERIC(78, 0),
     tx_hash TEXT,
     block_number BIGINT,
     block_hash TEXT,
     anchored_at NUMERIC(20, 0),
     note TEXT
   );
   CREATE INDEX batches_by_status ON batches (status, id);
   CREATE TABLE anchor_txs (
     seq BIGSERIAL PRIMARY KEY,
     hash TEXT NOT NULL UNIQUE,
     nonce BIGINT NOT NULL,
     raw TEXT NOT NULL,
     max_fee NUMERIC(78, 0) NOT NULL,
     priority_fee NUMERIC(78, 0) NOT NULL,
     batch_ids TEXT NOT NULL,
     state TEXT NOT NULL,
     sent_at BIGINT NOT NULL,
     note TEXT
   );
   CREATE INDEX anchor_txs_open ON anchor_txs (nonce) WHERE state = 'sent';`,
];

export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/** Advisory lock keys (one 64-bit space per database): schema migration, and the anchoring leader. */
export const ADVISORY_LOCKS = { migrate: 0x696f747261696c01n, leader: 0x696f747261696c02n } as const;

export interface PostgresStoreOptions {
  /** Connections in the pool (default 8): group commits and API reads run on them side by side. */
  poolSize?: number;
  /** How long to wait for a connection (default 5 s); past it the operation fails and ingest says retry-later. */
  connectTimeoutMs?: number;
  logger?: Logger;
}

const READING_COLUMNS = "id, body, signature, received_at, batch_id, leaf_index";

export class PostgresReadingStore implements ReadingStore {
  readonly engine = "postgres";

  private constructor(private readonly pool: Pool) {}

  /** Connects, and creates or migrates the schema. */
  static async open(connectionString: string, options: PostgresStoreOptions = {}): Promise<PostgresReadingStore> {
    const config: PoolConfig = {
      connectionString,
      max: options.poolSize ?? 8,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      application_name: "iotrail-batcher",
    };
    const pool = new Pool(config);
    // An idle connection that breaks (the server restarted) is dropped from the pool; the next query opens a new one.
    pool.on("error", (error) => options.logger?.warn({ err: error.message }, "PostgreSQL connection lost"));
    const store = new PostgresReadingStore(pool);
    try {
      await store.transaction((client) => migrate(client));
    } catch (error) {
      await pool.end();
      throw error;
    }
    return store;
  }

  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async rows<R>(text: string, values: unknown[] = []): Promise<R[]> {
    return (await this.pool.query(text, values)).rows as R[];
  }

  async append(items: readonly AppendItem[], receivedAt = Date.now()): Promise<AppendStatus[]> {
    if (items.length === 0) return [];
    const keyOf = (item: AppendItem) => `${deviceKey(item.reading.device)}:${item.reading.sequence}`;
    // The first item of each (device, sequence) is inserted; the rest compare against what is stored.
    const first = new Map<string, number>();
    items.forEach((item, index) => {
      if (!first.has(keyOf(item))) first.set(keyOf(item), index);
    });
    const inserting = [...first.values()].map((index) => items[index]!);
    const columns: [string[], string[], Buffer[], string[], string[], (Buffer | null)[]] = [[], [], [], [], [], []];
    for (const { reading, signature, digest, prepared } of inserting) {
      columns[0].push(deviceKey(reading.device));
      columns[1].push(reading.sequence.toString());
      columns[2].push(prepared === undefined ? Buffer.from(digest.slice(2), "hex") : Buffer.from(prepared.digest));
      columns[3].push(prepared?.body ?? JSON.stringify(readingToJson(reading)));
      columns[4].push(signature);
      columns[5].push(prepared === undefined ? null : Buffer.from(prepared.leaf));
    }
    const inserted = await this.pool.query<{ device: string; sequence: string }>({
      name: "iotrail-append",
      text: `INSERT INTO readings (device, sequence, digest, body, signature, received_at, leaf)
             SELECT t.device, t.sequence, t.digest, t.body, t.signature, $7, t.leaf
             FROM unnest($1::text[], $2::numeric[], $3::bytea[], $4::text[], $5::text[], $6::bytea[])
               AS t(device, sequence, digest, body, signature, leaf)
             ON CONFLICT (device, sequence) DO NOTHING
             RETURNING device, sequence`,
      values: [...columns, receivedAt],
    });
    const accepted = new Set(inserted.rows.map((row) => `${row.device}:${row.sequence}`));
    const stored = new Map<string, Buffer>();
    if (accepted.size < items.length) {
      const others = items.filter((item, index) => !(accepted.has(keyOf(item)) && first.get(keyOf(item)) === index));
      const rows = await this.rows<{ device: string; sequence: string; digest: Buffer }>(
        `SELECT r.device, r.sequence, r.digest FROM readings r
         JOIN unnest($1::text[], $2::numeric[]) AS t(device, sequence) ON r.device = t.device AND r.sequence = t.sequence`,
        [others.map((item) => deviceKey(item.reading.device)), others.map((item) => item.reading.sequence.toString())],
      );
      for (const row of rows) stored.set(`${row.device}:${row.sequence}`, row.digest);
    }
    return items.map((item, index): AppendStatus => {
      const key = keyOf(item);
      if (accepted.has(key) && first.get(key) === index) return "accepted";
      const digest = stored.get(key);
      if (digest === undefined) throw new StoreCorruptError("a reading was neither stored nor found", { key });
      return digest.toString("hex") === item.digest.slice(2).toLowerCase() ? "duplicate" : "conflict";
    });
  }

  async sequenceStatus(device: string, sequence: bigint, digest: string): Promise<SequenceStatus> {
    const [row] = await this.rows<{ digest: Buffer }>(
      "SELECT digest FROM readings WHERE device = $1 AND sequence = $2",
      [deviceKey(device), sequence.toString()],
    );
    if (row === undefined) return "new";
    return row.digest.toString("hex") === digest.slice(2).toLowerCase() ? "duplicate" : "conflict";
  }

  async binding(key: string, value: string, replace = false): Promise<string> {
    const [row] = await this.rows<{ value: string }>(
      replace
        ? `INSERT INTO iotrail_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2 RETURNING value`
        : `WITH inserted AS (INSERT INTO iotrail_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING value)
           SELECT value FROM inserted UNION ALL SELECT value FROM iotrail_meta WHERE key = $1 LIMIT 1`,
      [`binding:${key}`, value],
    );
    if (row !== undefined) return row.value;
    // Another shard bound it in the same moment (after this statement's snapshot): read what it bound.
    const [bound] = await this.rows<{ value: string }>("SELECT value FROM iotrail_meta WHERE key = $1", [
      `binding:${key}`,
    ]);
    return bound!.value;
  }

  async unsealed(): Promise<{ count: number; oldestReceivedAt?: number }> {
    const [row] = await this.rows<{ count: number; oldest: string | null }>(
      "SELECT count(*)::int AS count, min(received_at) AS oldest FROM readings WHERE batch_id IS NULL",
    );
    return { count: row!.count, ...(row!.oldest === null ? {} : { oldestReceivedAt: Number(row!.oldest) }) };
  }

  async seal(limit: number, sealedAt = Date.now()): Promise<BatchRecord | undefined> {
    if (!Number.isInteger(limit) || limit < 1) throw new InvalidInputError("a batch holds at least one reading");
    await initKeccak();
    const localId = await this.transaction(async (client) => {
      // Rows another sealer holds are skipped, not waited for: they are in its batch.
      const { rows } = await client.query<{ id: string; body: string; signature: string; leaf: Buffer | null }>(
        `SELECT id, body, signature, leaf FROM readings WHERE batch_id IS NULL ORDER BY id LIMIT $1
         FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (rows.length === 0) return undefined;
      const sealed = await sealSummary(rows);
      const batch = await client.query<{ id: string }>(
        `INSERT INTO batches (root, reading_count, from_ts, to_ts, content_hash, sealed_at, status)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending') RETURNING id`,
        [sealed.root, rows.length, sealed.from.toString(), sealed.to.toString(), sealed.contentHash, sealedAt],
      );
      const id = Number(batch.rows[0]!.id);
      const assigned = await client.query(
        `UPDATE readings r SET batch_id = $1, leaf_index = t.ord - 1
         FROM unnest($2::bigint[]) WITH ORDINALITY AS t(id, ord)
         WHERE r.id = t.id AND r.batch_id IS NULL`,
        [id, rows.map((row) => row.id)],
      );
      if (assigned.rowCount !== rows.length) throw new StoreCorruptError("a reading was sealed twice", { batch: id });
      return id;
    });
    return localId === undefined ? undefined : this.getBatch(localId);
  }

  async loadBatch(localId: number): Promise<ReadingBatch> {
    const record = await this.getBatch(localId);
    if (record === undefined) throw new InvalidInputError(`no batch ${localId}`, { details: { localId } });
    const rows = await this.rows<Pick<ReadingRow, "id" | "body" | "signature">>(
      "SELECT id, body, signature FROM readings WHERE batch_id = $1 ORDER BY leaf_index",
      [localId],
    );
    await initKeccak();
    return rebuildBatch(record, rows);
  }

  async getBatch(localId: number): Promise<BatchRecord | undefined> {
    const [row] = await this.rows<BatchRow>("SELECT * FROM batches WHERE id = $1", [localId]);
    return row === undefined ? undefined : batchRecord(row);
  }

  async batchesWith(status: BatchStatus, limit = 1_000): Promise<BatchRecord[]> {
    const rows = await this.rows<BatchRow>("SELECT * FROM batches WHERE status = $1 ORDER BY id LIMIT $2", [
      status,
      limit,
    ]);
    return rows.map(batchRecord);
  }

  async listBatches(options: { status?: BatchStatus; before?: number; limit: number }): Promise<BatchRecord[]> {
    const rows = await this.rows<BatchRow>(
      `SELECT * FROM batches WHERE id < $1 AND ($2::text IS NULL OR status = $2) ORDER BY id DESC LIMIT $3`,
      [options.before ?? Number.MAX_SAFE_INTEGER, options.status ?? null, options.limit],
    );
    return rows.map(batchRecord);
  }

  async batchCounts(): Promise<Record<BatchStatus, number>> {
    const counts = Object.fromEntries(BATCH_STATUSES.map((status) => [status, 0])) as Record<BatchStatus, number>;
    const rows = await this.rows<{ status: BatchStatus; n: number }>(
      "SELECT status, count(*)::int AS n FROM batches GROUP BY status",
    );
    for (const { status, n } of rows) counts[status] = n;
    return counts;
  }

  async getReading(device: string, sequence: bigint): Promise<StoredReading | undefined> {
    const [row] = await this.rows<ReadingRow>(
      `SELECT ${READING_COLUMNS} FROM readings WHERE device = $1 AND sequence = $2`,
      [deviceKey(device), sequence.toString()],
    );
    return row === undefined ? undefined : storedReading(row);
  }

  async placements(device: string, from: bigint, to: bigint, limit: number): Promise<ReadingPlacement[]> {
    const rows = await this.rows<{ sequence: string; batch_id: string | null; leaf_index: number | null }>(
      `SELECT sequence, batch_id, leaf_index FROM readings
       WHERE device = $1 AND sequence BETWEEN $2 AND $3 ORDER BY sequence LIMIT $4`,
      [deviceKey(device), from.toString(), to.toString(), limit],
    );
    return rows.map((row) => ({
      sequence: BigInt(row.sequence),
      ...(row.batch_id === null ? {} : { batchLocalId: Number(row.batch_id), leafIndex: row.leaf_index! }),
    }));
  }

  async devicesIn(localId: number): Promise<string[]> {
    const rows = await this.rows<{ device: string }>(
      "SELECT DISTINCT device FROM readings WHERE batch_id = $1 ORDER BY device",
      [localId],
    );
    return rows.map((row) => getAddress(row.device));
  }

  async catalog(limit: number): Promise<CatalogEntry[]> {
    const rows = await this.rows<{
      device: string;
      first: string;
      last: string;
      count: string;
      metrics: string | null;
    }>(
      `SELECT r.device AS device, MIN(r.sequence)::text AS first, MAX(r.sequence)::text AS last, COUNT(*)::text AS count,
              string_agg(DISTINCT (r.body::json ->> 'metric'), ',') AS metrics
       FROM readings r JOIN batches b ON b.id = r.batch_id
       WHERE b.status IN ('anchored', 'final')
       GROUP BY r.device ORDER BY r.device LIMIT $1`,
      [limit],
    );
    return rows.map((row) => catalogEntry(row.device, row.first, row.last, Number(row.count), row.metrics));
  }

  async recordTx(tx: Omit<AnchorTxRecord, "state">): Promise<void> {
    await this.pool.query(
      `INSERT INTO anchor_txs (hash, nonce, raw, max_fee, priority_fee, batch_ids, state, sent_at, note)
       VALUES ($1, $2, $3, $4, $5, $6, 'sent', $7, $8)`,
      [
        tx.hash.toLowerCase(),
        tx.nonce,
        tx.raw,
        tx.maxFeePerGas.toString(),
        tx.maxPriorityFeePerGas.toString(),
        JSON.stringify(tx.batchIds),
        tx.sentAt,
        tx.note ?? null,
      ],
    );
  }

  async openTxs(): Promise<AnchorTxRecord[]> {
    const rows = await this.rows<TxRow>("SELECT * FROM anchor_txs WHERE state = 'sent' ORDER BY nonce, sent_at, seq");
    return rows.map(txRecord);
  }

  async transactions(): Promise<AnchorTxRecord[]> {
    return (await this.rows<TxRow>("SELECT * FROM anchor_txs ORDER BY seq")).map(txRecord);
  }

  async setTxState(hash: string, state: AnchorTxState, note?: string): Promise<void> {
    await this.pool.query("UPDATE anchor_txs SET state = $1, note = COALESCE($2, note) WHERE hash = $3", [
      state,
      note ?? null,
      hash.toLowerCase(),
    ]);
  }

  async markAnchored(localId: number, placement: AnchorPlacement): Promise<void> {
    await this.pool.query(
      `UPDATE batches SET status = 'anchored', chain_batch_id = $1, tx_hash = $2, block_number = $3, block_hash = $4,
       anchored_at = $5, note = NULL WHERE id = $6`,
      [
        placement.chainBatchId.toString(),
        placement.transactionHash,
        placement.blockNumber,
        placement.blockHash,
        placement.anchoredAt.toString(),
        localId,
      ],
    );
  }

  async markFinal(localId: number): Promise<void> {
    await this.pool.query("UPDATE batches SET status = 'final' WHERE id = $1 AND status = 'anchored'", [localId]);
  }

  async markPending(localId: number, note: string): Promise<void> {
    await this.pool.query(
      `UPDATE batches SET status = 'pending', chain_batch_id = NULL, tx_hash = NULL, block_number = NULL,
       block_hash = NULL, anchored_at = NULL, note = $1 WHERE id = $2`,
      [note, localId],
    );
  }

  async markFailed(localId: number, reason: string): Promise<void> {
    await this.pool.query("UPDATE batches SET status = 'failed', note = $1 WHERE id = $2", [reason, localId]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Brings the schema to {@link POSTGRES_SCHEMA_VERSION}, inside the caller's transaction. */
async function migrate(client: PoolClient): Promise<void> {
  await client.query("SELECT pg_advisory_xact_lock($1)", [ADVISORY_LOCKS.migrate.toString()]);
  await client.query("CREATE TABLE IF NOT EXISTS iotrail_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  const { rows } = await client.query<{ value: string }>("SELECT value FROM iotrail_meta WHERE key = 'schema'");
  const version = rows[0] === undefined ? 0 : Number(rows[0].value);
  if (!Number.isInteger(version) || version < 0 || version > POSTGRES_SCHEMA_VERSION) {
    throw new InvalidInputError(`unsupported store schema version ${rows[0]!.value}`, {
      details: { version: rows[0]!.value, supported: POSTGRES_SCHEMA_VERSION },
    });
  }
  for (let next = version; next < POSTGRES_SCHEMA_VERSION; next++) await client.query(MIGRATIONS[next]!);
  await client.query(
    `INSERT INTO iotrail_meta (key, value) VALUES ('schema', $1) ON CONFLICT (key) DO UPDATE SET value = $1`,
    [String(POSTGRES_SCHEMA_VERSION)],
  );
}
