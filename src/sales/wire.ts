/**
 * Data for payment over HTTP 402, on x402's wire (version 2): a `PAYMENT-REQUIRED` header (and body) with the
 * price and the channel terms the seller accepts, a `PAYMENT-SIGNATURE` request header carrying a payment
 * payload, and a `PAYMENT-RESPONSE` header on the paid answer. The headers are base64 JSON, encoded and
 * decoded by `@x402/core`. This file holds the names both sides share: versions, headers, error codes and
 * the `iotrail-channel` payload; `seller.ts` and `buyer.ts` are the two sides.
 *
 * The scheme is `iotrail-channel`: a cumulative voucher over an iotrail PaymentChannels channel. It follows
 * x402's `batch-settlement` scheme where the contracts allow (cumulative vouchers, deterministic channel
 * ids, `amount == charged + price`, a corrective 402 with the channel's state and the last signed voucher),
 * and differs where they do not: the channel's terms are iotrail's (a registry-vetted device key signs
 * vouchers, with a cap and an expiry, no receiver authorizer), the voucher is iotrail's `Voucher(channelId,
 * amount)`, and the seller verifies against the chain itself instead of calling a facilitator.
 */
import { encodePaymentRequiredHeader, encodePaymentResponseHeader } from "@x402/core/http";
import type { PaymentRequired, SettleResponse } from "@x402/core/types";

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

/** The `PAYMENT-REQUIRED` header value of a 402. */
export const paymentRequiredHeader = (paymentRequired: PaymentRequired): string =>
  encodePaymentRequiredHeader(paymentRequired);

/** The `PAYMENT-RESPONSE` header value of a paid answer. */
export const paymentResponseHeader = (response: SettleResponse): string => encodePaymentResponseHeader(response);
