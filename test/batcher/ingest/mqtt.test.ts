import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { Aedes } from "aedes";
import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import { simulate } from "../../../src/simulator";
import type { BatcherService } from "../../../src/batcher";
import { topicMatches, replyTopic } from "../../../src/batcher";
import { DeviceKey } from "../../../src/device";
import {
  OPERATOR_TOKEN,
  batcherFixture,
  freshSecond,
  connectDevice,
  deviceTopics,
  liveReadings,
  startBatcher,
  startRpcServer,
  testConfig,
  waitFor,
  wireMessage,
} from "../../helpers/batcher";

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

/** Tries to connect and returns the broker's refusal (the connection is closed either way). */
async function connectRefusal(url: string, options: mqtt.IClientOptions): Promise<string> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, ...options });
  try {
    return await new Promise<string>((resolve) => {
      client.once("connect", () => resolve("connected"));
      client.once("error", (error) => resolve(error.message));
      client.once("close", () => resolve("closed"));
    });
  } finally {
    client.end(true);
  }
}

/** The QoS the broker granted for `filter` (128: refused; mqtt.js rejects such a SUBACK). */
async function grantOf(client: MqttClient, filter: string): Promise<number> {
  try {
    const [grant] = await client.subscribeAsync(filter, { qos: 1 });
    return grant!.qos;
  } catch (error) {
    const granted = (error as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted === undefined) throw error;
    return granted[0]!;
  }
}

