/**
 * Which shard seals and anchors. Several batcher shards share one PostgreSQL database; exactly one of them,
 * the leader, runs the sealer and the anchorer at a time, so that one wallet sends the anchoring
 * transactions and their nonces do not race.
 *
 * The leader holds a session-level PostgreSQL advisory lock on a connection of its own. The lock is the
 * database's: it ends when that connection ends, however the process dies (SIGKILL included), and another
 * shard, which asks for it every `pollMs`, takes over within about `pollMs` of the database noticing. A
 * leader whose connection breaks (a database restart, a network cut) steps down at once, before it could
 * know whether another shard holds the lock; a liveness query that hangs fails after `queryTimeoutMs`, and
 * the leader steps down then too. Two leaders can overlap only between a partition and that step-down (at most
 * `pollMs + queryTimeoutMs` after the cut); what they could then do twice is guarded elsewhere: sealing takes rows `FOR UPDATE SKIP LOCKED`
 * (a reading never lands in two batches), and the anchor contract refuses a root anchored before.
 *
 * With SQLite there is one batcher process, and it always leads.
 */
import { Client } from "pg";
import type { Logger } from "pino";
import { ADVISORY_LOCKS } from "../storage";

export interface Leadership {
  readonly isLeader: boolean;
  /** Starts campaigning; `onChange` is called with true on taking the lead and false on losing it. */
  start(onChange: (leader: boolean) => void | Promise<void>): void;
  /** Stops campaigning and gives the lead up. */
  stop(): Promise<void>;
}

/** The only process: always the leader, until it stops. */
export class SoleLeader implements Leadership {
  isLeader = false;
  private onChange: (leader: boolean) => void | Promise<void> = () => undefined;
  private started: Promise<void> = Promise.resolve();
  start(onChange: (leader: boolean) => void | Promise<void>): void {
    this.onChange = onChange;
    this.isLeader = true;
    this.started = Promise.resolve(onChange(true));
  }
  /** Gives the lead up: the loops the lead started are stopped (and waited for) before this resolves. */
  async stop(): Promise<void> {
    if (!this.isLeader) return;
    this.isLeader = false;
    await this.started;
    await this.onChange(false);
  }
}

export class PostgresLeader implements Leadership {
  isLeader = false;
  private client: Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private onChange: (leader: boolean) => void | Promise<void> = () => undefined;
  private campaign: Promise<void> = Promise.resolve();
  /** Transitions run one after the other: a lead taken again never overlaps the step-down before it. */
  private transitions: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: {
      connectionString: string;
      pollMs: number;
      shard: string;
      /** How long a leadership query may take before the connection counts as lost (default: 2 × pollMs, ≥ 1 s). */
      queryTimeoutMs?: number;
      logger?: Logger;
    },
  ) {}

  private get queryTimeoutMs(): number {
    return this.options.queryTimeoutMs ?? Math.max(1_000, 2 * this.options.pollMs);
  }

  start(onChange: (leader: boolean) => void | Promise<void>): void {
    this.onChange = onChange;
    this.stopped = false;
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.campaign = this.tick().finally(() => this.schedule(this.options.pollMs));
    }, delayMs);
  }

  private async tick(): Promise<void> {
    const { logger, shard } = this.options;
    try {
      if (this.client === undefined) {
        const client = new Client({
          connectionString: this.options.connectionString,
          application_name: `iotrail-leader-${shard}`,
          connectionTimeoutMillis: 5_000,
          // A liveness query that hangs (a network cut with no reset) fails within the timeout, and the leader
          // steps down (P-I3): the overlap with a successor is bounded by pollMs + queryTimeoutMs.
          query_timeout: this.queryTimeoutMs,
          keepAlive: true,
        });
        // A broken connection loses the lock with it: step down at once.
        client.on("error", (error) => this.lost(client, error.message));
        client.on("end", () => this.lost(client, "connection ended"));
        await client.connect();
        this.client = client;
      }
      if (this.isLeader) {
        await this.client.query("SELECT 1"); // notices a dead connection within one poll
        return;
      }
      const { rows } = await this.client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [
        ADVISORY_LOCKS.leader.toString(),
      ]);
      if (rows[0]?.locked === true && !this.stopped) {
        this.isLeader = true;
        logger?.info({ shard }, "this shard leads: it seals and anchors");
        await this.notify(true);
      }
    } catch (error) {
      if (this.client !== undefined) this.lost(this.client, (error as Error).message);
    }
  }

  private lost(client: Client, reason: string): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    if (!this.isLeader) return;
    this.isLeader = false;
    this.options.logger?.warn({ shard: this.options.shard, reason }, "this shard lost the lead");
    void this.notify(false);
  }

  private notify(leader: boolean): Promise<void> {
    this.transitions = this.transitions
      .then(() => this.onChange(leader))
      .catch((error: unknown) => this.options.logger?.error({ err: error }, "changing the lead failed"));
    return this.transitions;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.campaign;
    const client = this.client;
    this.client = undefined;
    const wasLeader = this.isLeader;
    this.isLeader = false;
    if (wasLeader) await this.notify(false);
    await this.transitions;
    await client?.end().catch(() => undefined); // the lock ends with the session
  }
}
