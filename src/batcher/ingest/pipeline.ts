/**
 * The ingest pipeline shared by every transport: bounded queue, stateless checks on worker threads,
 * device and timestamp checks, and group commit to the store. A message's answer is given only after the
 * write that holds it has committed, so an acknowledged reading survives a crash.
 */
import type { Logger } from "pino";
import { failpoint, RateLimiter } from "../support";
import type { BatcherMetrics } from "../support";
import type { CheckPool, Checked, DevicePreparer, IngestErrorCode, ReadingValidator, Rejection } from "../checks";
import type { AppendItem, ReadingStore } from "../storage";
import { sequenceConflict } from "../checks";

export type IngestOutcome =
  | { status: "accepted" | "duplicate"; device: string; sequence: string }
  | { status: "rejected"; code: IngestErrorCode; message: string; device?: string; sequence?: string }
  | {
      status: "busy";
      reason: "queue-full" | "internal" | "lookup-budget";
      retryAfterSeconds: number;
      message: string;
    };

export interface PipelineOptions {
  store: ReadingStore;
  validator: ReadingValidator;
  pool: CheckPool;
  devices?: DevicePreparer;
  /** Most messages in flight (received, not answered); beyond it, messages are answered `busy`. */
  queueLimit: number;
  /** Seconds a sender is told to wait when busy. */
  retryAfterSeconds?: number;
  metrics?: BatcherMetrics;
  logger?: Logger;
  /**
   * Registry lookups of keys not known yet that one client (an HTTP sender's address) may cause, per second
   * and as a burst (M-6): past it, its messages of unknown keys are answered busy (`lookup-budget`, HTTP 429),
   * so an anonymous sender of fresh keys costs the node a bounded number of calls per second.
   */
  lookupsPerClient?: { perSecond: number; burst: number };
}

interface Waiting {
  item: AppendItem;
  resolve: (outcome: IngestOutcome) => void;
}

/** Largest number of messages sent to a worker at once. */
const CHUNK = 512;

type Judged = { result: Checked; resolve: Waiting["resolve"]; client?: string | undefined };

export class IngestPipeline {
  private inFlight = 0;
  private inbox: { message: Uint8Array; resolve: (outcome: IngestOutcome) => void; client?: string | undefined }[] = [];
  private readonly lookupBudget: RateLimiter | undefined;
  private inboxScheduled = false;
  private writes: Waiting[] = [];
  private writeScheduled = false;

  constructor(private readonly options: PipelineOptions) {
    const budget = options.lookupsPerClient;
    this.lookupBudget =
      budget === undefined ? undefined : new RateLimiter(budget.perSecond, budget.burst / budget.perSecond);
  }

  /** Messages received and not yet answered. */
  get queued(): number {
    return this.inFlight;
  }

  /** Messages the queue can take now: a group larger than this gets `busy` for the rest. */
  get room(): number {
    return Math.max(0, this.options.queueLimit - this.inFlight);
  }

  /**
   * Ingests raw messages (one per element); one outcome each, in order, after their durable write. "Busy" is
   * per message, never all-or-nothing (P-H1): the messages that fit the queue are admitted, and only those
   * past its room are answered `busy`, so one sender's huge group cannot hold others' messages hostage.
   */
  submit(messages: readonly Uint8Array[], transport = "api", client?: string): Promise<IngestOutcome[]> {
    const { queueLimit, retryAfterSeconds = 1, metrics } = this.options;
    const admitted = Math.min(messages.length, this.room);
    const refused = messages.length - admitted;
    const busy: IngestOutcome | undefined =
      refused === 0
        ? undefined
        : {
            status: "busy",
            reason: "queue-full",
            retryAfterSeconds,
            message: `the ingest queue is full (${this.inFlight + admitted} of ${queueLimit} in flight)`,
          };
    if (busy !== undefined) metrics?.messages.inc({ transport, outcome: "busy" }, refused);
    if (admitted === 0) return Promise.resolve(messages.map(() => busy!));
    const admit = refused === 0 ? messages : messages.slice(0, admitted);
    this.inFlight += admit.length;
    metrics?.queueDepth.set(this.inFlight);
    const answers = admit.map(
      (message) =>
        new Promise<IngestOutcome>((resolve) => {
          this.inbox.push({ message, resolve, client });
        }),
    );
    if (!this.inboxScheduled) {
      this.inboxScheduled = true;
      setImmediate(() => this.drainInbox());
    }
    return Promise.all(answers).then((outcomes) => {
      this.inFlight -= outcomes.length;
      metrics?.queueDepth.set(this.inFlight);
      for (const outcome of outcomes) {
        metrics?.messages.inc({ transport, outcome: outcome.status });
        metrics?.history.record(outcome);
        if (outcome.status === "rejected") metrics?.rejections.inc({ code: outcome.code });
        else if (outcome.status !== "busy") metrics?.activity.seen(outcome.device, outcome.sequence);
      }
      if (busy !== undefined) for (let i = 0; i < refused; i++) outcomes.push(busy);
      return outcomes;
    });
  }

  private drainInbox(): void {
    this.inboxScheduled = false;
    const taken = this.inbox;
    this.inbox = [];
    for (let start = 0; start < taken.length; start += CHUNK) {
      const chunk = taken.slice(start, start + CHUNK);
      this.options.pool
        .check(chunk.map(({ message }) => message))
        .then((results) =>
          this.admit(chunk.map(({ resolve, client }, i) => ({ result: results[i]!, resolve, client }))),
        )
        .catch((error: unknown) => {
          // Answers already given stand (a promise resolves once); the others are told to retry.
          this.options.logger?.error({ err: error }, "checking messages failed");
          for (const { resolve } of chunk) resolve(internalError());
        });
    }
  }

