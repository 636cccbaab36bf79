/**
 * The batcher's Prometheus metrics, on a registry of their own (several services can share a process).
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export class BatcherMetrics {
  readonly registry = new Registry();
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
