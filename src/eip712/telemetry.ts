/**
 * The single source of truth for telemetry readings' EIP-712 domain and type. Devices sign readings
 * under the TelemetryAnchor's domain (its chain id and address), so a signature made for one deployment
 * or chain is worthless on another. A parity test checks these against the contract.
 */
import { getBytes, hexlify } from "ethers";
import { decodeHexInto } from "../bytes";
import { InvalidInputError } from "../errors";
import { keccak256 } from "../keccak";
import { makeDomain, typeHash, typedDataDigestBytes, typedDigest } from "./domain";
import type { Eip712Domain } from "./domain";

export const TELEMETRY_EIP712_NAME = "iotrail TelemetryAnchor";
export const TELEMETRY_EIP712_VERSION = "1";

export const TELEMETRY_TYPES = {
  Reading: [
    { name: "device", type: "address" },
    { name: "sequence", type: "uint64" },
    { name: "timestamp", type: "uint64" },
    { name: "metric", type: "bytes32" },
    { name: "value", type: "int256" },
    { name: "payloadHash", type: "bytes32" },
  ],
} as const;

/**
 * Off-chain type of a device's login to the batcher's MQTT broker, under the same domain as its readings
 * (so a login is bound to one chain and anchor deployment). No contract checks it.
 */
export const BROKER_LOGIN_TYPES = {
  BrokerLogin: [
    { name: "device", type: "address" },
    { name: "timestamp", type: "uint64" },
  ],
} as const;

/** Version tag of the broker password format `v1.<unix seconds>.<0x signature>`. */
export const BROKER_PASSWORD_VERSION = "v1";

export function formatBrokerPassword(timestamp: bigint, signature: string): string {
  return `${BROKER_PASSWORD_VERSION}.${timestamp}.${signature}`;
}

/** Parses a broker password; undefined when it is not the `v1` format. */
export function parseBrokerPassword(text: string): { timestamp: bigint; signature: string } | undefined {
  const match = /^v1\.(0|[1-9][0-9]{0,15})\.(0x[0-9a-fA-F]{130})$/.exec(text);
  return match === null ? undefined : { timestamp: BigInt(match[1]!), signature: match[2]! };
}

/** The EIP-712 digest of a device's broker login at Unix time `timestamp`. */
export function brokerLoginDigest(domain: Eip712Domain, device: string, timestamp: bigint): string {
  return typedDigest(domain, BROKER_LOGIN_TYPES, "BrokerLogin", { device, timestamp });
}

/** ABI types of a reading's fields, in order: the Merkle leaf encodes exactly these. */
export const READING_ABI_TYPES = TELEMETRY_TYPES.Reading.map((field) => field.type);

/** A telemetry reading as signed (see `ITelemetryAnchor.Reading` for the meaning of each field). */
export interface Reading {
  device: string;
  sequence: bigint;
  timestamp: bigint;
  metric: string;
  value: bigint;
  payloadHash: string;
}

export function telemetryDomain(chainId: bigint | number, anchor: string): Eip712Domain {
  return makeDomain(TELEMETRY_EIP712_NAME, TELEMETRY_EIP712_VERSION, chainId, anchor);
}

/** The reading's field values in ABI order, e.g. for `StandardMerkleTree.of(values, READING_ABI_TYPES)`. */
export function readingValues(reading: Reading): [string, bigint, bigint, string, bigint, string] {
  return [reading.device, reading.sequence, reading.timestamp, reading.metric, reading.value, reading.payloadHash];
}

const UINT64_MAX = (1n << 64n) - 1n;
const INT256_MIN = -(1n << 255n);
const INT256_MAX = (1n << 255n) - 1n;
const MASK64 = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Decodes `bytes` bytes of 0x-hex into `out` at `offset`, or throws naming the field. */
function writeHex(out: Uint8Array, offset: number, hex: string, bytes: number, field: string): void {
  if (!decodeHexInto(out, offset, hex, bytes)) {
    throw new InvalidInputError(`reading.${field} must be ${bytes} bytes of 0x-hex`, {
      details: { field, value: hex },
    });
  }
}

function checkRange(value: bigint, min: bigint, max: bigint, field: string): void {
  if (typeof value !== "bigint" || value < min || value > max) {
    throw new InvalidInputError(`reading.${field} must be an integer in [${min}, ${max}]`, {
      details: { field, value: String(value) },
    });
  }
}

/**
 * `abi.encode(device, sequence, timestamp, metric, value, payloadHash)`: 192 bytes, written field by field
 * (this is on the batcher's hot path); a parity test pins it to ethers' AbiCoder.
 */
export function encodeReading(reading: Reading): Uint8Array {
  const out = new Uint8Array(192);
  encodeReadingInto(reading, out, 0);
  return out;
}

/** {@link encodeReading} into `out[offset .. offset + 192)`, which must hold zeros where padding goes. */
export function encodeReadingInto(reading: Reading, out: Uint8Array, offset: number): void {
  checkRange(reading.sequence, 0n, UINT64_MAX, "sequence");
  checkRange(reading.timestamp, 0n, UINT64_MAX, "timestamp");
  checkRange(reading.value, INT256_MIN, INT256_MAX, "value");
  const view = new DataView(out.buffer, out.byteOffset + offset, 192);
  writeHex(out, offset + 12, reading.device, 20, "device");
  view.setBigUint64(56, reading.sequence);
  view.setBigUint64(88, reading.timestamp);
  writeHex(out, offset + 96, reading.metric, 32, "metric");
  const value = reading.value;
  if (value >= INT64_MIN && value <= INT64_MAX) {
    view.setBigInt64(152, value);
    out.fill(value < 0n ? 0xff : 0, offset + 128, offset + 152); // sign extension to 256 bits
  } else {
    let rest = value < 0n ? value + (1n << 256n) : value;
    for (let word = 152; word >= 128; word -= 8) {
      view.setBigUint64(word, rest & MASK64);
      rest >>= 64n;
    }
  }
  writeHex(out, offset + 160, reading.payloadHash, 32, "payloadHash");
}

const READING_TYPEHASH = getBytes(typeHash(TELEMETRY_TYPES, "Reading"));
/**
 * The EIP-712 digest of `reading` under `domain`, computed directly (type hash, static encoding,
 * keccak) rather than through ethers' generic encoder; a parity test pins it to ethers and the contract.
 */
export function readingDigestBytes(domain: Eip712Domain, reading: Reading): Uint8Array {
  return digestOfReadingStruct(domain, readingStruct(reading));
}

/** {@link readingDigestBytes} from the reading's {@link readingStruct}. */
export function digestOfReadingStruct(domain: Eip712Domain, struct: Uint8Array): Uint8Array {
  return typedDataDigestBytes(domain, keccak256(struct));
}

/**
 * The type hash and the ABI encoding of `reading` back to back (224 bytes): what the EIP-712 struct hash
 * covers; bytes 32 to 224 are what the reading's Merkle leaf covers.
 */
export function readingStruct(reading: Reading): Uint8Array {
  const struct = new Uint8Array(32 + 192);
  struct.set(READING_TYPEHASH, 0);
  encodeReadingInto(reading, struct, 32);
  return struct;
}

export function readingDigest(domain: Eip712Domain, reading: Reading): string {
  return hexlify(readingDigestBytes(domain, reading));
}
