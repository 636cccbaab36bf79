/**
 * The device simulator: N device keys publish signed readings to a batcher over MQTT (one connection per
 * device, a signed `BrokerLogin`, QoS 1) or HTTP (`POST /v1/readings`), at a rate, for a count or a duration.
 * A reading counts as acknowledged only when the batcher's verdict for it arrives (the MQTT reply on
 * `<root>/replies/<device>`, or the HTTP answer), and its latency is measured from sending to that verdict.
 * `iotrail simulate` and the wire benchmark both run it.
 */
import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import type { DeviceKey } from "../device";
import type { Eip712Domain, Reading } from "../eip712";
import { InvalidInputError } from "../errors";
import { encodeIngestMessage, encodeIngestMessageCbor, metricId, ZERO_HASH } from "../telemetry";

export interface SimulationOptions {
  keys: readonly DeviceKey[];
  /** The readings' EIP-712 domain (the TelemetryAnchor's). */
  domain: Eip712Domain;
  /** `mqtt://host:port` (or `mqtts://`, `ws://`) for MQTT, `http://host:port` for the batcher's HTTP API. */
  url: string;
  /** Readings per second over all devices. */
  rate: number;
  /** Readings per device; the run also ends after `durationMs`, whichever comes first. */
  count?: number;
  durationMs?: number;
  /** The first sequence number of every device (default: the current Unix time in milliseconds). */
  firstSequence?: bigint;
  /** Metric name (default `temperature.mC`) and a value generator. */
  metric?: string;
  value?: (device: number, index: number) => bigint;
  /** MQTT topic root (default `iotrail/v1`). */
  topicRoot?: string;
  /**
   * The wire form of each message: `json` (version 1, the default) or `cbor` (version 2, leaving out the
   * domain, which the batcher has one of, and over MQTT the device, which the topic names; sent as
   * `application/cbor-seq` over HTTP).
   */
  format?: "json" | "cbor";
  /** Readings per HTTP request (default 100). */
  httpBatch?: number;
  /** How long to wait for the verdicts still missing after the last reading is sent (default 10 s). */
  drainMs?: number;
  onProgress?: (sent: number, answered: number) => void;
  /**
   * MQTT login per device. Default: a signed `BrokerLogin` (the embedded broker's); an external broker such
   * as Mosquitto takes the device's lower-case address and a provisioned password instead.
   */
  credentials?: (key: DeviceKey) => { username: string; password: string };
  /**
   * Sign every reading before the clock starts (needs `count`), so that the run measures the batcher, not
   * the signing; the readings' timestamps are then the time of signing.
   */
  presign?: boolean;
  /** Called when the clock starts: after presigning and connecting, right before the first send. */
  onStart?: () => void;
  /** Called with each reading's first verdict (`accepted`, `duplicate`, `busy`, or a rejection's code). */
  onVerdict?: (device: string, sequence: string, verdict: string) => void;
}

export interface SimulationSummary {
  transport: "mqtt" | "http";
  devices: number;
  sent: number;
  acknowledged: number;
  duplicates: number;
  rejected: Record<string, number>;
  busy: number;
  unanswered: number;
  latencyMs: { p50: number; p99: number; max: number };
  durationMs: number;
  acknowledgedPerSecond: number;
  /** Each device's sequence range sent (for `iotrail bundle --range`). */
  sequences: { device: string; from: string; to: string }[];
}

interface Verdict {
  status: string;
  code?: string;
  device?: string;
  sequence?: string;
}

/** Runs a simulation to its end and summarises it. */
export async function simulate(options: SimulationOptions): Promise<SimulationSummary> {
  if (options.keys.length === 0) throw new InvalidInputError("the simulation needs at least one device key");
  if (!(options.rate > 0)) throw new InvalidInputError("the rate must be a positive number of readings per second");
  if (options.count === undefined && options.durationMs === undefined) {
    throw new InvalidInputError("give a count of readings per device, a duration, or both");
  }
  const transport = /^(mqtts?|wss?):/.test(options.url) ? "mqtt" : /^https?:/.test(options.url) ? "http" : undefined;
  if (transport === undefined) throw new InvalidInputError(`${options.url}: expected an mqtt:// or http:// URL`);
  const run = new Run(options, transport);
  return run.execute();
}

class Run {
  private readonly pending = new Map<string, number>();
  private readonly latencies: number[] = [];
  private readonly rejected: Record<string, number> = {};
  private sent = 0;
  private acknowledged = 0;
  private duplicates = 0;
  private busy = 0;
  private readonly nextIndex: number[];
  private readonly firstSequence: bigint;
  private readonly metric: string;
  private clients: MqttClient[] = [];
  private presigned: Array<Array<string | Uint8Array>> | undefined;
  private lastVerdictAt = 0;
  private httpInFlight = new Set<Promise<void>>();

