/**
 * The payee's durable voucher store: per channel, the best voucher (highest cumulative amount) with the
 * channel's terms, and what service was charged against it. `charge` commits before it resolves (SQLite with
 * `synchronous = FULL`, or a PostgreSQL transaction), so a payee that gives service only after `charge`
 * never gives service for a voucher it could lose in a crash. The watcher claims from it.
 *
 * SQLite is the default; a `postgres://` URL selects PostgreSQL (the batcher's database can hold it).
 */
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import { Pool } from "pg";
import type { PoolClient } from "pg";
import { getAddress } from "ethers";
import { isPostgresUrl } from "../../database";
import type { ChannelTerms } from "../clients";
import { formatChannelId } from "../clients";

export interface StoredVoucher {
  channelId: bigint;
  terms: ChannelTerms;
  /** The voucher's cumulative amount. */
  amount: bigint;
  signature: string;
  /** What service was charged against the channel so far (at most `amount`). */
  charged: bigint;
}

/** The outcome of {@link VoucherStore.charge}: stored, or the state that a concurrent charge left. */
export type ChargeResult =
  { status: "stored"; voucher: StoredVoucher } | { status: "conflict"; current: StoredVoucher };

export interface VoucherStore {
  readonly engine: "sqlite" | "postgres";
  /** The channel's best voucher, if one was stored. */
  get(channelId: bigint): Promise<StoredVoucher | undefined>;
  /**
   * Stores `voucher` (whose `charged` is the new total) if the channel's stored charge is still
   * `previousCharged` (0 for a channel not stored yet) and its amount exceeds the stored one; resolves once
   * durable. Two charges racing on one channel: one stores, the other gets `conflict` with the state.
   */
  charge(voucher: StoredVoucher, previousCharged: bigint): Promise<ChargeResult>;
  /**
   * This store's identity: a random id kept in the store itself (N-I1). Two sellers of one payee share charged
   * state only when they share this id; a deleted and recreated store has a new one.
   */
  identity(): Promise<string>;
  /** Every stored channel (for the watcher). */
  list(): Promise<StoredVoucher[]>;
  close(): Promise<void>;
}

interface Row {
  channel_id: string;
  payer: string;
  payee: string;
  signer: string;
  token: string;
  cap: string;
  expiry: string;
  salt: string;
  amount: string;
  signature: string;
  charged: string;
}

function fromRow(row: Row): StoredVoucher {
  return {
    channelId: BigInt(row.channel_id),
    terms: {
      payer: getAddress(row.payer),
      payee: getAddress(row.payee),
      signer: getAddress(row.signer),
      token: getAddress(row.token),
      cap: BigInt(row.cap),
      expiry: BigInt(row.expiry),
      salt: row.salt,
    },
    amount: BigInt(row.amount),
    signature: row.signature,
    charged: BigInt(row.charged),
  };
}

function toRow(v: StoredVoucher): Row {
  return {
    channel_id: formatChannelId(v.channelId),
    payer: v.terms.payer,
    payee: v.terms.payee,
    signer: v.terms.signer,
    token: v.terms.token,
    cap: v.terms.cap.toString(),
    expiry: v.terms.expiry.toString(),
    salt: v.terms.salt,
    amount: v.amount.toString(),
    signature: v.signature,
    charged: v.charged.toString(),
  };
}

const COLUMNS = "channel_id, payer, payee, signer, token, cap, expiry, salt, amount, signature, charged";
/** The same columns from PostgreSQL, numbers as text (exact for uint256). */
const PG_COLUMNS =
  "channel_id, payer, payee, signer, token, cap::text AS cap, expiry::text AS expiry, salt, amount::text AS amount, signature, charged::text AS charged";

/** Whether `voucher` may replace `current` after a charge that expected `previousCharged`. */
function admissible(current: StoredVoucher | undefined, voucher: StoredVoucher, previousCharged: bigint): boolean {
  if (voucher.charged > voucher.amount) return false;
  if (current === undefined) return previousCharged === 0n;
  return current.charged === previousCharged && voucher.amount > current.amount;
}

