/**
 * A relayer for devices that hold no ETH: it submits their signed messages (vouchers, relayed closes,
 * channel openings with a permit, escrow releases, proven readings) from its own funded account and
 * reports each outcome as plain data. The contracts check every signature themselves; the relayer only
 * pays gas. A request that would revert is caught by a pre-flight estimate and reported as `rejected`
 * without sending anything.
 */
import { Interface } from "ethers";
import type { ContractTransaction, Signer } from "ethers";
import { ConditionalEscrow__factory, PaymentChannels__factory, TelemetryAnchor__factory } from "../../contracts";
import type { ConditionalEscrow, PaymentChannels } from "../../contracts";
import { ContractRevertError, IotrailError, InvalidInputError, decodeContractError } from "../../errors";
import type { Reading } from "../../eip712";
import type { Authorization } from "../../registry";
import { readChannelTerms } from "./channels";
import type { OpenChannelParams } from "./channels";
import type { EscrowCondition } from "./escrow";

export type RelayRequest =
  | { kind: "redeem"; channelId: bigint; amount: bigint; signature: string }
  | { kind: "closeChannel"; channelId: bigint; amount: bigint; voucherSignature: string; authorization: Authorization }
  | { kind: "startClose"; channelId: bigint; authorization: Authorization }
  | {
      kind: "openChannel";
      channel: OpenChannelParams;
      authorization: {
        funder: string;
        deadline: bigint;
        signature: string;
        permit: { deadline: bigint; v: number; r: string; s: string };
        /** The channel's salt, which the funder's `OpenChannel` signature covers. */
        salt: string;
      };
    }
  | { kind: "releaseEscrow"; escrowId: bigint; authorization: Authorization }
  | {
      kind: "releaseByReading";
      escrowId: bigint;
      condition: EscrowCondition;
      batchId: bigint;
      reading: Reading;
      signature: string;
      proof: readonly string[];
    };

export interface RelayError {
  code: string;
  message: string;
  /** The contract's custom error, when the revert decodes. */
  errorName?: string;
  args?: Record<string, string>;
}

export type RelayOutcome =
  | { kind: RelayRequest["kind"]; status: "confirmed"; transactionHash: string; blockNumber: number; gasUsed: string }
  | { kind: RelayRequest["kind"]; status: "rejected"; error: RelayError }
  | { kind: RelayRequest["kind"]; status: "failed"; error: RelayError; transactionHash?: string };

/** Every custom error the relayed calls can raise (the escrow's calls also raise the anchor's). */
const ERRORS = new Interface(
  [...PaymentChannels__factory.abi, ...ConditionalEscrow__factory.abi, ...TelemetryAnchor__factory.abi].filter(
    (fragment, index, all) =>
      fragment.type === "error" &&
      all.findIndex((other) => other.type === "error" && other.name === fragment.name) === index,
  ),
);

function toRelayError(error: unknown): RelayError {
  const decoded: IotrailError = decodeContractError(error, ERRORS);
  if (decoded instanceof ContractRevertError) {
    const args = Object.fromEntries(Object.entries(decoded.args).map(([name, value]) => [name, String(value)]));
    return { code: decoded.code, message: decoded.message, errorName: decoded.errorName, args };
  }
  return { code: decoded.code, message: decoded.message };
}

export class Relayer {
  private readonly signer: Signer;
  private readonly channels: PaymentChannels | undefined;
  private readonly escrow: ConditionalEscrow | undefined;

  constructor(params: { signer: Signer; channels?: string; escrow?: string }) {
    this.signer = params.signer;
    this.channels =
      params.channels === undefined ? undefined : PaymentChannels__factory.connect(params.channels, params.signer);
    this.escrow =
      params.escrow === undefined ? undefined : ConditionalEscrow__factory.connect(params.escrow, params.signer);
  }

  /** Submits one request and reports what happened; contract errors are reported, not thrown. */
  async submit(request: RelayRequest): Promise<RelayOutcome> {
    const { kind } = request;
    let tx: ContractTransaction;
    try {
      tx = await this.populate(request);
    } catch (error) {
      return { kind, status: "rejected", error: toRelayError(error) };
    }
    let gasLimit: bigint;
    try {
      gasLimit = ((await this.signer.estimateGas(tx)) * 12n) / 10n;
    } catch (error) {
      return { kind, status: "rejected", error: toRelayError(error) };
    }
    let hash: string | undefined;
    try {
      const response = await this.signer.sendTransaction({ ...tx, gasLimit });
      hash = response.hash;
      const receipt = await response.wait();
      if (receipt === null) throw new Error("the transaction was dropped");
      return {
        kind,
        status: "confirmed",
        transactionHash: receipt.hash,
        blockNumber: receipt.blockNumber,
        gasUsed: receipt.gasUsed.toString(),
      };
    } catch (error) {
      return {
        kind,
        status: "failed",
        error: toRelayError(error),
        ...(hash === undefined ? {} : { transactionHash: hash }),
      };
    }
  }

  private async populate(request: RelayRequest): Promise<ContractTransaction> {
    switch (request.kind) {
      case "redeem": {
        const channels = this.channelsContract();
        const terms = await readChannelTerms(channels, request.channelId);
        return channels.redeem.populateTransaction(terms, request.amount, request.signature);
      }
      case "closeChannel": {
        const channels = this.channelsContract();
        return channels.closeBySig.populateTransaction(
          await readChannelTerms(channels, request.channelId),
          request.amount,
          request.voucherSignature,
          request.authorization.deadline,
          request.authorization.signature,
        );
      }
      case "startClose": {
        const channels = this.channelsContract();
        return channels.startCloseBySig.populateTransaction(
          await readChannelTerms(channels, request.channelId),
          request.authorization.deadline,
          request.authorization.signature,
        );
      }
      case "openChannel": {
        const { channel, authorization } = request;
        const params = { ...channel, cap: channel.cap ?? 0n, expiry: channel.expiry ?? 0n, salt: authorization.salt };
        return this.channelsContract().openBySig.populateTransaction(
          authorization.funder,
          params,
          authorization.deadline,
          authorization.signature,
          authorization.permit,
        );
      }
      case "releaseEscrow":
        return this.escrowContract().releaseBySig.populateTransaction(
          request.escrowId,
          request.authorization.deadline,
          request.authorization.signature,
        );
      case "releaseByReading":
        return this.escrowContract().releaseByReading.populateTransaction(
          request.escrowId,
          request.condition,
          request.batchId,
          request.reading,
          request.signature,
          [...request.proof],
        );
    }
  }

  private channelsContract(): PaymentChannels {
    if (this.channels === undefined) throw new InvalidInputError("this relayer has no PaymentChannels address");
    return this.channels;
  }

  private escrowContract(): ConditionalEscrow {
    if (this.escrow === undefined) throw new InvalidInputError("this relayer has no ConditionalEscrow address");
    return this.escrow;
  }
}
