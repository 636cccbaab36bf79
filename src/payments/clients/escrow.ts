/**
 * A typed client over the ConditionalEscrow contract: create, release (by the payer, relayed, by the
 * arbiter, or on a proven reading), refund and withdraw. Reverts decode into `ContractRevertError`.
 */
import { AbiCoder, keccak256 } from "ethers";
import type { ContractRunner, ContractTransactionReceipt, Signer } from "ethers";
import { ConditionalEscrow__factory } from "../../contracts";
import type { ConditionalEscrow } from "../../contracts";
import { callDecoded, eventIn, readEip712Domain, sendDecoded } from "../../contract-calls";
import { ESCROW_TYPES } from "../../eip712";
import type { Eip712Domain, Reading } from "../../eip712";
import type { Authorization } from "../../registry";
import { ETH } from "./channels";

export enum EscrowStatus {
  None = 0,
  Active = 1,
  Released = 2,
  Refunded = 3,
}

/** A release condition on an anchored reading (see `IConditionalEscrow.Condition`). */
export interface EscrowCondition {
  device: string;
  metric: string;
  minValue: bigint;
  maxValue: bigint;
  fromTimestamp: bigint;
  toTimestamp: bigint;
}

export interface CreateEscrowParams {
  payee: string;
  /** ERC-20 token, or {@link ETH}. */
  token: string;
  amount: bigint;
  deadline: bigint;
  arbiter?: string;
  condition?: EscrowCondition;
}

export interface EscrowRecord {
  escrowId: bigint;
  payer: string;
  payee: string;
  token: string;
  arbiter: string;
  amount: bigint;
  deadline: bigint;
  conditionHash: string;
  status: EscrowStatus;
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
/** The condition of an escrow without one (device zero). */
export const NO_CONDITION: EscrowCondition = {
  device: ZERO_ADDRESS,
  metric: `0x${"00".repeat(32)}`,
  minValue: 0n,
  maxValue: 0n,
  fromTimestamp: 0n,
  toTimestamp: 0n,
};

/** keccak256(abi.encode(condition)), as the contract stores it. */
export function conditionHash(condition: EscrowCondition): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["tuple(address,bytes32,int256,int256,uint64,uint64)"],
      [
        [
          condition.device,
          condition.metric,
          condition.minValue,
          condition.maxValue,
          condition.fromTimestamp,
          condition.toTimestamp,
        ],
      ],
    ),
  );
}

export class EscrowClient {
  readonly contract: ConditionalEscrow;
  private domainPromise: Promise<Eip712Domain> | undefined;

  constructor(params: { contract: ConditionalEscrow }) {
    this.contract = params.contract;
  }

  static connect(params: { address: string; runner: ContractRunner }): EscrowClient {
    return new EscrowClient({ contract: ConditionalEscrow__factory.connect(params.address, params.runner) });
  }

  connect(runner: ContractRunner): EscrowClient {
    return new EscrowClient({ contract: this.contract.connect(runner) });
  }

  domain(): Promise<Eip712Domain> {
    this.domainPromise ??= readEip712Domain(this.contract);
    return this.domainPromise;
  }

  async create(params: CreateEscrowParams): Promise<{ escrowId: bigint; receipt: ContractTransactionReceipt }> {
    const value = params.token === ETH ? params.amount : 0n;
    const input = {
      payee: params.payee,
      token: params.token,
      amount: params.amount,
      deadline: params.deadline,
      arbiter: params.arbiter ?? ZERO_ADDRESS,
      condition: params.condition ?? NO_CONDITION,
    };
    const receipt = await this.send(() => this.contract.create(input, { value }));
    return { escrowId: eventIn(this.contract, receipt, "EscrowCreated").args.escrowId as bigint, receipt };
  }

  /** Releases as the payer or arbiter; with `authorization` (the payer's signature), any account relays it. */
  release(params: { escrowId: bigint; authorization?: Authorization }): Promise<ContractTransactionReceipt> {
    const { escrowId, authorization } = params;
    return this.send(() =>
      authorization === undefined
        ? this.contract.release(escrowId)
        : this.contract.releaseBySig(escrowId, authorization.deadline, authorization.signature),
    );
  }

  /** The payer's `ReleaseEscrow` signature for a relayed release. */
  async authorizeRelease(params: { payer: Signer; escrowId: bigint; deadline: bigint }): Promise<Authorization> {
    const nonce = await callDecoded(this.contract.interface, async () =>
      this.contract.nonces(await params.payer.getAddress()),
    );
    const signature = await params.payer.signTypedData(
      await this.domain(),
      { ReleaseEscrow: [...ESCROW_TYPES.ReleaseEscrow] },
      { escrowId: params.escrowId, nonce, deadline: params.deadline },
    );
    return { deadline: params.deadline, signature };
  }

  /** Releases on a proven reading (anyone may submit it). */
  releaseByReading(params: {
    escrowId: bigint;
    condition: EscrowCondition;
    batchId: bigint;
    reading: Reading;
    signature: string;
    proof: readonly string[];
  }): Promise<ContractTransactionReceipt> {
    return this.send(() =>
      this.contract.releaseByReading(
        params.escrowId,
        params.condition,
        params.batchId,
        params.reading,
        params.signature,
        [...params.proof],
      ),
    );
  }

  refund(params: { escrowId: bigint }): Promise<ContractTransactionReceipt> {
    return this.send(() => this.contract.refund(params.escrowId));
  }

  withdraw(params: { token: string; to: string }): Promise<ContractTransactionReceipt> {
    return this.send(() => this.contract.withdraw(params.token, params.to));
  }

  async getEscrow(escrowId: bigint): Promise<EscrowRecord> {
    const e = await callDecoded(this.contract.interface, () => this.contract.getEscrow(escrowId));
    return {
      escrowId,
      payer: e.payer,
      payee: e.payee,
      token: e.token,
      arbiter: e.arbiter,
      amount: e.amount,
      deadline: e.deadline,
      conditionHash: e.conditionHash,
      status: Number(e.status) as EscrowStatus,
    };
  }

  private send(fn: Parameters<typeof sendDecoded>[1]): Promise<ContractTransactionReceipt> {
    return sendDecoded(this.contract.interface, fn);
  }
}
