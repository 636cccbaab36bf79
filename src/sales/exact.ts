/**
 * The seller's side of x402's `exact` scheme on EVM (EIP-3009): one answer for one signed
 * `TransferWithAuthorization` of exactly its price to the seller's `payTo`, in the seller's token. A stock x402
 * client (`@x402/fetch` with `@x402/evm`'s exact client) pays it with no iotrail code.
 *
 * Trust comes from the seller's configuration only: the token, its EIP-712 domain, `payTo`, the price and the
 * chain are the seller's. The payment's echo of the requirements (`accepted`) must match them, and the
 * facilitator checks the authorization against the seller's requirements, never against the payment's: an
 * authorization signed for a look-alike token's domain, another recipient or another amount fails there.
 *
 * Verification and settlement are x402's facilitator code (`@x402/evm`'s `ExactEvmScheme`), run in-process
 * against the seller's own node ({@link localExactFacilitator}) or an outside facilitator the seller
 * configured. The order is verify, build, settle, answer: nothing is served before its transfer is final on
 * the chain (the configured confirmations), and settlements of one payer run one at a time, so two requests
 * racing on one authorization get one answer: the second finds the nonce used.
 */
import { getAddress, isAddress } from "ethers";
import type { PaymentPayload, PaymentRequirements, SettleResponse, VerifyResponse } from "@x402/core/types";
import { X402_VERSION } from "./wire";

export const EXACT_SCHEME = "exact";

/** Why an `exact` payment was not taken, where x402's facilitator has no reason of its own (x402's codes). */
export const EXACT_ERRORS = {
  /** x402's facilitator's reasons, named here where the seller finds them itself. */
  simulationFailed: "invalid_exact_evm_transaction_simulation_failed",
  nonceUsed: "invalid_exact_evm_nonce_already_used",
  balance: "invalid_exact_evm_insufficient_balance",
  /** The payment's `accepted` is not what this seller offers for this resource. */
  mismatch: "invalid_payment_requirements",
  malformed: "invalid_payload",
  version: "invalid_x402_version",
  verify: "unexpected_verify_error",
  settle: "unexpected_settle_error",
} as const;

/** What verifies and settles `exact` payments: x402's facilitator in-process, or an outside one. */
export interface ExactFacilitator {
  verify(payload: PaymentPayload, requirements: PaymentRequirements): Promise<VerifyResponse>;
  settle(payload: PaymentPayload, requirements: PaymentRequirements): Promise<SettleResponse>;
}

export interface ExactSellerOptions {
  chainId: bigint;
  /** The EIP-3009 token (the seller's configuration, never the payment's). */
  asset: string;
  /** The token's EIP-712 domain name and version, as the token itself reports them (ERC-5267). */
  domain: { name: string; version: string };
  payTo: string;
  pricePerReading: bigint;
  facilitator: ExactFacilitator;
  /** Seconds an authorization must stay valid for (x402's `maxTimeoutSeconds`; default 120). */
  maxTimeoutSeconds?: number;
  /**
   * Reads of the seller's token, to name why a simulation failed where x402's facilitator cannot (it asks
   * Multicall3, which development chains lack): a nonce used already, or a balance short of the price.
   */
  token?: {
    authorizationState(authorizer: string, nonce: string): Promise<boolean>;
    balanceOf(owner: string): Promise<bigint>;
  };
}

/** An `exact` payment verified for one answer, to be settled by {@link ExactSeller.settle} before it goes out. */
export interface ExactSale {
  payload: PaymentPayload;
  requirements: PaymentRequirements;
  payer: string;
}

export type ExactAuthorization = { status: "paid"; sale: ExactSale } | { status: "required"; error: string };
export type ExactSettlement = { status: "settled"; response: SettleResponse } | { status: "required"; error: string };

export class ExactSeller {
  private readonly options: ExactSellerOptions;
  /** The settlement in flight (or last) per payer: the next one of that payer waits for it. */
  private readonly settling = new Map<string, Promise<unknown>>();

  constructor(options: ExactSellerOptions) {
    this.options = { ...options, asset: getAddress(options.asset), payTo: getAddress(options.payTo) };
  }

  get network(): `${string}:${string}` {
    return `eip155:${this.options.chainId}`;
  }

