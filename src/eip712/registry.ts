/**
 * The single source of truth for the DeviceRegistry's EIP-712 domain and types. The SDK, the device
 * helpers, the CLI and the tests all sign and hash through these definitions; a parity test checks them
 * against the contract's type hashes and domain separator.
 */
import type { Signer } from "ethers";
import { makeDomain, typedDigest } from "./domain";
import type { Eip712Domain } from "./domain";

export const REGISTRY_EIP712_NAME = "iotrail DeviceRegistry";
export const REGISTRY_EIP712_VERSION = "1";

export const REGISTRY_TYPES = {
  RegisterDevice: [
    { name: "key", type: "address" },
    { name: "registrant", type: "address" },
    { name: "owner", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  ClaimDevice: [
    { name: "key", type: "address" },
    { name: "lotId", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  AcceptKey: [
    { name: "key", type: "address" },
    { name: "deviceId", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  TransferDevice: [
    { name: "deviceId", type: "uint256" },
    { name: "newOwner", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  AcceptTransfer: [
    { name: "deviceId", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  SuspendDevice: [
    { name: "deviceId", type: "uint256" },
    { name: "reason", type: "uint16" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  ResumeDevice: [
    { name: "deviceId", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  RevokeDevice: [
    { name: "deviceId", type: "uint256" },
    { name: "reason", type: "uint16" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  RotateKey: [
    { name: "deviceId", type: "uint256" },
    { name: "newKey", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

/** The messages of each registry action, as signed. */
export interface RegistryMessages {
  RegisterDevice: { key: string; registrant: string; owner: string; nonce: bigint; deadline: bigint };
  ClaimDevice: { key: string; lotId: bigint; nonce: bigint; deadline: bigint };
  AcceptKey: { key: string; deviceId: bigint; nonce: bigint; deadline: bigint };
  TransferDevice: { deviceId: bigint; newOwner: string; nonce: bigint; deadline: bigint };
  AcceptTransfer: { deviceId: bigint; nonce: bigint; deadline: bigint };
  SuspendDevice: { deviceId: bigint; reason: number; nonce: bigint; deadline: bigint };
  ResumeDevice: { deviceId: bigint; nonce: bigint; deadline: bigint };
  RevokeDevice: { deviceId: bigint; reason: number; nonce: bigint; deadline: bigint };
  RotateKey: { deviceId: bigint; newKey: string; nonce: bigint; deadline: bigint };
}

export type RegistryAction = keyof RegistryMessages;

/** Actions signed by a device key to prove possession of it. */
export type PossessionAction = "RegisterDevice" | "ClaimDevice" | "AcceptKey";

/** Actions signed by a device's owner (or pending owner) so that a relayer can submit them. */
export type OwnerAction = Exclude<RegistryAction, PossessionAction>;

export function registryDomain(chainId: bigint | number, verifyingContract: string): Eip712Domain {
  return makeDomain(REGISTRY_EIP712_NAME, REGISTRY_EIP712_VERSION, chainId, verifyingContract);
}

export function registryDigest<A extends RegistryAction>(
  domain: Eip712Domain,
  action: A,
  message: RegistryMessages[A],
): string {
  return typedDigest(domain, REGISTRY_TYPES, action, { ...message });
}

/** Signs a registry action with any ethers signer (wallet, JSON-RPC account, hardware signer). */
export async function signRegistryAction<A extends RegistryAction>(
  signer: Signer,
  domain: Eip712Domain,
  action: A,
  message: RegistryMessages[A],
): Promise<string> {
  return signer.signTypedData(domain, { [action]: [...REGISTRY_TYPES[action]] }, { ...message });
}
