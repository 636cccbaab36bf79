// npm run bench:distinct: many distinct devices, one reading each, into one `iotrail batcher` child process
// (SQLite, anchoring on) over HTTP (500 readings per request). BENCH_DISTINCT devices (default 1,000,000;
// --quick 300), in one of two fleets (BENCH_DISTINCT_MODE):
//   - `lot` (default): one committed lot whose unclaimed entries report; the batcher holds the lot's entries
//     file (config `lots`) and judges each key from it, with no registry read per key;
//   - `registered`: devices registered on anvil (registerBatch, each with its possession proof, 300 per
//     transaction); each key costs the batcher a registry lookup, and its cache (100,000 keys) is outgrown.
// Readings are signed before the clock starts. It reports the acknowledged readings/s, the batcher's peak RSS
// and CPU per reading, and checks that every reading was stored and anchored and that the bundles of a
// sample of devices, spread over the fleet, verify against the chain.
import { JsonRpcProvider, NonceManager, Wallet, getBytes, hexlify, keccak256, toBeHex } from "ethers";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addressOfPrivateKey, signDigest } from "../src/crypto";
import { DeviceKey } from "../src/device";
import { readingDigestBytes, telemetryDomain } from "../src/eip712";
import { initKeccak } from "../src/merkle";
import { DeviceRegistryClient } from "../src/registry";
import { loadLotIndex, writeLotEntries } from "../src/registry/lot-entries";
import { encodeIngestMessage, metricId, ZERO_HASH } from "../src/telemetry";
import { startAnvil } from "../src/tooling/anvil";
import { pinTrust, verifyBundle } from "../src/verify";
import { devAccountKey, deployRegistryAndAnchor } from "../test/helpers/node";
import { cpuSeconds, peakRssMiB, shardNodeArgs, startShard, stopShard, storedFigures } from "./processes";
import { QUICK, record } from "./report";

const DEVICES = Number(process.env.BENCH_DISTINCT ?? (QUICK ? 300 : 1_000_000));
const MODE = process.env.BENCH_DISTINCT_MODE === "registered" ? "registered" : "lot";
/** Registrations per transaction: about 20M gas and 115 KB of calldata. */
const PER_TX = 300;
/** Readings per HTTP request, and requests in flight. */
const PER_REQUEST = 500;
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 4);
const SAMPLE = QUICK ? 3 : 50;
const FAR = 2n ** 40n;

/** Device i's private key: deterministic, so that a million keys never sit in memory at once. */
const privateKeyOf = (i: number) => getBytes(keccak256(toBeHex(BigInt(i) + 1n, 32)));
/** Device i's address (lower case). */
const addressOf = (i: number) => hexlify(addressOfPrivateKey(privateKeyOf(i)));

/** Registers devices 0 … DEVICES-1 (`registered` mode); transactions back to back, receipts awaited at the end. */
async function registerAll(client: DeviceRegistryClient, registrant: string, owner: string): Promise<void> {
  const registryDomain = await client.domain();
  const sent: Promise<unknown>[] = [];
  for (let first = 0; first < DEVICES; first += PER_TX) {
    const registrations = [];
    for (let i = first; i < Math.min(DEVICES, first + PER_TX); i++) {
      const key = DeviceKey.fromPrivateKey(hexlify(privateKeyOf(i)));
      registrations.push({
        key: key.address,
        owner,
        metadataHash: ZERO_HASH,
        metadataURI: "",
        deadline: FAR,
        signature: key.signRegistration({ domain: registryDomain, registrant, owner, deadline: FAR }),
      });
    }
    const tx = await client.contract.registerBatch(registrations, { gasLimit: 30_000_000 });
    sent.push(tx.wait());
    if (sent.length >= 64) await sent.shift();
  }
  await Promise.all(sent);
}

