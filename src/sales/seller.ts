/**
 * The seller of data over HTTP 402 (`iotrail-channel`): prices an answer, checks a payment against the chain
 * and the voucher store, and records it before the answer goes out. The batcher's API runs it.
 */
import { getAddress, isAddress, isHexString } from "ethers";
import { decodePaymentSignatureHeader } from "@x402/core/http";
import type { PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse } from "@x402/core/types";
import { channelIdOf } from "../eip712";
import type { Eip712Domain } from "../eip712";
import { ChannelStatus, formatChannelId, VoucherBook, VoucherRejectedError } from "../payments";
import type { PaymentChannelsClient, ChannelTerms, VoucherStore } from "../payments";
import { X402_VERSION, IOTRAIL_CHANNEL_SCHEME, PAYMENT_ERRORS } from "./wire";
import type { ChannelState, ChannelPaymentPayload } from "./wire";

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
  /**
   * Blocks a channel's state must be deep in to count (default 1: the latest block). With more, a deposit
   * is read as it stood that many blocks back, so one a reorganization could still remove pays for nothing.
   */
  confirmations?: number;
  /**
   * How long a channel's state and the chain's time read for one request serve the next ones (ms; default
   * 2,000; 0 reads the chain every time). A repeat buyer's warm path then makes no chain call. It is safe
   * because a channel's deposit never falls while it is open, and a close started within this window still
   * leaves the whole challenge period to the payee's watcher, which claims the stored voucher.
   */
  chainCacheMs?: number;
}

/** The most channels whose state the seller keeps at once (the oldest go first). */
const CHANNEL_CACHE_SIZE = 10_000;

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

type ChannelOnChain = Awaited<ReturnType<PaymentChannelsClient["contract"]["getChannel"]>>;

const uintString = (value: unknown): value is string => typeof value === "string" && /^[0-9]{1,78}$/.test(value);

/** The seller's side: prices an answer, checks a payment against the chain and the store, records it. */
export class ChannelSeller {
  private readonly options: SellerOptions;
  private domain: Promise<Eip712Domain> | undefined;
  private readonly channelCache = new Map<bigint, { at: number; state: Promise<ChannelOnChain> }>();
  private blockTime: { at: number; value: Promise<bigint> } | undefined;

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
      this.channelState(channelId),
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

  /**
   * The channel as the chain holds it `confirmations` blocks deep (the latest block by default), read at most
   * once per `chainCacheMs`.
   */
  private channelState(channelId: bigint): Promise<ChannelOnChain> {
    const ttl = this.options.chainCacheMs ?? 2_000;
    const cached = this.channelCache.get(channelId);
    if (cached !== undefined && Date.now() - cached.at < ttl) return cached.state;
    const state = this.readChannel(channelId);
    if (ttl > 0) {
      this.channelCache.delete(channelId);
      this.channelCache.set(channelId, { at: Date.now(), state });
      if (this.channelCache.size > CHANNEL_CACHE_SIZE) this.channelCache.delete(this.channelCache.keys().next().value!);
      // Only an open channel's state is kept: one not open yet (or not deep enough) may open any moment.
      state.then(
        (read) => {
          if (Number(read.status) !== ChannelStatus.Open) this.forget(channelId, state);
        },
        () => this.forget(channelId, state),
      );
    }
    return state;
  }

  /** Drops a cached read, unless a newer one replaced it. */
  private forget(channelId: bigint, state: Promise<ChannelOnChain>): void {
    if (this.channelCache.get(channelId)?.state === state) this.channelCache.delete(channelId);
  }

  private async readChannel(channelId: bigint): Promise<ChannelOnChain> {
    const contract = this.options.channels.contract;
    const confirmations = this.options.confirmations ?? 1;
    if (confirmations <= 1) return contract.getChannel(channelId);
    const head = await contract.runner!.provider!.getBlockNumber();
    return contract.getChannel(channelId, { blockTag: Math.max(0, head - confirmations + 1) });
  }

  private latestBlockTime(): Promise<bigint> {
    const ttl = this.options.chainCacheMs ?? 2_000;
    if (this.blockTime !== undefined && Date.now() - this.blockTime.at < ttl) return this.blockTime.value;
    const value = (async () => {
      const block = await this.options.channels.contract.runner?.provider?.getBlock("latest");
      return BigInt(block?.timestamp ?? Math.floor(Date.now() / 1000));
    })();
    if (ttl > 0) {
      this.blockTime = { at: Date.now(), value };
      value.catch(() => (this.blockTime = undefined));
    }
    return value;
  }
}

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