  /** What an answer of `readings` readings costs, as x402 `exact` requirements. */
  requirements(readings: number): PaymentRequirements {
    return {
      scheme: EXACT_SCHEME,
      network: this.network,
      asset: this.options.asset,
      amount: (this.options.pricePerReading * BigInt(readings)).toString(),
      payTo: this.options.payTo,
      maxTimeoutSeconds: this.options.maxTimeoutSeconds ?? 120,
      extra: {
        name: this.options.domain.name,
        version: this.options.domain.version,
        assetTransferMethod: "eip3009",
        pricePerReading: this.options.pricePerReading.toString(),
        readings,
      },
    };
  }

  /**
   * Checks an `exact` payment for an answer of `readings` readings: its echo of the requirements is this
   * seller's offer, and x402's facilitator verifies the authorization (signature under the token's domain,
   * recipient, value, validity window, unused nonce, balance) against the seller's requirements.
   */
  async authorize(payment: PaymentPayload, readings: number): Promise<ExactAuthorization> {
    if (payment.x402Version !== X402_VERSION) return { status: "required", error: EXACT_ERRORS.version };
    const requirements = this.requirements(readings);
    if (!this.matches(payment.accepted, requirements)) return { status: "required", error: EXACT_ERRORS.mismatch };
    const from = (payment.payload as { authorization?: { from?: unknown } } | undefined)?.authorization?.from;
    if (typeof from !== "string" || !isAddress(from)) return { status: "required", error: EXACT_ERRORS.malformed };
    let verified: VerifyResponse;
    try {
      verified = await this.options.facilitator.verify(payment, requirements);
    } catch {
      return { status: "required", error: EXACT_ERRORS.verify };
    }
    if (!verified.isValid) return { status: "required", error: await this.reason(payment, verified.invalidReason) };
    return { status: "paid", sale: { payload: payment, requirements, payer: getAddress(from) } };
  }

  /**
   * Settles the sale on the chain and waits until it is final; only then may the answer go out. One payer's
   * settlements run one at a time; the facilitator verifies again before it submits, so a second request on
   * an authorization already settled fails with the nonce used.
   */
  async settle(sale: ExactSale): Promise<ExactSettlement> {
    const previous = this.settling.get(sale.payer) ?? Promise.resolve();
    const run = previous.then(
      () => this.settleNow(sale),
      () => this.settleNow(sale),
    );
    this.settling.set(sale.payer, run);
    try {
      return await run;
    } finally {
      if (this.settling.get(sale.payer) === run) this.settling.delete(sale.payer);
    }
  }

  private async settleNow(sale: ExactSale): Promise<ExactSettlement> {
    let settled: SettleResponse;
    try {
      settled = await this.options.facilitator.settle(sale.payload, sale.requirements);
    } catch {
      return { status: "required", error: EXACT_ERRORS.settle };
    }
    if (!settled.success) return { status: "required", error: await this.reason(sale.payload, settled.errorReason) };
    return { status: "settled", response: { ...settled, amount: sale.requirements.amount } };
  }

  /** The facilitator's reason, or a precise one for a failed simulation when the token says why. */
  private async reason(payment: PaymentPayload, reason: string | undefined): Promise<string> {
    const token = this.options.token;
    if (reason !== EXACT_ERRORS.simulationFailed || token === undefined) return reason ?? EXACT_ERRORS.verify;
    const authorization = (payment.payload as { authorization?: { from?: string; nonce?: string; value?: string } })
      .authorization;
    try {
      if (await token.authorizationState(authorization!.from!, authorization!.nonce!)) return EXACT_ERRORS.nonceUsed;
      if ((await token.balanceOf(authorization!.from!)) < BigInt(authorization!.value!)) return EXACT_ERRORS.balance;
    } catch {
      // a malformed authorization, or the node did not answer: the facilitator's reason stands
    }
    return reason;
  }

  private matches(accepted: Partial<PaymentRequirements> | undefined, offered: PaymentRequirements): boolean {
    return (
      accepted?.scheme === offered.scheme &&
      accepted.network === offered.network &&
      typeof accepted.asset === "string" &&
      isAddress(accepted.asset) &&
      getAddress(accepted.asset) === offered.asset &&
      typeof accepted.payTo === "string" &&
      isAddress(accepted.payTo) &&
      getAddress(accepted.payTo) === offered.payTo &&
      accepted.amount === offered.amount
    );
  }
}
