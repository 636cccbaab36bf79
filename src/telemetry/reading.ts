/**
 * Telemetry readings: validation of untrusted input, the JSON wire form, the Merkle leaf and device
 * signatures. The EIP-712 type and the field encoding come from `src/eip712/telemetry.ts`.
 */
import { decodeBytes32String, encodeBytes32String, getAddress, getBytes, hexlify, isHexString } from "ethers";
import { InvalidInputError, SignatureError } from "../errors";
import { digestOfReadingStruct, encodeReadingInto, readingDigestBytes, readingStruct } from "../eip712";
import { recoverSigner } from "../crypto";
import type { Eip712Domain, Reading } from "../eip712";
import { keccak256 } from "../keccak";
import { checksumAddress } from "../bytes";

export type { Reading } from "../eip712";

/** A reading in JSON: integers as decimal strings, bytes as 0x-hex. */
export interface ReadingJson {
  device: string;
  sequence: string;
  timestamp: string;
  metric: string;
  value: string;
  payloadHash: string;
}

export const ZERO_HASH = `0x${"00".repeat(32)}`;
const UINT64_MAX = (1n << 64n) - 1n;
const INT256_MIN = -(1n << 255n);
const INT256_MAX = (1n << 255n) - 1n;

/** The bytes32 metric id of a short ASCII name such as "temperature.mC" (at most 31 bytes). */
export function metricId(name: string): string {
  try {
    return encodeBytes32String(name);
  } catch (cause) {
    throw new InvalidInputError(`metric name "${name}" is longer than 31 bytes`, { details: { name }, cause });
  }
}

/** The name of a metric id made by {@link metricId}, or undefined if it is not a short string. */
export function metricName(id: string): string | undefined {
  try {
    return decodeBytes32String(id);
  } catch {
    return undefined;
  }
}

function field(input: Record<string, unknown>, name: string, path: string): unknown {
  if (!(name in input) || input[name] === undefined || input[name] === null) {
    throw new InvalidInputError(`${path}.${name} is missing`, { details: { field: `${path}.${name}` } });
  }
  return input[name];
}

function integer(value: unknown, name: string, min: bigint, max: bigint): bigint {
  let n: bigint | undefined;
  if (typeof value === "bigint") n = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === "string" && /^(0|-?[1-9][0-9]*)$/.test(value)) n = BigInt(value);
  if (n === undefined || n < min || n > max) {
    throw new InvalidInputError(`${name} must be an integer in [${min}, ${max}]`, {
      details: { field: name, value: typeof value === "bigint" ? value.toString() : value },
    });
  }
  return n;
}

function bytes32(value: unknown, name: string): string {
  if (typeof value !== "string" || !isHexString(value, 32)) {
    throw new InvalidInputError(`${name} must be 32 bytes of 0x-hex`, { details: { field: name, value } });
  }
  return value.toLowerCase();
}

/** Checksummed forms of recently seen device addresses (a fleet reuses a few keys; checksums cost a keccak). */
const checksummed = new Map<string, string>();
const CHECKSUM_CACHE_SIZE = 4096;

function address(value: unknown, name: string): string {
  if (typeof value === "string") {
    const cached = checksummed.get(value);
    if (cached !== undefined) return cached;
    // undefined for a mixed-case address with a bad checksum: the error below
    const result = checksumAddress(value);
    if (result !== undefined) {
      if (checksummed.size >= CHECKSUM_CACHE_SIZE) checksummed.clear();
      checksummed.set(value, result);
      return result;
    }
  }
  throw new InvalidInputError(`${name} must be an address`, { details: { field: name, value } });
}

/**
 * Validates untrusted input (JSON or objects with bigints) and returns a canonical reading: checksummed
 * device, lower-case hex, bigints. Every problem is an {@link InvalidInputError} naming the field.
 */
export function parseReading(input: unknown, path = "reading"): Reading {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new InvalidInputError(`${path} must be an object`, { details: { field: path } });
  }
  const record = input as Record<string, unknown>;
  return {
    device: address(field(record, "device", path), `${path}.device`),
    sequence: integer(field(record, "sequence", path), `${path}.sequence`, 0n, UINT64_MAX),
    timestamp: integer(field(record, "timestamp", path), `${path}.timestamp`, 0n, UINT64_MAX),
    metric: bytes32(field(record, "metric", path), `${path}.metric`),
    value: integer(field(record, "value", path), `${path}.value`, INT256_MIN, INT256_MAX),
    payloadHash: bytes32(field(record, "payloadHash", path), `${path}.payloadHash`),
  };
}

export function readingToJson(reading: Reading): ReadingJson {
  return {
    device: reading.device,
    sequence: reading.sequence.toString(),
    timestamp: reading.timestamp.toString(),
    metric: reading.metric,
    value: reading.value.toString(),
    payloadHash: reading.payloadHash,
  };
}

/** The OpenZeppelin standard leaf of a reading (as `Readings.leaf` computes it on-chain). */
export function readingLeafBytes(reading: Reading): Uint8Array {
  const encoded = new Uint8Array(192);
  encodeReadingInto(reading, encoded, 0);
  return leafOfEncoding(encoded);
}

/**
 * The reading's EIP-712 digest under `domain` and its Merkle leaf, from one encoding: what
 * {@link readingDigestBytes} and {@link readingLeafBytes} give (the batcher's hot path).
 */
export function readingDigestAndLeaf(domain: Eip712Domain, reading: Reading): { digest: Uint8Array; leaf: Uint8Array } {
  const struct = readingStruct(reading);
  return { digest: digestOfReadingStruct(domain, struct), leaf: leafOfEncoding(struct.subarray(32)) };
}

/** `keccak256(bytes.concat(keccak256(abi.encode(...))))`, OpenZeppelin's standard leaf. */
const leafOfEncoding = (encoded: Uint8Array): Uint8Array => keccak256(keccak256(encoded));

export function readingLeaf(reading: Reading): string {
  return hexlify(readingLeafBytes(reading));
}

/**
 * The address that signed `reading` under `domain`. Rejects malformed and high-s (malleable) signatures
 * with a {@link SignatureError}, as OpenZeppelin's ECDSA does on-chain.
 */
export function recoverReadingSigner(domain: Eip712Domain, reading: Reading, signature: string): string {
  const signer = isHexString(signature, 65)
    ? recoverSigner(readingDigestBytes(domain, reading), getBytes(signature))
    : undefined;
  if (signer === undefined) {
    throw new SignatureError("malformed or malleable (high-s) reading signature", { details: { signature } });
  }
  return signer;
}

/** Whether `signature` is `reading.device`'s signature of `reading` under `domain`. */
export function isReadingSignedByDevice(domain: Eip712Domain, reading: Reading, signature: string): boolean {
  try {
    return recoverReadingSigner(domain, reading, signature) === getAddress(reading.device);
  } catch (error) {
    if (error instanceof SignatureError) return false;
    throw error;
  }
}

/**
 * The wire form of one signed reading (the ingest message, `schemas/ingest-message.v1.schema.json`), as
 * devices send it over MQTT or HTTP and the batcher's `checkMessage` reads it.
 */
export function encodeIngestMessage(params: { domain: Eip712Domain; reading: Reading; signature: string }): string {
  return JSON.stringify({
    domain: { chainId: params.domain.chainId.toString(), verifyingContract: params.domain.verifyingContract },
    reading: readingToJson(params.reading),
    signature: params.signature,
  });
}
