/**
 * The batcher as an MQTT 5 subscriber of an external broker (Mosquitto, EMQX, HiveMQ…), built on
 * `mqtt-packet` (the packet codec of mqtt.js and aedes).
 *
 * Why not mqtt.js's client: it hands over one PUBLISH at a time and sends the PUBACK from the handler's
 * callback, so a subscriber that acknowledges only after its durable write gets one message per write
 * (about 1,800 readings/s here). This subscriber keeps up to `receiveMaximum` QoS 1 messages in flight (the
 * MQTT 5 flow-control limit it announces in CONNECT), checks and commits them in groups through the ingest
 * pipeline, and sends each PUBACK only after the write that holds its reading. A message whose write did
 * not happen (the store is down: retry-later) is not acknowledged; it is submitted again after the
 * pipeline's `retryAfterSeconds`, and the broker redelivers it after a reconnect in any case (persistent
 * session: clean start off, session expiry interval set).
 *
 * Shards: with `shareGroup`, the subscription is `$share/<group>/<topic>` (MQTT 5 shared subscription), and
 * the broker spreads the readings over the group's subscribers; a reading redelivered to another shard is
 * answered `duplicate` by the shared database. The session's plain subscription, if an earlier run made one,
 * is removed. The reverse (a shard leaving its group) needs a new session: another client id, or the old
 * session expired.
 *
 * Verdicts are published at QoS 0 on the reply topic: a reply is advice to the device (the durable fact is
 * the stored reading, which the HTTP API serves), and QoS 0 needs no outgoing flow control.
 */