  constructor(
    private readonly options: SimulationOptions,
    private readonly transport: "mqtt" | "http",
  ) {
    this.nextIndex = options.keys.map(() => 0);
    this.firstSequence = options.firstSequence ?? BigInt(Date.now());
    this.metric = metricId(options.metric ?? "temperature.mC");
  }

  private get answered(): number {
    return this.acknowledged + this.duplicates + this.busy + Object.values(this.rejected).reduce((a, b) => a + b, 0);
  }

  async execute(): Promise<SimulationSummary> {
    if (this.options.presign === true) {
      const { count, keys } = this.options;
      if (count === undefined) throw new InvalidInputError("presign needs a count of readings per device");
      this.presigned = keys.map((_, device) =>
        Array.from({ length: count }, (_unused, index) => this.message(device, this.readingAt(device, index))),
      );
    }
    if (this.transport === "mqtt") await this.connectAll();
    this.options.onStart?.();
    const started = Date.now();
    try {
      await this.sendAll(started);
      const drainUntil = Date.now() + (this.options.drainMs ?? 10_000);
      while (this.pending.size > 0 && Date.now() < drainUntil) await sleep(20);
      await Promise.allSettled([...this.httpInFlight]);
    } finally {
      await Promise.all(this.clients.map((client) => client.endAsync(true).catch(() => undefined)));
    }
    // The rate is over the time from the first send to the last verdict (not the drain that found none).
    const durationMs = Math.max(1, (this.lastVerdictAt || Date.now()) - started);
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const pick = (q: number) =>
      sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return {
      transport: this.transport,
      devices: this.options.keys.length,
      sent: this.sent,
      acknowledged: this.acknowledged,
      duplicates: this.duplicates,
      rejected: { ...this.rejected },
      busy: this.busy,
      unanswered: this.pending.size,
      latencyMs: { p50: pick(0.5), p99: pick(0.99), max: sorted.at(-1) ?? 0 },
      durationMs,
      acknowledgedPerSecond: Math.round((this.acknowledged * 1000) / Math.max(1, durationMs)),
      sequences: this.options.keys
        .map((key, i) => ({ key, i }))
        .filter(({ i }) => this.nextIndex[i]! > 0)
        .map(({ key, i }) => ({
          device: key.address,
          from: this.firstSequence.toString(),
          to: (this.firstSequence + BigInt(this.nextIndex[i]! - 1)).toString(),
        })),
    };
  }

  private reading(device: number): Reading {
    return this.readingAt(device, this.nextIndex[device]!++);
  }

  private readingAt(device: number, index: number): Reading {
    const key = this.options.keys[device]!;
    return {
      device: key.address,
      sequence: this.firstSequence + BigInt(index),
      timestamp: BigInt(Math.floor(Date.now() / 1000)),
      metric: this.metric,
      value: this.options.value?.(device, index) ?? BigInt(4000 + ((device * 37 + index * 11) % 500)),
      payloadHash: ZERO_HASH,
    };
  }

  private message(device: number, reading: Reading): string | Uint8Array {
    const presigned = this.presigned?.[device]?.[Number(reading.sequence - this.firstSequence)];
    if (presigned !== undefined) return presigned;
    const { domain, format } = this.options;
    const signature = this.options.keys[device]!.signReading(domain, reading);
    if (format === "cbor") {
      // Over MQTT the readings topic names the device (the broker ties it to the login): it is left out.
      const omit = { domain: true, device: this.transport === "mqtt" };
      return encodeIngestMessageCbor({ domain, reading, signature, omit });
    }
    return encodeIngestMessage({ domain, reading, signature });
  }

  private record(verdict: Verdict, fallbackId?: string): void {
    const id =
      verdict.device !== undefined && verdict.sequence !== undefined
        ? pendingId(verdict.device, verdict.sequence)
        : fallbackId;
    if (id === undefined) return;
    const sentAt = this.pending.get(id);
    if (sentAt === undefined) return;
    this.pending.delete(id);
    this.lastVerdictAt = Date.now();
    if (this.options.onVerdict !== undefined) {
      const [device, sequence] = id.split("/") as [string, string];
      this.options.onVerdict(device, sequence, verdict.code ?? verdict.status);
    }
    if (verdict.status === "accepted") {
      this.acknowledged++;
      this.latencies.push(Date.now() - sentAt);
    } else if (verdict.status === "duplicate") this.duplicates++;
    else if (verdict.status === "busy") this.busy++;
    else {
      const code = verdict.code ?? verdict.status;
      this.rejected[code] = (this.rejected[code] ?? 0) + 1;
    }
    this.options.onProgress?.(this.sent, this.answered);
  }

