/**
 * A batch of signed readings: the Merkle tree over their leaves, the header to anchor, proofs, and the
 * versioned batch dump from which the same tree (and root) is rebuilt.
 */
import { hexlify } from "ethers";
import { InvalidInputError } from "../errors";
import type { BatchHeader } from "../anchor";
import { MerkleTree, initKeccak, keccak256 } from "../merkle";
import type { MultiProof } from "../merkle";
import { parseReading, readingLeafBytes, readingToJson } from "./reading";
import type { Reading, ReadingJson } from "./reading";

/** A reading with its device's EIP-712 signature. */
export interface SignedReading {
  reading: Reading;
  signature: string;
}

/** Format version of {@link BatchDump}. */
export const BATCH_DUMP_VERSION = 1;

/** The published data of a batch: enough to rebuild its tree and every proof. */
export interface BatchDump {
  version: typeof BATCH_DUMP_VERSION;
  kind: "iotrail.batch";
  root: string;
  readings: { reading: ReadingJson; signature: string }[];
}

const key = (device: string, sequence: bigint): string => `${device.toLowerCase()}:${sequence}`;

export class ReadingBatch {
  readonly readings: readonly SignedReading[];
  readonly tree: MerkleTree;
  private readonly indexByKey: Map<string, number>;

  private constructor(readings: SignedReading[], tree: MerkleTree, indexByKey: Map<string, number>) {
    this.readings = readings;
    this.tree = tree;
    this.indexByKey = indexByKey;
  }

  /**
   * Builds a batch in the given order (the order is part of the batch: the same readings in the same order
   * always give the same root). Rejects an empty batch and two readings with the same (device, sequence).
   * Signatures are carried, not checked: the batcher checks them at ingest.
   */
  static async build(readings: readonly SignedReading[]): Promise<ReadingBatch> {
    if (readings.length === 0) throw new InvalidInputError("a batch needs at least one reading");
    await initKeccak();
    const packed = new Uint8Array(readings.length * 32);
    const indexByKey = new Map<string, number>();
    readings.forEach(({ reading }, index) => {
      const k = key(reading.device, reading.sequence);
      if (indexByKey.has(k)) {
        throw new InvalidInputError(`reading ${index} repeats device ${reading.device} sequence ${reading.sequence}`, {
          details: { index, device: reading.device, sequence: reading.sequence.toString() },
        });
      }
      indexByKey.set(k, index);
      packed.set(readingLeafBytes(reading), index * 32);
    });
    return new ReadingBatch([...readings], MerkleTree.fromPackedLeafHashes(packed), indexByKey);
  }

  get root(): string {
    return this.tree.root;
  }

  get length(): number {
    return this.readings.length;
  }

  /** Index of the reading of `device` with `sequence`, or undefined. */
  indexOf(device: string, sequence: bigint): number | undefined {
    return this.indexByKey.get(key(device, sequence));
  }

  proof(index: number): string[] {
    return this.tree.proof(index);
  }

  multiProof(indices: readonly number[]): MultiProof {
    return this.tree.multiProof(indices);
  }

  /** The header to anchor; `contentHash` defaults to the keccak-256 of {@link dumpJson}. */
  header(params: { contentURI?: string; contentHash?: string } = {}): BatchHeader {
    let from = this.readings[0]!.reading.timestamp;
    let to = from;
    for (const { reading } of this.readings) {
      if (reading.timestamp < from) from = reading.timestamp;
      if (reading.timestamp > to) to = reading.timestamp;
    }
    return {
      root: this.root,
      readingCount: this.length,
      fromTimestamp: from,
      toTimestamp: to,
      contentHash: params.contentHash ?? ReadingBatch.contentHashOf(this.dumpJson()),
      contentURI: params.contentURI ?? "",
    };
  }

  dump(): BatchDump {
    return {
      version: BATCH_DUMP_VERSION,
      kind: "iotrail.batch",
      root: this.root,
      readings: this.readings.map(({ reading, signature }) => ({ reading: readingToJson(reading), signature })),
    };
  }

  /** The dump as canonical JSON text (the bytes that `contentHash` covers). */
  dumpJson(): string {
    return ReadingBatch.dumpJsonOf(
      this.root,
      this.readings.map(({ reading, signature }) => ({ body: JSON.stringify(readingToJson(reading)), signature })),
    );
  }

  /**
   * The canonical dump text from each reading's canonical JSON (`JSON.stringify(readingToJson(r))`) and
   * signature: what {@link dumpJson} gives, without rebuilding the readings (the batcher seals with it).
   */
  static dumpJsonOf(root: string, entries: readonly { body: string; signature: string }[]): string {
    const head = JSON.stringify({ version: BATCH_DUMP_VERSION, kind: "iotrail.batch", root, readings: [] });
    const items = entries.map(({ body, signature }) => `{"reading":${body},"signature":${JSON.stringify(signature)}}`);
    return `${head.slice(0, -2)}${items.join(",")}]}`;
  }

  /** keccak-256 of a dump text: a batch's on-chain `contentHash`. */
  static contentHashOf(dumpJson: string): string {
    return hexlify(keccak256(new TextEncoder().encode(dumpJson)));
  }

  /** Rebuilds a batch from its dump, refusing a dump whose readings do not give its root. */
  static async load(input: unknown): Promise<ReadingBatch> {
    const dump = (typeof input === "string" ? parseJson(input) : input) as Partial<BatchDump> | null;
    if (typeof dump !== "object" || dump === null) throw new InvalidInputError("a batch dump is a JSON object");
    if (dump.version !== BATCH_DUMP_VERSION || dump.kind !== "iotrail.batch") {
      throw new InvalidInputError(`unsupported batch dump (kind ${dump.kind}, version ${dump.version})`, {
        details: { kind: dump.kind, version: dump.version, supported: [BATCH_DUMP_VERSION] },
      });
    }
    if (!Array.isArray(dump.readings)) throw new InvalidInputError("batch dump readings must be an array");
    const readings = dump.readings.map((entry: unknown, i) => {
      const item = entry as { reading?: unknown; signature?: unknown } | null;
      if (typeof item?.signature !== "string") {
        throw new InvalidInputError(`readings[${i}].signature is missing`, { details: { index: i } });
      }
      const reading = parseReading(item.reading, `readings[${i}].reading`);
      return { reading, signature: item.signature };
    });
    const batch = await ReadingBatch.build(readings);
    if (batch.root !== String(dump.root).toLowerCase()) {
      throw new InvalidInputError("batch dump is corrupt: its readings do not rebuild its root", {
        details: { expected: dump.root, rebuilt: batch.root },
      });
    }
    return batch;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new InvalidInputError("batch dump is not valid JSON", { cause });
  }
}
