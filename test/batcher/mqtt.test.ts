import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { Aedes } from "aedes";
import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import type { BatcherService } from "../../src/batcher";
import { topicMatches, replyTopic } from "../../src/batcher";
import {
  batcherFixture,
  liveReadings,
  startBatcher,
  startRpcServer,
  testConfig,
  waitFor,
  wireMessage,
} from "../helpers/batcher";

const noAnchoring = (config: ReturnType<typeof testConfig>) => ({ ...config.anchoring, enabled: false });

async function connect(url: string, clientId: string, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId, reconnectPeriod: 100, ...options });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  return client;
}

/** Collects the batcher's replies on a device's reply topic. */
async function replies(client: MqttClient, topic: string): Promise<Record<string, unknown>[]> {
  const seen: Record<string, unknown>[] = [];
  client.on("message", (t, payload) => {
    if (t === topic) seen.push(JSON.parse(payload.toString()) as Record<string, unknown>);
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return seen;
}

describe("MQTT ingest", function () {
  let rpc: { url: string; close: () => Promise<void> };
  let service: BatcherService | undefined;
  const clients: MqttClient[] = [];

  before(async function () {
    rpc = await startRpcServer();
  });

  afterEach(async function () {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
    await service?.stop();
    service = undefined;
  });

  after(async function () {
    await rpc.close();
  });

  describe("topics", function () {
    it("matches MQTT filters with + and #, and maps readings topics to replies topics", function () {
      expect(topicMatches("iotrail/v1/readings/#", "iotrail/v1/readings/dev-1")).to.equal(true);
      expect(topicMatches("iotrail/v1/readings/+", "iotrail/v1/readings/dev-1")).to.equal(true);
      expect(topicMatches("iotrail/v1/readings/+", "iotrail/v1/readings/a/b")).to.equal(false);
      expect(topicMatches("iotrail/v1/readings/#", "iotrail/v1/replies/dev-1")).to.equal(false);
      expect(replyTopic("iotrail/v1/readings/dev-1")).to.equal("iotrail/v1/replies/dev-1");
    });
  });

  describe("embedded broker", function () {
    it("PUBACKs a QoS 1 reading after it is stored, and replies with the verdict and error code", async function () {
      const fx = await loadFixture(batcherFixture);
      const config = testConfig(fx, rpc.url);
      service = await startBatcher({ ...config, anchoring: noAnchoring(config) });
      const device = fx.devices[1]!;
      const client = await connect(service.mqttUrl!, "device-1");
      clients.push(client);
      const answers = await replies(client, "iotrail/v1/replies/device-1");
      const [reading] = liveReadings(device, 1);
      await client.publishAsync("iotrail/v1/readings/device-1", wireMessage(fx, device, reading!), { qos: 1 });
      // publishAsync resolves on PUBACK: the reading is in the store by then.
      expect(service.store.getReading(device.address, 1n)?.reading.value).to.equal(reading!.value);
      await client.publishAsync("iotrail/v1/readings/device-1", wireMessage(fx, device, reading!), { qos: 1 });
      await client.publishAsync("iotrail/v1/readings/device-1", "{oops", { qos: 1 });
      await client.publishAsync("iotrail/v1/readings/device-1", wireMessage(fx, device, { ...reading!, value: 0n }), {
        qos: 1,
      });
      await waitFor(() => (answers.length === 4 ? true : undefined), 5_000, "four replies");
      expect(answers.map((a) => a.code ?? a.status)).to.deep.equal([
        "accepted",
        "duplicate",
        "E_MALFORMED",
        "E_SEQUENCE",
      ]);
      expect(service.store.unsealed().count).to.equal(1);
    });

    it("when the queue is full, closes the connection without PUBACK; the client resends and nothing is lost", async function () {
      const fx = await loadFixture(batcherFixture);
      const config = testConfig(fx, rpc.url);
      service = await startBatcher({
        ...config,
        anchoring: noAnchoring(config),
        ingest: { ...config.ingest, queueLimit: 3 },
      });
      const device = fx.devices[2]!;
      const client = await connect(service.mqttUrl!, "device-2", { clean: false });
      clients.push(client);
      let closes = 0;
      client.on("close", () => (closes += 1));
      const readings = liveReadings(device, 40);
      await Promise.all(
        readings.map((reading) =>
          client.publishAsync("iotrail/v1/readings/device-2", wireMessage(fx, device, reading), { qos: 1 }),
        ),
      );
      // Every publish was eventually acknowledged, so every reading must be stored.
      for (const reading of readings)
        expect(service.store.getReading(device.address, reading.sequence), String(reading.sequence)).to.not.equal(
          undefined,
        );
      expect(closes).to.be.greaterThan(0);
      const metrics = await (await fetch(`${service.httpUrl}/metrics`)).text();
      expect(metrics).to.match(/iotrail_ingest_messages_total\{transport="mqtt",outcome="busy"\} [1-9]/);
    });
  });

  describe("external broker", function () {
    it("subscribes in a persistent session: readings published while the batcher was down are stored when it starts", async function () {
      const fx = await loadFixture(batcherFixture);
      const broker = await Aedes.createBroker();
      const server = createServer(broker.handle);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
      const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        const config = testConfig(fx, rpc.url);
        const external = {
          enabled: true,
          embedded: false,
          url,
          topic: "iotrail/v1/readings/#",
          clientId: "batcher-ext",
        } as const;
        service = await startBatcher({ ...config, anchoring: noAnchoring(config), mqtt: external });
        await service.stop(); // the broker now holds the batcher's session
        service = undefined;
        const device = fx.devices[3]!;
        const client = await connect(url, "device-3");
        clients.push(client);
        const readings = liveReadings(device, 5);
        for (const reading of readings) {
          await client.publishAsync("iotrail/v1/readings/device-3", wireMessage(fx, device, reading), { qos: 1 });
        }
        service = await startBatcher({
          ...config,
          database: config.database,
          anchoring: noAnchoring(config),
          mqtt: external,
        });
        const store = service.store;
        await waitFor(() => (store.unsealed().count === 5 ? true : undefined), 10_000, "five stored readings");
      } finally {
        await service?.stop();
        service = undefined;
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });
});
