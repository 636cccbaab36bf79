/**
 * The payee's side of a payment channel: every incoming voucher is checked (channel, signature by the
 * channel's signer, strictly growing cumulative amount, within deposit and cap, before expiry) and the best
 * one is kept for redeeming or closing.
 */
import { getAddress, getBytes, hexlify } from "ethers";
import { decodeHexInto } from "../bytes";
import { recoverSignerBytes } from "../crypto";
import { IotrailError } from "../errors";
import { voucherDigestBytes } from "../eip712";
import type { Eip712Domain } from "../eip712";
import type { ChannelRecord } from "./channels";

export interface Voucher {
  channelId: bigint;
  amount: bigint;
  signature: string;
}

export type VoucherRejection =
  "wrong-channel" | "malformed" | "bad-signature" | "stale" | "exceeds-deposit" | "exceeds-cap" | "expired";

/** A voucher the payee must not rely on; `reason` says why. */
export class VoucherRejectedError extends IotrailError {
  readonly reason: VoucherRejection;

  constructor(reason: VoucherRejection, message: string, details: Record<string, unknown> = {}) {
    super("VOUCHER_REJECTED", message, { details: { reason, ...details } });
    this.reason = reason;
  }
}

type ChannelTerms = Pick<ChannelRecord, "channelId" | "signer" | "deposit" | "paid" | "cap" | "expiry">;

export class VoucherBook {
  private readonly domain: Eip712Domain;
  private readonly channel: ChannelTerms;
  private bestVoucher: Voucher | undefined;
  private readonly signerBytes: Uint8Array;
  private readonly signatureBuffer = new Uint8Array(65);

  constructor(params: { domain: Eip712Domain; channel: ChannelTerms }) {
    this.domain = params.domain;
    this.channel = { ...params.channel, signer: getAddress(params.channel.signer) };
    this.signerBytes = getBytes(this.channel.signer);
  }

  /** The best voucher accepted so far (highest amount), if any. */
  get best(): Voucher | undefined {
    return this.bestVoucher;
  }

  /** What the best voucher is worth beyond what the channel has paid already. */
  get unredeemed(): bigint {
    return (this.bestVoucher?.amount ?? this.channel.paid) - this.channel.paid;
  }

  /** Updates the terms after a top-up or a redemption seen on-chain. */
  update(terms: { deposit?: bigint; paid?: bigint }): void {
    if (terms.deposit !== undefined) this.channel.deposit = terms.deposit;
    if (terms.paid !== undefined) this.channel.paid = terms.paid;
  }

  /**
   * Checks `voucher` and keeps it as the best one; throws a {@link VoucherRejectedError} otherwise.
   * @param now Chain time to judge the expiry by (seconds); the expiry is not checked without it.
   */
  accept(voucher: Voucher, now?: bigint): Voucher {
    const { channel } = this;
    if (voucher.channelId !== channel.channelId) {
      throw new VoucherRejectedError("wrong-channel", `the voucher is for channel ${voucher.channelId}`, {
        expected: channel.channelId.toString(),
      });
    }
    if (channel.expiry !== 0n && now !== undefined && now > channel.expiry) {
      throw new VoucherRejectedError("expired", `the channel stopped accepting vouchers at ${channel.expiry}`);
    }
    const floor = this.bestVoucher?.amount ?? channel.paid;
    if (voucher.amount <= floor) {
      throw new VoucherRejectedError("stale", `the voucher's ${voucher.amount} does not exceed ${floor}`);
    }
    if (voucher.amount > channel.deposit) {
      throw new VoucherRejectedError("exceeds-deposit", `the voucher's ${voucher.amount} exceeds the deposit`, {
        deposit: channel.deposit.toString(),
      });
    }
    if (channel.cap !== 0n && voucher.amount > channel.cap) {
      throw new VoucherRejectedError("exceeds-cap", `the voucher's ${voucher.amount} exceeds the cap`, {
        cap: channel.cap.toString(),
      });
    }
    const signature = this.signatureBuffer;
    const signer = decodeHexInto(signature, 0, voucher.signature, 65)
      ? recoverSignerBytes(voucherDigestBytes(this.domain, voucher.channelId, voucher.amount), signature)
      : undefined;
    if (signer === undefined) {
      throw new VoucherRejectedError("malformed", "malformed or malleable (high-s) voucher signature");
    }
    if (!sameBytes(signer, this.signerBytes)) {
      throw new VoucherRejectedError(
        "bad-signature",
        `the voucher is signed by ${getAddress(hexlify(signer))}, not ${channel.signer}`,
      );
    }
    this.bestVoucher = { ...voucher };
    return this.bestVoucher;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