async function operatorClient(url: string): Promise<MqttClient> {
  return connect(url, "operator:test", { username: "operator", password: OPERATOR_TOKEN, reconnectPeriod: 0 });
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
    it("the simulator run twice within one second logs every device in again (a signed login is good for one connection)", async function () {
      // Before, the second run signed the same second's login again, and the broker refused it as a replay.
      const fx = await loadFixture(batcherFixture);
      const config = testConfig(fx, rpc.url);
      service = await startBatcher({ ...config, anchoring: noAnchoring(config) });
      const keys = fx.devices.slice(1, 4);
      const run = (firstSequence: bigint) =>
        simulate({ keys, domain: fx.telemetry, url: service!.mqttUrl!, rate: 1_000, count: 1, firstSequence });
      const first = await run(1n);
      const second = await run(2n);
      expect([first.acknowledged, second.acknowledged]).to.deep.equal([3, 3]);
    });

    it("PUBACKs a QoS 1 reading after it is stored, and replies with the verdict and error code", async function () {
      const fx = await loadFixture(batcherFixture);
      const config = testConfig(fx, rpc.url);
      service = await startBatcher({ ...config, anchoring: noAnchoring(config) });
      const device = fx.devices[1]!;
      const topics = deviceTopics(device);
      const client = await connectDevice(service.mqttUrl!, fx, device);
      clients.push(client);
      const answers = await replies(client, topics.replies);
      const [reading] = liveReadings(device, 1);
      await client.publishAsync(topics.readings, wireMessage(fx, device, reading!), { qos: 1 });
      // publishAsync resolves on PUBACK: the reading is in the store by then.
      expect((await service.store.getReading(device.address, 1n))?.reading.value).to.equal(reading!.value);
      await client.publishAsync(topics.readings, wireMessage(fx, device, reading!), { qos: 1 });
      await client.publishAsync(topics.readings, "{oops", { qos: 1 });
      await client.publishAsync(topics.readings, wireMessage(fx, device, { ...reading!, value: 0n }), { qos: 1 });
      await waitFor(() => (answers.length === 4 ? true : undefined), 5_000, "four replies");
      expect(answers.map((a) => a.code ?? a.status)).to.deep.equal([
        "accepted",
        "duplicate",
        "E_MALFORMED",
        "E_SEQUENCE",
      ]);
      // The conflicting reading under the same sequence was not stored.
      expect((await service.store.getReading(device.address, 1n))?.reading.value).to.equal(reading!.value);
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
      // Each reconnection logs in anew (a login is good for one connection).
      const client = mqtt.connect(service.mqttUrl!, {
        ...device.mqttCredentials(fx.telemetry),
        clean: false,
        reconnectPeriod: 100,
      });
      client.on("close", () => Object.assign(client.options, device.mqttCredentials(fx.telemetry, freshSecond())));
      clients.push(client);
      await new Promise<void>((resolve) => client.once("connect", () => resolve()));
      let closes = 0;
      client.on("close", () => (closes += 1));
      const readings = liveReadings(device, 40);
      await Promise.all(
        readings.map((reading) =>
          client.publishAsync(deviceTopics(device).readings, wireMessage(fx, device, reading), { qos: 1 }),
        ),
      );
      // Every publish was eventually acknowledged, so every reading must be stored.
      for (const reading of readings)
        expect(await service.store.getReading(device.address, reading.sequence), String(reading.sequence)).to.not.equal(
          undefined,
        );
      expect(closes).to.be.greaterThan(0);
      const metrics = await (await fetch(`${service.httpUrl}/metrics`)).text();
      expect(metrics).to.match(/iotrail_ingest_messages_total\{transport="mqtt",outcome="busy"\} [1-9]/);
    });
  });

  describe("embedded broker: who may connect (H-1)", function () {
    it("security (H-1): an anonymous client, an unknown key and a wrong, stale or replayed login are refused", async function () {
      const fx = await loadFixture(batcherFixture);
      const config = testConfig(fx, rpc.url);
      service = await startBatcher({ ...config, anchoring: noAnchoring(config) });
      const url = service.mqttUrl!;
      const refused = (options: mqtt.IClientOptions) => connectRefusal(url, options);
      expect(await refused({ clientId: "anonymous" })).to.match(/Not authorized/);
      const stranger = DeviceKey.generate();
      expect(await refused(stranger.mqttCredentials(fx.telemetry))).to.match(/Not authorized/);
      const device = fx.devices[4]!;
      const impostor = {
        ...DeviceKey.generate().mqttCredentials(fx.telemetry),
        username: device.address.toLowerCase(),
        clientId: device.address.toLowerCase(),
      };
      expect(await refused(impostor)).to.match(/Not authorized/);
      const stale = device.mqttCredentials(fx.telemetry, BigInt(Math.floor(Date.now() / 1000) - 3600));
      expect(await refused(stale)).to.match(/Not authorized/);
      const once = device.mqttCredentials(fx.telemetry);
      clients.push(await connectDevice(url, fx, device, once));
      expect(await refused(once)).to.match(/Not authorized/); // the same login again
      const revoked = fx.devices[5]!;
      await fx.registry.connect(fx.owner).revoke(BigInt(revoked.address), 1);
      expect(await refused(revoked.mqttCredentials(fx.telemetry))).to.match(/Not authorized/);
      const metrics = await (await fetch(`${service.httpUrl}/metrics`)).text();
      expect(metrics).to.match(/iotrail_mqtt_refusals_total\{reason="login"\} 6/);
    });

    it("security (H-1): client ids are bound to the identity: nobody takes over a device's session", async function () {
      const fx = await loadFixture(batcherFixture);
      const config = testConfig(fx, rpc.url);
      service = await startBatcher({ ...config, anchoring: noAnchoring(config) });
      const victim = fx.devices[1]!;
      const attacker = fx.devices[2]!;
      const victimClient = await connectDevice(service.mqttUrl!, fx, victim);
      clients.push(victimClient);
      let victimClosed = false;
      victimClient.on("close", () => (victimClosed = true));
      const takeover = { ...attacker.mqttCredentials(fx.telemetry), clientId: victim.address.toLowerCase() };
      expect(await connectRefusal(service.mqttUrl!, takeover)).to.match(/Not authorized/);
      const sneaky = { ...attacker.mqttCredentials(fx.telemetry), clientId: `${victim.address.toLowerCase()}:x` };
      expect(await connectRefusal(service.mqttUrl!, sneaky)).to.match(/Not authorized/);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(victimClosed).to.equal(false);
    });

    it("security (H-1): at most maxConnectionsPerIdentity connections per device", async function () {
      const fx = await loadFixture(batcherFixture);
      const config = testConfig(fx, rpc.url);
      service = await startBatcher({
        ...config,
        anchoring: noAnchoring(config),
        mqtt: { ...config.mqtt, maxConnectionsPerIdentity: 2 } as typeof config.mqtt,
      });
      const device = fx.devices[1]!;
      const name = device.address.toLowerCase();
      for (const suffix of ["a", "b"]) {
        clients.push(await connectDevice(service.mqttUrl!, fx, device, { clientId: `${name}:${suffix}` }));
      }
      const third = { ...device.mqttCredentials(fx.telemetry, freshSecond()), clientId: `${name}:c` };
      expect(await connectRefusal(service.mqttUrl!, third)).to.match(/Not authorized/);
      // A closed connection frees its place.
      await clients.pop()!.endAsync();
      await new Promise((resolve) => setTimeout(resolve, 50));
      clients.push(
        await connectDevice(service.mqttUrl!, fx, device, {
          ...device.mqttCredentials(fx.telemetry, freshSecond()),
          clientId: `${name}:d`,
        }),
      );
    });
  });

  describe("embedded broker: connections in all (H-1)", function () {
    it("security (H-1): at most maxConnections connections in all; one more is dropped before it can log in", async function () {
      const fx = await loadFixture(batcherFixture);
      const config = testConfig(fx, rpc.url);
      service = await startBatcher({
        ...config,
        anchoring: noAnchoring(config),
        mqtt: { ...config.mqtt, maxConnections: 2 } as typeof config.mqtt,
      });
      for (const device of fx.devices.slice(1, 3)) clients.push(await connectDevice(service.mqttUrl!, fx, device));
      const third = fx.devices[3]!;
      const refusal = await connectRefusal(service.mqttUrl!, {
        ...third.mqttCredentials(fx.telemetry, freshSecond()),
        connectTimeout: 2_000,
      });
      expect(refusal).to.not.equal("connected");
    });
  });

  describe("embedded broker: topics and limits (H-1)", function () {
    it("security (H-1): a device publishes only to its own readings topic; retained and $SYS publishes are refused", async function () {
      const fx = await loadFixture(batcherFixture);
      const config = testConfig(fx, rpc.url);
      service = await startBatcher({ ...config, anchoring: noAnchoring(config) });
      const device = fx.devices[1]!;
      const victim = fx.devices[2]!;
      const [reading] = liveReadings(victim, 1);
      const message = wireMessage(fx, victim, reading!);
      for (const [topic, retain] of [
        [deviceTopics(victim).readings, false],
        [deviceTopics(device).readings, true],
        [`$SYS/broker/new/clients`, false],
        [deviceTopics(victim).replies, false],
      ] as const) {
        const client = await connectDevice(
          service.mqttUrl!,
          fx,
          device,
          device.mqttCredentials(fx.telemetry, freshSecond()),
        );
        clients.push(client);
        const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
        void client.publishAsync(topic, message, { qos: 1, retain }).catch(() => undefined);
        await closed;
      }
      expect(await service.store.getReading(victim.address, reading!.sequence)).to.equal(undefined);
      const metrics = await (await fetch(`${service.httpUrl}/metrics`)).text();
      expect(metrics).to.match(/iotrail_mqtt_refusals_total\{reason="publish"\} 4/);
    });

    it("security (H-1): a device subscribes only to its own replies; nobody receives readings or others' verdicts", async function () {
      const fx = await loadFixture(batcherFixture);
      const config = testConfig(fx, rpc.url);
      service = await startBatcher({ ...config, anchoring: noAnchoring(config) });
      const spy = fx.devices[1]!;
      const device = fx.devices[2]!;
      const spyClient = await connectDevice(service.mqttUrl!, fx, spy);
      clients.push(spyClient);
      const seen: string[] = [];
      spyClient.on("message", (topic) => seen.push(topic));
      for (const filter of [
        "#",
        "iotrail/v1/readings/#",
        "iotrail/v1/replies/#",
        deviceTopics(device).replies,
        "$SYS/#",
      ]) {
        expect(await grantOf(spyClient, filter), filter).to.equal(128);
      }
      expect(await grantOf(spyClient, deviceTopics(spy).replies)).to.equal(1);
      // The operator may read every verdict, but not readings.
      const operator = await operatorClient(service.mqttUrl!);
      clients.push(operator);
      expect(await grantOf(operator, "iotrail/v1/readings/#")).to.equal(128);
      expect(await grantOf(operator, "iotrail/v1/replies/#")).to.equal(1);
      const verdicts: string[] = [];
      operator.on("message", (topic, payload) =>
        verdicts.push(`${topic} ${JSON.parse(payload.toString()).code ?? "ok"}`),
      );
      const client = await connectDevice(service.mqttUrl!, fx, device);
      clients.push(client);
      const [reading] = liveReadings(device, 1);
      await client.publishAsync(deviceTopics(device).readings, wireMessage(fx, device, reading!), { qos: 1 });
      await client.publishAsync(deviceTopics(device).readings, "{not json", { qos: 1 });
      await waitFor(() => (verdicts.length === 2 ? true : undefined), 5_000, "the operator's two verdicts");
      expect(verdicts).to.deep.equal([
        `${deviceTopics(device).replies} ok`,
        `${deviceTopics(device).replies} E_MALFORMED`,
      ]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(seen).to.deep.equal([]);
    });

    it("security (H-1): an oversized packet ends the connection before it is buffered", async function () {
      const fx = await loadFixture(batcherFixture);
      const config = testConfig(fx, rpc.url);
      service = await startBatcher({ ...config, anchoring: noAnchoring(config) });
      const device = fx.devices[1]!;
      const client = await connectDevice(service.mqttUrl!, fx, device);
      clients.push(client);
      const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
      const before = process.memoryUsage().rss;
      void client
        .publishAsync(deviceTopics(device).readings, Buffer.alloc(8 << 20, 0x20), { qos: 1 })
        .catch(() => undefined);
      await closed;
      expect(process.memoryUsage().rss - before).to.be.below(64 << 20);
      const metrics = await (await fetch(`${service.httpUrl}/metrics`)).text();
      expect(metrics).to.match(/iotrail_mqtt_refusals_total\{reason="packet"\} 1/);
    });

    it("security (H-1): a device over its message rate is disconnected; its accepted readings stay", async function () {
      const fx = await loadFixture(batcherFixture);
      const config = testConfig(fx, rpc.url);
      service = await startBatcher({
        ...config,
        anchoring: noAnchoring(config),
        mqtt: { ...config.mqtt, messagesPerSecond: 1, burst: 5 } as typeof config.mqtt,
      });
      const device = fx.devices[1]!;
      const client = await connectDevice(service.mqttUrl!, fx, device);
      clients.push(client);
      const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
      const readings = liveReadings(device, 20);
      for (const reading of readings) {
        void client
          .publishAsync(deviceTopics(device).readings, wireMessage(fx, device, reading), { qos: 1 })
          .catch(() => undefined);
      }
      await closed;
      expect((await service.store.unsealed()).count).to.be.within(5, 6);
      const metrics = await (await fetch(`${service.httpUrl}/metrics`)).text();
      expect(metrics).to.match(/iotrail_mqtt_refusals_total\{reason="publish"\} 1/);
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
          receiveMaximum: 2048,
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
        await waitFor(
          async () => ((await store.unsealed()).count === 5 ? true : undefined),
          10_000,
          "five stored readings",
        );
      } finally {
        await service?.stop();
        service = undefined;
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });
});
