import { expect } from "chai";
import { ethers } from "hardhat";
import fc from "fast-check";
import { SimpleMerkleTree, StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { InvalidInputError } from "../../src/errors";
import { MerkleTree, standardLeafHex } from "../../src/merkle";

const TYPES = ["address", "bytes32"];
const entry = fc
  .tuple(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ minLength: 32, maxLength: 32 }))
  .map(([k, h]) => [ethers.getAddress(ethers.hexlify(k)), ethers.hexlify(h)] as [string, string]);
const sizes = fc.oneof(fc.constantFrom(1, 2, 3), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 100, max: 600 }));

describe("MerkleTree (OpenZeppelin-compatible)", function () {
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
});
