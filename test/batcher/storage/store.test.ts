import { expect } from "chai";
import { ethers } from "hardhat";
import { getBytes } from "ethers";
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Client } from "pg";
import { PostgresReadingStore, SqliteReadingStore, StoreCorruptError, openStore } from "../../../src/batcher";
import type { AppendItem, ReadingStore } from "../../../src/batcher";
import { postgresAvailable, testDatabase } from "../../../src/tooling/postgres";
import { DeviceKey } from "../../../src/device";
import { readingDigest, telemetryDomain } from "../../../src/eip712";
import { MerkleTree } from "../../../src/merkle";
import { readingLeaf, readingLeafBytes, readingToJson } from "../../../src/telemetry";
import { readingsOf } from "../../helpers/anchor";
import { expectRejected } from "../../helpers/expect";

const domain = telemetryDomain(31337n, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
const device = DeviceKey.fromPrivateKey(ethers.id("store test device"));

function items(count: number, first = 1n): AppendItem[] {
  return readingsOf(device, count, first).map((reading) => ({
    reading,
    signature: device.signReading(domain, reading),
    digest: readingDigest(domain, reading),
  }));
}

const tempPath = () => join(mkdtempSync(join(tmpdir(), "iotrail-store-")), "batcher.sqlite");

/** One storage engine under the shared suite: where a new store lives, and how to tamper with it. */
interface Backend {
  name: string;
  available(): boolean;
  /** A new, empty store's location (a file, or a database URL). */
  location(): Promise<string>;
  /** Runs raw SQL on the store's database, behind the store's back. */
  raw(location: string, sql: string): Promise<void>;
  /** The stored sequence column's value for `sequence`. */
  sequence(sequence: bigint): string;
  schemaTable: string;
}

const backends: Backend[] = [
  {
    name: "SQLite",
    available: () => true,
    location: async () => tempPath(),
    raw: async (location, sql) => {
      const db = new Database(location);
      db.exec(sql);
      db.close();
    },
    sequence: (sequence) => `'${sequence.toString().padStart(20, "0")}'`,
    schemaTable: "meta",
  },
  {
    name: "PostgreSQL",
    available: postgresAvailable,
    location: () => testDatabase(),
    raw: async (location, sql) => {
      const client = new Client({ connectionString: location });
      await client.connect();
      await client.query(sql);
      await client.end();
    },
    sequence: (sequence) => sequence.toString(),
    schemaTable: "iotrail_meta",
  },
];

/** A child process that appends `count` readings, prints the statuses, then idles until killed. */
function appendInChild(location: string, count: number) {
  const script = `
    require("ts-node").register({ transpileOnly: true });
    const { openStore } = require(${JSON.stringify(join(__dirname, "..", "..", "..", "src", "batcher"))});
    const items = JSON.parse(process.argv[1], (k, v) => (typeof v === "string" && /^n\\d+$/.test(v) ? BigInt(v.slice(1)) : v));
    openStore(${JSON.stringify(location)}).then(async (store) => {
      const statuses = await store.append(items);
      process.stdout.write("acked " + statuses.join(",") + "\\n");
      setInterval(() => {}, 1000);
    });
  `;
  const payload = JSON.stringify(items(count), (_, v) => (typeof v === "bigint" ? `n${v}` : v));
  return spawn(process.execPath, ["-e", script, payload], { cwd: join(__dirname, "..", "..", "..") });
}

for (const backend of backends) {
  describe(`ReadingStore on ${backend.name}`, function () {
    this.timeout(60_000);
    const open: ReadingStore[] = [];
    const opened = async (location?: string) => {
      const store = await openStore(location ?? (await backend.location()));
      open.push(store);
      return store;
    };

    before(function () {
      if (backend.available()) return;
      // CI installs it (.ci/run); a developer's machine may not have it.
      if (process.env.CI === "true") throw new Error(`${backend.name} is required in CI`);
      this.skip();
    });

    afterEach(async function () {
      await Promise.all(open.splice(0).map((store) => store.close().catch(() => undefined)));
    });

    it(`opens as the ${backend.name} engine`, async function () {
      const store = await opened();
      expect(store.engine).to.equal(backend.name === "SQLite" ? "sqlite" : "postgres");
      expect(store).to.be.instanceOf(backend.name === "SQLite" ? SqliteReadingStore : PostgresReadingStore);
    });

    describe("append", function () {
      it("accepts new readings, reports an exact repeat as duplicate and a changed one as conflict", async function () {
        const store = await opened();
        const batch = items(3);
        expect(await store.append(batch)).to.deep.equal(["accepted", "accepted", "accepted"]);
        const changed = { ...batch[1]!.reading, value: 1n };
        expect(
          await store.append([
            batch[0]!,
            { reading: changed, signature: "0x", digest: readingDigest(domain, changed) },
          ]),
        ).to.deep.equal(["duplicate", "conflict"]);
        // Deduplication compares digests, never signature bytes: the same reading with other bytes is a duplicate.
        expect(await store.append([{ ...batch[2]!, signature: "0x1234" }])).to.deep.equal(["duplicate"]);
        expect((await store.unsealed()).count).to.equal(3);
        expect(await store.sequenceStatus(device.address, 2n, batch[1]!.digest)).to.equal("duplicate");
        expect(await store.sequenceStatus(device.address, 2n, readingDigest(domain, changed))).to.equal("conflict");
        expect(await store.sequenceStatus(device.address, 9n, batch[1]!.digest)).to.equal("new");
      });

      it("judges repeats inside one group commit in order: the first is accepted, the rest compare to it", async function () {
        const store = await opened();
        const [a] = items(1);
        const changed = { ...a!.reading, value: 5n };
        const other = { reading: changed, signature: "0x", digest: readingDigest(domain, changed) };
        expect(await store.append([a!, a!, other])).to.deep.equal(["accepted", "duplicate", "conflict"]);
        expect((await store.unsealed()).count).to.equal(1);
      });

      it("two writers (two shards) racing with the same and with conflicting readings: each (device, sequence) is stored once", async function () {
        const location = await backend.location();
        const [one, two] = [await opened(location), await opened(location)];
        const batch = items(40);
        const rival = batch.map((item) => {
          const reading = { ...item.reading, value: item.reading.value + 1n };
          return { reading, signature: "0x", digest: readingDigest(domain, reading) };
        });
        const [first, second] = await Promise.all([
          one.append(batch),
          two.append([...batch.slice(0, 20), ...rival.slice(20)]),
        ]);
        for (let i = 0; i < 40; i++) {
          const statuses = [first[i], second[i]].sort();
          expect(statuses, `sequence ${i + 1}`).to.deep.equal(
            i < 20 ? ["accepted", "duplicate"] : ["accepted", "conflict"],
          );
        }
        expect((await one.unsealed()).count).to.equal(40);
      });

      it("is durable: a process killed (SIGKILL) right after append resolved loses nothing", async function () {
        const location = await backend.location();
        if (backend.name === "SQLite") new SqliteReadingStore(location).close();
        const child = appendInChild(location, 5);
        const acked = await new Promise<string>((resolve, reject) => {
          let out = "";
          child.stdout.on("data", (chunk: Buffer) => {
            out += chunk.toString();
            if (out.includes("\n")) resolve(out.trim());
          });
          child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
          child.once("exit", () => reject(new Error(`child exited early: ${out}`)));
        });
        expect(acked).to.equal("acked accepted,accepted,accepted,accepted,accepted");
        child.kill("SIGKILL");
        await new Promise((resolve) => child.once("exit", resolve));
        const store = await opened(location);
        expect((await store.unsealed()).count).to.equal(5);
        expect((await store.getReading(device.address, 5n))!.reading.value).to.equal(items(5)[4]!.reading.value);
      });
    });

    describe("seal", function () {
      it("seals the oldest unsealed readings; the batch rebuilds to the same root after a reopen", async function () {
        const location = await backend.location();
        const store = await opened(location);
        await store.append(items(10), 1_000);
        await store.append(items(5, 11n), 2_000);
        expect(await store.unsealed()).to.deep.equal({ count: 15, oldestReceivedAt: 1_000 });
        const first = (await store.seal(8, 5_000))!;
        expect(first).to.deep.include({ readingCount: 8, sealedAt: 5_000, status: "pending" });
        expect(await store.unsealed()).to.deep.equal({ count: 7, oldestReceivedAt: 1_000 });
        const second = (await store.seal(100))!;
        expect(second.readingCount).to.equal(7);
        expect(second.localId).to.be.greaterThan(first.localId);
        expect(await store.seal(100)).to.equal(undefined);
        await store.close();

        const reopened = await opened(location);
        const batch = await reopened.loadBatch(first.localId);
        expect(batch.root).to.equal(first.root);
        const stored = (await reopened.getReading(device.address, 3n))!;
        expect(stored).to.deep.include({ batchLocalId: first.localId, leafIndex: 2 });
        expect(MerkleTree.verify(first.root, readingLeaf(stored.reading), batch.proof(stored.leafIndex!))).to.equal(
          true,
        );
        expect((await reopened.getReading(device.address, 12n))!.batchLocalId).to.equal(second.localId);
        expect(await reopened.getReading(device.address, 99n)).to.equal(undefined);
        expect(await reopened.placements(device.address, 7n, 12n, 100)).to.deep.equal(
          [7n, 8n, 9n, 10n, 11n, 12n].map((sequence) => ({
            sequence,
            batchLocalId: sequence <= 8n ? first.localId : second.localId,
            leafIndex: sequence <= 8n ? Number(sequence) - 1 : Number(sequence) - 9,
          })),
        );
        expect((await reopened.listBatches({ limit: 10 })).map((b) => b.localId)).to.deep.equal([
          second.localId,
          first.localId,
        ]);
        expect(await reopened.listBatches({ limit: 10, before: second.localId })).to.have.length(1);
      });

      it("seals from the leaves prepared at ingest exactly as from the readings: same root, window and content hash", async function () {
        const fast = await opened();
        const slow = await opened();
        const plain = items(9);
        const prepared = plain.map((item) => ({
          ...item,
          prepared: {
            body: JSON.stringify(readingToJson(item.reading)),
            digest: getBytes(item.digest),
            leaf: readingLeafBytes(item.reading),
          },
        }));
        await fast.append(prepared);
        await slow.append(plain);
        const a = (await fast.seal(9))!;
        const b = (await slow.seal(9))!;
        const header = (await fast.loadBatch(a.localId)).header();
        expect({ ...a, sealedAt: 0 }).to.deep.equal({ ...b, sealedAt: 0 });
        expect([a.root, a.fromTimestamp, a.toTimestamp, a.contentHash]).to.deep.equal([
          header.root,
          header.fromTimestamp,
          header.toTimestamp,
          header.contentHash,
        ]);
      });

      it("two sealers at once (two shards) never put a reading in two batches", async function () {
        const location = await backend.location();
        const [one, two] = [await opened(location), await opened(location)];
        await one.append(items(300));
        const sealed = (await Promise.all([0, 1, 2, 3, 4, 5].map((i) => (i % 2 === 0 ? one : two).seal(64)))).filter(
          (batch) => batch !== undefined,
        );
        for (;;) {
          const more = await one.seal(64);
          if (more === undefined) break;
          sealed.push(more);
        }
        expect(sealed.reduce((sum, batch) => sum + batch!.readingCount, 0)).to.equal(300);
        const seen = new Set<string>();
        for (const batch of sealed) {
          const rebuilt = await two.loadBatch(batch!.localId);
          expect(rebuilt.root).to.equal(batch!.root);
          for (let i = 0; i < batch!.readingCount; i++) {
            const key = rebuilt.readings[i]!.reading.sequence.toString();
            expect(seen.has(key), `sequence ${key} sealed twice`).to.equal(false);
            seen.add(key);
          }
        }
        expect(seen.size).to.equal(300);
      });

      it("refuses a limit below one; loadBatch refuses an unknown batch", async function () {
        const store = await opened();
        await expectRejected(store.seal(0), "at least one reading");
        await expectRejected(store.loadBatch(7), "no batch 7");
      });

      it("detects a stored reading changed behind its back (StoreCorruptError)", async function () {
        const location = await backend.location();
        const store = await opened(location);
        await store.append(items(4));
        const { localId } = (await store.seal(4))!;
        await backend.raw(
          location,
          `UPDATE readings SET body = replace(body, '"value":"3963"', '"value":"1"') WHERE sequence = ${backend.sequence(2n)}`,
        );
        try {
          await store.loadBatch(localId);
          expect.fail("expected a StoreCorruptError");
        } catch (error) {
          expect(error).to.be.instanceOf(StoreCorruptError);
        }
      });

      it("refuses a store written with a newer schema version", async function () {
        const location = await backend.location();
        await (await opened(location)).close();
        await backend.raw(location, `UPDATE ${backend.schemaTable} SET value = '99' WHERE key = 'schema'`);
        await expectRejected(openStore(location), "unsupported store schema version 99");
      });
    });

    describe("anchoring state", function () {
      it("records transactions before broadcast and moves batches pending -> anchored -> final, or back", async function () {
        const store = await opened();
        await store.append(items(4));
        const { localId } = (await store.seal(4))!;
        const tx = { hash: "0x" + "ab".repeat(32), nonce: 7, raw: "0x02", maxFeePerGas: 10n, maxPriorityFeePerGas: 1n };
        await store.recordTx({ ...tx, batchIds: [localId], sentAt: 1 });
        expect(await store.openTxs()).to.deep.equal([{ ...tx, batchIds: [localId], state: "sent", sentAt: 1 }]);
        const placement = {
          chainBatchId: 3n,
          transactionHash: tx.hash,
          blockNumber: 12,
          blockHash: "0x" + "cd".repeat(32),
          anchoredAt: 1_700_000_000n,
        };
        await store.markAnchored(localId, placement);
        await store.setTxState(tx.hash, "mined");
        expect(await store.openTxs()).to.deep.equal([]);
        expect(await store.transactions()).to.deep.equal([{ ...tx, batchIds: [localId], state: "mined", sentAt: 1 }]);
        expect(await store.getBatch(localId)).to.deep.include({ status: "anchored", anchor: placement });
        await store.markPending(localId, "reorg removed block 12");
        expect(await store.getBatch(localId)).to.deep.include({ status: "pending", note: "reorg removed block 12" });
        expect((await store.getBatch(localId))!.anchor).to.equal(undefined);
        await store.markAnchored(localId, placement);
        await store.markFinal(localId);
        expect((await store.batchesWith("final")).map((b) => b.localId)).to.deep.equal([localId]);
        expect(await store.batchCounts()).to.deep.equal({ pending: 0, anchored: 0, final: 1, failed: 0 });
        await store.markFailed(localId, "AccessControlUnauthorizedAccount");
        expect(await store.getBatch(localId)).to.deep.include({
          status: "failed",
          note: "AccessControlUnauthorizedAccount",
        });
        expect(await store.devicesIn(localId)).to.deep.equal([device.address]);
      });
    });

    describe("catalog (what x402 discovery lists)", function () {
      it("lists only readings in anchored or final batches, per device, with sequences in number order and metric ids", async function () {
        const store = await opened();
        const placement = (n: number) => ({
          chainBatchId: BigInt(n),
          transactionHash: "0x" + "ab".repeat(32),
          blockNumber: n,
          blockHash: "0x" + "cd".repeat(32),
          anchoredAt: 1_700_000_000n,
        });
        expect(await store.catalog(10)).to.deep.equal([]);
        // Sequences 1..12 in two batches (9 and 10..12 order as text differently than as numbers), 13..14 unsealed.
        await store.append(items(14));
        const first = (await store.seal(9))!;
        const second = (await store.seal(3))!;
        expect(await store.catalog(10), "pending batches are not for sale").to.deep.equal([]);
        await store.markAnchored(first.localId, placement(1));
        await store.markAnchored(second.localId, placement(2));
        await store.markFinal(second.localId);
        const [entry, ...rest] = await store.catalog(10);
        expect(rest).to.deep.equal([]);
        expect(entry).to.deep.equal({
          device: device.address,
          firstSequence: 1n,
          lastSequence: 12n,
          readings: 12,
          metrics: [readingsOf(device, 1)[0]!.metric],
        });
        await store.markPending(first.localId, "reorg");
        expect((await store.catalog(10))[0]).to.deep.include({ firstSequence: 10n, lastSequence: 12n, readings: 3 });
        expect(await store.catalog(0)).to.deep.equal([]);
      });
    });
  });
}

describe("SqliteReadingStore (SQLite only)", function () {
  it("a torn last write on restart: the store opens, the torn transaction is absent as a whole, earlier ones intact", async function () {
    const path = tempPath();
    const store = new SqliteReadingStore(path);
    await store.append(items(5));
    await store.append(items(3, 6n));
    // Copy the database and its write-ahead log as a crash would leave them, then tear the last frame.
    const crashed = tempPath();
    copyFileSync(path, crashed);
    copyFileSync(`${path}-wal`, `${crashed}-wal`);
    await store.close();
    const wal = `${crashed}-wal`;
    truncateSync(wal, statSync(wal).size - 100);
    const reopened = new SqliteReadingStore(crashed);
    expect((await reopened.unsealed()).count).to.equal(5);
    expect(await reopened.getReading(device.address, 5n)).to.not.equal(undefined);
    expect(await reopened.getReading(device.address, 6n)).to.equal(undefined);
    expect(await reopened.append(items(3, 6n))).to.deep.equal(["accepted", "accepted", "accepted"]);
    await reopened.close();
  });

  it("seals readings whose ids are not consecutive, in id order, and the batch rebuilds to its root", async function () {
    const path = tempPath();
    const store = new SqliteReadingStore(path);
    await store.append(items(5));
    const raw = new Database(path);
    raw.prepare("DELETE FROM readings WHERE id = 3").run(); // a gap the one-statement range update must not span
    raw.close();
    const batch = (await store.seal(10))!;
    expect(batch.readingCount).to.equal(4);
    const leaves = [];
    for (const sequence of [1n, 2n, 4n, 5n]) leaves.push((await store.getReading(device.address, sequence))!.leafIndex);
    expect(leaves).to.deep.equal([0, 1, 2, 3]);
    expect((await store.loadBatch(batch.localId)).root).to.equal(batch.root);
    await store.close();
  });

  it("migrates a version 1 store in place: sealed batches become pending, readings and roots are kept", async function () {
    const path = tempPath();
    const v1 = new Database(path);
    v1.exec(readFileSync(join(__dirname, "..", "..", "fixtures", "store.v1.sql"), "utf8"));
    v1.close();
    const store = new SqliteReadingStore(path);
    const batch = (await store.getBatch(1))!;
    expect(batch).to.deep.include({ status: "pending", readingCount: 2, contentHash: "" });
    expect((await store.loadBatch(1)).root).to.equal(batch.root);
    expect(await store.batchCounts()).to.deep.equal({ pending: 1, anchored: 0, final: 0, failed: 0 });
    await store.close();
  });
});
