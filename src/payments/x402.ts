/**
 * Data for payment over HTTP 402, on x402's wire (version 2): a `PAYMENT-REQUIRED` header (and body) with the
 * price and the channel terms the seller accepts, a `PAYMENT-SIGNATURE` request header carrying a payment
 * payload, and a `PAYMENT-RESPONSE` header on the paid answer. The headers are base64 JSON, encoded and
 * decoded by `@x402/core`.
 *
 * The scheme is `iotrail-channel`: a cumulative voucher over an iotrail PaymentChannels channel. It follows
 * x402's `batch-settlement` scheme where the contracts allow (cumulative vouchers, deterministic channel
 * ids, `amount == charged + price`, a corrective 402 with the channel's state and the last signed voucher),
 * and differs where they do not: the channel's terms are iotrail's (a registry-vetted device key signs
 * vouchers, with a cap and an expiry, no receiver authorizer), the voucher is iotrail's `Voucher(channelId,
 * amount)`, and the seller verifies against the chain itself instead of calling a facilitator.
 */
import { getAddress, getBytes, isAddress, isHexString } from "ethers";
import type { Signer } from "ethers";
import {
  decodePaymentSignatureHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
} from "@x402/core/http";
import { x402Client, x402HTTPClient } from "@x402/core/client";
import type { PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse } from "@x402/core/types";
import { IotrailError } from "../errors";
import type { DeviceKey } from "../device";
import { channelIdOf, voucherDigestBytes } from "../eip712";
import type { Eip712Domain } from "../eip712";
import { recoverSigner } from "../crypto";
import { ChannelStatus, channelTermsOf, formatChannelId } from "./channels";
import type { PaymentChannelsClient } from "./channels";
import type { ChannelTerms } from "./channels";
import { VoucherBook, VoucherRejectedError } from "./voucher-book";
import type { VoucherStore } from "./voucher-store";

export const X402_VERSION = 2;
export const IOTRAIL_CHANNEL_SCHEME = "iotrail-channel";
export const PAYMENT_REQUIRED_HEADER = "payment-required";
export const PAYMENT_SIGNATURE_HEADER = "payment-signature";
export const PAYMENT_RESPONSE_HEADER = "payment-response";

/** Why a payment was not taken (the `error` of a 402), in x402's `invalid_<scheme>_<reason>` style. */
export const PAYMENT_ERRORS = {
  required: "payment_required",
  malformed: "invalid_iotrail_channel_payload",
  mismatch: "invalid_iotrail_channel_requirements_mismatch",
  unknown: "invalid_iotrail_channel_channel_not_found",
  notOpen: "invalid_iotrail_channel_channel_not_open",
  voucher: "invalid_iotrail_channel_voucher",
  cumulative: "invalid_iotrail_channel_cumulative_amount_mismatch",
} as const;

/** A channel's state as the seller sees it (`extra.channelState` of a corrective 402 and a payment response). */
export interface ChannelState {
  channelId: string;
  deposit: string;
  paid: string;
  /** What service was charged against the channel so far: the next voucher is for this plus the price. */
  charged: string;
}

/** The payload of an `iotrail-channel` payment. */
export interface ChannelPaymentPayload {
  type: "voucher";
  channel: { payer: string; payee: string; signer: string; token: string; cap: string; expiry: string; salt: string };
  voucher: { channelId: string; amount: string; signature: string };
}

export interface SellerOptions {
  chainId: bigint;
  /** The PaymentChannels contract, read over the seller's provider. */
  channels: PaymentChannelsClient;
  /** The payee of accepted channels. */
  payee: string;
  /** The token of accepted channels ({@link ETH} for ETH). */
  token: string;
  /** The price of one reading in the token's base units. */
  pricePerReading: bigint;
  store: VoucherStore;
  /** Seconds a buyer has to pay (x402's `maxTimeoutSeconds`; default 60). */
  maxTimeoutSeconds?: number;
  /**
   * Channels whose expiry is this close (seconds; default 3,600) take no more vouchers: the payee's watcher
   * needs the time to claim them.
   */
  expiryMarginSeconds?: bigint;
  /** Chain time in seconds (default: the latest block's). */
  now?: () => Promise<bigint>;
}

/** A payment verified for one answer, to be recorded by {@link ChannelSeller.settle} before the answer goes out. */
export interface Sale {
  channelId: bigint;
  terms: ChannelTerms;
  amount: bigint;
  signature: string;
  price: bigint;
  /** The stored charge the sale builds on (0 for a channel never charged here). */
  previousCharged: bigint;
  deposit: bigint;
  paid: bigint;
}

