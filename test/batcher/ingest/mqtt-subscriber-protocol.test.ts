/**
 * P-I1: the MQTT 5 subscriber against a broker that misbehaves on the protocol level, played by a minimal
 * broker on mqtt-packet: it must announce a Maximum Packet Size, refuse a subscription granted at QoS 0
 * (readings could be lost with no PUBACK after the write), and never answer a QoS 2 PUBLISH with a PUBACK.
 */
import { expect } from "chai";
import { createServer } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import mqttPacket from "mqtt-packet";
import type { Packet } from "mqtt-packet";
import { ConfigError } from "../../../src/errors";
import { ExternalSubscriber } from "../../../src/batcher/ingest/mqtt-subscriber";
import type { IngestPipeline } from "../../../src/batcher/ingest/pipeline";

/** A broker that answers CONNECT and SUBSCRIBE as told, and records what the subscriber sends. */
async function fakeBroker(grantedQos: number) {
  const seen: Packet[] = [];
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    parser.on("packet", (packet: Packet) => {
      seen.push(packet);
      if (packet.cmd === "connect") {
        socket.write(
          mqttPacket.generate({ cmd: "connack", sessionPresent: false, reasonCode: 0 }, { protocolVersion: 5 }),
        );
      } else if (packet.cmd === "subscribe") {
        socket.write(
          mqttPacket.generate(
            { cmd: "suback", messageId: packet.messageId!, granted: [grantedQos] },
            { protocolVersion: 5 },
          ),
        );
      }
    });
    socket.on("data", (chunk) => parser.parse(chunk));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    sockets,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** A pipeline that accepts everything: a subscriber that took a QoS 2 PUBLISH would acknowledge it. */
const pipeline = {
  room: 1_000,
  submit: async (messages: readonly Uint8Array[]) =>
    messages.map(() => ({ status: "accepted", device: "0x0000000000000000000000000000000000000abc", sequence: "1" })),
} as unknown as IngestPipeline;
const options = (url: string) => ({
  pipeline,
  url,
  topic: "iotrail/v1/readings/#",
  clientId: "subscriber-under-test",
  replyTopic: (topic: string) => topic.replace("/readings/", "/replies/"),
  maxPacketBytes: 5_120,
});

describe("ExternalSubscriber: protocol (P-I1)", function () {
  it("security (P-I1): announces a Maximum Packet Size in CONNECT", async function () {
    const broker = await fakeBroker(1);
    try {
      const subscriber = await ExternalSubscriber.start(options(broker.url));
      const connect = broker.seen.find((p) => p.cmd === "connect") as { properties?: { maximumPacketSize?: number } };
      expect(connect.properties?.maximumPacketSize).to.equal(5_120);
      await subscriber.close();
    } finally {
      broker.close();
    }
  });

  it("security (P-I1): a SUBACK that grants QoS 0 is refused, not silently accepted", async function () {
    const broker = await fakeBroker(0);
    try {
      const refused = await ExternalSubscriber.start(options(broker.url)).catch((error: unknown) => error);
      expect(refused).to.be.instanceOf(ConfigError);
      expect((refused as Error).message).to.contain("at QoS 0, not QoS 1");
    } finally {
      broker.close();
    }
  });

  it("security (P-I1): a QoS 2 PUBLISH gets no PUBACK; the subscriber disconnects", async function () {
    const broker = await fakeBroker(1);
    try {
      const subscriber = await ExternalSubscriber.start(options(broker.url));
      const socket = broker.sockets[0]!;
      // Whichever comes first: the subscriber hangs up, or it acknowledges (the defect).
      const closed = new Promise<void>((resolve) => {
        socket.once("close", () => resolve());
        const poll = setInterval(() => {
          if (broker.seen.some((p) => p.cmd === "puback")) {
            clearInterval(poll);
            resolve();
          }
        }, 10);
        socket.once("close", () => clearInterval(poll));
      });
      socket.write(
        mqttPacket.generate(
          {
            cmd: "publish",
            topic: "iotrail/v1/readings/0xabc",
            payload: Buffer.from("{}"),
            qos: 2,
            messageId: 7,
            retain: false,
            dup: false,
          },
          { protocolVersion: 5 },
        ),
      );
      await closed;
      expect(broker.seen.some((p) => p.cmd === "puback")).to.equal(false);
      await subscriber.close();
    } finally {
      broker.close();
    }
  });
});
