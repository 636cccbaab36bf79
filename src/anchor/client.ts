/**
 * A typed client over the TelemetryAnchor contract: anchor batch roots, read anchor records and check
 * readings on-chain. Reverts decode into `ContractRevertError`.
 */
import type { ContractRunner, TransactionReceipt } from "ethers";
import { TelemetryAnchor__factory } from "../contracts";
import type { TelemetryAnchor } from "../contracts";
import { callDecoded, eventsIn, readEip712Domain, sendDecoded } from "../contract-calls";
import type { Eip712Domain, Reading } from "../eip712";
import type { MultiProof } from "../merkle";

/** A batch to anchor (see `ITelemetryAnchor.BatchInput`). */
export interface BatchHeader {
  root: string;
  readingCount: number;
  fromTimestamp: bigint;
  toTimestamp: bigint;
  contentHash: string;
  contentURI: string;
}

/** Where and when a root was anchored, from the anchoring transaction. */
export interface AnchoredBatch {
  batchId: bigint;
  root: string;
  submitter: string;
  transactionHash: string;
  blockNumber: number;
  blockHash: string;
}

/** The contract's stored record of a root; `batchId` 0 means "not anchored". */
export interface AnchorRecord {
  submitter: string;
  batchId: bigint;
  anchoredAt: bigint;
  /** The registry's change count within `anchoredAt`'s second when the root was anchored. */
  registrySeq: bigint;
  /** The registry moment of the anchoring, `(anchoredAt << 16) | registrySeq`: device validity is judged there. */
  anchoredMoment: bigint;
}

/** A registry moment: a chain time and a position among the registry's changes within that second. */
export function registryMoment(timestamp: bigint, seq: bigint): bigint {
  return (timestamp << 16n) | seq;
}

export class TelemetryAnchorClient {
  readonly contract: TelemetryAnchor;
  private domainPromise: Promise<Eip712Domain> | undefined;

  constructor(params: { contract: TelemetryAnchor }) {
    this.contract = params.contract;
  }

  static connect(params: { address: string; runner: ContractRunner }): TelemetryAnchorClient {
    return new TelemetryAnchorClient({ contract: TelemetryAnchor__factory.connect(params.address, params.runner) });
  }

  /** The EIP-712 domain devices sign readings under, read once from ERC-5267 `eip712Domain()`. */
  domain(): Promise<Eip712Domain> {
    this.domainPromise ??= readEip712Domain(this.contract);
    return this.domainPromise;
  }

  /** Anchors one batch; returns its id and the transaction's coordinates. */
  async anchor(batch: BatchHeader): Promise<AnchoredBatch> {
    const receipt = await sendDecoded(this.contract.interface, () => this.contract.anchor(batch));
    return this.anchored(receipt)[0]!;
  }

  /** Anchors several batches in one transaction, with consecutive ids. */
  async anchorMany(batches: readonly BatchHeader[]): Promise<AnchoredBatch[]> {
    const receipt = await sendDecoded(this.contract.interface, () => this.contract.anchorMany([...batches]));
    return this.anchored(receipt);
  }

  async getAnchor(root: string): Promise<AnchorRecord> {
    const record = await callDecoded(this.contract.interface, () => this.contract.getAnchor(root));
    return {
      submitter: record.submitter,
      batchId: record.batchId,
      anchoredAt: record.anchoredAt,
      registrySeq: record.registrySeq,
      anchoredMoment: registryMoment(record.anchoredAt, record.registrySeq),
    };
  }

  batchCount(): Promise<bigint> {
    return callDecoded(this.contract.interface, () => this.contract.batchCount());
  }

  /** On-chain inclusion check of one reading. */
  verifyReading(params: { batchId: bigint; reading: Reading; proof: readonly string[] }): Promise<boolean> {
    return callDecoded(this.contract.interface, () =>
      this.contract.verifyReading(params.batchId, params.reading, [...params.proof]),
    );
  }

  /** On-chain inclusion check of several readings with one multiproof (readings in the proof's order). */
  verifyReadings(params: {
    batchId: bigint;
    readings: readonly Reading[];
    multiProof: Pick<MultiProof, "proof" | "proofFlags">;
  }): Promise<boolean> {
    return callDecoded(this.contract.interface, () =>
      this.contract.verifyReadings(
        params.batchId,
        [...params.readings],
        params.multiProof.proof,
        params.multiProof.proofFlags,
      ),
    );
  }

  /** Full on-chain check (signature, inclusion, device validity at anchoring time); reverts decode. */
  checkProvenReading(params: {
    batchId: bigint;
    reading: Reading;
    signature: string;
    proof: readonly string[];
  }): Promise<bigint> {
    return callDecoded(this.contract.interface, () =>
      this.contract.checkProvenReading(params.batchId, params.reading, params.signature, [...params.proof]),
    );
  }

  /** The `BatchAnchored` events of `receipt` (a receipt of any transaction), in log order. */
  anchored(receipt: TransactionReceipt): AnchoredBatch[] {
    return eventsIn(this.contract, receipt, "BatchAnchored").map((log) => ({
      batchId: log.args.batchId as bigint,
      root: log.args.root as string,
      submitter: log.args.submitter as string,
      transactionHash: receipt.hash,
      blockNumber: receipt.blockNumber,
      blockHash: receipt.blockHash,
    }));
  }
}
