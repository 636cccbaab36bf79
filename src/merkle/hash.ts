import { keccak_256 } from "@noble/hashes/sha3";
import { AbiCoder, getBytes, hexlify } from "ethers";

export const keccak256Bytes = (data: Uint8Array): Uint8Array => keccak_256(data);

/**
 * OpenZeppelin's standard leaf: keccak256(bytes.concat(keccak256(abi.encode(values)))).
 * Hashing twice keeps a leaf from ever equalling an inner node (second-preimage resistance).
 */
export function standardLeafHash(types: readonly string[], values: readonly unknown[]): Uint8Array {
  const encoded = getBytes(AbiCoder.defaultAbiCoder().encode(types, values));
  return keccak_256(keccak_256(encoded));
}

export function standardLeafHex(types: readonly string[], values: readonly unknown[]): string {
  return hexlify(standardLeafHash(types, values));
}

/** Compares two 32-byte nodes as big-endian numbers. */
export function compareNodes(a: Uint8Array, aOffset: number, b: Uint8Array, bOffset: number): number {
  for (let i = 0; i < 32; i++) {
    const diff = a[aOffset + i]! - b[bOffset + i]!;
    if (diff !== 0) return diff;
  }
  return 0;
}

/** OpenZeppelin's commutative node hash: keccak256 of the two children in ascending order. */
export function hashPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  const buffer = new Uint8Array(64);
  if (compareNodes(a, 0, b, 0) <= 0) {
    buffer.set(a, 0);
    buffer.set(b, 32);
  } else {
    buffer.set(b, 0);
    buffer.set(a, 32);
  }
  return keccak_256(buffer);
}