export type SaleAuthorization =
  { status: "paid"; sale: Sale } | { status: "required"; paymentRequired: PaymentRequired };

const uintString = (value: unknown): value is string => typeof value === "string" && /^[0-9]{1,78}$/.test(value);

/** The seller's side: prices an answer, checks a payment against the chain and the store, records it. */
export class ChannelSeller {
  private readonly options: SellerOptions;
  private domain: Promise<Eip712Domain> | undefined;

  constructor(options: SellerOptions) {
    this.options = { ...options, payee: getAddress(options.payee), token: getAddress(options.token) };
  }

  get network(): `${string}:${string}` {
    return `eip155:${this.options.chainId}`;
  }

  /** What an answer of `readings` readings costs, as x402 payment requirements. */
  requirements(readings: number, extra: Record<string, unknown> = {}): PaymentRequirements {
    return {
      scheme: IOTRAIL_CHANNEL_SCHEME,
      network: this.network,
      asset: this.options.token,
      amount: (this.options.pricePerReading * BigInt(readings)).toString(),
      payTo: this.options.payee,
      maxTimeoutSeconds: this.options.maxTimeoutSeconds ?? 60,
      extra: {
        paymentChannels: String(this.options.channels.contract.target),
        pricePerReading: this.options.pricePerReading.toString(),
        readings,
        ...extra,
      },
    };
  }

  /** A 402 answer: the requirements, the error, and (corrective) the channel's state. */
  paymentRequired(url: string, readings: number, error: string, extra: Record<string, unknown> = {}): PaymentRequired {
    return {
      x402Version: X402_VERSION,
      error,
      resource: { url, description: `${readings} anchored reading(s) with their proofs`, mimeType: "application/json" },
      accepts: [this.requirements(readings, extra)],
    };
  }

  /**
   * Checks the `PAYMENT-SIGNATURE` header of a request for an answer of `readings` readings: the channel's
   * terms name this payee and token, the channel is open on the chain, the voucher is its signer's and is for
   * exactly what was charged plus the price. Anything else yields the 402 to answer with.
   */
  async authorize(header: string | undefined, url: string, readings: number): Promise<SaleAuthorization> {
    const required = (error: string, extra?: Record<string, unknown>): SaleAuthorization => ({
      status: "required",
      paymentRequired: this.paymentRequired(url, readings, error, extra),
    });
    if (header === undefined || header === "") return required(PAYMENT_ERRORS.required);
    let payment: PaymentPayload;
    try {
      payment = decodePaymentSignatureHeader(header);
    } catch {
      return required(PAYMENT_ERRORS.malformed);
    }
    const offered = this.requirements(readings);
    const accepted = payment.accepted as Partial<PaymentRequirements> | undefined;
    if (
      payment.x402Version !== X402_VERSION ||
      accepted?.scheme !== offered.scheme ||
      accepted.network !== offered.network ||
      !isAddress(accepted.asset ?? "") ||
      getAddress(accepted.asset!) !== offered.asset ||
      !isAddress(accepted.payTo ?? "") ||
      getAddress(accepted.payTo!) !== offered.payTo ||
      accepted.amount !== offered.amount
    ) {
      return required(PAYMENT_ERRORS.mismatch);
    }
    const parsed = parsePayload(payment.payload);
    if (parsed === undefined) return required(PAYMENT_ERRORS.malformed);
    const { terms, amount, signature, channelId: claimedId } = parsed;
    if (terms.payee !== this.options.payee || terms.token !== this.options.token) {
      return required(PAYMENT_ERRORS.mismatch);
    }
    this.domain ??= this.options.channels.domain();
    const channelId = channelIdOf(await this.domain, terms);
    if (channelId !== claimedId) return required(PAYMENT_ERRORS.malformed);

    const [onChain, stored, now] = await Promise.all([
      this.options.channels.contract.getChannel(channelId),
      this.options.store.get(channelId),
      this.options.now?.() ?? this.latestBlockTime(),
    ]);
    const status = Number(onChain.status) as ChannelStatus;
    if (status === ChannelStatus.None) return required(PAYMENT_ERRORS.unknown);
    // A closing channel, or one about to expire, could not be claimed in time: it pays for nothing more.
    const margin = this.options.expiryMarginSeconds ?? 3_600n;
    if (status !== ChannelStatus.Open || (terms.expiry !== 0n && terms.expiry < now + margin)) {
      return required(PAYMENT_ERRORS.notOpen);
    }
    const price = BigInt(offered.amount);
    // Without a record here (a new buyer, or a seller that lost its state), what was paid on the chain is the
    // baseline, as x402's batch-settlement recovers.
    const charged = stored?.charged ?? onChain.paid;
    const state: ChannelState = {
      channelId: formatChannelId(channelId),
      deposit: onChain.deposit.toString(),
      paid: onChain.paid.toString(),
      charged: charged.toString(),
    };
    const corrective = {
      channelState: state,
      ...(stored === undefined
        ? {}
        : { voucherState: { signedAmount: stored.amount.toString(), signature: stored.signature } }),
    };
    if (amount !== charged + price) return required(PAYMENT_ERRORS.cumulative, corrective);
    const book = new VoucherBook({
      domain: await this.domain,
      channel: {
        channelId,
        signer: terms.signer,
        deposit: onChain.deposit,
        paid: onChain.paid,
        cap: terms.cap,
        expiry: terms.expiry,
      },
    });
    try {
      book.accept({ channelId, amount, signature }, now);
    } catch (error) {
      if (!(error instanceof VoucherRejectedError)) throw error;
      return required(PAYMENT_ERRORS.voucher, { ...corrective, reason: error.reason });
    }
    return {
      status: "paid",
      sale: {
        channelId,
        terms,
        amount,
        signature,
        price,
        previousCharged: stored?.charged ?? 0n,
        deposit: onChain.deposit,
        paid: onChain.paid,
      },
    };
  }

