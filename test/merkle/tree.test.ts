import { expect } from "chai";
import { ethers } from "hardhat";
import fc from "fast-check";
import { SimpleMerkleTree, StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { InvalidInputError } from "../../src/errors";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  MerkleTree,
  dumpMerkleTree,
  initKeccak,
  keccakBackend,
  loadMerkleTree,
  standardLeafHex,
  toSimpleDump,
} from "../../src/merkle";
import { expectRejected } from "../helpers/expect";

const TYPES = ["address", "bytes32"];
const entry = fc
  .tuple(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ minLength: 32, maxLength: 32 }))
  .map(([k, h]) => [ethers.getAddress(ethers.hexlify(k)), ethers.hexlify(h)] as [string, string]);
const sizes = fc.oneof(fc.constantFrom(1, 2, 3), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 100, max: 600 }));

async function harness() {
  return ethers.deployContract("ReadingsHarness");
}

describe("MerkleTree (OpenZeppelin-compatible)", function () {
  before(async function () {
    await initKeccak();
    expect(keccakBackend()).to.equal("wasm");
  });

  describe("fromLeafHashes", function () {
    it("property: roots and proofs equal StandardMerkleTree's for random sizes", function () {
      fc.assert(
        fc.property(
          sizes.chain((n) => fc.array(entry, { minLength: n, maxLength: n })),
          (values) => {
            const reference = StandardMerkleTree.of(values, TYPES);
            const tree = MerkleTree.fromLeafHashes(values.map((v) => standardLeafHex(TYPES, v)));
            expect(tree.root).to.equal(reference.root);
            values.forEach((_, i) => expect(tree.proof(i)).to.deep.equal(reference.getProof(i)));
          },
        ),
        { numRuns: 40 },
      );
    });

    it("matches SimpleMerkleTree without sorting, and with duplicate leaves", function () {
      const leaves = [ethers.id("b"), ethers.id("a"), ethers.id("b"), ethers.id("c"), ethers.id("a")];
      for (const sortLeaves of [true, false]) {
        const reference = SimpleMerkleTree.of(leaves, { sortLeaves });
        const tree = MerkleTree.fromLeafHashes(leaves, { sortLeaves });
        expect(tree.root).to.equal(reference.root);
        leaves.forEach((_, i) => expect(tree.proof(i)).to.deep.equal(reference.getProof(i)));
      }
    });

    it("orders leaves that share their leading bytes (and duplicates) exactly as SimpleMerkleTree", function () {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(3), fc.uint8Array({ minLength: 28, maxLength: 28 })), {
            minLength: 1,
            maxLength: 80,
          }),
          (parts) => {
            const leaves = parts.map(([p, rest]) => ethers.hexlify(ethers.concat([ethers.toBeHex(p, 4), rest])));
            const withDuplicates = [...leaves, ...leaves.slice(0, 3)];
            const reference = SimpleMerkleTree.of(withDuplicates);
            const tree = MerkleTree.fromLeafHashes(withDuplicates);
            expect(tree.root).to.equal(reference.root);
            withDuplicates.forEach((_, i) => expect(tree.proof(i)).to.deep.equal(reference.getProof(i)));
          },
        ),
        { numRuns: 50 },
      );
    });

    it("rejects an empty leaf set and malformed leaves with InvalidInputError", function () {
      expect(() => MerkleTree.fromLeafHashes([])).to.throw(InvalidInputError);
      expect(() => MerkleTree.fromLeafHashes(["0x1234"])).to.throw(InvalidInputError, "leaf 0");
      expect(() => MerkleTree.fromLeafHashes([new Uint8Array(31)])).to.throw(InvalidInputError);
    });
  });

  describe("proof", function () {
    it("rejects an index out of range", function () {
      const tree = MerkleTree.fromLeafHashes([ethers.id("x")]);
      expect(tree.proof(0)).to.deep.equal([]);
      expect(() => tree.proof(1)).to.throw(InvalidInputError);
      expect(() => tree.proof(-1)).to.throw(InvalidInputError);
    });
  });

  describe("verify", function () {
    it("property: every proof verifies, tampered leaves and proofs fail", function () {
      fc.assert(
        fc.property(fc.array(entry, { minLength: 2, maxLength: 64 }), fc.nat(), fc.nat(), (values, pick, flip) => {
          const leaves = values.map((v) => standardLeafHex(TYPES, v));
          const tree = MerkleTree.fromLeafHashes(leaves);
          const i = pick % values.length;
          const proof = tree.proof(i);
          expect(MerkleTree.verify(tree.root, leaves[i]!, proof)).to.equal(true);
          const tampered = ethers.getBytes(leaves[i]!);
          tampered[flip % 32] ^= 1;
          expect(MerkleTree.verify(tree.root, tampered, proof)).to.equal(false);
          if (proof.length > 0) {
            const bad = [...proof];
            const node = ethers.getBytes(bad[0]!);
            node[flip % 32] ^= 0x80;
            bad[0] = ethers.hexlify(node);
            expect(MerkleTree.verify(tree.root, leaves[i]!, bad)).to.equal(false);
          }
        }),
        { numRuns: 100 },
      );
    });
  });

  describe("multiProof", function () {
    it("property: equals StandardMerkleTree.getMultiProof and verifies off-chain", function () {
      fc.assert(
        fc.property(
          fc
            .integer({ min: 1, max: 300 })
            .chain((n) =>
              fc.tuple(
                fc.array(entry, { minLength: n, maxLength: n }),
                fc.uniqueArray(fc.nat(n - 1), { minLength: 1 }),
              ),
            ),
          ([values, picks]) => {
            const reference = StandardMerkleTree.of(values, TYPES);
            const tree = MerkleTree.fromLeafHashes(values.map((v) => standardLeafHex(TYPES, v)));
            const expected = reference.getMultiProof(picks);
            const actual = tree.multiProof(picks);
            expect(actual.proof).to.deep.equal(expected.proof);
            expect(actual.proofFlags).to.deep.equal(expected.proofFlags);
            expect(actual.leaves).to.deep.equal(expected.leaves.map((v) => reference.leafHash(v)));
            expect(actual.indices.map((i) => values[i])).to.deep.equal(expected.leaves);
            expect(MerkleTree.verifyMultiProof(tree.root, actual)).to.equal(true);
          },
        ),
        { numRuns: 60 },
      );
    });

    it("rejects an empty, duplicated or out-of-range index set", function () {
      const tree = MerkleTree.fromLeafHashes([ethers.id("a"), ethers.id("b"), ethers.id("c")]);
      expect(() => tree.multiProof([])).to.throw(InvalidInputError, "at least one leaf");
      expect(() => tree.multiProof([1, 1])).to.throw(InvalidInputError, "twice");
      expect(() => tree.multiProof([3])).to.throw(InvalidInputError, "no leaf");
    });

    it("security: processMultiProof refuses an empty leaf set and malformed proofs", function () {
      const tree = MerkleTree.fromLeafHashes([ethers.id("a"), ethers.id("b"), ethers.id("c")]);
      expect(() => MerkleTree.processMultiProof({ leaves: [], proof: [tree.root], proofFlags: [] })).to.throw(
        InvalidInputError,
      );
      const good = tree.multiProof([0, 2]);
      expect(() => MerkleTree.processMultiProof({ ...good, proofFlags: [...good.proofFlags, true] })).to.throw(
        InvalidInputError,
      );
      const tampered = { ...good, leaves: [ethers.id("not a leaf"), ...good.leaves.slice(1)] };
      expect(MerkleTree.verifyMultiProof(tree.root, tampered)).to.equal(false);
    });
  });

  describe("on-chain (OpenZeppelin MerkleProof)", function () {
    it("property: every proof and multiproof verifies with MerkleProof; tampered ones fail", async function () {
      const h = await loadFixture(harness);
      await fc.assert(
        fc.asyncProperty(
          fc
            .oneof(fc.constantFrom(1, 2, 3), fc.integer({ min: 1, max: 200 }))
            .chain((n) =>
              fc.tuple(
                fc.array(entry, { minLength: n, maxLength: n }),
                fc.nat(n - 1),
                fc.uniqueArray(fc.nat(n - 1), { minLength: 1, maxLength: 8 }),
              ),
            ),
          async ([values, pick, picks]) => {
            const leaves = values.map((v) => standardLeafHex(TYPES, v));
            const tree = MerkleTree.fromLeafHashes(leaves);
            expect(await h.verify(tree.proof(pick), tree.root, leaves[pick]!)).to.equal(true);
            const other = ethers.id(`not in the tree ${pick}`);
            expect(await h.verify(tree.proof(pick), tree.root, other)).to.equal(false);
            const multi = tree.multiProof(picks);
            expect(await h.multiProofVerify(multi.proof, multi.proofFlags, tree.root, multi.leaves)).to.equal(true);
            const swapped = [other, ...multi.leaves.slice(1)];
            expect(await h.multiProofVerify(multi.proof, multi.proofFlags, tree.root, swapped)).to.equal(false);
          },
        ),
        { numRuns: 40 },
      );
    });
  });

  describe("dumpMerkleTree / loadMerkleTree", function () {
    it("round-trips a tree, sorted and unsorted", async function () {
      const leaves = Array.from({ length: 37 }, (_, i) => ethers.id(`leaf ${i}`));
      for (const sortLeaves of [true, false]) {
        const tree = MerkleTree.fromLeafHashes(leaves, { sortLeaves });
        const loaded = await loadMerkleTree(dumpMerkleTree(tree));
        expect(loaded.root).to.equal(tree.root);
        expect(loaded.sortLeaves).to.equal(sortLeaves);
        leaves.forEach((_, i) => expect(loaded.proof(i)).to.deep.equal(tree.proof(i)));
      }
    });

    it("compatibility: a version-1 dump written by this release still loads", async function () {
      // Golden bytes: header (magic IOTRAILM, version 1, sorted, 2 leaves, root) + leaves id("a"), id("b").
      const tree = MerkleTree.fromLeafHashes([ethers.id("a"), ethers.id("b")]);
      const golden = ethers.getBytes(
        ethers.concat([
          ethers.toUtf8Bytes("IOTRAILM"),
          "0x01010000",
          "0x00000002",
          tree.root,
          ethers.id("a"),
          ethers.id("b"),
        ]),
      );
      expect(ethers.hexlify(dumpMerkleTree(tree))).to.equal(ethers.hexlify(golden));
      expect((await loadMerkleTree(golden)).root).to.equal(tree.root);
    });

    it("rejects a bad magic, an unknown version, a truncated dump and a corrupted leaf", async function () {
      const dump = dumpMerkleTree(MerkleTree.fromLeafHashes([ethers.id("a"), ethers.id("b"), ethers.id("c")]));
      const badMagic = dump.slice();
      badMagic[0] = 0;
      await expectRejected(loadMerkleTree(badMagic), "bad magic");
      const badVersion = dump.slice();
      badVersion[8] = 2;
      await expectRejected(loadMerkleTree(badVersion), "unsupported Merkle dump version 2");
      await expectRejected(loadMerkleTree(dump.slice(0, dump.length - 1)), "length");
      const corrupt = dump.slice();
      corrupt[dump.length - 1]! ^= 1;
      await expectRejected(loadMerkleTree(corrupt), "corrupt");
    });
  });

  describe("toSimpleDump", function () {
    it("is loaded by OpenZeppelin's SimpleMerkleTree with the same root and proofs", function () {
      const leaves = Array.from({ length: 11 }, (_, i) => ethers.id(`leaf ${i}`));
      const tree = MerkleTree.fromLeafHashes(leaves);
      const loaded = SimpleMerkleTree.load(toSimpleDump(tree));
      loaded.validate();
      expect(loaded.root).to.equal(tree.root);
      leaves.forEach((_, i) => expect(loaded.getProof(i)).to.deep.equal(tree.proof(i)));
    });
  });
});
