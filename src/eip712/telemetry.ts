/**
 * The single source of truth for telemetry readings' EIP-712 domain and type. Devices sign readings
 * under the TelemetryAnchor's domain (its chain id and address), so a signature made for one deployment
 * or chain is worthless on another. A parity test checks these against the contract.
 */
import { getBytes, hexlify } from "ethers";
import { abiEncode } from "../merkle/hash";
import { keccak256 } from "../merkle/keccak";
import { domainSeparator, makeDomain, typeHash } from "./domain";
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

/** `abi.encode(device, sequence, timestamp, metric, value, payloadHash)`: 192 bytes. */
export function encodeReading(reading: Reading): Uint8Array {
  return abiEncode(READING_ABI_TYPES, readingValues(reading));
}

const READING_TYPEHASH = getBytes(typeHash(TELEMETRY_TYPES, "Reading"));
const separators = new Map<string, Uint8Array>();

function separatorOf(domain: Eip712Domain): Uint8Array {
  const key = `${domain.chainId}:${domain.verifyingContract}:${domain.name}:${domain.version}`;
  let separator = separators.get(key);
  if (separator === undefined) {
    separator = getBytes(domainSeparator(domain));
    separators.set(key, separator);
  }
  return separator;
}

/**
 * The EIP-712 digest of `reading` under `domain`, computed directly (type hash, static encoding,
 * keccak) rather than through ethers' generic encoder; a parity test pins it to ethers and the contract.
 */
export function readingDigestBytes(domain: Eip712Domain, reading: Reading): Uint8Array {
  const struct = new Uint8Array(32 + 192);
  struct.set(READING_TYPEHASH, 0);
  struct.set(encodeReading(reading), 32);
  const message = new Uint8Array(66);
  message[0] = 0x19;
  message[1] = 0x01;
  message.set(separatorOf(domain), 2);
  message.set(keccak256(struct), 34);
  return keccak256(message);
}

export function readingDigest(domain: Eip712Domain, reading: Reading): string {
  return hexlify(readingDigestBytes(domain, reading));
}
