/**
 * Batcher shards under faults, on the real engines: `iotrail batcher` processes sharing one PostgreSQL
 * database (a throwaway cluster this file starts, so that it can restart it) behind a real Mosquitto 2
 * with the shipped configuration, reading through an MQTT 5 shared subscription.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import mqtt from "mqtt";
import { PostgresReadingStore } from "../src/batcher";
import type { DeviceKey } from "../src/device";
import { simulate } from "../src/simulator";
import { mosquittoAvailable, startMosquitto } from "../src/tooling/mosquitto";
import type { MosquittoBroker } from "../src/tooling/mosquitto";
import { postgresAvailable, startPostgres } from "../src/tooling/postgres";
import type { PostgresCluster } from "../src/tooling/postgres";
import {
  batcherFixture,
  deviceTopics,
  liveReadings,
  startRpcServer,
  waitFor,
  wireMessage,
} from "../test/helpers/batcher";
import type { BatcherFixture } from "../test/helpers/batcher";
import { runBatcher, writeConfig } from "../test/helpers/batcher-process";
import type { BatcherProcess } from "../test/helpers/batcher-process";

const SHARD_PASSWORD = "shard-password-0123456789";
const devicePassword = (key: DeviceKey) => `pw-${key.address.slice(2, 14).toLowerCase()}`;
const credentials = (key: DeviceKey) => ({ username: key.address.toLowerCase(), password: devicePassword(key) });

describe("batcher shards on PostgreSQL behind Mosquitto, under faults", function () {
  this.timeout(180_000);
  let rpc: { url: string; close: () => Promise<void> };
  let postgres: PostgresCluster;
  let broker: MosquittoBroker;
  const running: BatcherProcess[] = [];

  before(async function () {
    if (!mosquittoAvailable() || !postgresAvailable()) {
      if (process.env.CI === "true") throw new Error("Mosquitto and PostgreSQL are required in CI");
      this.skip();
    }
    rpc = await startRpcServer();
    postgres = await startPostgres();
  });

  afterEach(async function () {
    for (const shard of running.splice(0)) shard.process.kill("SIGKILL");
    await broker?.stop();
  });

  after(async function () {
    await postgres?.destroy();
    await rpc?.close();
  });

  async function setup() {
    const fx = await loadFixture(batcherFixture);
    broker = await startMosquitto({
      "iotrail-batcher-1": SHARD_PASSWORD,
      "iotrail-batcher-2": SHARD_PASSWORD,
      ...Object.fromEntries(fx.devices.map((key) => [key.address.toLowerCase(), devicePassword(key)])),
    });
    const database = await postgres.createDatabase();
    const shardConfig = (shard: number) =>
      writeConfig({
        rpcUrl: rpc.url,
        chainId: Number(fx.telemetry.chainId),
        anchor: fx.telemetry.verifyingContract,
        registry: String(fx.registry.target),
        database,
        http: { port: 0, getsPerSecond: 100_000 },
        mqtt: {
          url: `mqtt://iotrail-batcher-${shard}:${SHARD_PASSWORD}@127.0.0.1:${broker.port}`,
          clientId: `iotrail-batcher-${shard}`,
          shareGroup: "iotrail",
        },
        ingest: { threads: 0 },
        sealing: { maxReadings: 100, maxAgeMs: 200, intervalMs: 50 },
        anchoring: { confirmations: 1, intervalMs: 50, maxBackoffMs: 500 },
        leaderPollMs: 200,
        registryRefreshMs: 100,
        logLevel: "info",
      });
    const start = (config: string) => {
      const shard = runBatcher(config);
      running.push(shard);
      return shard;
    };
    return { fx, database, shardConfig, start };
  }

  const leads = (shard: BatcherProcess) => shard.log().split('"msg":"this shard leads').length - 1;

  /** Every reading in `acked` is in an anchored or final batch, and no root is anchored twice. */
  async function expectAllAnchoredOnce(fx: BatcherFixture, database: string, acked: Map<string, string[]>) {
    const store = await PostgresReadingStore.open(database);
    try {
      await waitFor(
        async () => {
          // Unsealed first: a batch sealed between two reads in the other order would be missed.
          if ((await store.unsealed()).count !== 0) return undefined;
          const counts = await store.batchCounts();
          return counts.pending === 0 && counts.anchored + counts.final > 0 ? true : undefined;
        },
        60_000,
        "every stored reading anchored",
      );
      let checked = 0;
      for (const [device, sequences] of acked) {
        for (const sequence of sequences) {
          const stored = await store.getReading(device, BigInt(sequence));
          expect(stored, `acknowledged ${device}/${sequence}`).to.not.equal(undefined);
          const batch = (await store.getBatch(stored!.batchLocalId!))!;
          expect(
            batch.status,
            `batch ${batch.localId} of ${device}/${sequence} (${batch.note ?? "no note"})`,
          ).to.be.oneOf(["anchored", "final"]);
          checked++;
        }
      }
      const logs = await fx.anchor.queryFilter(fx.anchor.filters.BatchAnchored());
      const roots = logs.map((log) => log.args.root);
      expect(new Set(roots).size, "no root anchored twice").to.equal(roots.length);
      const counts = await store.batchCounts();
      expect(counts.failed).to.equal(0);
      expect(roots.length, "every batch anchored once").to.equal(counts.anchored + counts.final);
      return checked;
    } finally {
      await store.close();
    }
  }

  it("SIGKILL one of two shards under load, then the leader: every acknowledged reading is anchored once, no batch twice", async function () {
    const { fx, database, shardConfig, start } = await setup();
    const configs = [shardConfig(1), shardConfig(2)];
    const shards = [start(configs[0]!), start(configs[1]!)];
    await Promise.all(shards.map((shard) => shard.url));
    await waitFor(
      () => (shards.reduce((n, shard) => n + leads(shard), 0) === 1 ? true : undefined),
      10_000,
      "a leader",
    );
    const leader = leads(shards[0]!) === 1 ? 0 : 1;

    const acked = new Map<string, string[]>();
    const load = simulate({
      keys: fx.devices,
      domain: fx.telemetry,
      url: broker.url,
      rate: 300,
      durationMs: 7_000,
      firstSequence: 1n,
      drainMs: 60_000,
      credentials,
      onVerdict: (device, sequence, verdict) => {
        if (verdict !== "accepted" && verdict !== "duplicate") return;
        acked.set(device, [...(acked.get(device) ?? []), sequence]);
      },
    });
    // The follower dies first, and comes back (as a supervisor restarts it): its session holds what it had in flight.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    shards[1 - leader]!.process.kill("SIGKILL");
    await shards[1 - leader]!.exited;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const follower = start(configs[1 - leader]!);
    await follower.url;
    // Then the leader: the restarted follower takes the lead within about leaderPollMs of PostgreSQL noticing.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    shards[leader]!.process.kill("SIGKILL");
    await shards[leader]!.exited;
    await waitFor(() => (leads(follower) === 1 ? true : undefined), 10_000, "the follower leads");
    const restarted = start(configs[leader]!);
    await restarted.url;
    const summary = await load;

    expect(summary.unanswered, "every reading answered").to.equal(0);
    expect(summary.acknowledged + summary.duplicates).to.equal(summary.sent);
    const checked = await expectAllAnchoredOnce(fx, database, acked);
    expect(checked).to.equal(summary.sent);
    expect(leads(restarted), "the restarted leader waits: the lead stays where it is").to.equal(0);
  });

  it("PostgreSQL restarts under load: ingest answers retry-later (503 over HTTP, no PUBACK over MQTT), then resumes; nothing acknowledged is lost", async function () {
    const { fx, database, shardConfig, start } = await setup();
    const shard = start(shardConfig(1));
    const url = await shard.url;
    await waitFor(
      () => (shard.log().includes('"msg":"subscribed to the external MQTT broker"') ? true : undefined),
      10_000,
      "the shard subscribed",
    );
    const device = fx.devices[1]!;
    const readings = liveReadings(device, 4);
    const post = (index: number) =>
      fetch(`${url}/v1/readings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: wireMessage(fx, device, readings[index]!),
      });
    expect((await post(0)).status).to.equal(202);
    // A device on MQTT, waiting for its verdicts.
    const client = await mqtt.connectAsync(broker.url, { ...credentials(device), reconnectPeriod: 0 });
    const verdicts: { status: string; sequence?: string }[] = [];
    client.on("message", (_topic, payload) => verdicts.push(JSON.parse(payload.toString()) as { status: string }));
    await client.subscribeAsync(deviceTopics(device).replies, { qos: 1 });

    await postgres.stop();
    const refused = await post(1);
    expect(refused.status).to.equal(503);
    expect(refused.headers.get("retry-after")).to.not.equal(null);
    expect(((await refused.json()) as { status: string }).status).to.equal("busy");
    // Over MQTT the reading stays with the broker: no PUBACK from the shard, no verdict, until it is stored.
    await client.publishAsync(deviceTopics(device).readings, wireMessage(fx, device, readings[3]!), { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(verdicts, "no verdict while the database is down").to.deep.equal([]);

    await postgres.start();
    // The device retries as told; the pool opens new connections once the server is back.
    await waitFor(async () => ((await post(1)).status === 202 ? true : undefined), 20_000, "ingest resumes");
    expect((await post(2)).status).to.equal(202);
    expect((await post(0)).status, "the reading acknowledged before the restart is still stored").to.equal(200);
    // The shard submits the held MQTT reading again (after the pipeline's retry-after) and answers it.
    const verdict = await waitFor(() => verdicts.find((v) => v.sequence === "4"), 20_000, "the MQTT reading's verdict");
    expect(verdict.status).to.equal("accepted");
    await client.endAsync();
    const acked = new Map([[device.address.toLowerCase(), ["1", "2", "3", "4"]]]);
    await expectAllAnchoredOnce(fx, database, acked);
  });

  it("the broker restarts: the shard reconnects and its persistent session resumes, with what was queued for it", async function () {
    const { fx, database, shardConfig, start } = await setup();
    const config = shardConfig(1);
    let shard = start(config);
    await shard.url;
    const device = fx.devices[2]!;
    const readings = liveReadings(device, 3);
    const topics = deviceTopics(device);
    const publish = async (index: number) => {
      const client = await mqtt.connectAsync(broker.url, { ...credentials(device), reconnectPeriod: 0 });
      await client.publishAsync(topics.readings, wireMessage(fx, device, readings[index]!), { qos: 1 });
      await client.endAsync();
    };
    const stored = async (sequence: bigint) => {
      const store = await PostgresReadingStore.open(database);
      try {
        return (await store.getReading(device.address, sequence)) === undefined ? undefined : true;
      } finally {
        await store.close();
      }
    };

    const subscriptions = () => shard.log().split('"msg":"subscribed to the external MQTT broker"').length - 1;
    await waitFor(() => (subscriptions() >= 1 ? true : undefined), 10_000, "the shard subscribed");
    await publish(0);
    await waitFor(() => stored(1n), 10_000, "reading 1 stored");

    await broker.restart();
    await waitFor(() => (subscriptions() >= 2 ? true : undefined), 20_000, "the shard subscribed again");
    await publish(1);
    await waitFor(() => stored(2n), 10_000, "reading 2 stored after the broker restart");

    // The shard is down; the broker queues reading 3 in its session, saves it at its own restart, and hands
    // it over when the shard comes back.
    shard.process.kill("SIGTERM");
    await shard.exited;
    await publish(2);
    await broker.restart();
    shard = start(config);
    await shard.url;
    await waitFor(() => stored(3n), 20_000, "reading 3, queued while the shard was down, stored");
  });
});
