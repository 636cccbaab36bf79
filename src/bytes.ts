/** Small byte helpers for hot paths (no intermediate strings or arrays). */
import { hexlify } from "ethers";
import { keccak256 } from "./keccak";

const HEX_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUES["0123456789abcdef".charCodeAt(i)] = i;
  HEX_VALUES["0123456789ABCDEF".charCodeAt(i)] = i;
}

/**
 * Decodes exactly `bytes` bytes of 0x-prefixed hex into `out` at `offset`. Returns false (leaving `out`
 * partly written) if `hex` is not a string of that shape.
 */
export function decodeHexInto(out: Uint8Array, offset: number, hex: unknown, bytes: number): boolean {
  if (typeof hex !== "string" || hex.length !== 2 + 2 * bytes || hex.charCodeAt(0) !== 48) return false;
  if ((hex.charCodeAt(1) | 32) !== 120) return false;
  for (let i = 0; i < bytes; i++) {
    const a = hex.charCodeAt(2 + 2 * i);
    const b = hex.charCodeAt(3 + 2 * i);
    const hi = a < 128 ? HEX_VALUES[a]! : -1;
    const lo = b < 128 ? HEX_VALUES[b]! : -1;
    if (hi < 0 || lo < 0) return false;
    out[offset + i] = (hi << 4) | lo;
  }
  return true;
}

/** Lower-case 0x-hex of `bytes`: Node's native encoder where there is one (the same text as ethers' `hexlify`). */
export const toHex: (bytes: Uint8Array) => string =
  typeof Buffer === "undefined"
    ? (bytes) => hexlify(bytes)
    : (bytes) => `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;

const ASCII_HEX = new TextEncoder();

/**
 * EIP-55: the checksummed form of a 0x-prefixed 20-byte hex address, or undefined when `value` is not one or
 * is mixed-case with a wrong checksum. The same answers as ethers' `getAddress` for 0x-prefixed input, on the
 * fast keccak (a fleet of new keys pays one checksum per key).
 */
export function checksumAddress(value: string): string | undefined {
  if (value.length !== 42 || value.charCodeAt(0) !== 48 || value.charCodeAt(1) !== 120) return undefined;
  const body = value.slice(2);
  const lower = body.toLowerCase();
  if (!/^[0-9a-f]{40}$/.test(lower)) return undefined;
  const hash = keccak256(ASCII_HEX.encode(lower));
  let out = "0x";
  for (let i = 0; i < 40; i++) {
    const nibble = (hash[i >> 1]! >> (i % 2 === 0 ? 4 : 0)) & 0xf;
    out += nibble >= 8 ? lower[i]!.toUpperCase() : lower[i]!;
  }
  const mixed = body !== lower && body !== body.toUpperCase();
  return mixed && out.slice(2) !== body ? undefined : out;
}