  /**
   * Records the sale's voucher and charge durably; only then may the answer go out. A concurrent sale on the
   * same channel that got there first yields a corrective 402 instead.
   */
  async settle(
    sale: Sale,
    url: string,
    readings: number,
  ): Promise<{ status: "settled"; response: SettleResponse } | Extract<SaleAuthorization, { status: "required" }>> {
    const charged = sale.amount;
    const result = await this.options.store.charge(
      { channelId: sale.channelId, terms: sale.terms, amount: sale.amount, signature: sale.signature, charged },
      sale.previousCharged,
    );
    if (result.status === "conflict") {
      const { current } = result;
      return {
        status: "required",
        paymentRequired: this.paymentRequired(url, readings, PAYMENT_ERRORS.cumulative, {
          channelState: {
            channelId: formatChannelId(sale.channelId),
            deposit: sale.deposit.toString(),
            paid: sale.paid.toString(),
            charged: current.charged.toString(),
          },
          voucherState: { signedAmount: current.amount.toString(), signature: current.signature },
        }),
      };
    }
    return {
      status: "settled",
      response: {
        success: true,
        transaction: "",
        network: this.network,
        payer: sale.terms.payer,
        amount: "",
        extra: {
          chargedAmount: sale.price.toString(),
          channelState: {
            channelId: formatChannelId(sale.channelId),
            deposit: sale.deposit.toString(),
            paid: sale.paid.toString(),
            charged: charged.toString(),
          } satisfies ChannelState,
        },
      },
    };
  }

  private async latestBlockTime(): Promise<bigint> {
    const block = await this.options.channels.contract.runner?.provider?.getBlock("latest");
    return BigInt(block?.timestamp ?? Math.floor(Date.now() / 1000));
  }
}

/** The `PAYMENT-REQUIRED` header value of a 402. */
export const paymentRequiredHeader = (paymentRequired: PaymentRequired): string =>
  encodePaymentRequiredHeader(paymentRequired);

/** The `PAYMENT-RESPONSE` header value of a paid answer. */
export const paymentResponseHeader = (response: SettleResponse): string => encodePaymentResponseHeader(response);

function parsePayload(
  payload: unknown,
): { terms: ChannelTerms; amount: bigint; signature: string; channelId: bigint } | undefined {
  const p = payload as Partial<ChannelPaymentPayload> | undefined;
  const c = p?.channel;
  const v = p?.voucher;
  if (p?.type !== "voucher" || typeof c !== "object" || c === null || typeof v !== "object" || v === null)
    return undefined;
  for (const address of [c.payer, c.payee, c.signer, c.token])
    if (typeof address !== "string" || !isAddress(address)) return undefined;
  if (!uintString(c.cap) || !uintString(c.expiry) || !isHexString(c.salt, 32)) return undefined;
  if (!isHexString(v.channelId, 32) || !uintString(v.amount) || !isHexString(v.signature, 65)) return undefined;
  return {
    terms: {
      payer: getAddress(c.payer!),
      payee: getAddress(c.payee!),
      signer: getAddress(c.signer!),
      token: getAddress(c.token!),
      cap: BigInt(c.cap),
      expiry: BigInt(c.expiry),
      salt: c.salt!.toLowerCase(),
    },
    amount: BigInt(v.amount),
    signature: v.signature!,
    channelId: BigInt(v.channelId!),
  };
}

