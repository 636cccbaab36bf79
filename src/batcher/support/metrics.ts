/**
 * The batcher's Prometheus metrics, on a registry of their own (several services can share a process).
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export class BatcherMetrics {
  readonly registry = new Registry();
  /** Outcomes per minute over the last hour (the operator view). */
  readonly history = new IngestHistory();
  /** Devices seen since the start (the operator view). */
  readonly activity = new DeviceActivity();
  readonly messages = new Counter({
    name: "iotrail_ingest_messages_total",
    help: "Messages received, by transport and outcome (accepted, duplicate, rejected, busy).",
    labelNames: ["transport", "outcome"] as const,
    registers: [this.registry],
  });
  readonly rejections = new Counter({
    name: "iotrail_ingest_rejections_total",
    help: "Rejected messages by error code.",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });
  readonly mqttRefusals = new Counter({
    name: "iotrail_mqtt_refusals_total",
    help: "Embedded broker refusals: login, subscribe, publish (topic, retain, rate) and oversized packets.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "iotrail_ingest_queue_depth",
    help: "Messages received and not yet answered.",
    registers: [this.registry],
  });
  readonly commitSeconds = new Histogram({
    name: "iotrail_store_commit_seconds",
    help: "Duration of one durable write (group commit).",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly unsealed = new Gauge({
    name: "iotrail_unsealed_readings",
    help: "Stored readings not yet in a batch.",
    registers: [this.registry],
  });
  readonly batches = new Gauge({
    name: "iotrail_batches",
    help: "Batches by status.",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });
  readonly anchorTxs = new Counter({
    name: "iotrail_anchor_transactions_total",
    help: "Anchoring transactions by event (sent, replaced, mined, reverted, dropped, reorged).",
    labelNames: ["event"] as const,
    registers: [this.registry],
  });
  readonly rpcErrors = new Counter({
    name: "iotrail_rpc_errors_total",
    help: "JSON-RPC failures seen by the anchorer (retried with backoff).",
    registers: [this.registry],
  });
  readonly cryptoPath = new Gauge({
    name: "iotrail_crypto_path_info",
    help: "The active crypto path (1 for the labels in use).",
    labelNames: ["secp256k1", "batchVerify", "keccak", "threads"] as const,
    registers: [this.registry],
  });
}

/** Counts of one minute of ingest. */
export interface IngestMinute {
  /** The minute's start, ISO 8601. */
  minute: string;
  accepted: number;
  duplicate: number;
  busy: number;
  rejected: Record<string, number>;
}

/** Ingest outcomes per minute over the last hour, for the operator view (what Prometheus keeps longer). */
export class IngestHistory {
  private readonly minutes = new Map<number, IngestMinute>();

  record(outcome: { status: string; code?: string }, now = Date.now()): void {
    const start = Math.floor(now / 60_000) * 60_000;
    let minute = this.minutes.get(start);
    if (minute === undefined) {
      minute = { minute: new Date(start).toISOString(), accepted: 0, duplicate: 0, busy: 0, rejected: {} };
      this.minutes.set(start, minute);
      for (const key of this.minutes.keys()) if (key <= start - 3_600_000) this.minutes.delete(key);
    }
    if (outcome.status === "accepted") minute.accepted++;
    else if (outcome.status === "duplicate") minute.duplicate++;
    else if (outcome.status === "busy") minute.busy++;
    else {
      const code = outcome.code ?? "unknown";
      minute.rejected[code] = (minute.rejected[code] ?? 0) + 1;
    }
  }

  /** The minutes of the last hour that saw traffic, oldest first. */
  lastHour(now = Date.now()): IngestMinute[] {
    return [...this.minutes]
      .filter(([start]) => start > now - 3_600_000)
      .sort(([a], [b]) => a - b)
      .map(([, minute]) => ({ ...minute, rejected: { ...minute.rejected } }));
  }
}

/** A device the batcher has taken readings from since it started. */
export interface DeviceSeen {
  device: string;
  lastSequence: string;
  lastReceivedAt: string;
  readings: number;
}

/** The devices seen since the start, most recent first; at most `capacity` (the least recent are forgotten). */
export class DeviceActivity {
  private readonly devices = new Map<string, { lastSequence: string; lastReceivedAt: number; readings: number }>();

  constructor(private readonly capacity = 100_000) {}

  seen(device: string, sequence: string, now = Date.now()): void {
    const previous = this.devices.get(device);
    this.devices.delete(device); // re-inserted last: the map stays in order of last activity
    const newer = previous === undefined || BigInt(sequence) > BigInt(previous.lastSequence);
    this.devices.set(device, {
      lastSequence: newer ? sequence : previous.lastSequence,
      lastReceivedAt: now,
      readings: (previous?.readings ?? 0) + 1,
    });
    if (this.devices.size > this.capacity) this.devices.delete(this.devices.keys().next().value!);
  }

  get size(): number {
    return this.devices.size;
  }

  /** A page of devices, most recently seen first. */
  list(offset: number, limit: number): DeviceSeen[] {
    return [...this.devices]
      .reverse()
      .slice(offset, offset + limit)
      .map(([device, d]) => ({
        device,
        lastSequence: d.lastSequence,
        lastReceivedAt: new Date(d.lastReceivedAt).toISOString(),
        readings: d.readings,
      }));
  }
}
