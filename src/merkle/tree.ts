/**
 * A Merkle tree with the exact layout of `@openzeppelin/merkle-tree` (`StandardMerkleTree` /
 * `SimpleMerkleTree`): leaves sorted ascending (stable), stored from the end of a flat array of 2n-1 nodes,
 * inner node i = hashPair(node 2i+1, node 2i+2). Roots, proofs and multiproofs are therefore identical to
 * OpenZeppelin's and verify with OpenZeppelin's `MerkleProof`.
 *
 * All nodes live in one `Uint8Array` (64 MB for a million leaves) and inner nodes are hashed with the
 * WebAssembly keccak when {@link initKeccak} has run ({@link MerkleTree.build} does it for you).
 */
import { getBytes, hexlify, isHexString } from "ethers";
import { InvalidInputError } from "../errors";
import { compareNodes, hashPair } from "./hash";
import { initKeccak, keccak256 } from "../keccak";

const NODE = 32;
const INDEX_LIMIT = 2 ** 21;

export interface MerkleTreeOptions {
  /** Sort leaves by hash before building (OpenZeppelin's default). */
  sortLeaves?: boolean;
  /** Keep the nodes in shared memory, so that worker threads can read the tree without a copy ({@link parts}). */
  shared?: boolean;
}

/** A tree's memory, as {@link MerkleTree.parts} hands it out and {@link MerkleTree.fromParts} takes it back. */
export interface MerkleTreeParts {
  nodes: Uint8Array;
  positions: Uint32Array;
  sortLeaves: boolean;
}

/** A multiproof in OpenZeppelin's format, plus the input indices of its leaves in proof order. */
export interface MultiProof {
  /** Input indices of the proven leaves, in the order of `leaves`. */
  indices: number[];
  /** Leaf hashes in the order `MerkleProof.multiProofVerify` consumes them. */
  leaves: string[];
  proof: string[];
  proofFlags: boolean[];
}

function toNode(value: Uint8Array | string, index: number): Uint8Array {
  const bytes = typeof value === "string" ? (isHexString(value, NODE) ? getBytes(value) : undefined) : value;
  if (bytes === undefined || bytes.length !== NODE) {
    throw new InvalidInputError(`leaf ${index} is not a 32-byte hash`, { details: { index } });
  }
  return bytes;
}

/**
 * Input order sorted by leaf hash, ties by input index (a stable sort, like OpenZeppelin's). Leaves are
 * first ordered by their leading 32 bits with a numeric sort of `prefix * 2^21 + index` keys (exact in a
 * float64 for up to 2^21 leaves); runs that share a prefix are then ordered by their full hash.
 */
function sortedOrder(packed: Uint8Array, count: number): Uint32Array {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const prefix = (i: number) => view.getUint32(i * NODE);
  const byHash = (a: number, b: number) =>
    prefix(a) - prefix(b) || compareNodes(packed, a * NODE, packed, b * NODE) || a - b;
  const order = new Uint32Array(count);
  if (count > INDEX_LIMIT) {
    for (let i = 0; i < count; i++) order[i] = i;
    return order.sort(byHash);
  }
  const keys = new Float64Array(count);
  for (let i = 0; i < count; i++) keys[i] = prefix(i) * INDEX_LIMIT + i;
  keys.sort();
  for (let i = 0; i < count; i++) order[i] = keys[i]! % INDEX_LIMIT;
  for (let start = 0; start < count;) {
    let end = start + 1;
    while (end < count && prefix(order[end]!) === prefix(order[start]!)) end++;
    if (end - start > 1) order.subarray(start, end).sort(byHash);
    start = end;
  }
  return order;
}

export class MerkleTree {
  /** All 2n-1 nodes, 32 bytes each; node 0 is the root. */
  private readonly nodes: Uint8Array;
  /** Tree position of each leaf, by the leaf's input index. */
  private readonly positions: Uint32Array;
  readonly sortLeaves: boolean;

  private constructor(nodes: Uint8Array, positions: Uint32Array, sortLeaves: boolean) {
    this.nodes = nodes;
    this.positions = positions;
    this.sortLeaves = sortLeaves;
  }

  /** Loads the fast keccak backend, then builds (see {@link fromLeafHashes}). */
  static async build(leaves: readonly (Uint8Array | string)[], options: MerkleTreeOptions = {}): Promise<MerkleTree> {
    await initKeccak();
    return MerkleTree.fromLeafHashes(leaves, options);
  }

  /** Builds a tree over leaf hashes (already hashed leaves, e.g. {@link standardLeafHash}). */
  static fromLeafHashes(leaves: readonly (Uint8Array | string)[], options: MerkleTreeOptions = {}): MerkleTree {
    const packed = new Uint8Array(leaves.length * NODE);
    leaves.forEach((leaf, i) => packed.set(toNode(leaf, i), i * NODE));
    return MerkleTree.fromPackedLeafHashes(packed, options);
  }

