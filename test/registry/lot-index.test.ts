/** LotIndex (the compact lot the batcher holds) and the lot entries file (`# iotrail.lot-entries v1`). */
import { expect } from "chai";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { InvalidInputError } from "../../src/errors";
import { MerkleTree, initKeccak } from "../../src/merkle";
import { Lot, LotIndex, lotLeaf } from "../../src/registry";
import { LOT_ENTRIES_MAGIC, loadLotIndex, writeLotEntries } from "../../src/registry/lot-entries";

const FIXTURE = join(__dirname, "..", "fixtures", "lot-entries.v1.csv");
/** The root of the fixture's five entries, from OpenZeppelin's StandardMerkleTree (another implementation). */
const FIXTURE_ROOT = "0xf3e75732543c76a1418c65f5dd7418c13f29a3f1e47a2377d77db1235519e824";

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );
const tempFile = (name: string) => join(mkdtempSync(join(tmpdir(), "iotrail-lot-")), name);
const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => `0x${Buffer.from(b).toString("hex")}`);

describe("LotIndex", function () {
  before(async function () {
    await initKeccak();
  });

  describe("build", function () {
    it("has the root of OpenZeppelin's StandardMerkleTree and of Lot, and proofs that verify (property)", function () {
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.record({ key: hex(20), metadataHash: hex(32) }), {
            minLength: 1,
            maxLength: 40,
            selector: (entry) => entry.key,
          }),
          (entries) => {
            const index = LotIndex.build(7n, entries);
            const oz = StandardMerkleTree.of(
              entries.map((e) => [e.key, e.metadataHash]),
              ["address", "bytes32"],
            );
            expect(index.root).to.equal(oz.root);
            expect(index.root).to.equal(Lot.build(entries).root);
            for (const entry of entries) {
              const proof = index.membership(entry.key.toUpperCase().replace("0X", "0x"))!;
              expect(proof.lotId).to.equal(7n);
              expect(proof.metadataHash).to.equal(entry.metadataHash);
              expect(MerkleTree.verify(index.root, lotLeaf(entry), proof.proof)).to.equal(true);
            }
          },
        ),
        { numRuns: 30 },
      );
    });

    it("rejects duplicate keys and an empty lot", function () {
      const entry = { key: `0x${"11".repeat(20)}`, metadataHash: `0x${"22".repeat(32)}` };
      expect(() =>
        LotIndex.build(1n, [entry, { ...entry, key: entry.key.toUpperCase().replace("0X", "0x") }]),
      ).to.throw(InvalidInputError, "duplicate key");
      expect(() => LotIndex.build(1n, [])).to.throw(InvalidInputError, "at least one device");
    });
  });

  describe("indexOf", function () {
    it("finds every entry and nothing else", function () {
      const entries = Array.from({ length: 1000 }, (_, i) => ({
        key: `0x${(i * 7919 + 13).toString(16).padStart(40, "0")}`,
        metadataHash: `0x${"00".repeat(32)}`,
      }));
      const index = LotIndex.build(1n, entries);
      entries.forEach((entry, i) => expect(index.indexOf(entry.key)).to.equal(i));
      expect(index.indexOf(`0x${"ff".repeat(20)}`)).to.equal(-1);
      expect(index.indexOf("not a key")).to.equal(-1);
      expect(index.has(entries[500]!.key)).to.equal(true);
    });
  });

  describe("parts", function () {
    it("a worker thread reads the same lot from shared memory, without a copy", async function () {
      const index = LotIndex.build(3n, [
        { key: `0x${"aa".repeat(20)}`, metadataHash: `0x${"01".repeat(32)}` },
        { key: `0x${"bb".repeat(20)}`, metadataHash: `0x${"02".repeat(32)}` },
      ]);
      const parts = index.parts();
      expect(parts.keys.buffer).to.be.instanceOf(SharedArrayBuffer);
      expect(parts.tree.nodes.buffer).to.be.instanceOf(SharedArrayBuffer);
      const worker = new Worker(
        `const { parentPort, workerData } = require("node:worker_threads");
         parentPort.postMessage({ shared: workerData.tree.nodes.buffer instanceof SharedArrayBuffer });`,
        { eval: true, workerData: parts },
      );
      const answer = await new Promise<{ shared: boolean }>((resolve) => worker.once("message", resolve));
      await worker.terminate();
      expect(answer.shared).to.equal(true);
      const copy = LotIndex.fromParts(parts);
      expect(copy.root).to.equal(index.root);
      expect(copy.membership(`0x${"bb".repeat(20)}`)).to.deep.equal(index.membership(`0x${"bb".repeat(20)}`));
    });
  });
});

describe("lot entries file", function () {
  describe("loadLotIndex", function () {
    it("reads the golden fixture (version 1) to the root OpenZeppelin computes", async function () {
      const index = await loadLotIndex(FIXTURE, 1n);
      expect(index.size).to.equal(5);
      expect(index.root).to.equal(FIXTURE_ROOT);
      const rows = readFileSync(FIXTURE, "utf8")
        .trim()
        .split("\n")
        .slice(2)
        .map((line) => line.split(","));
      expect(StandardMerkleTree.of(rows, ["address", "bytes32"]).root).to.equal(FIXTURE_ROOT);
    });

    it("reads what writeLotEntries writes, and a JSON lot file", async function () {
      const entries = Array.from({ length: 50 }, (_, i) => ({
        key: `0x${(i + 1).toString(16).padStart(40, "0")}`,
        metadataHash: `0x${(i + 9).toString(16).padStart(64, "0")}`,
      }));
      const csv = tempFile("lot.csv");
      await writeLotEntries(csv, entries);
      expect(readFileSync(csv, "utf8").split("\n")[0]).to.equal(LOT_ENTRIES_MAGIC);
      const built = Lot.build(entries);
      expect((await loadLotIndex(csv, 2n)).root).to.equal(built.root);
      const json = tempFile("lot.json");
      writeFileSync(json, JSON.stringify({ version: 1, kind: "iotrail.lot", root: built.root, entries }));
      expect((await loadLotIndex(json, 2n)).root).to.equal(built.root);
    });

    it("names the line of a bad entry, and refuses a file that is not a lot", async function () {
      const bad = tempFile("bad.csv");
      writeFileSync(
        bad,
        `${LOT_ENTRIES_MAGIC}\nkey,metadataHash\n0x${"11".repeat(20)},0x${"22".repeat(32)}\n0x12,0x${"22".repeat(32)}\n`,
      );
      expect(await failure(loadLotIndex(bad, 1n)))
        .to.be.instanceOf(InvalidInputError)
        .and.have.property("message")
        .that.contains("line 4");
      const other = tempFile("other.csv");
      writeFileSync(other, "key,metadataHash\n");
      expect(await failure(loadLotIndex(other, 1n)))
        .to.be.instanceOf(InvalidInputError)
        .and.have.property("message")
        .that.contains("not a lot entries file");
      expect(await failure(loadLotIndex(tempFile("missing.csv"), 1n)))
        .to.be.instanceOf(InvalidInputError)
        .and.have.property("message")
        .that.contains("cannot read");
    });
  });
});
