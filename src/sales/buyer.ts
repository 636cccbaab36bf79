/**
 * The buyer of data over HTTP 402 (`iotrail-channel`, and x402's `exact` through `@x402/evm`'s own client), as
 * x402 scheme clients for `@x402/core`, and
 * {@link buyOverHttp402}, which GETs a priced URL and pays. The CLI's `data buy` runs it.
 */
import { getAddress, getBytes, isHexString } from "ethers";
import type { Signer } from "ethers";
import { x402Client, x402HTTPClient } from "@x402/core/client";
import type { PaymentRequirements, SettleResponse } from "@x402/core/types";
import { IotrailError } from "../errors";
import type { DeviceKey } from "../device";
import { voucherDigestBytes } from "../eip712";
import { recoverSigner } from "../crypto";
import { ChannelStatus, channelTermsOf, formatChannelId } from "../payments";
import type { ChannelTerms, PaymentChannelsClient } from "../payments";
import { createPublicClient, http as viemHttp } from "viem";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ExactEvmScheme as ExactEvmClientScheme } from "@x402/evm/exact/client";
import { toClientEvmSigner } from "@x402/evm";
import { IOTRAIL_CHANNEL_SCHEME, PAYMENT_RESPONSE_HEADER } from "./wire";
import type { ChannelState, ChannelPaymentPayload } from "./wire";

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
  /** Per payee and token: the channel last paid from, so that a repeat payment needs no chain lookup. */
  private readonly known = new Map<string, { channelId: bigint; paid: bigint; deposit: bigint; terms: ChannelTerms }>();
  private domain: ReturnType<PaymentChannelsClient["domain"]> | undefined;
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
    const domain = await (this.domain ??= channels.domain());

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
      channel = { channelId, terms: await channels.terms(channelId), paid: 0n, deposit };
      this.known.set(`${payee}:${token}`, channel);
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

  /** Looks channels up on the chain again at the next payment (after the seller refused one). */
  forgetChannels(): void {
    this.known.clear();
  }

  /** Whether the payer has an open channel to `payee` in `token`, signed by our key, with room for `price`. */
  async hasChannel(payee: string, token: string, price: bigint): Promise<boolean> {
    const payer = await (this.options.channels.contract.runner as Signer).getAddress();
    return (await this.findChannel(payer, getAddress(payee), getAddress(token), price)) !== undefined;
  }

  /** An open channel of the payer's to this payee and token, signed by our key, with room for `price`. */
  private async findChannel(payer: string, payee: string, token: string, price: bigint, state?: ChannelState) {
    const { channels, key } = this.options;
    // The channel paid from last, while it has room; a corrective 402 (the seller's state) looks again.
    const cacheKey = `${payee}:${token}`;
    const known = this.known.get(cacheKey);
    if (known !== undefined && state === undefined) {
      const charged = this.charged.get(known.channelId) ?? known.paid;
      if (known.deposit - charged >= price) return known;
    }
    this.known.delete(cacheKey);
    const candidates = await channels.recoverBySalt({ payer, payee, signer: key.address, token, cap: 0n, expiry: 0n });
    for (const record of candidates) {
      if (record.status !== ChannelStatus.Open) continue;
      const charged =
        state !== undefined && BigInt(state.channelId) === record.channelId
          ? BigInt(state.charged)
          : (this.charged.get(record.channelId) ?? record.paid);
      if (record.deposit - charged < price) continue;
      const found = {
        channelId: record.channelId,
        paid: record.paid,
        deposit: record.deposit,
        terms: channelTermsOf(record),
      };
      this.known.set(cacheKey, found);
      return found;
    }
    return undefined;
  }
}

/**
 * The buyer's side of x402's `exact` scheme: `@x402/evm`'s own client signs the EIP-3009 authorization, after
 * the buyer's own checks: the asset is one the buyer agreed to pay in (never whatever the seller names), the
 * price within its limit, and the payee not one it refused.
 */
export class ExactBuyerScheme {
  readonly scheme = "exact";
  private readonly client: ExactEvmClientScheme;
  private readonly refused = new Map<string, string>();

  constructor(
    private readonly options: {
      /** The buyer's key (a plain account: no registry standing needed). */
      privateKey: string;
      /** A client of the buyer's node (x402's client reads the token there when it must). */
      rpcUrl: string;
      /** The tokens the buyer pays in. */
      assets: readonly string[];
      maxPrice?: bigint;
    },
  ) {
    const account = privateKeyToAccount(options.privateKey as Hex);
    this.client = new ExactEvmClientScheme(
      toClientEvmSigner(account, createPublicClient({ transport: viemHttp(options.rpcUrl) })),
    );
  }

  get payer(): string {
    return privateKeyToAccount(this.options.privateKey as Hex).address;
  }

  /** Accepts this seller's offer in `asset`? */
  accepts(asset: string): boolean {
    return this.options.assets.some((a) => sameAddress(a, asset));
  }

  refuse(payee: string, reason: string): void {
    this.refused.set(getAddress(payee), reason);
  }

  async createPaymentPayload(x402Version: number, requirements: PaymentRequirements) {
    const payee = getAddress(requirements.payTo);
    const refusal = this.refused.get(payee);
    if (refusal !== undefined) {
      throw new IotrailError("SELLER_REFUSED", `not paying ${payee} again: ${refusal}`, { details: { payee } });
    }
    if (!this.accepts(requirements.asset)) {
      throw new IotrailError(
        "ASSET_NOT_ACCEPTED",
        `the seller asks payment in ${requirements.asset}, which this buyer does not pay in (--asset); nothing was paid`,
        { details: { asset: requirements.asset } },
      );
    }
    const price = BigInt(requirements.amount);
    if (this.options.maxPrice !== undefined && price > this.options.maxPrice) {
      throw new IotrailError(
        "PRICE_TOO_HIGH",
        `the seller asks ${price}, more than the ${this.options.maxPrice} allowed`,
        {
          details: { price: price.toString(), maxPrice: this.options.maxPrice.toString() },
        },
      );
    }
    return this.client.createPaymentPayload(x402Version, requirements);
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
  /** x402's `exact` scheme as well, for a buyer who may pay by EIP-3009 transfer. */
  exact?: ExactBuyerScheme;
  /** The scheme to pay by when the seller offers both (default: the seller's order). */
  prefer?: string;
  network: `${string}:${string}`;
  timeoutMs: number;
  maxAttempts?: number;
}): Promise<Purchase> {
  // x402's spend controls know only its default stablecoins; the buyer's own limits are the schemes' own.
  const client = x402Client.fromConfig({
    schemes: [
      { network: params.network, client: params.scheme },
      ...(params.exact === undefined ? [] : [{ network: params.network, client: params.exact }]),
    ],
    spendControls: false,
    paymentRequirementsSelector: (_version, accepts) => accepts.find((a) => a.scheme === params.prefer) ?? accepts[0]!,
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
    // A refused payment may have been over a channel that closed since: look it up again.
    if (attempts > 0) params.scheme.forgetChannels();
    attempts += 1;
    const payload = await http.createPaymentPayload(required);
    payTo = payload.accepted.payTo;
    headers = http.encodePaymentSignatureHeader(payload);
  }
}
