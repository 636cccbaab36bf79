import { expect } from "chai";
import { ethers } from "hardhat";
import { getBytes } from "ethers";
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SqliteReadingStore, StoreCorruptError } from "../../src/batcher";
import type { AppendItem } from "../../src/batcher";
import { DeviceKey } from "../../src/device";
import { readingDigest, telemetryDomain } from "../../src/eip712";
import { MerkleTree } from "../../src/merkle";
import { readingLeaf, readingLeafBytes, readingToJson } from "../../src/telemetry";
import { readingsOf } from "../helpers/anchor";
import { expectRejected } from "../helpers/expect";

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

describe("SqliteReadingStore", function () {
  describe("append", function () {
    it("accepts new readings, reports an exact repeat as duplicate and a changed one as conflict", function () {
      const store = new SqliteReadingStore(":memory:");
      const batch = items(3);
      expect(store.append(batch)).to.deep.equal(["accepted", "accepted", "accepted"]);
      const changed = { ...batch[1]!.reading, value: 1n };
      expect(
        store.append([batch[0]!, { reading: changed, signature: "0x", digest: readingDigest(domain, changed) }]),
      ).to.deep.equal(["duplicate", "conflict"]);
      // Deduplication compares digests, never signature bytes: the same reading with other bytes is a duplicate.
      expect(store.append([{ ...batch[2]!, signature: "0x1234" }])).to.deep.equal(["duplicate"]);
      expect(store.unsealed().count).to.equal(3);
      store.close();
    });

    it("is durable: a process killed (SIGKILL) right after append returned loses nothing", async function () {
      const path = tempPath();
      const script = `
        require("ts-node").register({ transpileOnly: true });
        const { SqliteReadingStore } = require(${JSON.stringify(join(__dirname, "..", "..", "src", "batcher"))});
        const items = JSON.parse(process.argv[1], (k, v) => (typeof v === "string" && /^n\\d+$/.test(v) ? BigInt(v.slice(1)) : v));
        const store = new SqliteReadingStore(${JSON.stringify(path)});
        const statuses = store.append(items);
        process.stdout.write("acked " + statuses.join(",") + "\\n");
        setInterval(() => {}, 1000);
      `;
      const payload = JSON.stringify(items(5), (_, v) => (typeof v === "bigint" ? `n${v}` : v));
      const child = spawn(process.execPath, ["-e", script, payload], { cwd: join(__dirname, "..", "..") });
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
      const store = new SqliteReadingStore(path);
      expect(store.unsealed().count).to.equal(5);
      expect(store.getReading(device.address, 5n)!.reading.value).to.equal(items(5)[4]!.reading.value);
      store.close();
    });
    it("a torn last write on restart: the store opens, the torn transaction is absent as a whole, earlier ones intact", function () {
      const path = tempPath();
      const store = new SqliteReadingStore(path);
      store.append(items(5));
      store.append(items(3, 6n));
      // Copy the database and its write-ahead log as a crash would leave them, then tear the last frame.
      const crashed = tempPath();
      copyFileSync(path, crashed);
      copyFileSync(`${path}-wal`, `${crashed}-wal`);
      store.close();
      const wal = `${crashed}-wal`;
      truncateSync(wal, statSync(wal).size - 100);
      const reopened = new SqliteReadingStore(crashed);
      expect(reopened.unsealed().count).to.equal(5);
      expect(reopened.getReading(device.address, 5n)).to.not.equal(undefined);
      expect(reopened.getReading(device.address, 6n)).to.equal(undefined);
      expect(reopened.append(items(3, 6n))).to.deep.equal(["accepted", "accepted", "accepted"]);
      reopened.close();
    });
  });

  describe("seal", function () {
    it("seals the oldest unsealed readings; the batch rebuilds to the same root after a reopen", async function () {
      const path = tempPath();
      const store = new SqliteReadingStore(path);
      store.append(items(10), 1_000);
      store.append(items(5, 11n), 2_000);
      expect(store.unsealed()).to.deep.equal({ count: 15, oldestReceivedAt: 1_000 });
      const first = (await store.seal(8, 5_000))!;
      expect(first).to.deep.include({ localId: 1, readingCount: 8, sealedAt: 5_000, status: "pending" });
      expect(store.unsealed()).to.deep.equal({ count: 7, oldestReceivedAt: 1_000 });
      const second = (await store.seal(100))!;
      expect(second.readingCount).to.equal(7);
      expect(await store.seal(100)).to.equal(undefined);
      store.close();

      const reopened = new SqliteReadingStore(path);
      const batch = await reopened.loadBatch(1);
      expect(batch.root).to.equal(first.root);
      const stored = reopened.getReading(device.address, 3n)!;
      expect(stored).to.deep.include({ batchLocalId: 1, leafIndex: 2 });
      expect(MerkleTree.verify(first.root, readingLeaf(stored.reading), batch.proof(stored.leafIndex!))).to.equal(true);
      expect(reopened.getReading(device.address, 12n)!.batchLocalId).to.equal(2);
      expect(reopened.getReading(device.address, 99n)).to.equal(undefined);
      reopened.close();
    });

    it("seals from the leaves prepared at ingest exactly as from the readings: same root, window and content hash", async function () {
      const fast = new SqliteReadingStore(":memory:");
      const slow = new SqliteReadingStore(":memory:");
      const plain = items(9);
      const prepared = plain.map((item) => ({
        ...item,
        prepared: {
          body: JSON.stringify(readingToJson(item.reading)),
          digest: getBytes(item.digest),
          leaf: readingLeafBytes(item.reading),
        },
      }));
      fast.append(prepared);
      slow.append(plain);
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
      fast.close();
      slow.close();
    });

    it("seals readings whose ids are not consecutive, in id order, and the batch rebuilds to its root", async function () {
      const path = tempPath();
      const store = new SqliteReadingStore(path);
      store.append(items(5));
      const raw = new Database(path);
      raw.prepare("DELETE FROM readings WHERE id = 3").run(); // a gap the one-statement range update must not span
      raw.close();
      const batch = (await store.seal(10))!;
      expect(batch.readingCount).to.equal(4);
      expect([1n, 2n, 4n, 5n].map((sequence) => store.getReading(device.address, sequence)!.leafIndex)).to.deep.equal([
        0, 1, 2, 3,
      ]);
      expect((await store.loadBatch(batch.localId)).root).to.equal(batch.root);
      store.close();
    });

    it("refuses a limit below one; loadBatch refuses an unknown batch", async function () {
      const store = new SqliteReadingStore(":memory:");
      await expectRejected(store.seal(0), "at least one reading");
      await expectRejected(store.loadBatch(7), "no batch 7");
      store.close();
    });

    it("detects a stored reading changed behind its back (StoreCorruptError)", async function () {
      const path = tempPath();
      const store = new SqliteReadingStore(path);
      store.append(items(4));
      await store.seal(4);
      store.close();
      const raw = new Database(path);
      raw
        .prepare('UPDATE readings SET body = replace(body, \'"value":"3963"\', \'"value":"1"\') WHERE sequence = ?')
        .run("2".padStart(20, "0"));
      raw.close();
      const reopened = new SqliteReadingStore(path);
      try {
        await reopened.loadBatch(1);
        expect.fail("expected a StoreCorruptError");
      } catch (error) {
        expect(error).to.be.instanceOf(StoreCorruptError);
      }
      reopened.close();
    });

    it("refuses a store written with a newer schema version", function () {
      const path = tempPath();
      new SqliteReadingStore(path).close();
      const raw = new Database(path);
      raw.prepare("UPDATE meta SET value = '4' WHERE key = 'schema'").run();
      raw.close();
      expect(() => new SqliteReadingStore(path)).to.throw("unsupported store schema version 4");
    });

    it("migrates a version 1 store in place: sealed batches become pending, readings and roots are kept", async function () {
      const path = tempPath();
      const v1 = new Database(path);
      v1.exec(readFileSync(join(__dirname, "..", "fixtures", "store.v1.sql"), "utf8"));
      v1.close();
      const store = new SqliteReadingStore(path);
      const batch = store.getBatch(1)!;
      expect(batch).to.deep.include({ status: "pending", readingCount: 2, contentHash: "" });
      expect((await store.loadBatch(1)).root).to.equal(batch.root);
      expect(store.batchCounts()).to.deep.equal({ pending: 1, anchored: 0, final: 0, failed: 0 });
      store.close();
    });
  });

  describe("anchoring state", function () {
    it("records transactions before broadcast and moves batches pending -> anchored -> final, or back", async function () {
      const store = new SqliteReadingStore(":memory:");
      store.append(items(4));
      const { localId } = (await store.seal(4))!;
      const tx = { hash: "0x" + "ab".repeat(32), nonce: 7, raw: "0x02", maxFeePerGas: 10n, maxPriorityFeePerGas: 1n };
      store.recordTx({ ...tx, batchIds: [localId], sentAt: 1 });
      expect(store.openTxs()).to.deep.equal([{ ...tx, batchIds: [localId], state: "sent", sentAt: 1 }]);
      const placement = {
        chainBatchId: 3n,
        transactionHash: tx.hash,
        blockNumber: 12,
        blockHash: "0x" + "cd".repeat(32),
        anchoredAt: 1_700_000_000n,
      };
      store.markAnchored(localId, placement);
      store.setTxState(tx.hash, "mined");
      expect(store.openTxs()).to.deep.equal([]);
      expect(store.getBatch(localId)).to.deep.include({ status: "anchored", anchor: placement });
      store.markPending(localId, "reorg removed block 12");
      expect(store.getBatch(localId)).to.deep.include({ status: "pending", note: "reorg removed block 12" });
      expect(store.getBatch(localId)!.anchor).to.equal(undefined);
      store.markAnchored(localId, placement);
      store.markFinal(localId);
      expect(store.batchesWith("final").map((b) => b.localId)).to.deep.equal([localId]);
      store.markFailed(localId, "AccessControlUnauthorizedAccount");
      expect(store.getBatch(localId)).to.deep.include({ status: "failed", note: "AccessControlUnauthorizedAccount" });
      expect(store.devicesIn(localId)).to.deep.equal([device.address]);
      store.close();
    });
  });
});
