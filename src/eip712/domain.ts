import { TypedDataEncoder, getAddress, getBytes, id } from "ethers";
import { keccak256 } from "../keccak";
import type { TypedDataField } from "ethers";

/** An EIP-712 domain as iotrail contracts use it (OpenZeppelin `EIP712`: no salt). */
export interface Eip712Domain {
  name: string;
  version: string;
  chainId: bigint;
  verifyingContract: string;
}

export type TypeTable = Readonly<Record<string, readonly TypedDataField[]>>;

export function makeDomain(
  name: string,
  version: string,
  chainId: bigint | number,
  verifyingContract: string,
): Eip712Domain {
  return { name, version, chainId: BigInt(chainId), verifyingContract: getAddress(verifyingContract) };
}

function single(types: TypeTable, primaryType: string): Record<string, TypedDataField[]> {
  const fields = types[primaryType];
  if (fields === undefined) throw new Error(`unknown EIP-712 type ${primaryType}`);
  return { [primaryType]: [...fields] };
}

/** The EIP-712 digest of `message` as `primaryType` of `types`. */
export function typedDigest(
  domain: Eip712Domain,
  types: TypeTable,
  primaryType: string,
  message: Record<string, unknown>,
): string {
  return TypedDataEncoder.hash(domain, single(types, primaryType), message);
}

/** The EIP-712 struct hash of `message` as `primaryType` of `types`. */
export function structHash(types: TypeTable, primaryType: string, message: Record<string, unknown>): string {
  return TypedDataEncoder.hashStruct(primaryType, single(types, primaryType), message);
}

/** The EIP-712 type hash of `primaryType`: keccak256 of its canonical encoding. */
export function typeHash(types: TypeTable, primaryType: string): string {
  return id(TypedDataEncoder.from(single(types, primaryType)).encodeType(primaryType));
}

/** The domain separator of `domain`. */
export function domainSeparator(domain: Eip712Domain): string {
  return TypedDataEncoder.hashDomain(domain);
}

const separators = new Map<string, Uint8Array>();
/** The same separators by domain object, for callers that reuse one (the key string costs more than the hash). */
const byObject = new WeakMap<Eip712Domain, Uint8Array>();

/**
 * keccak256(0x1901 ‖ domainSeparator ‖ structHash), with the separator computed once per domain: the fast
 * path of the digests that devices, payees and batchers compute thousands of times per second.
 */
export function typedDataDigestBytes(domain: Eip712Domain, structHash: Uint8Array): Uint8Array {
  let separator = byObject.get(domain);
  if (separator === undefined) {
    const key = `${domain.chainId}:${domain.verifyingContract}:${domain.name}:${domain.version}`;
    separator = separators.get(key);
    if (separator === undefined) {
      separator = getBytes(domainSeparator(domain));
      separators.set(key, separator);
    }
    byObject.set(domain, separator);
  }
  const message = new Uint8Array(66);
  message[0] = 0x19;
  message[1] = 0x01;
  message.set(separator, 2);
  message.set(structHash, 34);
  return keccak256(message);
}
