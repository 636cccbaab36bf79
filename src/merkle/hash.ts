import { AbiCoder, getBytes, hexlify, isHexString } from "ethers";
import { keccak256 } from "../keccak";

const WORD = 32;

/** Writes one static ABI value into `out` at `offset`; returns false if the type is not handled here. */
function encodeStaticWord(type: string, value: unknown, out: Uint8Array, offset: number): boolean {
  if (type === "address" || type === "bytes32") {
    const size = type === "address" ? 20 : 32;
    if (typeof value !== "string" || !isHexString(value, size)) return false;
    const bytes = getBytes(value);
    out.set(bytes, offset + WORD - size);
    return true;
  }
  const match = /^(u?)int(\d*)$/.exec(type);
  if (match === null) return false;
  const bits = match[2] === "" ? 256 : Number(match[2]);
  const unsigned = match[1] === "u";
  if (typeof value !== "bigint" && typeof value !== "number") return false;
  let n = BigInt(value);
  const limit = 1n << BigInt(unsigned ? bits : bits - 1);
  if (unsigned ? n < 0n || n >= limit : n < -limit || n >= limit) return false;
  if (n < 0n) n += 1n << 256n; // two's complement, sign-extended to 256 bits
  for (let i = WORD - 1; i >= 0; i--) {
    out[offset + i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return true;
}

/**
 * `abi.encode(values)` as bytes. Static address, bytes32 and (u)intN values are encoded directly; anything
 * else (and any value the fast path cannot take) goes through ethers' AbiCoder, which also produces its
 * errors for bad input.
 */
export function abiEncode(types: readonly string[], values: readonly unknown[]): Uint8Array {
  if (types.length === values.length) {
    const out = new Uint8Array(types.length * WORD);
    if (types.every((type, i) => encodeStaticWord(type, values[i], out, i * WORD))) return out;
  }
  return getBytes(AbiCoder.defaultAbiCoder().encode(types, values));
}

/**
 * OpenZeppelin's standard leaf: keccak256(bytes.concat(keccak256(abi.encode(values)))).
 * Hashing twice keeps a leaf from ever equalling an inner node (second-preimage resistance).
 */
export function standardLeafHash(types: readonly string[], values: readonly unknown[]): Uint8Array {
  return keccak256(keccak256(abiEncode(types, values)));
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
  return keccak256(buffer);
}
