/**
 * Production lots: the Merkle root that a manufacturer commits with `commitLot`, and each device's
 * proof. Leaves are OpenZeppelin standard leaves over `(address key, bytes32 metadataHash)`, as the
 * `Lots` library computes them on-chain.
 */
import { getAddress, hexlify, isHexString } from "ethers";
import { InvalidInputError } from "../errors";
import { decodeHexInto } from "../bytes";
import { MerkleTree, keccak256 } from "../merkle";

/** ABI types of a lot leaf, in order. */
export const LOT_LEAF_TYPES = ["address", "bytes32"] as const;

export interface LotEntry {
  /** The device key (address). */
  key: string;
  /** Content hash of the device document. */
  metadataHash: string;
}

/**
 * The standard leaf of a lot entry: keccak256(bytes.concat(keccak256(abi.encode(key, metadataHash)))).
 * `encoded` is a 64-byte scratch buffer whose first 12 bytes stay zero (the address padding).
 */
function lotLeafBytes(key: string, metadataHash: string, index: number, encoded = new Uint8Array(64)): Uint8Array {
  if (!decodeHexInto(encoded, 12, key, 20)) {
    throw new InvalidInputError(`lot entry ${index}: key is not an address`, { details: { index, key } });
  }
  if (!decodeHexInto(encoded, 32, metadataHash, 32)) {
    throw new InvalidInputError(`lot entry ${index}: metadataHash is not 32 bytes of hex`, {
      details: { index, metadataHash },
    });
  }
  return keccak256(keccak256(encoded));
}

/** The standard leaf of a lot entry (hex), as `Lots.leaf` computes it on-chain. */
export function lotLeaf(entry: LotEntry): string {
  return hexlify(lotLeafBytes(entry.key, entry.metadataHash, 0));
}

/** The canonical (lower-case) form of an address; a mixed-case address must carry a valid checksum. */
function canonicalKey(key: unknown): string | undefined {
  if (typeof key !== "string" || !isHexString(key, 20)) return undefined;
  const lower = key.toLowerCase();
  if (key !== lower && key.slice(2) !== key.slice(2).toUpperCase()) {
    try {
      getAddress(key);
    } catch {
      return undefined;
    }
  }
  return lower;
}

export class Lot {
  readonly root: string;
  readonly entries: readonly LotEntry[];
  private readonly tree: MerkleTree;
  private readonly indexByKey: Map<string, number>;

  private constructor(entries: LotEntry[], tree: MerkleTree, indexByKey: Map<string, number>) {
    this.entries = entries;
    this.tree = tree;
    this.indexByKey = indexByKey;
    this.root = tree.root;
  }

  /**
   * Builds a lot; rejects malformed entries and duplicate keys. Entries keep their order (the leaf order
   * of the tree); keys are stored in lower case. Call `initKeccak()` first to hash with WebAssembly.
   */
  static build(entries: readonly LotEntry[]): Lot {
    if (entries.length === 0) throw new InvalidInputError("a lot needs at least one device");
    if (entries.length > 0xffffffff) throw new InvalidInputError("a lot holds at most 2^32-1 devices");
    const normalized: LotEntry[] = new Array<LotEntry>(entries.length);
    const indexByKey = new Map<string, number>();
    const packed = new Uint8Array(entries.length * 32);
    const encoded = new Uint8Array(64);
    entries.forEach((entry, index) => {
      const key = canonicalKey(entry.key);
      if (key === undefined) {
        throw new InvalidInputError(`lot entry ${index}: key is not an address`, {
          details: { index, key: entry.key },
        });
      }
      const leaf = lotLeafBytes(key, entry.metadataHash, index, encoded);
      if (indexByKey.has(key)) {
        throw new InvalidInputError(`lot entry ${index}: duplicate key ${key}`, { details: { index, key } });
      }
      indexByKey.set(key, index);
      normalized[index] = { key, metadataHash: entry.metadataHash.toLowerCase() };
      packed.set(leaf, index * 32);
    });
    return new Lot(normalized, MerkleTree.fromPackedLeafHashes(packed), indexByKey);
  }

  get deviceCount(): number {
    return this.entries.length;
  }

  /** The entry of `key` (checksummed), or an error if the lot does not hold it. */
  entry(key: string): LotEntry {
    const entry = this.entries[this.indexOf(key)]!;
    return { key: getAddress(entry.key), metadataHash: entry.metadataHash };
  }

  /** The Merkle proof of `key`'s leaf. */
  proof(key: string): string[] {
    return this.tree.proof(this.indexOf(key));
  }

  private indexOf(key: string): number {
    const normalized = canonicalKey(key);
    const index = normalized === undefined ? undefined : this.indexByKey.get(normalized);
    if (index === undefined) throw new InvalidInputError(`the lot holds no device ${key}`, { details: { key } });
    return index;
  }
}