  /**
   * Builds a tree over leaf hashes packed back to back (32 bytes each, input order). The fastest entry
   * point: no per-leaf objects are made.
   */
  static fromPackedLeafHashes(packed: Uint8Array, options: MerkleTreeOptions = {}): MerkleTree {
    if (packed.length === 0) throw new InvalidInputError("a Merkle tree needs at least one leaf");
    if (packed.length % NODE !== 0) {
      throw new InvalidInputError("packed leaf hashes must be a multiple of 32 bytes", {
        details: { length: packed.length },
      });
    }
    const count = packed.length / NODE;
    if (count > 0x7fffffff) throw new InvalidInputError("a Merkle tree holds at most 2^31-1 leaves");
    const sortLeaves = options.sortLeaves ?? true;
    const size = 2 * count - 1;
    const memory = (bytes: number) => (options.shared === true ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    const nodes = new Uint8Array(memory(size * NODE));
    const positions = new Uint32Array(memory(count * 4));
    const order = sortLeaves ? sortedOrder(packed, count) : undefined;
    for (let rank = 0; rank < count; rank++) {
      const input = order === undefined ? rank : order[rank]!;
      const position = size - 1 - rank;
      positions[input] = position;
      nodes.set(packed.subarray(input * NODE, input * NODE + NODE), position * NODE);
    }
    const pair = new Uint8Array(2 * NODE);
    for (let i = size - 1 - count; i >= 0; i--) {
      const left = (2 * i + 1) * NODE;
      const right = left + NODE;
      const leftFirst = compareNodes(nodes, left, nodes, right) <= 0;
      pair.set(nodes.subarray(left, left + NODE), leftFirst ? 0 : NODE);
      pair.set(nodes.subarray(right, right + NODE), leftFirst ? NODE : 0);
      nodes.set(keccak256(pair), i * NODE);
    }
    return new MerkleTree(nodes, positions, sortLeaves);
  }

  /**
   * The tree's memory: posted to a worker thread, it is shared when the tree was built with `shared` (and
   * copied otherwise). {@link fromParts} rebuilds the tree from it without hashing.
   */
  parts(): MerkleTreeParts {
    return { nodes: this.nodes, positions: this.positions, sortLeaves: this.sortLeaves };
  }

  /** The tree whose memory is `parts` (from {@link parts}; the nodes are trusted as they are). */
  static fromParts(parts: MerkleTreeParts): MerkleTree {
    if (parts.nodes.length !== (2 * parts.positions.length - 1) * NODE) {
      throw new InvalidInputError("Merkle tree parts do not fit together", {
        details: { nodes: parts.nodes.length, leaves: parts.positions.length },
      });
    }
    return new MerkleTree(parts.nodes, parts.positions, parts.sortLeaves);
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

  /** All leaf hashes packed in input order (32 bytes each). */
  packedLeafHashes(): Uint8Array {
    const packed = new Uint8Array(this.length * NODE);
    this.positions.forEach((position, input) => packed.set(this.node(position), input * NODE));
    return packed;
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

  /**
   * A multiproof of several leaves (input indices), as OpenZeppelin's `getMultiProof`: it verifies with
   * `MerkleProof.multiProofVerify(proof, proofFlags, root, leaves)`.
   */
  multiProof(indices: readonly number[]): MultiProof {
    if (indices.length === 0) throw new InvalidInputError("a multiproof needs at least one leaf");
    const byPosition = new Map<number, number>();
    for (const index of indices) {
      const position = this.position(index);
      if (byPosition.has(position)) {
        throw new InvalidInputError(`index ${index} appears twice in the multiproof`, { details: { index } });
      }
      byPosition.set(position, index);
    }
    const positions = [...byPosition.keys()].sort((a, b) => b - a);
    const queue = positions.slice();
    const proof: string[] = [];
    const proofFlags: boolean[] = [];
    let head = 0;
    while (head < queue.length && queue[head]! > 0) {
      const j = queue[head++]!;
      const sibling = j % 2 === 1 ? j + 1 : j - 1;
      if (queue[head] === sibling) {
        proofFlags.push(true);
        head++;
      } else {
        proofFlags.push(false);
        proof.push(hexlify(this.node(sibling)));
      }
      queue.push((j - 1) >> 1);
    }
    return {
      indices: positions.map((position) => byPosition.get(position)!),
      leaves: positions.map((position) => hexlify(this.node(position))),
      proof,
      proofFlags,
    };
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

  /**
   * Recomputes a root from a multiproof (OpenZeppelin `MerkleProof.processMultiProof`). Rejects an empty
   * leaf set, which would otherwise "prove" any root passed as the single proof element.
   */
  static processMultiProof(multiProof: Pick<MultiProof, "leaves" | "proof" | "proofFlags">): string {
    const { leaves, proof, proofFlags } = multiProof;
    if (leaves.length === 0) throw new InvalidInputError("a multiproof needs at least one leaf");
    if (leaves.length + proof.length !== proofFlags.length + 1) {
      throw new InvalidInputError("multiproof leaves, proof and flags do not fit together", {
        details: { leaves: leaves.length, proof: proof.length, flags: proofFlags.length },
      });
    }
    const queue = leaves.map((leaf, i) => toNode(leaf, i));
    const siblings = proof.map((node, i) => toNode(node, i));
    let head = 0;
    let next = 0;
    for (const flag of proofFlags) {
      const a = queue[head++];
      const b = flag ? queue[head++] : siblings[next++];
      if (a === undefined || b === undefined) throw new InvalidInputError("multiproof is malformed");
      queue.push(hashPair(a, b));
    }
    if (next !== siblings.length || head !== queue.length - 1) {
      throw new InvalidInputError("multiproof is malformed");
    }
    return hexlify(queue[queue.length - 1]!);
  }

  static verifyMultiProof(root: string, multiProof: Pick<MultiProof, "leaves" | "proof" | "proofFlags">): boolean {
    return MerkleTree.processMultiProof(multiProof) === root.toLowerCase();
  }

  /** @internal Tree position of input leaf `index`. */
  position(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.positions.length) {
      throw new InvalidInputError(`no leaf at index ${index}`, { details: { index, length: this.length } });
    }
    return this.positions[index]!;
  }

  /** @internal The 32 bytes of the node at tree position `position`. */
  node(position: number): Uint8Array {
    return this.nodes.subarray(position * NODE, position * NODE + NODE);
  }
}
