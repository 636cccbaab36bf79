/**
 * MQTT ingest. Devices publish one message per reading (QoS 1) on `iotrail/v1/readings/<device address>`
 * and get the verdict on the same topic with `readings` replaced by `replies`.
 *
 * The embedded broker admits only registered, active device keys (a fresh `BrokerLogin` signature as
 * password) and an optional operator, and applies the topic rules and limits of {@link MqttGuard}.
 *
 * - Embedded broker (aedes, the default): the batcher checks and stores each reading inside the broker's
 *   publish authorization, so the PUBACK leaves only after the durable write (or a definite rejection,
 *   whose code is in the reply). When the ingest queue is full the connection is closed without PUBACK:
 *   MQTT 3.1.1 has no negative acknowledgement, and the device's client sends the message again after it
 *   reconnects.
 * - External broker (Mosquitto or any MQTT 5 broker): the batcher subscribes with QoS 1 in a persistent
 *   session, optionally as a shared subscription of several shards, keeps many messages in flight, and
 *   sends its PUBACK to the broker only after the durable write (see {@link ExternalSubscriber}).
 */
import { createServer } from "node:net";
import type { AddressInfo, Server } from "node:net";
import { Aedes } from "aedes";
import type { Client } from "aedes";
import type { Logger } from "pino";
import type { Eip712Domain } from "../../eip712";
import type { BatcherMetrics } from "../support";
import { mqttMessage } from "./framing";
import { MqttGuard, MqttPacketLimit } from "./mqtt-guard";
import { ExternalSubscriber } from "./mqtt-subscriber";
import type { ExternalSubscriberOptions } from "./mqtt-subscriber";
import type { Identity } from "./mqtt-guard";
import type { IngestOutcome, IngestPipeline } from "./pipeline";
import type { DeviceDirectory, DevicePreparer } from "../checks";

/** The embedded broker's authentication and resource limits (see `MqttGuard`). */
export interface EmbeddedBrokerLimits {
  /** Largest MQTT packet accepted; the connection ends at a larger header, before buffering. */
  maxPacketBytes: number;
  maxConnections: number;
  maxConnectionsPerIdentity: number;
  messagesPerSecond: number;
  burst: number;
  /** Accepted distance between a device login's timestamp and the broker's clock. */
  loginSkewSeconds: number;
  /** The operator's username and token (token from `BATCHER_MQTT_OPERATOR_TOKEN`); no operator without it. */
  operator?: { username: string; token: string };
}

export interface MqttIngest {
  /** mqtt://host:port of the embedded broker, or the external broker's URL. */
  url: string;
  close(): Promise<void>;
}