/** Writes the lot's entries file (`lot` mode) and commits its root; the lot's id and the file. */
async function commitFleetLot(client: DeviceRegistryClient, owner: string, dir: string) {
  const entries = join(dir, "lot.csv");
  await writeLotEntries(
    entries,
    (function* () {
      for (let i = 0; i < DEVICES; i++) yield { key: addressOf(i), metadataHash: ZERO_HASH };
    })(),
  );
  const { root } = await loadLotIndex(entries, 0n);
  const { lotId } = await client.commitLot({ root, owner, deviceCount: DEVICES });
  return { lotId, entries };
}

async function main(): Promise<void> {
  await initKeccak();
  const node = await startAnvil({ args: ["--gas-limit", "100000000", "--code-size-limit", "100000"] });
  const provider = new JsonRpcProvider(node.url, undefined, { cacheTimeout: -1, batchMaxCount: 1 });
  try {
    const [admin, manufacturer, owner] = [0, 1, 2].map((i) => new Wallet(devAccountKey(i), provider));
    const batcherKey = devAccountKey(3);
    const { registry, anchor } = await deployRegistryAndAnchor(admin!, {
      manufacturer: manufacturer!.address,
      anchorer: new Wallet(batcherKey).address,
    });
    const { chainId } = await provider.getNetwork();
    const domain = telemetryDomain(chainId, await anchor.getAddress());
    const dir = mkdtempSync(join(tmpdir(), "iotrail-bench-distinct-"));

    const started = Date.now();
    const client = new DeviceRegistryClient({ contract: registry.connect(new NonceManager(manufacturer!)) });
    const lot = MODE === "lot" ? await commitFleetLot(client, owner!.address, dir) : undefined;
    if (lot === undefined) await registerAll(client, manufacturer!.address, owner!.address);
    const setupSeconds = (Date.now() - started) / 1000;
    console.log(
      `${MODE === "lot" ? `committed a lot of ${DEVICES} devices` : `registered ${DEVICES} devices`} in ${setupSeconds.toFixed(1)} s`,
    );

    // Readings are stamped at the chain's time, after the fleet's registration, as a verifier will check.
    const timestamp = BigInt((await provider.getBlock("latest"))!.timestamp);
    const metric = metricId("temperature.mC");
    const signStarted = Date.now();
    const bodies: string[] = [];
    for (let first = 0; first < DEVICES; first += PER_REQUEST) {
      const messages: string[] = [];
      for (let i = first; i < Math.min(DEVICES, first + PER_REQUEST); i++) {
        const reading = {
          device: addressOf(i),
          sequence: 1n,
          timestamp,
          metric,
          value: BigInt(4000 + (i % 500)),
          payloadHash: ZERO_HASH,
        };
        const signature = hexlify(signDigest(readingDigestBytes(domain, reading), privateKeyOf(i)));
        messages.push(encodeIngestMessage({ domain, reading, signature }));
      }
      bodies.push(`[${messages.join(",")}]`);
    }
    console.log(`signed ${DEVICES} readings in ${((Date.now() - signStarted) / 1000).toFixed(1)} s`);

    const database = join(dir, "batcher.sqlite");
    const shard = await startShard(
      {
        rpcUrl: node.url,
        chainId: chainId.toString(),
        anchor: await anchor.getAddress(),
        registry: await registry.getAddress(),
        database,
        http: { port: 0, maxBodyBytes: 4 << 20 },
        mqtt: { enabled: false },
        anchoring: { confirmations: 1, intervalMs: 500 },
        sealing: { maxReadings: 10_000, maxAgeMs: 1_000, intervalMs: 200 },
        ingest: { queueLimit: 40_000, window: { pastSeconds: 86_400, futureSeconds: 86_400 } },
        ...(lot === undefined ? {} : { lots: [{ id: lot.lotId.toString(), entries: lot.entries }] }),
      },
      { BATCHER_PRIVATE_KEY: batcherKey },
      shardNodeArgs(),
    );
    const pid = shard.child.pid!;
    const cpuBefore = cpuSeconds(pid);
    let acknowledged = 0;
    let busy = 0;
    const rejected = new Map<string, number>();
    const post = async (body: string) => {
      for (;;) {
        const response = await fetch(`${shard.httpUrl}/v1/readings`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        if (response.status === 429 || response.status === 503) {
          busy += PER_REQUEST;
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        const { results } = (await response.json()) as { results: { status: string; code?: string }[] };
        let messages: unknown[] | undefined; // parsed only when some must be sent again
        const retry: unknown[] = [];
        results.forEach((result, n) => {
          if (result.status === "accepted" || result.status === "duplicate") acknowledged++;
          else if (result.status === "busy") {
            busy++;
            messages ??= JSON.parse(body) as unknown[];
            retry.push(messages[n]);
          } else rejected.set(result.code ?? result.status, (rejected.get(result.code ?? result.status) ?? 0) + 1);
        });
        if (retry.length === 0) return;
        body = JSON.stringify(retry);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const ingestStarted = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < bodies.length) {
          const body = bodies[next]!;
          bodies[next++] = ""; // sent: its memory can go
          await post(body);
        }
      }),
    );
    const ingestSeconds = (Date.now() - ingestStarted) / 1000;
    const cpu = cpuSeconds(pid) - cpuBefore;
    console.log(
      `${acknowledged}/${DEVICES} acknowledged in ${ingestSeconds.toFixed(1)} s (${Math.round(acknowledged / ingestSeconds)}/s), ${busy} retried after "busy", rejected ${JSON.stringify(Object.fromEntries(rejected))}`,
    );

    // Every batch anchored: wait for the store to say so.
    const anchoredBy = Date.now() + 600_000;
    for (;;) {
      const counts = (await (await fetch(`${shard.httpUrl}/v1/batches?limit=1`)).json()) as {
        counts: Record<string, number>;
      };
      const open = (counts.counts.pending ?? 0) + (counts.counts.failed ?? 0);
      const health = (await (await fetch(`${shard.httpUrl}/health`)).json()) as { unsealed?: number };
      if (open === 0 && (health.unsealed ?? 0) === 0 && (counts.counts.anchored ?? 0) + (counts.counts.final ?? 0) > 0)
        break;
      if (Date.now() > anchoredBy) throw new Error(`not anchored in time: ${JSON.stringify(counts)}`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const anchoredSeconds = (Date.now() - ingestStarted) / 1000;
    const peakRss = peakRssMiB(pid);
    // A sample of devices, spread over the whole range: each one's bundle verifies against the chain.
    let verified = 0;
    for (let k = 0; k < SAMPLE; k++) {
      const i = Math.floor((k * (DEVICES - 1)) / Math.max(1, SAMPLE - 1));
      const response = await fetch(`${shard.httpUrl}/v1/readings/${addressOf(i)}/1/bundle`);
      const report = await verifyBundle(await response.text(), {
        provider,
        trusted: pinTrust(
          { anchor: await anchor.getAddress(), registry: await registry.getAddress() },
          { kind: "program", what: "bench" },
        ),
      });
      if (report.verdict === "verified") verified++;
      else console.log(`device ${i}: ${report.verdict} ${JSON.stringify(report.reasons)}`);
    }
    await stopShard(shard);
    const stored = (await storedFigures(database)).count;
    const result = {
      mode: MODE,
      devices: DEVICES,
      acknowledged,
      stored,
      rejected: Object.fromEntries(rejected),
      busyRetries: busy,
      setupSeconds,
      perSecond: Math.round(acknowledged / ingestSeconds),
      anchoredAfterSeconds: anchoredSeconds,
      cpuMicrosPerReading: Math.round((cpu * 1e6) / Math.max(1, acknowledged)),
      peakRssMiB: peakRss,
      sampleVerified: `${verified}/${SAMPLE}`,
    };
    console.log(JSON.stringify(result));
    if (stored !== DEVICES || acknowledged !== DEVICES || verified !== SAMPLE) {
      throw new Error(`distinct devices: ${JSON.stringify(result)}`);
    }
    record("distinct", result);
  } finally {
    provider.destroy();
    await node.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
