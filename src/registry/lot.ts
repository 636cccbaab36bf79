/**
 * Production lots: the Merkle root that a manufacturer commits with `commitLot`, and each device's
 * proof. Leaves are OpenZeppelin standard leaves over `(address key, bytes32 metadataHash)`, as the
 * `Lots` library computes them on-chain.
 */
import { getAddress, hexlify, isHexString } from "ethers";
import { InvalidInputError } from "../errors";
import { decodeHexInto, toHex } from "../bytes";
import { MerkleTree, keccak256 } from "../merkle";
import type { MerkleTreeParts } from "../merkle";

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

/** A lot as a manufacturer builds it: its entries (for the lot file) over a {@link LotIndex}. */
export class Lot {
  readonly root: string;
  readonly entries: readonly LotEntry[];

  private constructor(
    entries: LotEntry[],
    private readonly index: LotIndex,
  ) {
    this.entries = entries;
    this.root = index.root;
  }

  /**
   * Builds a lot; rejects malformed entries (a mixed-case key needs a valid checksum) and duplicate keys.
   * Entries keep their order (the leaf order of the tree); keys are stored in lower case. Call `initKeccak()`
   * first to hash with WebAssembly.
   */
  static build(entries: readonly LotEntry[]): Lot {
    if (entries.length > 0xffffffff) throw new InvalidInputError("a lot holds at most 2^32-1 devices");
    const normalized = entries.map((entry, index): LotEntry => {
      const key = canonicalKey(entry.key);
      if (key === undefined) {
        throw new InvalidInputError(`lot entry ${index}: key is not an address`, {
          details: { index, key: entry.key },
        });
      }
      return { key, metadataHash: String(entry.metadataHash).toLowerCase() };
    });
    return new Lot(normalized, LotIndex.build(0n, normalized));
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
    return this.index.membership(this.entries[this.indexOf(key)]!.key)!.proof;
  }

  private indexOf(key: string): number {
    const normalized = canonicalKey(key);
    const index = normalized === undefined ? -1 : this.index.indexOf(normalized);
    if (index < 0) throw new InvalidInputError(`the lot holds no device ${key}`, { details: { key } });
    return index;
  }
}

// ------------------------------------------------------------------ a compact index of a big lot

const KEY = 20;
const HASH = 32;

/** What a bundle shows of an unclaimed lot entry (`device.lot`): the lot, the leaf's metadata hash, its proof. */
export interface LotEntryProof {
  lotId: bigint;
  metadataHash: string;
  proof: string[];
}

/** A {@link LotIndex}'s memory, for {@link LotIndex.fromParts} in another thread. */
export interface LotIndexParts {
  lotId: string;
  keys: Uint8Array;
  metadata: Uint8Array;
  order: Uint32Array;
  tree: MerkleTreeParts;
}

