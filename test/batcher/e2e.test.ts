import { expect } from "chai";
import { mine } from "@nomicfoundation/hardhat-network-helpers";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BatcherService } from "../../src/batcher";
import { anchorFixture } from "../helpers/anchor";
import {
  connectDevice,
  deviceTopics,
  liveReadings,
  registerFleet,
  startBatcher,
  startRpcServer,
  tempDatabase,
  testConfig,
  waitFor,
  wireMessage,
} from "../helpers/batcher";

const CLI = join(__dirname, "..", "..", "bin", "iotrail.js");
const DEVICES = 100;
const READINGS_PER_DEVICE = 5;

describe("batcher end to end: 100 devices over MQTT", function () {
  let service: BatcherService | undefined;
  let rpc: { url: string; close: () => Promise<void> };

  before(async function () {
    rpc = await startRpcServer();
  });

  after(async function () {
    await service?.stop();
    await rpc.close();
  });

  it("devices publish to the embedded broker; batches are anchored; a served bundle passes `iotrail verify`", async function () {
    const fx = await anchorFixture();
    const devices = await registerFleet(fx, DEVICES);
    const config = testConfig(fx, rpc.url);
    service = await startBatcher({
      ...config,
      ingest: { ...config.ingest, threads: 2 },
      sealing: { maxReadings: 128, maxAgeMs: 300, intervalMs: 25 },
    });
    const url = service.mqttUrl!;
    await Promise.all(
      devices.map(async (device) => {
        const client = await connectDevice(url, fx, device);
        for (const reading of liveReadings(device, READINGS_PER_DEVICE)) {
          await client.publishAsync(deviceTopics(device).readings, wireMessage(fx, device, reading), { qos: 1 });
        }
        await client.endAsync();
      }),
    );
    const total = DEVICES * READINGS_PER_DEVICE;
    const store = service.store;
    await waitFor(
      async () => {
        // Unsealed first: a batch sealed between two reads in the other order would be missed.
        if ((await store.unsealed()).count !== 0) return undefined;
        const counts = await store.batchCounts();
        return counts.pending === 0 && counts.anchored + counts.final > 0 ? counts : undefined;
      },
      30_000,
      "every batch anchored",
    );
    const batches = [] as number[];
    for (let id = 1; (await store.getBatch(id)) !== undefined; id++)
      batches.push((await store.getBatch(id))!.readingCount);
    expect(batches.reduce((a, b) => a + b, 0)).to.equal(total);
    await mine(2);
    await waitFor(async () => ((await store.batchCounts()).anchored === 0 ? true : undefined), 10_000, "final batches");

    const device = devices[42]!;
    const response = await fetch(`${service.httpUrl}/v1/readings/${device.address}/3/bundle`);
    expect(response.status).to.equal(200);
    expect(response.headers.get("x-iotrail-batch-status")).to.equal("final");
    const path = join(tempDatabase(), "..", "bundle.json");
    writeFileSync(path, await response.text());
    const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, "verify", path, "--rpc", rpc.url, "--anchor", fx.telemetry.verifyingContract, "--confirmations", "2"],
        (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout: stdout + stderr }),
      );
    });
    expect(result.code, result.stdout).to.equal(0);
    expect(result.stdout).to.contain("VERIFIED (online, against the anchor pinned by --anchor)");
  });
});