import { connect as tcpConnect } from "node:net";
import type { Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import mqttPacket from "mqtt-packet";
import type { IPublishPacket, Packet } from "mqtt-packet";
import type { Logger } from "pino";
import { ConfigError } from "../../errors";
import { mqttMessage } from "./framing";
import type { IngestOutcome, IngestPipeline } from "./pipeline";
import { RateLimiter } from "../support";

interface Received {
  packet: IPublishPacket;
  generation: number;
}

export interface ExternalSubscriberOptions {
  pipeline: IngestPipeline;
  /** mqtt://user:password@host:port or mqtts://… */
  url: string;
  /** The readings topic filter (`iotrail/v1/readings/#`). */
  topic: string;
  clientId: string;
  /** Shared-subscription group: the shards of one deployment use the same one. */
  shareGroup?: string;
  /** QoS 1 messages the broker may have in flight to this subscriber (MQTT 5 Receive Maximum). */
  receiveMaximum?: number;
  /** How long the broker keeps the session (and its queued messages) after a disconnect. */
  sessionExpirySeconds?: number;
  keepaliveSeconds?: number;
  /** Where the verdicts go: the reading's topic with `readings` replaced by `replies`. */
  replyTopic: (topic: string) => string;
  /**
   * QoS 0 messages a second each publisher (each readings topic) may have ingested, and the burst above it
   * (default 100/s, burst 200): QoS 0 has no flow control (Receive Maximum bounds only QoS 1), so past this a
   * publisher's QoS 0 messages are dropped, as "at most once" allows, before they can crowd out anyone's QoS 1.
   */
  qos0PerTopicPerSecond?: number;
  qos0Burst?: number;
  /** Largest packet accepted (MQTT 5 Maximum Packet Size, announced in CONNECT; default 64 KiB). */
  maxPacketBytes?: number;
  logger?: Logger;
}

/** MQTT 5; MQTT 3.1.1 (4) only when the broker refuses 5 (no Receive Maximum there: the broker's own limit applies). */
const MQTT_5 = 5;
const MQTT_3_1_1 = 4;
const MAX_RECONNECT_DELAY_MS = 10_000;
/** QoS 0 messages waiting at most, from all publishers together; past it they are dropped. */
const MAX_PENDING_QOS0 = 10_000;

/** The MQTT 5 CONNACK/SUBACK reason codes this subscriber names in its errors. */
const REASONS: Record<number, string> = {
  0x80: "unspecified error",
  0x84: "unsupported protocol version",
  0x85: "client identifier not valid",
  0x86: "bad user name or password",
  0x87: "not authorized",
  0x88: "server unavailable",
  0x89: "server busy",
  0x8a: "banned",
  0x8f: "topic filter invalid",
  0x97: "quota exceeded",
  0x9e: "shared subscriptions not supported",
};
const reason = (code: number) => `${REASONS[code] ?? "error"} (0x${code.toString(16)})`;

export class ExternalSubscriber {
  private socket: Socket | undefined;
  /** Increases with each connection: an acknowledgement belongs to the connection that received the message. */
  private generation = 0;
  private nextPacketId = 1;
  /** QoS 1 messages waiting for the pipeline (at most Receive Maximum: the broker's flow control). */
  private pending: Received[] = [];
  /** QoS 0 messages waiting, each publisher within its rate; they go after every waiting QoS 1 message. */
  private pendingQos0: Received[] = [];
  private flushScheduled = false;
  private flushing = false;
  private readonly qos0Rates: RateLimiter;
  /** QoS 0 messages dropped over their publisher's rate (logged once a second at most). */
  private qos0Dropped = 0;
  private qos0DropLogged = 0;
  private closing = false;
  private reconnectDelayMs = 500;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastHeard = 0;
  private inFlight = 0;
  private readonly filter: string;
  private protocol: 4 | 5 = MQTT_5;

  private constructor(private readonly options: ExternalSubscriberOptions) {
    this.filter = options.shareGroup === undefined ? options.topic : `$share/${options.shareGroup}/${options.topic}`;
    const perSecond = options.qos0PerTopicPerSecond ?? 100;
    this.qos0Rates = new RateLimiter(perSecond, (options.qos0Burst ?? 2 * perSecond) / perSecond);
  }

  /** Connects and subscribes; rejects when the broker refuses (wrong password, no shared subscriptions). */
  static async start(options: ExternalSubscriberOptions): Promise<ExternalSubscriber> {
    if (options.shareGroup !== undefined && !/^[^/+#]+$/.test(options.shareGroup)) {
      throw new ConfigError(`mqtt.shareGroup must not contain "/", "+" or "#": ${options.shareGroup}`, {
        details: { field: "mqtt.shareGroup" },
      });
    }
    const subscriber = new ExternalSubscriber(options);
    await subscriber.connect();
    return subscriber;
  }

  /** Messages received and not yet acknowledged. */
  get unacknowledged(): number {
    return this.inFlight;
  }

  private connect(): Promise<void> {
    const { url, clientId, logger } = this.options;
    const target = new URL(url);
    const secure = target.protocol === "mqtts:";
    if (!secure && target.protocol !== "mqtt:") {
      return Promise.reject(new ConfigError(`mqtt.url must be mqtt:// or mqtts://, not ${target.protocol}`));
    }
    const port = Number(target.port || (secure ? 8883 : 1883));
    const host = target.hostname;
    const generation = ++this.generation;
    const socket = secure ? tlsConnect({ host, port, servername: host }) : tcpConnect({ host, port });
    socket.setNoDelay(true);
    this.socket = socket;
    const parser = mqttPacket.parser({ protocolVersion: this.protocol });
    return new Promise<void>((resolve, reject) => {
      let established = false;
      const fail = (error: Error) => {
        if (!established) reject(error);
        else logger?.warn({ err: error.message }, "external MQTT broker");
        socket.destroy();
      };
      parser.on("error", (error) => fail(error));
      parser.on("packet", (packet: Packet) => {
        switch (packet.cmd) {
          case "connack": {
            const code = packet.reasonCode ?? packet.returnCode ?? 0;
            if (code === 1 && this.protocol === MQTT_5) {
              // A 3.1.1 broker's "unacceptable protocol version": speak 3.1.1 to it.
              logger?.warn("the MQTT broker does not speak MQTT 5; using MQTT 3.1.1 (no Receive Maximum)");
              this.protocol = MQTT_3_1_1;
              socket.removeAllListeners("close");
              socket.destroy();
              return this.connect().then(resolve, reject);
            }
            if (code !== 0) return fail(new ConfigError(`the MQTT broker refused the connection: ${reason(code)}`));
            this.send({
              cmd: "subscribe",
              messageId: this.packetId(),
              subscriptions: [
                this.protocol === MQTT_5
                  ? { topic: this.filter, qos: 1, nl: false, rap: false, rh: 0 }
                  : { topic: this.filter, qos: 1 },
              ],
            });
            return;
          }
          case "suback": {
            const granted = packet.granted[0];
            const code =
              typeof granted === "number" ? granted : ((granted as { qos?: number } | undefined)?.qos ?? 0x80);
            if (code >= 0x80) return fail(new ConfigError(`the MQTT broker refused ${this.filter}: ${reason(code)}`));
            if (code !== 1) {
              // QoS 0 would mean readings delivered at most once, with no PUBACK after the write (P-I1).
              return fail(
                new ConfigError(
                  `the MQTT broker granted ${this.filter} at QoS ${code}, not QoS 1: readings could be lost (check the broker's max_qos or ACL)`,
                ),
              );
            }
            established = true;
            this.reconnectDelayMs = 500;
            this.startPings(generation);
            // A persistent session keeps every subscription it ever made. A shard that once subscribed to the
            // plain topic (before it joined a group) would get each reading twice: once alone, once as a member.
            if (this.filter !== this.options.topic) {
              this.send({ cmd: "unsubscribe", messageId: this.packetId(), unsubscriptions: [this.options.topic] });
            }
            logger?.info(
              { url: redacted(target), filter: this.filter, qos: code },
              "subscribed to the external MQTT broker",
            );
            return resolve();
          }
          case "publish":
            return this.received(packet, generation);
          case "pingresp":
            return;
          case "disconnect":
            logger?.warn({ reason: reason(packet.reasonCode ?? 0) }, "the MQTT broker ended the session");
            return;
          default:
            return;
        }
      });
      socket.on("data", (chunk: Buffer) => {
        // Any packet from the broker shows the connection alive; a PINGRESP can queue behind thousands of them.
        this.lastHeard = Date.now();
        parser.parse(chunk);
      });
      socket.on("error", (error) => fail(error));
      socket.on("close", () => {
        clearInterval(this.pingTimer);
        if (!established) reject(new ConfigError(`no MQTT session with ${redacted(target)}`));
        if (this.socket === socket) this.socket = undefined;
        if (!this.closing) this.scheduleReconnect();
      });
      socket.once(secure ? "secureConnect" : "connect", () => {
        this.send({
          cmd: "connect",
          protocolId: "MQTT",
          protocolVersion: this.protocol,
          clean: false,
          clientId,
          keepalive: this.options.keepaliveSeconds ?? 30,
          ...(target.username === "" ? {} : { username: decodeURIComponent(target.username) }),
          ...(target.password === "" ? {} : { password: Buffer.from(decodeURIComponent(target.password)) }),
          ...(this.protocol === MQTT_5
            ? {
                properties: {
                  sessionExpiryInterval: this.options.sessionExpirySeconds ?? 3_600,
                  receiveMaximum: this.options.receiveMaximum ?? 1_024,
                  // The broker does not send a larger PUBLISH (it drops it for this subscriber instead).
                  maximumPacketSize: this.options.maxPacketBytes ?? 65_536,
                },
              }
            : {}),
        });
      });
    });
  }

  private scheduleReconnect(): void {
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(MAX_RECONNECT_DELAY_MS, delay * 2);
    this.options.logger?.warn({ inMs: delay }, "external MQTT broker connection lost; reconnecting");
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch((error: unknown) =>
        this.options.logger?.warn({ err: (error as Error).message }, "MQTT reconnect failed"),
      );
    }, delay);
  }

  /**
   * PINGREQ every half keepalive when the broker has been silent; the connection counts as dead after one and
   * a half keepalives without a packet from the broker (the broker's own rule for its clients, MQTT 3.1.2.10).
   */
  private startPings(generation: number): void {
    const keepalive = (this.options.keepaliveSeconds ?? 30) * 1000;
    clearInterval(this.pingTimer);
    this.lastHeard = Date.now();
    this.pingTimer = setInterval(() => {
      if (generation !== this.generation) return;
      const silent = Date.now() - this.lastHeard;
      if (silent >= keepalive * 1.5) {
        this.options.logger?.warn({ silentMs: silent }, "the MQTT broker is silent; reconnecting");
        this.socket?.destroy();
        return;
      }
      if (silent >= keepalive / 2) this.send({ cmd: "pingreq" });
    }, keepalive / 4);
    this.pingTimer.unref();
  }

  private packetId(): number {
    const id = this.nextPacketId;
    this.nextPacketId = id === 65_535 ? 1 : id + 1;
    return id;
  }

  private send(packet: Packet): void {
    const socket = this.socket;
    if (socket === undefined || socket.destroyed) return;
    socket.write(mqttPacket.generate(packet, { protocolVersion: this.protocol }));
  }

  private received(packet: IPublishPacket, generation: number): void {
    if (packet.qos === 2) {
      // This subscriber asked for QoS 1; a broker that sends QoS 2 anyway would need PUBREC, not PUBACK.
      this.options.logger?.warn({ topic: packet.topic }, "QoS 2 PUBLISH from a QoS 1 subscription; disconnecting");
      this.send(this.protocol === MQTT_5 ? { cmd: "disconnect", reasonCode: 0x9b } : { cmd: "disconnect" });
      this.socket?.destroy();
      return;
    }
    if (packet.qos === 1) {
      this.inFlight++;
      this.pending.push({ packet, generation });
    } else if (this.pendingQos0.length < MAX_PENDING_QOS0 && this.qos0Rates.admit(packet.topic)) {
      this.pendingQos0.push({ packet, generation });
    } else {
      this.droppedQos0();
      return;
    }
    this.scheduleFlush();
  }

  private droppedQos0(): void {
    this.qos0Dropped++;
    const now = Date.now();
    if (now - this.qos0DropLogged < 1_000) return;
    this.qos0DropLogged = now;
    this.options.logger?.warn(
      { dropped: this.qos0Dropped },
      "QoS 0 messages over their publisher's rate dropped (QoS 0 is at most once)",
    );
  }

  private scheduleFlush(delayMs = 0): void {
    if (this.flushScheduled || this.flushing) return;
    this.flushScheduled = true;
    if (delayMs === 0) setImmediate(() => this.flush());
    else setTimeout(() => this.flush(), delayMs).unref();
  }

  /**
   * What waits goes to the pipeline as one group, never larger than the pipeline can admit (P-H1): QoS 1
   * messages first (each holds one of the broker's in-flight slots), then QoS 0 with what room is left. One
   * group is in the pipeline at a time; what did not fit goes in the next.
   */
  private flush(): void {
    this.flushScheduled = false;
    const room = this.options.pipeline.room;
    if (room === 0) {
      if (this.pending.length + this.pendingQos0.length > 0) this.scheduleFlush(20);
      return;
    }
    const group = this.pending.splice(0, room);
    if (group.length < room) group.push(...this.pendingQos0.splice(0, room - group.length));
    if (group.length === 0) return;
    this.flushing = true;
    void this.options.pipeline
      .submit(
        group.map(({ packet }) =>
          mqttMessage(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)),
        ),
        "mqtt",
      )
      .then((outcomes) => {
        const retry: Received[] = [];
        // The group's verdicts and PUBACKs leave in one write (writev), not two system calls per reading.
        const socket = this.socket;
        socket?.cork();
        outcomes.forEach((outcome, i) => {
          const message = group[i]!;
          if (outcome.status === "busy") retry.push(message);
          else this.answered(message, outcome);
        });
        socket?.uncork();
        this.flushing = false;
        if (retry.length > 0) {
          // Busy now (the queue filled, or the store is down): these go first when the pipeline has room again.
          const busy = outcomes.find((outcome) => outcome.status === "busy") as Extract<
            IngestOutcome,
            { status: "busy" }
          >;
          const live = retry.filter((message) => {
            if (message.generation === this.generation) return true;
            if (message.packet.qos > 0) this.inFlight--; // the broker redelivers it on the new connection
            return false;
          });
          this.pending = live.filter((m) => m.packet.qos > 0).concat(this.pending);
          this.pendingQos0 = live.filter((m) => m.packet.qos === 0).concat(this.pendingQos0);
          this.scheduleFlush(busy.reason === "queue-full" ? 20 : busy.retryAfterSeconds * 1000);
        } else if (this.pending.length + this.pendingQos0.length > 0) {
          this.scheduleFlush();
        }
      });
  }

  /** The verdict to the device, then the PUBACK to the broker (the reading is stored, or definitely refused). */
  private answered({ packet, generation }: { packet: IPublishPacket; generation: number }, outcome: IngestOutcome) {
    this.send({
      cmd: "publish",
      topic: this.options.replyTopic(packet.topic),
      payload: Buffer.from(JSON.stringify(outcome)),
      qos: 0,
      retain: false,
      dup: false,
    });
    if (packet.qos === 0) return;
    this.inFlight--;
    // A message from an earlier connection is redelivered by the broker on this one: its old id is not acknowledged.
    if (generation === this.generation) this.send({ cmd: "puback", messageId: packet.messageId! });
  }

  /** Ends the connection; the broker keeps the session (and redelivers what was not acknowledged). */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    const socket = this.socket;
    if (socket === undefined) return;
    this.send(this.protocol === MQTT_5 ? { cmd: "disconnect", reasonCode: 0 } : { cmd: "disconnect" });
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), 1_000).unref();
    });
  }
}

const redacted = (url: URL) => `${url.protocol}//${url.host}`;
