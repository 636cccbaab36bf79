/**
 * Production lots: the Merkle root that a manufacturer commits with `commitLot`, and each device's
 * proof. Leaves are OpenZeppelin standard leaves over `(address key, bytes32 metadataHash)`, as the
 * `Lots` library computes them on-chain.
 */
import { getAddress, isHexString } from "ethers";
import { InvalidInputError } from "../errors";
import { MerkleTree, standardLeafHash, standardLeafHex } from "../merkle";

/** ABI types of a lot leaf, in order. */
export const LOT_LEAF_TYPES = ["address", "bytes32"] as const;

export interface LotEntry {
  /** The device key (address). */
  key: string;
  /** Content hash of the device document. */
  metadataHash: string;
}

/** The standard leaf of a lot entry (hex). */
export function lotLeaf(entry: LotEntry): string {
  return standardLeafHex(LOT_LEAF_TYPES, [entry.key, entry.metadataHash]);
}

function checksummed(key: string): string | undefined {
  try {
    return getAddress(key);
  } catch {
    return undefined;
  }
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

  /** Builds a lot; rejects malformed entries and duplicate keys. */
  static build(entries: readonly LotEntry[]): Lot {
    if (entries.length === 0) throw new InvalidInputError("a lot needs at least one device");
    if (entries.length > 0xffffffff) throw new InvalidInputError("a lot holds at most 2^32-1 devices");
    const normalized: LotEntry[] = [];
    const indexByKey = new Map<string, number>();
    entries.forEach((entry, index) => {
      const key = checksummed(entry.key);
      if (key === undefined) {
        throw new InvalidInputError(`lot entry ${index}: key is not an address`, {
          details: { index, key: entry.key },
        });
      }
      if (!isHexString(entry.metadataHash, 32)) {
        throw new InvalidInputError(`lot entry ${index}: metadataHash is not 32 bytes of hex`, {
          details: { index, metadataHash: entry.metadataHash },
        });
      }
      if (indexByKey.has(key)) {
        throw new InvalidInputError(`lot entry ${index}: duplicate key ${key}`, { details: { index, key } });
      }
      indexByKey.set(key, index);
      normalized.push({ key, metadataHash: entry.metadataHash.toLowerCase() });
    });
    const leaves = normalized.map((entry) => standardLeafHash(LOT_LEAF_TYPES, [entry.key, entry.metadataHash]));
    return new Lot(normalized, MerkleTree.fromLeafHashes(leaves), indexByKey);
  }

  get deviceCount(): number {
    return this.entries.length;
  }

  /** The entry of `key`, or an error if the lot does not hold it. */
  entry(key: string): LotEntry {
    return this.entries[this.indexOf(key)]!;
  }

  /** The Merkle proof of `key`'s leaf. */
  proof(key: string): string[] {
    return this.tree.proof(this.indexOf(key));
  }

  private indexOf(key: string): number {
    const normalized = checksummed(key);
    const index = normalized === undefined ? undefined : this.indexByKey.get(normalized);
    if (index === undefined) throw new InvalidInputError(`the lot holds no device ${key}`, { details: { key } });
    return index;
  }
}
