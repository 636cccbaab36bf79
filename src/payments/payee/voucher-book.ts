/**
 * The payee's side of a payment channel: every incoming voucher is checked (channel, signature by the
 * channel's signer, strictly growing cumulative amount, within deposit and cap, before the expiry and the end
 * of a started close) and the best one is kept for redeeming or closing. Times are chain seconds: by
 * default the machine's clock, which a payee should keep close to the chain's.
 */
import { getAddress, getBytes, hexlify } from "ethers";
import { decodeHexInto } from "../../bytes";
import { recoverSignerBytes } from "../../crypto";
import { IotrailError } from "../../errors";
import { voucherDigestBytes } from "../../eip712";
import type { Eip712Domain } from "../../eip712";
import { formatChannelId } from "../clients";
import type { ChannelRecord } from "../clients";

export interface Voucher {
  channelId: bigint;
  amount: bigint;
  signature: string;
}

export type VoucherRejection =
  "wrong-channel" | "malformed" | "bad-signature" | "stale" | "exceeds-deposit" | "exceeds-cap" | "expired" | "closed";

/** A voucher the payee must not rely on; `reason` says why. */
export class VoucherRejectedError extends IotrailError {
  readonly reason: VoucherRejection;

  constructor(reason: VoucherRejection, message: string, details: Record<string, unknown> = {}) {
    super("VOUCHER_REJECTED", message, { details: { reason, ...details } });
    this.reason = reason;
  }
}

type ChannelTerms = Pick<ChannelRecord, "channelId" | "signer" | "deposit" | "paid" | "cap" | "expiry"> &
  Partial<Pick<ChannelRecord, "closesAt">>;

/** Unix seconds now. */
const wallClock = (): bigint => BigInt(Math.floor(Date.now() / 1000));

export class VoucherBook {
  private readonly domain: Eip712Domain;
  private readonly channel: ChannelTerms;
  private bestVoucher: Voucher | undefined;
  private readonly signerBytes: Uint8Array;
  private readonly signatureBuffer = new Uint8Array(65);
  private readonly clock: () => bigint;

  /** @param clock Chain time in seconds (default: the machine's clock). */
  constructor(params: { domain: Eip712Domain; channel: ChannelTerms; clock?: () => bigint }) {
    this.domain = params.domain;
    this.channel = { closesAt: 0n, ...params.channel, signer: getAddress(params.channel.signer) };
    this.signerBytes = getBytes(this.channel.signer);
    this.clock = params.clock ?? wallClock;
  }

  /** The best voucher accepted so far (highest amount), if any. */
  get best(): Voucher | undefined {
    return this.bestVoucher;
  }

  /** What the best voucher is worth beyond what the channel has paid already (never negative). */
  get unredeemed(): bigint {
    const best = this.bestVoucher?.amount ?? 0n;
    return best > this.channel.paid ? best - this.channel.paid : 0n;
  }

  /**
   * Updates the terms after what was seen on-chain: a top-up (`deposit`), a redemption (`paid`), or the
   * payer's start of a close (`closesAt`: vouchers count up to and including it).
   */
  update(terms: { deposit?: bigint; paid?: bigint; closesAt?: bigint }): void {
    if (terms.deposit !== undefined) this.channel.deposit = terms.deposit;
    if (terms.paid !== undefined) this.channel.paid = terms.paid;
    if (terms.closesAt !== undefined) this.channel.closesAt = terms.closesAt;
  }

  /**
   * Checks `voucher` and keeps it as the best one; throws a {@link VoucherRejectedError} otherwise.
   * @param now Chain time to judge the expiry and a started close by (seconds; default: the book's clock).
   */
  accept(voucher: Voucher, now: bigint = this.clock()): Voucher {
    const { channel } = this;
    if (voucher.channelId !== channel.channelId) {
      throw new VoucherRejectedError(
        "wrong-channel",
        `the voucher is for channel ${formatChannelId(voucher.channelId)}`,
        {
          expected: formatChannelId(channel.channelId),
        },
      );
    }
    if (channel.expiry !== 0n && now > channel.expiry) {
      throw new VoucherRejectedError("expired", `the channel stopped accepting vouchers at ${channel.expiry}`);
    }
    if (channel.closesAt !== undefined && channel.closesAt !== 0n && now > channel.closesAt) {
      throw new VoucherRejectedError("closed", `the payer's close ended the channel's vouchers at ${channel.closesAt}`);
    }
    const best = this.bestVoucher?.amount ?? 0n;
    const floor = best > channel.paid ? best : channel.paid;
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