export interface BuyerOptions {
  /** The PaymentChannels client, connected to the payer's signer (it opens channels when needed). */
  channels: PaymentChannelsClient;
  /** The device key that signs the vouchers (an active registered device key). */
  key: DeviceKey;
  /**
   * The buyer's limits in the seller's token (known from the first 402): the deposit of a channel it opens
   * (default: 10 times the first price), and the most one answer may cost (default: no limit); `format`
   * shows an amount in the token's units in errors.
   */
  limits?: (token: string) => Promise<{ deposit?: bigint; maxPrice?: bigint; format?: (amount: bigint) => string }>;
  /** Called before a channel is opened (progress for the CLI). */
  onOpen?: (terms: { payee: string; token: string; deposit: bigint }) => void;
}

/**
 * The buyer's side, as an x402 scheme client: `@x402/core`'s `x402Client` calls `createPaymentPayload` for
 * `iotrail-channel` requirements. With no local state it finds an open channel of its own to the payee on the
 * chain (deterministic ids), or opens one; it adopts a corrective 402's charge only when the last voucher the
 * seller returns is its own key's signature for that amount.
 */
export class ChannelBuyerScheme {
  readonly scheme = IOTRAIL_CHANNEL_SCHEME;
  private readonly options: BuyerOptions;
  /** Per channel: what the buyer believes was charged. */
  private readonly charged = new Map<bigint, bigint>();
  /** Payees that served something other than what was paid for: never paid again (N-M1). */
  private readonly refused = new Map<string, string>();

  constructor(options: BuyerOptions) {
    this.options = options;
  }

  /** Stops paying `payee` for good (it served a mismatch: another device, another range, a failed bundle). */
  refuse(payee: string, reason: string): void {
    this.refused.set(getAddress(payee), reason);
  }

  async createPaymentPayload(x402Version: number, requirements: PaymentRequirements) {
    const { channels, key } = this.options;
    const refusal = this.refused.get(getAddress(requirements.payTo));
    if (refusal !== undefined) {
      throw new IotrailError("SELLER_REFUSED", `not paying ${getAddress(requirements.payTo)} again: ${refusal}`, {
        details: { payee: getAddress(requirements.payTo), reason: refusal },
      });
    }
    const price = BigInt(requirements.amount);
    const payer = await (channels.contract.runner as Signer).getAddress();
    const token = getAddress(requirements.asset);
    const limits = (await this.options.limits?.(token)) ?? {};
    if (limits.maxPrice !== undefined && price > limits.maxPrice) {
      const shown = limits.format ?? ((amount: bigint) => `${amount} (base units of ${token})`);
      throw new IotrailError(
        "PRICE_TOO_HIGH",
        `the seller asks ${shown(price)}, more than the ${shown(limits.maxPrice)} allowed`,
        {
          details: { price: price.toString(), maxPrice: limits.maxPrice.toString() },
        },
      );
    }
    const payee = getAddress(requirements.payTo);
    const state = requirements.extra?.channelState as ChannelState | undefined;
    const voucherState = requirements.extra?.voucherState as { signedAmount?: string; signature?: string } | undefined;
    const domain = await channels.domain();

    let channel = await this.findChannel(payer, payee, token, price, state);
    if (channel === undefined) {
      const deposit = limits.deposit ?? price * 10n;
      if (deposit < price) {
        throw new IotrailError("DEPOSIT_TOO_SMALL", `a deposit of ${deposit} does not cover the price of ${price}`, {
          details: { deposit: deposit.toString(), price: price.toString() },
        });
      }
      this.options.onOpen?.({ payee, token, deposit });
      const { channelId } = await channels.open({ payee, signer: key.address, token, amount: deposit });
      channel = { channelId, terms: await channels.terms(channelId), paid: 0n };
    }
    let charged = this.charged.get(channel.channelId) ?? channel.paid;
    if (state !== undefined && BigInt(state.channelId) === channel.channelId) {
      const claimed = BigInt(state.charged);
      // Adopt the seller's charge only when it shows our own voucher for it (x402's recovery rule).
      const proven =
        voucherState?.signature !== undefined &&
        voucherState.signedAmount === state.charged &&
        isHexString(voucherState.signature, 65) &&
        sameAddress(
          recoverSigner(voucherDigestBytes(domain, channel.channelId, claimed), getBytes(voucherState.signature)),
          key.address,
        );
      if (proven || claimed === channel.paid) charged = claimed;
    }
    const amount = charged + price;
    this.charged.set(channel.channelId, amount);
    const { terms } = channel;
    const payload: ChannelPaymentPayload = {
      type: "voucher",
      channel: {
        payer: terms.payer,
        payee: terms.payee,
        signer: terms.signer,
        token: terms.token,
        cap: terms.cap.toString(),
        expiry: terms.expiry.toString(),
        salt: terms.salt,
      },
      voucher: {
        channelId: formatChannelId(channel.channelId),
        amount: amount.toString(),
        signature: key.signVoucher(domain, channel.channelId, amount),
      },
    };
    return { x402Version, payload: payload as unknown as Record<string, unknown> };
  }

