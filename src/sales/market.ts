/**
 * The seller the batcher's API runs: every scheme it is configured for, behind one door. A 402 lists them all
 * in `accepts` (`iotrail-channel` first, then `exact` when configured); a payment goes to the scheme its
 * `accepted.scheme` names, and any refusal answers with the whole offer again (x402's corrective 402).
 */
import { decodePaymentSignatureHeader } from "@x402/core/http";
import type { PaymentPayload, PaymentRequired, SettleResponse } from "@x402/core/types";
import { ChannelSeller } from "./seller";
import type { Sale } from "./seller";
import { EXACT_SCHEME, ExactSeller } from "./exact";
import { ReceiptSigner, withReceipt } from "./receipts";
import type { ExactSale } from "./exact";

/** A payment verified for one answer, by scheme. */
export type MarketSale = { scheme: "iotrail-channel"; sale: Sale } | { scheme: "exact"; sale: ExactSale };

export type MarketAuthorization =
  { status: "paid"; sale: MarketSale } | { status: "required"; paymentRequired: PaymentRequired };
export type MarketSettlement =
  { status: "settled"; response: SettleResponse } | { status: "required"; paymentRequired: PaymentRequired };

export class DataSeller {
  constructor(
    readonly channel: ChannelSeller,
    readonly exact?: ExactSeller,
    /** Signs a receipt for every paid answer (x402's offer-receipt), with the payee's key. */
    readonly receipts?: ReceiptSigner,
  ) {}

  /** The settlement response of a paid answer, with a signed receipt for `bundleText` when receipts are on. */
  async receipted(response: SettleResponse, url: string, bundleText: string): Promise<SettleResponse> {
    if (this.receipts === undefined || response.payer === undefined || response.payer === "") return response;
    const receipt = await this.receipts.sign({
      url,
      bundleText,
      payer: response.payer,
      network: response.network,
      ...(response.transaction === "" ? {} : { transaction: response.transaction }),
    });
    return withReceipt(response, receipt);
  }

  /** The schemes on offer, in the order a 402 lists them. */
  get schemes(): string[] {
    return [this.channel.requirements(1).scheme, ...(this.exact === undefined ? [] : [EXACT_SCHEME])];
  }

  /** Checks a request's `PAYMENT-SIGNATURE` header for an answer of `readings` readings, by its scheme. */
  async authorize(header: string | undefined, url: string, readings: number): Promise<MarketAuthorization> {
    const exact = this.exact;
    if (exact !== undefined && header !== undefined && header !== "") {
      let payment: PaymentPayload | undefined;
      try {
        payment = decodePaymentSignatureHeader(header);
      } catch {
        payment = undefined; // the channel seller answers a malformed header
      }
      if ((payment?.accepted as { scheme?: unknown } | undefined)?.scheme === EXACT_SCHEME) {
        const result = await exact.authorize(payment!, readings);
        if (result.status === "paid") return { status: "paid", sale: { scheme: "exact", sale: result.sale } };
        return { status: "required", paymentRequired: this.paymentRequired(url, readings, result.error) };
      }
    }
    const result = await this.channel.authorize(header, url, readings);
    if (result.status === "paid") return { status: "paid", sale: { scheme: "iotrail-channel", sale: result.sale } };
    return { status: "required", paymentRequired: this.withExact(result.paymentRequired, readings) };
  }

  /** Records (`iotrail-channel`) or settles on the chain (`exact`) a sale; only then may the answer go out. */
  async settle(sale: MarketSale, url: string, readings: number): Promise<MarketSettlement> {
    if (sale.scheme === "exact") {
      const settled = await this.exact!.settle(sale.sale);
      if (settled.status === "settled") return settled;
      return { status: "required", paymentRequired: this.paymentRequired(url, readings, settled.error) };
    }
    const settled = await this.channel.settle(sale.sale, url, readings);
    if (settled.status === "settled") return settled;
    return { status: "required", paymentRequired: this.withExact(settled.paymentRequired, readings) };
  }

  /** Every scheme's requirements for an answer of `readings` readings, in the order a 402 lists them. */
  accepts(readings: number): PaymentRequired["accepts"] {
    return [
      this.channel.requirements(readings),
      ...(this.exact === undefined ? [] : [this.exact.requirements(readings)]),
    ];
  }

  /** A 402 with every scheme's requirements. */
  paymentRequired(url: string, readings: number, error: string): PaymentRequired {
    return this.withExact(this.channel.paymentRequired(url, readings, error), readings);
  }

  private withExact(paymentRequired: PaymentRequired, readings: number): PaymentRequired {
    if (this.exact === undefined) return paymentRequired;
    return { ...paymentRequired, accepts: [...paymentRequired.accepts, this.exact.requirements(readings)] };
  }
}
