/**
 * A Merkle tree with the exact layout of `@openzeppelin/merkle-tree` (`StandardMerkleTree` /
 * `SimpleMerkleTree`): leaves sorted ascending (stable), stored from the end of a flat array of 2n-1 nodes,
 * inner node i = hashPair(node 2i+1, node 2i+2). Roots and proofs are therefore identical to OpenZeppelin's
 * and verify with OpenZeppelin's `MerkleProof`. Nodes live in one `Uint8Array`.
 */
import { getBytes, hexlify, isHexString } from "ethers";
import { InvalidInputError } from "../errors";
import { compareNodes, hashPair } from "./hash";

const NODE = 32;

export interface MerkleTreeOptions {
  /** Sort leaves by hash before building (OpenZeppelin's default). */
  sortLeaves?: boolean;
}

function toNode(value: Uint8Array | string, index: number): Uint8Array {
  const bytes = typeof value === "string" ? (isHexString(value, NODE) ? getBytes(value) : undefined) : value;
  if (bytes === undefined || bytes.length !== NODE) {
    throw new InvalidInputError(`leaf ${index} is not a 32-byte hash`, { details: { index } });
  }
  return bytes;
}

export class MerkleTree {
  /** All 2n-1 nodes, 32 bytes each; node 0 is the root. */
  private readonly nodes: Uint8Array;
  /** Tree position of each leaf, by the leaf's input index. */
  private readonly positions: Uint32Array;

  private constructor(nodes: Uint8Array, positions: Uint32Array) {
    this.nodes = nodes;
    this.positions = positions;
  }

  /** Builds a tree over leaf hashes (already hashed leaves, e.g. {@link standardLeafHash}). */
  static fromLeafHashes(leaves: readonly (Uint8Array | string)[], options: MerkleTreeOptions = {}): MerkleTree {
    const count = leaves.length;
    if (count === 0) throw new InvalidInputError("a Merkle tree needs at least one leaf");
    const flat = new Uint8Array(count * NODE);
    leaves.forEach((leaf, i) => flat.set(toNode(leaf, i), i * NODE));

    const order = Array.from({ length: count }, (_, i) => i);
    if (options.sortLeaves ?? true) {
      order.sort((a, b) => compareNodes(flat, a * NODE, flat, b * NODE) || a - b);
    }

    const size = 2 * count - 1;
    const nodes = new Uint8Array(size * NODE);
    const positions = new Uint32Array(count);
    order.forEach((input, rank) => {
      const position = size - 1 - rank;
      positions[input] = position;
      nodes.set(flat.subarray(input * NODE, input * NODE + NODE), position * NODE);
    });
    for (let i = size - 1 - count; i >= 0; i--) {
      const left = nodes.subarray((2 * i + 1) * NODE, (2 * i + 2) * NODE);
      const right = nodes.subarray((2 * i + 2) * NODE, (2 * i + 3) * NODE);
      nodes.set(hashPair(left, right), i * NODE);
    }
    return new MerkleTree(nodes, positions);
  }

  /** Number of leaves. */
  get length(): number {
    return this.positions.length;
  }

  get root(): string {
    return hexlify(this.nodes.subarray(0, NODE));
  }

  /** The leaf hash at input index `index`. */
  leafHash(index: number): string {
    return hexlify(this.node(this.position(index)));
  }

  /** The proof of the leaf at input index `index`, bottom-up, as OpenZeppelin's `getProof`. */
  proof(index: number): string[] {
    let position = this.position(index);
    const proof: string[] = [];
    while (position > 0) {
      const sibling = position % 2 === 1 ? position + 1 : position - 1;
      proof.push(hexlify(this.node(sibling)));
      position = (position - 1) >> 1;
    }
    return proof;
  }

  /** Recomputes a root from a leaf hash and its proof (OpenZeppelin `MerkleProof.processProof`). */
  static processProof(leafHash: Uint8Array | string, proof: readonly (Uint8Array | string)[]): string {
    let node = toNode(leafHash, 0);
    proof.forEach((sibling, i) => {
      node = hashPair(node, toNode(sibling, i));
    });
    return hexlify(node);
  }

  static verify(root: string, leafHash: Uint8Array | string, proof: readonly (Uint8Array | string)[]): boolean {
    return MerkleTree.processProof(leafHash, proof) === root.toLowerCase();
  }

  private position(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.positions.length) {
      throw new InvalidInputError(`no leaf at index ${index}`, { details: { index, length: this.length } });
    }
    return this.positions[index]!;
  }

  private node(position: number): Uint8Array {
    return this.nodes.subarray(position * NODE, position * NODE + NODE);
  }
}