  /** An open channel of the payer's to this payee and token, signed by our key, with room for `price`. */
  private async findChannel(payer: string, payee: string, token: string, price: bigint, state?: ChannelState) {
    const { channels, key } = this.options;
    const candidates = await channels.recoverBySalt({ payer, payee, signer: key.address, token, cap: 0n, expiry: 0n });
    for (const record of candidates) {
      if (record.status !== ChannelStatus.Open) continue;
      const charged =
        state !== undefined && BigInt(state.channelId) === record.channelId
          ? BigInt(state.charged)
          : (this.charged.get(record.channelId) ?? record.paid);
      if (record.deposit - charged < price) continue;
      return { channelId: record.channelId, paid: record.paid, terms: channelTermsOf(record) };
    }
    return undefined;
  }
}

const sameAddress = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

/** What {@link buyOverHttp402} got: the answer's body, and the seller's settlement when it was paid for. */
export interface Purchase {
  text: string;
  settlement?: SettleResponse;
  /** How many paid requests it took (a corrective 402 costs one more). */
  attempts: number;
  /** Who was paid (the accepted requirements' `payTo`), when anything was. */
  payTo?: string;
}

/**
 * GETs `url`, paying with `scheme` when the answer is 402: x402's own client (`@x402/core`) reads the
 * requirements from the `PAYMENT-REQUIRED` header, asks the scheme for a payment and encodes the
 * `PAYMENT-SIGNATURE` header. A corrective 402 (the seller's charge differs from ours) is answered once more
 * with the seller's state.
 */
export async function buyOverHttp402(params: {
  url: string;
  scheme: ChannelBuyerScheme;
  network: `${string}:${string}`;
  timeoutMs: number;
  maxAttempts?: number;
}): Promise<Purchase> {
  // x402's spend controls know only its default stablecoins; the buyer's own limit is the scheme's `maxPrice`.
  const client = x402Client.fromConfig({
    schemes: [{ network: params.network, client: params.scheme }],
    spendControls: false,
  });
  const http = new x402HTTPClient(client);
  let headers: Record<string, string> = {};
  let attempts = 0;
  let payTo: string | undefined;
  for (;;) {
    const response = await fetch(params.url, { headers, signal: AbortSignal.timeout(params.timeoutMs) });
    const text = await response.text();
    if (response.status === 200) {
      const header = response.headers.get(PAYMENT_RESPONSE_HEADER);
      return {
        text,
        attempts,
        ...(payTo === undefined ? {} : { payTo }),
        ...(header === null ? {} : { settlement: http.getPaymentSettleResponse((name) => response.headers.get(name)) }),
      };
    }
    if (response.status !== 402) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // not JSON: the text is the message
      }
      throw new IotrailError("SELLER_ANSWER", `${params.url} answered ${response.status}: ${message}`, {
        details: { status: response.status },
      });
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const required = http.getPaymentRequiredResponse((name) => response.headers.get(name), body);
    // Pay only for the resource asked for (N-M1): a seller or proxy that prices another resource is refused.
    const asked = new URL(params.url);
    let offered: URL | undefined;
    try {
      offered = required.resource?.url === undefined ? undefined : new URL(required.resource.url);
    } catch {
      offered = undefined;
    }
    if (offered === undefined || `${offered.pathname}${offered.search}` !== `${asked.pathname}${asked.search}`) {
      throw new IotrailError(
        "RESOURCE_MISMATCH",
        `${params.url}: the seller asks payment for ${required.resource?.url ?? "no named resource"}, not for what was asked; nothing was paid`,
        { details: { asked: params.url, offered: required.resource?.url } },
      );
    }
    if (attempts >= (params.maxAttempts ?? 3)) {
      throw new IotrailError(
        "PAYMENT_REFUSED",
        `${params.url}: the seller refused the payment (${required.error ?? "402"})`,
        {
          details: { error: required.error, accepts: required.accepts },
        },
      );
    }
    attempts += 1;
    const payload = await http.createPaymentPayload(required);
    payTo = payload.accepted.payTo;
    headers = http.encodePaymentSignatureHeader(payload);
  }
}
