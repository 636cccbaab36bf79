/**
 * The single source of truth for the PaymentChannels EIP-712 domain and types: vouchers (signed by the
 * payer's device key) and the relayed actions of payers and payees. A parity test checks them against the
 * contract.
 */
import type { Signer } from "ethers";
import { getBytes, hexlify } from "ethers";
import { keccak256 } from "../keccak";
import { makeDomain, typeHash, typedDataDigestBytes, typedDigest } from "./domain";
import type { Eip712Domain } from "./domain";

export const PAYMENTS_EIP712_NAME = "iotrail PaymentChannels";
export const PAYMENTS_EIP712_VERSION = "1";

export const PAYMENT_TYPES = {
  /** A channel's fixed terms; its id is their EIP-712 digest under the PaymentChannels domain. */
  Channel: [
    { name: "payer", type: "address" },
    { name: "payee", type: "address" },
    { name: "signer", type: "address" },
    { name: "token", type: "address" },
    { name: "cap", type: "uint96" },
    { name: "expiry", type: "uint48" },
    { name: "salt", type: "bytes32" },
  ],
  Voucher: [
    { name: "channelId", type: "uint256" },
    { name: "amount", type: "uint256" },
  ],
  OpenChannel: [
    { name: "funder", type: "address" },
    { name: "payee", type: "address" },
    { name: "signer", type: "address" },
    { name: "token", type: "address" },
    { name: "amount", type: "uint256" },
    { name: "cap", type: "uint256" },
    { name: "expiry", type: "uint256" },
    { name: "salt", type: "bytes32" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  CloseChannel: [
    { name: "channelId", type: "uint256" },
    { name: "amount", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  StartClose: [
    { name: "channelId", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

export const ESCROW_EIP712_NAME = "iotrail ConditionalEscrow";
export const ESCROW_EIP712_VERSION = "1";

export const ESCROW_TYPES = {
  ReleaseEscrow: [
    { name: "escrowId", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

export interface PaymentMessages {
  Channel: {
    payer: string;
    payee: string;
    signer: string;
    token: string;
    cap: bigint;
    expiry: bigint;
    salt: string;
  };
  Voucher: { channelId: bigint; amount: bigint };
  OpenChannel: {
    funder: string;
    payee: string;
    signer: string;
    token: string;
    amount: bigint;
    cap: bigint;
    expiry: bigint;
    salt: string;
    nonce: bigint;
    deadline: bigint;
  };
  CloseChannel: { channelId: bigint; amount: bigint; nonce: bigint; deadline: bigint };
  StartClose: { channelId: bigint; nonce: bigint; deadline: bigint };
}

export type PaymentAction = keyof PaymentMessages;

export function paymentsDomain(chainId: bigint | number, channels: string): Eip712Domain {
  return makeDomain(PAYMENTS_EIP712_NAME, PAYMENTS_EIP712_VERSION, chainId, channels);
}

export function paymentDigest<A extends PaymentAction>(
  domain: Eip712Domain,
  action: A,
  message: PaymentMessages[A],
): string {
  return typedDigest(domain, PAYMENT_TYPES, action, { ...message });
}

/** Signs a payer's or payee's relayed action with any ethers signer. */
export async function signPaymentAction<A extends Exclude<PaymentAction, "Voucher" | "Channel">>(
  signer: Signer,
  domain: Eip712Domain,
  action: A,
  message: PaymentMessages[A],
): Promise<string> {
  return signer.signTypedData(domain, { [action]: [...PAYMENT_TYPES[action]] }, { ...message });
}

/** A channel's id: the EIP-712 digest of its terms (`Channel`) under the PaymentChannels domain. */
export function channelIdOf(domain: Eip712Domain, terms: PaymentMessages["Channel"]): bigint {
  return BigInt(paymentDigest(domain, "Channel", terms));
}

/** EIP-3009's authorization fields, shared by its transfer and receive types (as USDC and x402 define them). */
const EIP3009_AUTHORIZATION_FIELDS = [
  { name: "from", type: "address" },
  { name: "to", type: "address" },
  { name: "value", type: "uint256" },
  { name: "validAfter", type: "uint256" },
  { name: "validBefore", type: "uint256" },
  { name: "nonce", type: "bytes32" },
] as const;

/** EIP-3009 `ReceiveWithAuthorization`, signed under the token's own domain (PaymentChannels' funding). */
export const RECEIVE_WITH_AUTHORIZATION_TYPES = { ReceiveWithAuthorization: EIP3009_AUTHORIZATION_FIELDS } as const;

/** EIP-3009 `TransferWithAuthorization`, signed under the token's own domain (x402's `exact` scheme). */
export const TRANSFER_WITH_AUTHORIZATION_TYPES = { TransferWithAuthorization: EIP3009_AUTHORIZATION_FIELDS } as const;

/** EIP-3009 `CancelAuthorization`, signed under the token's own domain. */
export const CANCEL_AUTHORIZATION_TYPES = {
  CancelAuthorization: [
    { name: "authorizer", type: "address" },
    { name: "nonce", type: "bytes32" },
  ],
} as const;

const VOUCHER_TYPEHASH = getBytes(typeHash(PAYMENT_TYPES, "Voucher"));
const UINT64_LIMIT = 1n << 64n;

/** Writes a uint256 big-endian at `offset` (one 64-bit store for the common small values). */
function writeUint256(view: DataView, offset: number, value: bigint): void {
  if (value < UINT64_LIMIT) {
    view.setBigUint64(offset + 24, value);
    return;
  }
  for (let word = 0; word < 4; word++) {
    view.setBigUint64(offset + 24 - 8 * word, (value >> BigInt(64 * word)) & (UINT64_LIMIT - 1n));
  }
}

/**
 * The EIP-712 digest of a voucher, computed directly (two words under the type hash) because payees check
 * thousands per second; a parity test pins it to ethers and the contract.
 */
export function voucherDigest(domain: Eip712Domain, channelId: bigint, amount: bigint): string {
  return hexlify(voucherDigestBytes(domain, channelId, amount));
}

/** {@link voucherDigest} as bytes. */
export function voucherDigestBytes(domain: Eip712Domain, channelId: bigint, amount: bigint): Uint8Array {
  if (channelId < 0n || channelId >= 1n << 256n || amount < 0n || amount >= 1n << 256n) {
    throw new RangeError("voucher channelId and amount are uint256");
  }
  const struct = new Uint8Array(96);
  struct.set(VOUCHER_TYPEHASH, 0);
  const view = new DataView(struct.buffer);
  writeUint256(view, 32, channelId);
  writeUint256(view, 64, amount);
  return typedDataDigestBytes(domain, keccak256(struct));
}