export class SqliteVoucherStore implements VoucherStore {
  readonly engine = "sqlite";
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(`CREATE TABLE IF NOT EXISTS payee_vouchers (
      channel_id TEXT PRIMARY KEY, payer TEXT NOT NULL, payee TEXT NOT NULL, signer TEXT NOT NULL,
      token TEXT NOT NULL, cap TEXT NOT NULL, expiry TEXT NOT NULL, salt TEXT NOT NULL,
      amount TEXT NOT NULL, signature TEXT NOT NULL, charged TEXT NOT NULL, updated_at INTEGER NOT NULL
    ) STRICT`);
    this.db.exec("CREATE TABLE IF NOT EXISTS payee_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT");
    this.db.prepare("INSERT OR IGNORE INTO payee_meta (key, value) VALUES ('store-id', ?)").run(newStoreId());
  }

  async identity(): Promise<string> {
    return (this.db.prepare("SELECT value FROM payee_meta WHERE key = 'store-id'").get() as { value: string }).value;
  }

  async get(channelId: bigint): Promise<StoredVoucher | undefined> {
    const row = this.db
      .prepare(`SELECT ${COLUMNS} FROM payee_vouchers WHERE channel_id = ?`)
      .get(formatChannelId(channelId)) as Row | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  async charge(voucher: StoredVoucher, previousCharged: bigint): Promise<ChargeResult> {
    const run = this.db.transaction((): ChargeResult => {
      const row = this.db
        .prepare(`SELECT ${COLUMNS} FROM payee_vouchers WHERE channel_id = ?`)
        .get(formatChannelId(voucher.channelId)) as Row | undefined;
      const current = row === undefined ? undefined : fromRow(row);
      if (!admissible(current, voucher, previousCharged)) return { status: "conflict", current: current ?? voucher };
      this.db
        .prepare(
          `INSERT INTO payee_vouchers (${COLUMNS}, updated_at) VALUES
           (@channel_id, @payer, @payee, @signer, @token, @cap, @expiry, @salt, @amount, @signature, @charged, @updated_at)
           ON CONFLICT (channel_id) DO UPDATE SET amount = excluded.amount, signature = excluded.signature,
             charged = excluded.charged, updated_at = excluded.updated_at`,
        )
        .run({ ...toRow(voucher), updated_at: Date.now() });
      return { status: "stored", voucher };
    });
    return run.immediate();
  }

  async list(): Promise<StoredVoucher[]> {
    return (this.db.prepare(`SELECT ${COLUMNS} FROM payee_vouchers ORDER BY channel_id`).all() as Row[]).map(fromRow);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

export class PostgresVoucherStore implements VoucherStore {
  readonly engine = "postgres";

  private constructor(private readonly pool: Pool) {}

  static async open(connectionString: string): Promise<PostgresVoucherStore> {
    const pool = new Pool({ connectionString, max: 4, application_name: "iotrail-payee" });
    pool.on("error", () => undefined); // a broken idle connection is dropped; the next query opens another
    try {
      await pool.query(`CREATE TABLE IF NOT EXISTS payee_vouchers (
        channel_id TEXT PRIMARY KEY, payer TEXT NOT NULL, payee TEXT NOT NULL, signer TEXT NOT NULL,
        token TEXT NOT NULL, cap NUMERIC(78, 0) NOT NULL, expiry NUMERIC(78, 0) NOT NULL, salt TEXT NOT NULL,
        amount NUMERIC(78, 0) NOT NULL, signature TEXT NOT NULL, charged NUMERIC(78, 0) NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PostgresVoucherStore(pool);
  }

  private static select(client: Pool | PoolClient, channelId: bigint, lock: boolean): Promise<{ rows: Row[] }> {
    return client.query(`SELECT ${PG_COLUMNS} FROM payee_vouchers WHERE channel_id = $1${lock ? " FOR UPDATE" : ""}`, [
      formatChannelId(channelId),
    ]);
  }

  async get(channelId: bigint): Promise<StoredVoucher | undefined> {
    const { rows } = await PostgresVoucherStore.select(this.pool, channelId, false);
    return rows[0] === undefined ? undefined : fromRow(rows[0]);
  }

  async charge(voucher: StoredVoucher, previousCharged: bigint): Promise<ChargeResult> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      // A first charge of a channel inserts; the row lock then serializes every later charge of it.
      const row = toRow(voucher);
      const inserted = await client.query(
        `INSERT INTO payee_vouchers (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (channel_id) DO NOTHING`,
        [
          row.channel_id,
          row.payer,
          row.payee,
          row.signer,
          row.token,
          row.cap,
          row.expiry,
          row.salt,
          row.amount,
          row.signature,
          row.charged,
        ],
      );
      if (inserted.rowCount === 1) {
        if (previousCharged !== 0n || voucher.charged > voucher.amount) {
          await client.query("ROLLBACK");
          return { status: "conflict", current: (await this.get(voucher.channelId)) ?? voucher };
        }
        await client.query("COMMIT");
        return { status: "stored", voucher };
      }
      const { rows } = await PostgresVoucherStore.select(client, voucher.channelId, true);
      const current = fromRow(rows[0]!);
      if (!admissible(current, voucher, previousCharged)) {
        await client.query("ROLLBACK");
        return { status: "conflict", current };
      }
      await client.query(
        `UPDATE payee_vouchers SET amount = $2, signature = $3, charged = $4, updated_at = now() WHERE channel_id = $1`,
        [row.channel_id, row.amount, row.signature, row.charged],
      );
      await client.query("COMMIT");
      return { status: "stored", voucher };
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async identity(): Promise<string> {
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS payee_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
       INSERT INTO payee_meta (key, value) VALUES ('store-id', '${newStoreId()}') ON CONFLICT (key) DO NOTHING`,
    );
    const { rows } = await this.pool.query<{ value: string }>("SELECT value FROM payee_meta WHERE key = 'store-id'");
    return rows[0]!.value;
  }

  async list(): Promise<StoredVoucher[]> {
    const { rows } = await this.pool.query(`SELECT ${PG_COLUMNS} FROM payee_vouchers ORDER BY channel_id`);
    return (rows as Row[]).map(fromRow);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** A new store id: 128 random bits, hex (only ever put in SQL as hex digits). */
const newStoreId = () => randomBytes(16).toString("hex");

/** Opens the voucher store at `database`: a SQLite file path, or a `postgres://` URL. */
export async function openVoucherStore(database: string): Promise<VoucherStore> {
  return isPostgresUrl(database) ? PostgresVoucherStore.open(database) : new SqliteVoucherStore(database);
}
