/**
 * Persisted forms of a {@link MerkleTree}.
 *
 * - The compact dump (`iotrail-merkle`, version 1) is binary: a 48-byte header then the leaf hashes in
 *   input order. Loading rebuilds the tree and refuses a dump whose root does not match, so a truncated or
 *   corrupted file is caught. A million leaves take 32 MB.
 *
 *   | offset | size | field |
 *   | --- | --- | --- |
 *   | 0 | 8 | magic `IOTRAILM` (ASCII) |
 *   | 8 | 1 | format version (1) |
 *   | 9 | 1 | flags: bit 0 = leaves sorted |
 *   | 10 | 2 | reserved (0) |
 *   | 12 | 4 | leaf count, big-endian |
 *   | 16 | 32 | root |
 *   | 48 | 32 × count | leaf hashes, input order |
 *
 * - {@link toSimpleDump} writes OpenZeppelin's `simple-v1` JSON, which `SimpleMerkleTree.load` reads.
 */
import { hexlify } from "ethers";
import { InvalidInputError } from "../errors";
import { initKeccak } from "../keccak";
import { MerkleTree } from "./tree";

export const MERKLE_DUMP_MAGIC = "IOTRAILM";
export const MERKLE_DUMP_VERSION = 1;
const HEADER = 48;

/** OpenZeppelin's `SimpleMerkleTree` dump. */
export interface SimpleMerkleTreeDump {
  format: "simple-v1";
  tree: string[];
  values: { value: string; treeIndex: number }[];
}

/** Serializes `tree` into the compact binary dump. */
export function dumpMerkleTree(tree: MerkleTree): Uint8Array {
  const out = new Uint8Array(HEADER + tree.length * 32);
  out.set(new TextEncoder().encode(MERKLE_DUMP_MAGIC), 0);
  out[8] = MERKLE_DUMP_VERSION;
  out[9] = tree.sortLeaves ? 1 : 0;
  new DataView(out.buffer).setUint32(12, tree.length);
  out.set(tree.node(0), 16);
  out.set(tree.packedLeafHashes(), HEADER);
  return out;
}

/** Loads a compact dump, rebuilding the tree and checking its root. */
export async function loadMerkleTree(dump: Uint8Array): Promise<MerkleTree> {
  if (dump.length < HEADER || new TextDecoder().decode(dump.subarray(0, 8)) !== MERKLE_DUMP_MAGIC) {
    throw new InvalidInputError("not an iotrail Merkle dump (bad magic)");
  }
  const version = dump[8]!;
  if (version !== MERKLE_DUMP_VERSION) {
    throw new InvalidInputError(`unsupported Merkle dump version ${version}`, {
      details: { version, supported: [MERKLE_DUMP_VERSION] },
    });
  }
  const view = new DataView(dump.buffer, dump.byteOffset, dump.byteLength);
  const count = view.getUint32(12);
  if (dump.length !== HEADER + count * 32) {
    throw new InvalidInputError("Merkle dump length does not match its leaf count", {
      details: { length: dump.length, count },
    });
  }
  await initKeccak();
  const tree = MerkleTree.fromPackedLeafHashes(dump.slice(HEADER), { sortLeaves: (dump[9]! & 1) === 1 });
  const root = hexlify(dump.subarray(16, HEADER));
  if (tree.root !== root) {
    throw new InvalidInputError("Merkle dump is corrupt: leaves do not rebuild its root", {
      details: { expected: root, rebuilt: tree.root },
    });
  }
  return tree;
}

/** OpenZeppelin `simple-v1` JSON for `SimpleMerkleTree.load`. */
export function toSimpleDump(tree: MerkleTree): SimpleMerkleTreeDump {
  const nodes = 2 * tree.length - 1;
  return {
    format: "simple-v1",
    tree: Array.from({ length: nodes }, (_, position) => hexlify(tree.node(position))),
    values: Array.from({ length: tree.length }, (_, index) => ({
      value: tree.leafHash(index),
      treeIndex: tree.position(index),
    })),
  };
}
