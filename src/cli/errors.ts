/**
 * How the CLI reports an error: one line with the typed error's message (a revert as its decoded custom
 * error), a hint where one helps, and library internals (stack, cause, ethers codes) only with `--verbose`.
 */
import { toBeHex } from "ethers";
import { ContractRevertError, IotrailError } from "../errors";
import { formatChannelId } from "../payments";
import { formatAmount } from "./units";
import type { Unit } from "./units";

/** What to do next, per custom error of the contracts. */
export const REVERT_HINTS: Readonly<Record<string, string>> = {
  RegistryKeyAlreadyUsed: "this key is already registered; `iotrail devices show <key>`",
  RegistryInvalidOwner: "the owner cannot be the zero address",
  RegistryInvalidPossessionProof: "the proof was not signed by that device key for this registrant, owner and chain",
  RegistryInvalidSignature: "the signature is not the expected signer's, or its nonce was used; sign again",
  RegistrySignatureExpired: "the signature's deadline has passed; sign again with a later --deadline",
  RegistryUnknownDevice: "no device with that id; `iotrail devices show <key>` finds a device by its key",
  RegistryNotDeviceOwner: "only the device's owner can do this; pass the owner's --key",
  RegistryNotPendingOwner: "only the new owner named by `devices transfer start` can accept",
  RegistryInvalidStatusTransition: "the device's status does not allow this; `iotrail devices show <device>`",
  RegistryDeviceRevoked: "a revoked device is final; register a new key",
  RegistryUnknownLot: "no lot with that id",
  RegistryLotNotActive: "the lot is closed or revoked",
  RegistryNotLotManager: "only the lot's manufacturer or owner can do this",
  RegistryInvalidLotProof: "the device is not in this lot (or the lot file does not match the committed root)",
  RegistryLotEntryRevoked: "this lot entry was revoked",
  RegistryFutureLookup: "the time asked for is in the chain's future",
  AccessControlUnauthorizedAccount:
    "the sending account lacks the role; `iotrail roles grant <manufacturer|anchorer> <account>` (as the admin)",
  ChannelUnknown: "no channel with that id",
  ChannelNotOpen: "the channel is closing or closed; `iotrail channel show <id>`",
  ChannelSignerNotValid: "the voucher signer must be an active device key in the registry, or the payer itself",
  ChannelExpired: "the channel has expired; the payer can `iotrail channel finalize`",
  ChannelStaleVoucher: "a larger voucher was already redeemed; vouchers are cumulative",
  ChannelAmountExceedsDeposit: "the voucher is larger than the deposit; the payer can top up",
  ChannelInvalidVoucher: "the voucher was not signed by the channel's signer, for this channel and amount",
  ChannelUnauthorized: "only the channel's payer or payee can do this",
  ChannelChallengePeriod: "the challenge period has not ended yet",
  ChannelTokenRequired: "this needs an ERC-20 channel (--token)",
  EscrowUnknown: "no escrow with that id",
  EscrowNotActive: "the escrow was already released or refunded; `iotrail escrow show <id>`",
  EscrowDeviceNotValid: "the condition's device must be an active key in the registry",
  EscrowUnauthorized: "only the payer or the arbiter can do this",
  EscrowExpired: "the escrow's deadline has passed; the payer can refund",
  EscrowNotExpired: "a refund is possible only after the deadline",
  EscrowConditionMismatch: "the condition given is not the one the escrow was created with",
  EscrowReadingMismatch: "the reading is from another device or metric than the condition's",
  EscrowValueOutOfRange: "the reading's value is outside the condition's range",
  EscrowTimestampOutOfWindow: "the reading's time is outside the condition's window",
  AnchorReadingNotAnchored: "the reading's proof does not lead to that batch's root; fetch a fresh bundle",
  AnchorDeviceNotValid: "the device was not an active key when the batch was anchored",
  PaymentsNothingToWithdraw: "nothing is owed to this account in that token",
  DemoTokenMintTooLarge: "the demo faucet mints at most 1,000,000 tokens per call",
};

/** Revert arguments that are amounts of the command's token (shown in its units, unless --raw). */
const AMOUNTS = new Set(["amount", "paid", "deposit", "cap", "expected", "received"]);
/** Revert arguments that are moments (Unix seconds, shown with their UTC time as well). */
const MOMENTS = new Set(["deadline", "timestamp", "expiry", "closesAt", "currentTime", "anchoredMoment"]);

/** The unit of the amounts a command deals in, for the error it throws (see `run`). */
const unitsOfErrors = new WeakMap<object, { unit: Unit; raw: boolean }>();

export function noteErrorUnit(error: unknown, unit: Unit, raw: boolean): void {
  if (typeof error === "object" && error !== null) unitsOfErrors.set(error, { unit, raw });
}

/** One revert argument as a person reads it: ids in hex, amounts in token units, moments with their time. */
export function formatRevertArg(name: string, value: unknown, unit?: { unit: Unit; raw: boolean }): string {
  if (typeof value !== "bigint") return String(value);
  if (name === "deviceId") return toBeHex(value, 20);
  if (name === "channelId") return formatChannelId(value);
  if (AMOUNTS.has(name))
    return unit === undefined || unit.raw ? `${value} (base units)` : formatAmount(value, unit.unit, false);
  if (MOMENTS.has(name) && value > 0n && value < 1n << 40n)
    return `${value} (${new Date(Number(value) * 1000).toISOString().replace(".000Z", "Z")})`;
  return value.toString();
}

/** The lines to print for `error`. */
export function describeError(error: unknown, verbose: boolean): string[] {
  const lines: string[] = [];
  if (error instanceof ContractRevertError) {
    const unit = unitsOfErrors.get(error);
    const args = Object.entries(error.args)
      .map(([name, value]) => `${name}=${formatRevertArg(name, value, unit)}`)
      .join(", ");
    lines.push(`reverted: ${error.errorName}(${args})`);
    const hint = REVERT_HINTS[error.errorName];
    if (hint !== undefined) lines.push(`hint: ${hint}`);
  } else if (error instanceof IotrailError) {
    lines.push(error.message);
  } else if ((error as { code?: unknown }).code === "commander.error") {
    lines.push((error as Error).message);
  } else {
    lines.push(shortMessage(error));
  }
  if (verbose) {
    let current: unknown = error;
    for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
      lines.push(depth === 0 ? "--- details" : "--- caused by");
      lines.push(current instanceof Error ? (current.stack ?? current.message) : String(current));
      current = (current as { cause?: unknown }).cause;
    }
  } else if (
    !(error instanceof IotrailError) ||
    (error.cause !== undefined && !(error instanceof ContractRevertError))
  ) {
    lines.push("(run with --verbose for details)");
  }
  return lines;
}

/** ethers' short message of an error, without its request dump. */
export function shortMessage(error: unknown): string {
  const e = error as { shortMessage?: unknown; message?: unknown; code?: unknown; cause?: unknown };
  if (typeof e.shortMessage === "string") return e.shortMessage;
  const cause = e.cause as { code?: unknown } | undefined;
  if (cause !== undefined && typeof cause.code === "string") return cause.code;
  return String(e.message ?? error)
    .split("\n")[0]!
    .replace(/ \(.*$/, "");
}
