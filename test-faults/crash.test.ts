import { expect } from "chai";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteReadingStore } from "../src/batcher";
import { batcherFixture, liveReadings, startRpcServer, waitFor, wireMessage } from "../test/helpers/batcher";
import type { BatcherFixture } from "../test/helpers/batcher";
import type { Reading } from "../src/telemetry";
import { runBatcher } from "../test/helpers/batcher-process";
import type { BatcherProcess } from "../test/helpers/batcher-process";

const READINGS = 45;

/** Sends each reading alone (as devices do); returns the sequences that were acknowledged (202 or 200). */
async function send(url: string, fx: BatcherFixture, readings: Reading[], sequences: bigint[]): Promise<bigint[]> {
  const device = fx.devices[1]!;
  const acked: bigint[] = [];
  await Promise.all(
    sequences.map(async (sequence) => {
      try {
        const response = await fetch(`${url}/v1/readings`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: wireMessage(fx, device, readings[Number(sequence) - 1]!),
        });
        if (response.status === 202 || response.status === 200) acked.push(sequence);
      } catch {
        // the process died: no answer, no acknowledgement
      }
    }),
  );
  return acked;
}

const ALL = Array.from({ length: READINGS }, (_, i) => BigInt(i + 1));

describe("batcher crash recovery (SIGKILL at each stage)", function () {
  this.timeout(120_000);
  let rpc: { url: string; close: () => Promise<void> };
  let running: BatcherProcess | undefined;

  before(async function () {
    rpc = await startRpcServer();
  });

  afterEach(async function () {
    running?.process.kill("SIGKILL");
    running = undefined;
  });

  after(async function () {
    await rpc.close();
  });

  const points = [
    "ingest.before-write",
    "ingest.after-write",
    "seal.after-seal",
    "anchor.after-broadcast",
    "anchor.confirming",
  ];

  for (const point of points) {
    it(`killed at ${point}: every acknowledged reading survives, no root is anchored twice, the pipeline resumes`, async function () {
      const fx = await loadFixture(batcherFixture);
      const dir = mkdtempSync(join(tmpdir(), "iotrail-crash-"));
      const database = join(dir, "batcher.sqlite");
      const configPath = join(dir, "batcher.json");
      writeFileSync(
        configPath,
        JSON.stringify({
          rpcUrl: rpc.url,
          chainId: Number(fx.telemetry.chainId),
          anchor: fx.telemetry.verifyingContract,
          registry: String(fx.registry.target),
          database,
          // The test polls every reading's bundle many times a second, far past a partner's read rate.
          http: { port: 0, getsPerSecond: 100_000 },
          mqtt: { enabled: false },
          ingest: { threads: 0 },
          sealing: { maxReadings: 20, maxAgeMs: 100, intervalMs: 20 },
          anchoring: { confirmations: 3, intervalMs: 25, maxBackoffMs: 200 },
          registryRefreshMs: 100,
          logLevel: "info",
        }),
      );
      const readings = liveReadings(fx.devices[1]!, READINGS);
      running = runBatcher(configPath, { failpoint: point });
      const acked = await send(await running.url, fx, readings, ALL);
      const { signal } = await running.exited;
      expect(signal, "the armed process killed itself").to.equal("SIGKILL");

      running = runBatcher(configPath);
      const url = await running.url;
      // Devices send again whatever was not acknowledged; acknowledged readings come back as duplicates.
      const second = await send(url, fx, readings, ALL);
      expect(second.length).to.equal(READINGS);
      await waitFor(
        async () => {
          await mine(1);
          // The second round acknowledged all of them: wait until every one is in a final batch.
          const answers = await Promise.all(
            ALL.map((s) => fetch(`${url}/v1/readings/${fx.devices[1]!.address}/${s}/bundle`)),
          );
          return answers.every((a) => a.headers.get("x-iotrail-batch-status") === "final") ? true : undefined;
        },
        60_000,
        "every reading in a final batch",
      );
      running.process.kill("SIGTERM");
      expect((await running.exited).code).to.equal(0);
      running = undefined;

      const store = new SqliteReadingStore(database);
      try {
        for (const s of acked)
          expect(await store.getReading(fx.devices[1]!.address, s), `acked ${s}`).to.not.equal(undefined);
        const logs = await fx.anchor.queryFilter(fx.anchor.filters.BatchAnchored());
        const roots = logs.map((log) => log.args.root);
        expect(new Set(roots).size, "no root anchored twice").to.equal(roots.length);
        const counts = await store.batchCounts();
        expect(counts.failed, JSON.stringify((await store.batchesWith("failed")).map((b) => b.note))).to.equal(0);
        expect(roots.length).to.equal(counts.final);
        expect(counts.pending + counts.anchored).to.equal(0);
      } finally {
        await store.close();
      }
    });
  }
});