  /** Sends at the rate until the count or the duration is reached. */
  private async sendAll(started: number): Promise<void> {
    const { keys, rate, count, durationMs } = this.options;
    const total = count === undefined ? Number.POSITIVE_INFINITY : count * keys.length;
    const endAt = durationMs === undefined ? Number.POSITIVE_INFINITY : started + durationMs;
    let device = 0;
    const batch: Array<{ device: number; reading: Reading }> = [];
    while (this.sent < total && Date.now() < endAt) {
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate) + 1);
      while (this.sent < due) {
        // Round robin over the devices that still have readings to send.
        while (count !== undefined && this.nextIndex[device]! >= count) device = (device + 1) % keys.length;
        batch.push({ device, reading: this.reading(device) });
        this.sent++;
        device = (device + 1) % keys.length;
      }
      if (batch.length > 0) this.dispatch(batch.splice(0));
      await sleep(5);
    }
  }

  private dispatch(items: Array<{ device: number; reading: Reading }>): void {
    if (this.transport === "mqtt") {
      for (const { device, reading } of items) {
        const id = pendingId(reading.device, reading.sequence.toString());
        this.pending.set(id, Date.now());
        const client = this.clients[device]!;
        const message = this.message(device, reading);
        const payload = typeof message === "string" ? message : Buffer.from(message);
        client.publish(this.topic("readings", device), payload, { qos: 1 }, (error) => {
          if (error !== undefined && error !== null) this.record({ status: "rejected", code: "E_PUBLISH" }, id);
        });
      }
      return;
    }
    const size = this.options.httpBatch ?? 100;
    for (let start = 0; start < items.length; start += size) this.post(items.slice(start, start + size));
  }

  private post(items: Array<{ device: number; reading: Reading }>): void {
    const ids = items.map(({ reading }) => pendingId(reading.device, reading.sequence.toString()));
    const now = Date.now();
    for (const id of ids) this.pending.set(id, now);
    const messages = items.map(({ device, reading }) => this.message(device, reading));
    const cbor = this.options.format === "cbor";
    // CBOR: one item after another (application/cbor-seq); JSON: an array.
    const body = cbor ? Buffer.concat(messages as Uint8Array[]) : `[${messages.join(",")}]`;
    const request = (async () => {
      try {
        const response = await fetch(`${this.options.url.replace(/\/$/, "")}/v1/readings`, {
          method: "POST",
          headers: { "content-type": cbor ? "application/cbor-seq" : "application/json" },
          body,
        });
        const answer = (await response.json()) as { results?: Verdict[] } & Verdict;
        const verdicts = answer.results ?? ids.map(() => answer);
        verdicts.forEach((verdict, i) => this.record(verdict, ids[i]));
      } catch {
        for (const id of ids) this.record({ status: "rejected", code: "E_HTTP" }, id);
      }
    })();
    this.httpInFlight.add(request);
    void request.finally(() => this.httpInFlight.delete(request));
  }

  private topic(kind: "readings" | "replies", device: number): string {
    return `${this.options.topicRoot ?? "iotrail/v1"}/${kind}/${this.options.keys[device]!.address.toLowerCase()}`;
  }

  private async connectAll(): Promise<void> {
    this.clients = await Promise.all(
      this.options.keys.map(async (key, device) => {
        const client = mqtt.connect(this.options.url, {
          ...(this.options.credentials?.(key) ?? key.mqttCredentials(this.options.domain, loginSecond(key.address))),
          reconnectPeriod: 0,
          connectTimeout: 10_000,
        });
        await new Promise<void>((resolve, reject) => {
          client.once("connect", () => resolve());
          client.once("error", (error) => {
            client.end(true);
            // A refused login (CONNACK 4 or 5; MQTT 5: 0x86, 0x87) names its likely cause.
            const refused = /not authori[sz]ed|bad user ?name or password/i.test(error.message);
            const hint = !refused
              ? ""
              : this.options.credentials === undefined
                ? ": the broker refused the device's signed login. An external broker such as Mosquitto takes a password per device instead: `iotrail devices mqtt-passwords` makes them, `simulate --mqtt-passwords <file>` uses them"
                : ": the broker refused this device's username and password (is it in the broker's password file?)";
            reject(
              new InvalidInputError(
                `device ${key.address} could not connect to ${this.options.url}: ${error.message}${hint}`,
                { cause: error },
              ),
            );
          });
        });
        client.on("message", (_topic, payload) => {
          try {
            this.record(JSON.parse(payload.toString()) as Verdict);
          } catch {
            // Not a verdict: ignored.
          }
        });
        await client.subscribeAsync(this.topic("replies", device), { qos: 1 });
        return client;
      }),
    );
  }
}

/**
 * The last login second each device key used in this process. A signed login is good for one connection
 * (the broker refuses a replay, and the signature of the same second is the same), so a second simulation
 * within the same second logs in one second later (the broker accepts some clock skew).
 */
const lastLogin = new Map<string, bigint>();

function loginSecond(address: string): bigint {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const last = lastLogin.get(address);
  const next = last !== undefined && last >= now ? last + 1n : now;
  lastLogin.set(address, next);
  return next;
}

function pendingId(device: string, sequence: string): string {
  return `${device.toLowerCase()}/${sequence}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