  /**
   * Judges checked messages against device state and the time window. Messages of keys that need a registry
   * lookup wait for it; the others (known devices) go on at once, so a flood of fresh keys cannot hold up
   * registered devices' readings that arrived with it.
   */
  private async admit(checked: Judged[]): Promise<void> {
    const { devices } = this.options;
    if (devices === undefined) return this.judge(checked, new Set());
    const keyOf = (result: Checked) => (result.status === "checked" ? result.item.reading.device.toLowerCase() : "");
    const keys = checked.flatMap(({ result }) => (result.status === "checked" ? [keyOf(result)] : []));
    const pending = devices.pending(keys);
    let waiting = checked.filter(({ result }) => pending.has(keyOf(result)));
    this.judge(
      checked.filter(({ result }) => !pending.has(keyOf(result))),
      new Set(),
    );
    if (this.lookupBudget !== undefined && waiting.length > 0) waiting = this.withinBudget(waiting);
    // Known keys go along too (their expired states are refreshed in the background); unknown keys only
    // within their senders' budgets.
    const looked = new Set(waiting.map(({ result }) => keyOf(result)));
    const unreachable = await devices.prepare(keys.filter((key) => !pending.has(key) || looked.has(key)));
    if (waiting.length > 0) this.judge(waiting, unreachable);
  }

  /** Each client's unknown keys take a lookup each from its budget; messages past it are answered busy. */
  private withinBudget(waiting: Judged[]): Judged[] {
    const charged = new Map<string, Set<string>>();
    return waiting.filter((entry) => {
      if (entry.client === undefined || entry.result.status !== "checked") return true;
      const key = entry.result.item.reading.device.toLowerCase();
      const seen = charged.get(entry.client) ?? new Set<string>();
      charged.set(entry.client, seen);
      if (seen.has(key)) return true;
      if (this.lookupBudget!.admit(entry.client)) {
        seen.add(key);
        return true;
      }
      entry.resolve({
        status: "busy",
        reason: "lookup-budget",
        retryAfterSeconds: 1,
        message: "too many readings of device keys the batcher does not know yet from this client; retry later",
      });
      return false;
    });
  }

  private judge(checked: Judged[], unreachable: Set<string>): void {
    const { validator } = this.options;
    for (const { result, resolve } of checked) {
      if (result.status === "rejected") {
        resolve(result);
        continue;
      }
      const { item } = result;
      if (unreachable.has(item.reading.device.toLowerCase())) {
        // The registry could not be asked: not the sender's fault, and not a rejection. Retry later.
        resolve(internalError("the device registry is unreachable; retry later"));
        continue;
      }
      const device = validator.deviceVerdict(item);
      if (device !== undefined) {
        resolve(withReading(device, item));
        continue;
      }
      const window = validator.windowVerdict(item);
      if (window === undefined) {
        this.writes.push({ item, resolve }); // check 8 happens in the write itself
        continue;
      }
      void this.outsideWindow(item, window).then(resolve);
    }
    if (!this.writeScheduled && this.writes.length > 0) {
      this.writeScheduled = true;
      setImmediate(() => void this.flushWrites());
    }
  }

  /** Check 8 comes before check 9: a repeat of an accepted reading is a duplicate even outside the window. */
  private async outsideWindow(item: AppendItem, window: Rejection): Promise<IngestOutcome> {
    try {
      const seen = await this.options.store.sequenceStatus(item.reading.device, item.reading.sequence, item.digest);
      if (seen === "duplicate") return answer("duplicate", item);
      return withReading(seen === "conflict" ? sequenceConflict(item) : window, item);
    } catch (error) {
      this.options.logger?.error({ err: error }, "reading the store failed");
      return internalError();
    }
  }

  /**
   * One transaction for everything admitted since the last write (group commit). Writes do not wait for
   * each other: a store with a connection pool (PostgreSQL) commits several groups at once.
   */
  private async flushWrites(): Promise<void> {
    this.writeScheduled = false;
    const taken = this.writes;
    this.writes = [];
    const stop = this.options.metrics?.commitSeconds.startTimer();
    let statuses;
    try {
      failpoint("ingest.before-write");
      statuses = await this.options.store.append(taken.map(({ item }) => item));
      failpoint("ingest.after-write");
    } catch (error) {
      this.options.logger?.error({ err: error }, "durable write failed; nothing in it was acknowledged");
      for (const { resolve } of taken) resolve(internalError());
      return;
    }
    stop?.();
    taken.forEach(({ item, resolve }, i) => {
      const status = statuses[i]!;
      resolve(status === "conflict" ? withReading(sequenceConflict(item), item) : answer(status, item));
    });
  }
}

const answer = (status: "accepted" | "duplicate", item: AppendItem): IngestOutcome => ({
  status,
  device: item.reading.device,
  sequence: item.reading.sequence.toString(),
});

const withReading = (rejection: Rejection, item: AppendItem): IngestOutcome => ({
  ...rejection,
  device: item.reading.device,
  sequence: item.reading.sequence.toString(),
});

/** A failure of the batcher itself: the sender should retry later; nothing was stored. */
const internalError = (
  message = "the batcher could not process the message; retry later",
): Extract<IngestOutcome, { status: "busy" }> => ({
  status: "busy",
  reason: "internal",
  retryAfterSeconds: 5,
  message,
});
