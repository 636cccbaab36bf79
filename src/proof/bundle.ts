/**
 * Proof bundles: one self-contained JSON document per device (one reading, or a contiguous range of its
 * sequence numbers) that a partner verifies against the chain without the batcher's server. The format
 * is versioned and published as a JSON Schema (`schemas/proof-bundle.v1.schema.json`).
 */
import { getAddress } from "ethers";
import { InvalidInputError } from "../errors";
import type { AnchoredBatch } from "../anchor";
import { readingToJson } from "../telemetry";
import type { ReadingBatch, ReadingJson } from "../telemetry";

export const PROOF_BUNDLE_VERSION = 1;
export const PROOF_BUNDLE_KIND = "iotrail.proof-bundle";

export interface BundleBatch {
  batchId: string;
  root: string;
  readingCount?: number;
  transactionHash: string;
  blockNumber: number;
  blockHash: string;
  anchoredAt?: string;
}

export interface BundleReading {
  reading: ReadingJson;
  signature: string;
  batchId: string;
  proof: string[];
}

export interface LotMembership {
  lotId: string;
  metadataHash: string;
  proof: string[];
}

export interface ProofBundle {
  version: typeof PROOF_BUNDLE_VERSION;
  kind: typeof PROOF_BUNDLE_KIND;
  chainId: string;
  anchor: string;
  registry: string;
  device: { key: string; lot?: LotMembership };
  range?: { fromSequence: string; toSequence: string };
  batches: BundleBatch[];
  readings: BundleReading[];
}

/** One anchored batch and which of its readings go into the bundle. */
export interface BundleSource {
  batch: ReadingBatch;
  anchored: AnchoredBatch & { anchoredAt?: bigint };
  /** Indices of the readings in `batch`. */
  indices: readonly number[];
}

export interface BuildBundleParams {
  chainId: bigint;
  anchor: string;
  registry: string;
  sources: readonly BundleSource[];
  /** For an unclaimed lot entry: its lot membership. */
  lot?: { lotId: bigint; metadataHash: string; proof: readonly string[] };
  /** Claim this contiguous range; by default the bundle claims the range from its lowest to highest sequence. */
  range?: { fromSequence: bigint; toSequence: bigint };
}

/** Builds a bundle of one device's readings from anchored batches. */
export function buildProofBundle(params: BuildBundleParams): ProofBundle {
  const readings: BundleReading[] = [];
  const batches: BundleBatch[] = [];
  for (const { batch, anchored, indices } of params.sources) {
    if (batch.root !== anchored.root.toLowerCase()) {
      throw new InvalidInputError("a bundle source's batch and anchor record have different roots", {
        details: { batch: batch.root, anchored: anchored.root },
      });
    }
    batches.push({
      batchId: anchored.batchId.toString(),
      root: anchored.root.toLowerCase(),
      readingCount: batch.length,
      transactionHash: anchored.transactionHash.toLowerCase(),
      blockNumber: anchored.blockNumber,
      blockHash: anchored.blockHash.toLowerCase(),
      ...(anchored.anchoredAt === undefined ? {} : { anchoredAt: anchored.anchoredAt.toString() }),
    });
    for (const index of indices) {
      const { reading, signature } = batch.readings[index]!;
      readings.push({
        reading: readingToJson(reading),
        signature: signature.toLowerCase(),
        batchId: anchored.batchId.toString(),
        proof: batch.proof(index),
      });
    }
  }
  if (readings.length === 0) throw new InvalidInputError("a bundle needs at least one reading");
  const key = getAddress(readings[0]!.reading.device);
  if (readings.some((r) => getAddress(r.reading.device) !== key)) {
    throw new InvalidInputError("a bundle holds the readings of one device");
  }
  readings.sort((a, b) => (BigInt(a.reading.sequence) < BigInt(b.reading.sequence) ? -1 : 1));
  const range = params.range ?? {
    fromSequence: BigInt(readings[0]!.reading.sequence),
    toSequence: BigInt(readings[readings.length - 1]!.reading.sequence),
  };
  return {
    version: PROOF_BUNDLE_VERSION,
    kind: PROOF_BUNDLE_KIND,
    chainId: params.chainId.toString(),
    anchor: getAddress(params.anchor),
    registry: getAddress(params.registry),
    device: {
      key,
      ...(params.lot === undefined
        ? {}
        : {
            lot: {
              lotId: params.lot.lotId.toString(),
              metadataHash: params.lot.metadataHash.toLowerCase(),
              proof: params.lot.proof.map((node) => node.toLowerCase()),
            },
          }),
    },
    range: { fromSequence: range.fromSequence.toString(), toSequence: range.toSequence.toString() },
    batches,
    readings,
  };
}