/** Does `topic` match the MQTT filter (with `+` and `#` wildcards)? */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length || (f[i] !== "+" && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

export function replyTopic(topic: string): string {
  return topic.replace(/(^|\/)readings(\/|$)/, "$1replies$2");
}

const encode = (outcome: IngestOutcome) => Buffer.from(JSON.stringify(outcome));

export async function startEmbeddedBroker(params: {
  pipeline: IngestPipeline;
  host: string;
  port: number;
  topic: string;
  limits: EmbeddedBrokerLimits;
  domain: Eip712Domain;
  directory: DeviceDirectory & DevicePreparer;
  metrics?: BatcherMetrics;
  logger?: Logger;
}): Promise<MqttIngest> {
  const { pipeline, limits, logger } = params;
  const guard = new MqttGuard({
    domain: params.domain,
    root: params.topic.slice(0, -"/readings/#".length),
    directory: params.directory,
    loginSkewSeconds: limits.loginSkewSeconds,
    maxConnectionsPerIdentity: limits.maxConnectionsPerIdentity,
    messagesPerSecond: limits.messagesPerSecond,
    burst: limits.burst,
    ...(limits.operator === undefined ? {} : { operator: limits.operator }),
  });
  const identities = new WeakMap<object, Identity>();
  const refuse = (what: string, client: Client | null, reason: string) => {
    params.metrics?.mqttRefusals.inc({ reason: what });
    logger?.warn({ client: client?.id, reason }, `MQTT ${what} refused`);
  };
  const broker = await Aedes.createBroker({
    maxClientsIdLength: 64,
    // Deliveries in flight at once. Past it, aedes' emitter queues messages in an array it shifts from, which
    // costs O(queue) per message: at saturation each group's verdicts queued by the thousand, and the
    // shifting took 9% of the main thread.
    concurrency: 10_000,
    authenticate: (client, username, password, callback) => {
      // The close listener exists before the login's first await (N-L1): a CONNECT whose socket closes while
      // the directory looks its key up releases its place too, instead of holding it until restart.
      let closed = (client.conn as { destroyed?: boolean }).destroyed === true;
      let counted: Identity | undefined;
      client.conn.once("close", () => {
        closed = true;
        if (counted !== undefined) guard.logout(counted);
      });
      guard.login(client.id, username, password).then(
        (identity) => {
          if (typeof identity === "string") {
            refuse("login", client, identity);
            return callback(Object.assign(new Error(identity), { returnCode: 5 }), false);
          }
          if (closed) {
            guard.logout(identity); // the socket went away during the lookup
            return callback(Object.assign(new Error("connection closed"), { returnCode: 3 }), false);
          }
          counted = identity;
          identities.set(client, identity);
          callback(null, true);
        },
        (error: unknown) => {
          refuse("login", client, `directory lookup failed: ${String(error)}`);
          callback(Object.assign(new Error("server unavailable"), { returnCode: 3 }), false);
        },
      );
    },
    authorizeSubscribe: (client, subscription, callback) => {
      const identity = client === null ? undefined : identities.get(client);
      if (identity === undefined || !guard.mayRead(identity, subscription.topic)) {
        refuse("subscribe", client, subscription.topic);
        return callback(null, null); // SUBACK 0x80: the filter is not granted
      }
      callback(null, subscription);
    },
    // Readings are never forwarded (accepted or not); replies only to who may read them.
    authorizeForward: (client, packet) => {
      const identity = identities.get(client);
      return identity !== undefined && guard.mayRead(identity, packet.topic) ? packet : null;
    },
    authorizePublish: (client, packet, callback) => {
      const identity = client === null ? undefined : identities.get(client);
      if (identity === undefined) return callback(new Error("not authenticated"));
      const refusal = guard.publishRefusal(identity, packet.topic, packet.retain);
      if (refusal !== undefined) {
        refuse("publish", client, refusal);
        return callback(new Error(refusal)); // MQTT 3.1.1 has no negative PUBACK: the connection ends
      }
      if (!guard.admit(identity)) {
        refuse("publish", client, "message rate");
        return callback(new Error("message rate exceeded"));
      }
      void pipeline.submit([mqttMessage(packet.topic, packet.payload as Buffer)], "mqtt").then(([outcome]) => {
        if (outcome!.status === "busy") {
          logger?.warn({ client: client!.id }, "ingest queue full; closing the MQTT connection without PUBACK");
          return callback(new Error(outcome!.message));
        }
        broker.publish(
          {
            cmd: "publish",
            topic: replyTopic(packet.topic),
            payload: encode(outcome!),
            qos: 1,
            retain: false,
            dup: false,
          },
          () => undefined,
        );
        callback(null); // the PUBACK follows
      });
    },
  });
  const server: Server = createServer((socket) => {
    // A passive reader: with aedes reading the socket, "data" fires for exactly the bytes it reads.
    const limit = new MqttPacketLimit(limits.maxPacketBytes);
    broker.handle(socket);
    socket.on("data", (chunk: Buffer) => {
      const announced = limit.observe(chunk);
      if (announced === undefined) return;
      refuse("packet", null, `${announced} bytes announced, ${limits.maxPacketBytes} allowed`);
      socket.destroy();
    });
  });
  server.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(params.port, params.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `mqtt://${address}:${port}`;
  logger?.info({ url, operator: limits.operator !== undefined }, "embedded MQTT broker listening");
  return {
    url,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function subscribeExternal(params: Omit<ExternalSubscriberOptions, "replyTopic">): Promise<MqttIngest> {
  const subscriber = await ExternalSubscriber.start({ ...params, replyTopic });
  return { url: params.url, close: () => subscriber.close() };
}