/** Compares the 20-byte keys at entries `a` and `b` of `keys`. */
function compareKeys(keys: Uint8Array, a: number, b: number): number {
  for (let i = 0; i < KEY; i++) {
    const d = keys[a * KEY + i]! - keys[b * KEY + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * A lot held for lookups by key, in about 124 bytes per entry and no object per entry: keys and metadata
 * hashes packed in leaf order, the keys' sorted order (binary search: no hash table that a chosen set of
 * keys could degrade), and the tree in shared memory, so that worker threads read it without a copy. The
 * batcher keeps one per lot whose unclaimed entries it accepts readings from.
 */
export class LotIndex {
  private readonly scratch = new Uint8Array(KEY);

  private constructor(
    readonly lotId: bigint,
    private readonly keys: Uint8Array,
    private readonly metadata: Uint8Array,
    private readonly order: Uint32Array,
    private readonly tree: MerkleTree,
  ) {}

  /**
   * Builds the index of lot `lotId` from its entries in leaf order; rejects malformed entries and duplicate
   * keys. Call `initKeccak()` first. For entries streamed from a file, use {@link LotIndexBuilder}.
   */
  static build(lotId: bigint, entries: Iterable<LotEntry>): LotIndex {
    const builder = new LotIndexBuilder();
    for (const entry of entries) builder.add(entry);
    return builder.build(lotId);
  }

  /** @internal See {@link LotIndexBuilder}. */
  static of(lotId: bigint, keys: Uint8Array, metadata: Uint8Array, order: Uint32Array, tree: MerkleTree): LotIndex {
    return new LotIndex(lotId, keys, metadata, order, tree);
  }

  /** The index whose memory is `parts` (from {@link parts}, in another thread). */
  static fromParts(parts: LotIndexParts): LotIndex {
    return new LotIndex(BigInt(parts.lotId), parts.keys, parts.metadata, parts.order, MerkleTree.fromParts(parts.tree));
  }

  /** The index's memory: shared, not copied, when posted to a worker thread. */
  parts(): LotIndexParts {
    const { keys, metadata, order, tree } = this;
    return { lotId: this.lotId.toString(), keys, metadata, order, tree: tree.parts() };
  }

  /** The lot's Merkle root (as `commitLot` committed it, if the entries are the lot's). */
  get root(): string {
    return this.tree.root;
  }

  get size(): number {
    return this.order.length;
  }

  /** The leaf index of `key` (an address, any case), or -1 when the lot does not hold it. */
  indexOf(key: string): number {
    if (!decodeHexInto(this.scratch, 0, key, KEY)) return -1;
    const { keys, order, scratch } = this;
    let low = 0;
    let high = order.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const at = order[mid]! * KEY;
      let d = 0;
      for (let i = 0; i < KEY && d === 0; i++) d = keys[at + i]! - scratch[i]!;
      if (d === 0) return order[mid]!;
      if (d < 0) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }

  /** Whether the lot holds `key`. */
  has(key: string): boolean {
    return this.indexOf(key) >= 0;
  }

  /** `key`'s entry and Merkle proof, or undefined when the lot does not hold it. */
  membership(key: string): LotEntryProof | undefined {
    const index = this.indexOf(key);
    if (index < 0) return undefined;
    return {
      lotId: this.lotId,
      metadataHash: toHex(this.metadata.subarray(index * HASH, index * HASH + HASH)),
      proof: this.tree.proof(index),
    };
  }
}

/** Builds a {@link LotIndex} one entry at a time (in leaf order), holding only packed bytes. */
export class LotIndexBuilder {
  private capacity = 1024;
  private keys = new Uint8Array(this.capacity * KEY);
  private metadata = new Uint8Array(this.capacity * HASH);
  private leaves = new Uint8Array(this.capacity * HASH);
  private readonly encoded = new Uint8Array(64);
  private count = 0;

  /** Adds the next entry (errors name it by its index). */
  add(entry: LotEntry): void {
    if (this.count === this.capacity) this.grow();
    const { count, encoded } = this;
    this.leaves.set(lotLeafBytes(entry.key, entry.metadataHash, count, encoded), count * HASH);
    this.keys.set(encoded.subarray(12, 32), count * KEY);
    this.metadata.set(encoded.subarray(32, 64), count * HASH);
    this.count++;
  }

  /** The index of the entries added so far; rejects an empty lot and duplicate keys. */
  build(lotId: bigint): LotIndex {
    const { count } = this;
    if (count === 0) throw new InvalidInputError("a lot needs at least one device");
    const shared = (bytes: Uint8Array, length: number) => {
      const out = new Uint8Array(new SharedArrayBuffer(length));
      out.set(bytes.subarray(0, length));
      return out;
    };
    const keys = shared(this.keys, count * KEY);
    const order = new Uint32Array(new SharedArrayBuffer(count * 4));
    for (let i = 0; i < count; i++) order[i] = i;
    order.sort((a, b) => compareKeys(keys, a, b) || a - b);
    for (let r = 1; r < count; r++) {
      if (compareKeys(keys, order[r - 1]!, order[r]!) === 0) {
        const key = toHex(keys.subarray(order[r]! * KEY, order[r]! * KEY + KEY));
        throw new InvalidInputError(`lot entry ${order[r]}: duplicate key ${key}`, { details: { key } });
      }
    }
    const tree = MerkleTree.fromPackedLeafHashes(this.leaves.subarray(0, count * HASH), { shared: true });
    return LotIndex.of(lotId, keys, shared(this.metadata, count * HASH), order, tree);
  }

  private grow(): void {
    this.capacity *= 2;
    const grow = (from: Uint8Array, width: number) => {
      const to = new Uint8Array(this.capacity * width);
      to.set(from);
      return to;
    };
    this.keys = grow(this.keys, KEY);
    this.metadata = grow(this.metadata, HASH);
    this.leaves = grow(this.leaves, HASH);
  }
}
