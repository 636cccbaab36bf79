/**
 * The compact binary ingest message (version 2): one signed reading in deterministic CBOR (RFC 8949 §4.2.1),
 * described in `schemas/ingest-message.v2.cddl`. It carries the same EIP-712 reading as the JSON form
 * (version 1), so the digest, the leaf, bundles and the contracts are the same:
 *
 * - a map with small integer keys, in ascending order, each at most once;
 * - integers as CBOR integers in their shortest form (a value beyond 64 bits as a bignum, tag 2 or 3, with
 *   no leading zero byte);
 * - the metric as the short text the bytes32 id pads (at most 31 bytes, no NUL), or as 32 raw bytes when
 *   the id is not such a text;
 * - the signature in EIP-2098's 64 bytes (r, then s with the y parity in its top bit);
 * - the payload hash left out when zero; the domain and the device left out where the receiver already
 *   knows them (its single configured domain; the identity of the connection).
 *
 * The decoder accepts exactly that shape and nothing else: indefinite lengths, non-shortest integers,
 * unsorted or repeated keys, unknown keys, trailing bytes and floats are refused, never guessed, so one
 * message has one meaning for every reader.
 */
import { decodeBytes32String, encodeBytes32String, getAddress, getBytes } from "ethers";
import { checksumAddress } from "../bytes";
import { InvalidInputError } from "../errors";
import type { Eip712Domain, Reading } from "../eip712";
import { ZERO_HASH } from "./reading";

/** The ingest message's version number (key 0). */
export const INGEST_MESSAGE_V2 = 2;

/** The keys of the version-2 map, in the order they must appear. */
export const CBOR_KEYS = {
  version: 0,
  chainId: 1,
  verifyingContract: 2,
  device: 3,
  sequence: 4,
  timestamp: 5,
  metric: 6,
  value: 7,
  payloadHash: 8,
  signature: 9,
} as const;

/** What a receiver knows without reading the message: its one domain, and the sender's identity. */
export interface ImpliedFields {
  /** The receiver's domain (name and version are always its own; chain and contract may be left out). */
  domain: Eip712Domain;
  /** The device the connection is authenticated as (an MQTT login, a CoAP resource); none over plain HTTP. */
  device?: string;
}

/** A decoded version-2 message: the reading as signed and the 65-byte signature (r, s, v = 27 + parity). */
export interface DecodedIngestMessage {
  /** The chain and contract the message names, when it names them (else the receiver's own apply). */
  claimedDomain?: { chainId: bigint; verifyingContract: string };
  reading: Reading;
  signature: Uint8Array;
}

const UINT64_MAX = (1n << 64n) - 1n;
const INT256_MIN = -(1n << 255n);
const INT256_MAX = (1n << 255n) - 1n;
const textDecoder = new TextDecoder("utf-8", { fatal: true });
const textEncoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------- encoding

class Writer {
  private buffer = new Uint8Array(128);
  length = 0;

  private room(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + extra));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  /** A head: major type and argument in the shortest form. */
  head(major: number, argument: bigint | number): void {
    const n = BigInt(argument);
    this.room(9);
    const type = major << 5;
    if (n < 24n) this.buffer[this.length++] = type | Number(n);
    else if (n < 0x100n) this.bytes([type | 24, Number(n)]);
    else if (n < 0x10000n) this.bytes([type | 25, Number(n >> 8n), Number(n & 0xffn)]);
    else if (n < 0x100000000n) this.bytes([type | 26, ...bigEndian(n, 4)]);
    else this.bytes([type | 27, ...bigEndian(n, 8)]);
  }

  bytes(data: ArrayLike<number>): void {
    this.room(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }

  byteString(data: Uint8Array): void {
    this.head(2, data.length);
    this.bytes(data);
  }

  integer(value: bigint): void {
    if (value >= 0n && value <= UINT64_MAX) return this.head(0, value);
    if (value < 0n && -1n - value <= UINT64_MAX) return this.head(1, -1n - value);
    // Beyond 64 bits: a bignum (tag 2 positive, tag 3 negative as -1 - n), its bytes without leading zeros.
    const magnitude = value >= 0n ? value : -1n - value;
    this.head(6, value >= 0n ? 2 : 3);
    this.byteString(minimalBytes(magnitude));
  }

  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

function bigEndian(n: bigint, size: number): number[] {
  const out: number[] = [];
  for (let i = size - 1; i >= 0; i--) out.push(Number((n >> BigInt(8 * i)) & 0xffn));
  return out;
}

function minimalBytes(n: bigint): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return getBytes(`0x${hex}`);
}

/** EIP-2098: 65 bytes (r, s, v) as 64 (r, then s with the y parity in its top bit). */
export function toCompactSignature(signature: string | Uint8Array): Uint8Array {
  const bytes = typeof signature === "string" ? getBytes(signature) : signature;
  if (bytes.length !== 65) throw new InvalidInputError(`a signature is 65 bytes; got ${bytes.length}`);
  const v = bytes[64]!;
  if (v !== 27 && v !== 28) throw new InvalidInputError(`a signature's v is 27 or 28; got ${v}`);
  if ((bytes[32]! & 0x80) !== 0) throw new InvalidInputError("a signature with a high s has no EIP-2098 form");
  const compact = bytes.slice(0, 64);
  if (v === 28) compact[32] = compact[32]! | 0x80;
  return compact;
}

/** EIP-2098's 64 bytes back to 65 (r, s, v = 27 + the parity bit). */
export function fromCompactSignature(compact: Uint8Array): Uint8Array {
  if (compact.length !== 64) throw new InvalidInputError(`an EIP-2098 signature is 64 bytes; got ${compact.length}`);
  const full = new Uint8Array(65);
  full.set(compact, 0);
  const parity = compact[32]! >> 7;
  full[32] = compact[32]! & 0x7f;
  full[64] = 27 + parity;
  return full;
}

/** The metric as short text when its id is one (and back to the same id), else undefined. */
function metricText(metric: string): string | undefined {
  let text: string;
  try {
    text = decodeBytes32String(metric);
  } catch {
    return undefined;
  }
  if (text.length === 0 || text.includes("\0")) return undefined;
  return encodeBytes32String(text).toLowerCase() === metric.toLowerCase() ? text : undefined;
}

/**
 * The version-2 (CBOR) form of a signed reading. `omit` leaves out what the receiver knows: its domain
 * (`domain: true`) and the device the connection is authenticated as (`device: true`).
 */
export function encodeIngestMessageCbor(params: {
  domain: Eip712Domain;
  reading: Reading;
  signature: string | Uint8Array;
  omit?: { domain?: boolean; device?: boolean };
}): Uint8Array {
  const { domain, reading, omit = {} } = params;
  const hasPayload = reading.payloadHash.toLowerCase() !== ZERO_HASH;
  const entries = 6 + (omit.domain === true ? 0 : 2) + (omit.device === true ? 0 : 1) + (hasPayload ? 1 : 0);
  const out = new Writer();
  out.head(5, entries);
  out.head(0, CBOR_KEYS.version);
  out.head(0, INGEST_MESSAGE_V2);
  if (omit.domain !== true) {
    out.head(0, CBOR_KEYS.chainId);
    out.integer(domain.chainId);
    out.head(0, CBOR_KEYS.verifyingContract);
    out.byteString(getBytes(domain.verifyingContract));
  }
  if (omit.device !== true) {
    out.head(0, CBOR_KEYS.device);
    out.byteString(getBytes(reading.device));
  }
  out.head(0, CBOR_KEYS.sequence);
  out.integer(reading.sequence);
  out.head(0, CBOR_KEYS.timestamp);
  out.integer(reading.timestamp);
  out.head(0, CBOR_KEYS.metric);
  const text = metricText(reading.metric);
  if (text !== undefined) {
    const utf8 = textEncoder.encode(text);
    out.head(3, utf8.length);
    out.bytes(utf8);
  } else out.byteString(getBytes(reading.metric));
  out.head(0, CBOR_KEYS.value);
  out.integer(reading.value);
  if (hasPayload) {
    out.head(0, CBOR_KEYS.payloadHash);
    out.byteString(getBytes(reading.payloadHash));
  }
  out.head(0, CBOR_KEYS.signature);
  out.byteString(toCompactSignature(params.signature));
  return out.result();
}

// ---------------------------------------------------------------------------------------------- decoding

/** Why a version-2 message was refused: `malformed` (not the deterministic CBOR shape) or `schema`. */
export class CborMessageError extends InvalidInputError {
  constructor(
    readonly kind: "malformed" | "schema",
    message: string,
  ) {
    super(message, { details: { kind } });
  }
}

const malformed = (message: string) => new CborMessageError("malformed", message);
const schema = (message: string) => new CborMessageError("schema", message);

/** A head's major type and argument: a number up to 32 bits, a bigint beyond (only 8-byte arguments). */
interface Head {
  major: number;
  argument: number | bigint;
}

class Reader {
  offset = 0;
  constructor(private readonly data: Uint8Array) {}

  get done(): boolean {
    return this.offset === this.data.length;
  }

  private byte(): number {
    if (this.offset >= this.data.length) throw malformed("the message ends inside a CBOR item");
    return this.data[this.offset++]!;
  }

  /** A head: its major type and argument, which must be in the shortest form. */
  head(): Head {
    const initial = this.byte();
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (info < 24) return { major, argument: info };
    if (info === 31) throw malformed("indefinite lengths are not allowed");
    if (info > 27) throw malformed(`reserved additional information ${info}`);
    if (major === 7) throw malformed("floats and simple values are not allowed");
    if (info === 27) {
      let argument = 0n;
      for (let i = 0; i < 8; i++) argument = (argument << 8n) | BigInt(this.byte());
      if (argument < 0x100000000n) throw malformed("an integer or length is not in its shortest form");
      return { major, argument };
    }
    const size = 1 << (info - 24);
    let argument = 0;
    for (let i = 0; i < size; i++) argument = argument * 256 + this.byte();
    if (argument < (size === 1 ? 24 : size === 2 ? 0x100 : 0x10000)) {
      throw malformed("an integer or length is not in its shortest form");
    }
    return { major, argument };
  }

  /** `length` bytes (a byte or text string's content). */
  take(length: number | bigint): Uint8Array {
    if (typeof length === "bigint" || length > this.data.length - this.offset) {
      throw malformed("a string runs past the message's end");
    }
    const start = this.offset;
    this.offset += length;
    return this.data.subarray(start, this.offset);
  }
}

function readUint(reader: Reader, name: string): bigint {
  const { major, argument } = reader.head();
  if (major !== 0) throw schema(`${name} must be an unsigned integer`);
  return BigInt(argument);
}

function readBytes(reader: Reader, name: string, size: number): Uint8Array {
  const { major, argument } = reader.head();
  if (major !== 2 || argument !== size) throw schema(`${name} must be ${size} bytes`);
  return reader.take(argument);
}

function readInteger(reader: Reader, name: string): bigint {
  const { major, argument } = reader.head();
  if (major === 0) return BigInt(argument);
  if (major === 1) return -1n - BigInt(argument);
  if (major === 6 && (argument === 2 || argument === 3)) {
    const inner = reader.head();
    if (inner.major !== 2) throw malformed(`${name}: a bignum holds a byte string`);
    const bytes = reader.take(inner.argument);
    if (bytes.length === 0 || bytes[0] === 0) throw malformed(`${name}: a bignum has no leading zero byte`);
    let magnitude = 0n;
    for (const byte of bytes) magnitude = (magnitude << 8n) | BigInt(byte);
    if (magnitude <= UINT64_MAX) throw malformed(`${name}: a bignum is only for values beyond 64 bits`);
    const value = argument === 2 ? magnitude : -1n - magnitude;
    if (value < INT256_MIN || value > INT256_MAX) throw schema(`${name} is outside int256`);
    return value;
  }
  throw schema(`${name} must be an integer`);
}

/** Checksummed addresses of recently seen 20-byte values (a fleet reuses its keys; a checksum costs a keccak). */
const checksums = new Map<string, string>();
function addressOf(bytes: Uint8Array): string {
  const lower = hex(bytes);
  let address = checksums.get(lower);
  if (address === undefined) {
    address = checksumAddress(lower)!;
    if (checksums.size >= 4096) checksums.clear();
    checksums.set(lower, address);
  }
  return address;
}

/** The bytes32 ids of recently seen metric texts. */
const metricIds = new Map<string, string>();

const KEY_NAMES = Object.fromEntries(Object.entries(CBOR_KEYS).map(([name, key]) => [key, name])) as Record<
  number,
  keyof typeof CBOR_KEYS
>;

/**
 * Reads a version-2 message. What it leaves out comes from `implied`: the device from the connection's
 * identity (and a device it names must be that identity), the chain and contract from the receiver's
 * domain (a domain it names is returned as claimed, for the receiver's domain check). Throws
 * {@link CborMessageError} for anything but the exact shape.
 */
export function decodeIngestMessageCbor(bytes: Uint8Array, implied: ImpliedFields): DecodedIngestMessage {
  const reader = new Reader(bytes);
  const map = reader.head();
  if (map.major !== 5) throw malformed("a version-2 message is a CBOR map");
  const fields: Partial<Record<keyof typeof CBOR_KEYS, unknown>> = {};
  let previous = -1;
  if (typeof map.argument !== "number") throw schema("a version-2 message has at most 10 fields");
  for (let i = 0; i < map.argument; i++) {
    const key = reader.head();
    if (key.major !== 0 || typeof key.argument !== "number" || key.argument > 9) {
      throw schema("unknown field in a version-2 message");
    }
    const k = key.argument;
    if (k === previous) throw malformed(`field ${KEY_NAMES[k]} appears twice`);
    if (k < previous) throw malformed("fields are not in ascending key order");
    previous = k;
    const name = KEY_NAMES[k]!;
    switch (name) {
      case "version":
        fields.version = readUint(reader, "version");
        break;
      case "chainId":
        fields.chainId = readUint(reader, "chainId");
        break;
      case "verifyingContract":
      case "device":
        fields[name] = addressOf(readBytes(reader, name, 20));
        break;
      case "sequence":
      case "timestamp": {
        const n = readUint(reader, name);
        if (n > UINT64_MAX) throw schema(`${name} is outside uint64`);
        fields[name] = n;
        break;
      }
      case "metric":
        fields.metric = readMetric(reader);
        break;
      case "value":
        fields.value = readInteger(reader, "value");
        break;
      case "payloadHash": {
        const hash = hex(readBytes(reader, "payloadHash", 32));
        if (hash === ZERO_HASH) throw malformed("a zero payloadHash is left out, not written");
        fields.payloadHash = hash;
        break;
      }
      case "signature":
        fields.signature = fromCompactSignature(readBytes(reader, "signature", 64));
        break;
    }
  }
  if (!reader.done) throw malformed("bytes follow the message");
  if (fields.version !== BigInt(INGEST_MESSAGE_V2)) throw schema("version (key 0) must be 2");
  for (const name of ["sequence", "timestamp", "metric", "value", "signature"] as const) {
    if (fields[name] === undefined) throw schema(`${name} (key ${CBOR_KEYS[name]}) is missing`);
  }
  if ((fields.chainId === undefined) !== (fields.verifyingContract === undefined)) {
    throw schema("chainId and verifyingContract come together, or neither");
  }
  let device = fields.device as string | undefined;
  if (device === undefined) {
    if (implied.device === undefined) throw schema("device (key 3) is missing and the connection names none");
    device = getAddress(implied.device);
  } else if (implied.device !== undefined && device !== getAddress(implied.device)) {
    throw schema(`the message names device ${device}, but the connection is ${getAddress(implied.device)}`);
  }
  return {
    ...(fields.chainId === undefined
      ? {}
      : {
          claimedDomain: {
            chainId: fields.chainId as bigint,
            verifyingContract: fields.verifyingContract as string,
          },
        }),
    reading: {
      device,
      sequence: fields.sequence as bigint,
      timestamp: fields.timestamp as bigint,
      metric: fields.metric as string,
      value: fields.value as bigint,
      payloadHash: (fields.payloadHash as string | undefined) ?? ZERO_HASH,
    },
    signature: fields.signature as Uint8Array,
  };
}

function readMetric(reader: Reader): string {
  const { major, argument } = reader.head();
  if (major === 3) {
    if (argument === 0 || typeof argument !== "number" || argument > 31) {
      throw schema("a metric text is 1 to 31 bytes");
    }
    const raw = reader.take(argument);
    let text: string;
    try {
      text = textDecoder.decode(raw);
    } catch {
      throw malformed("the metric is not valid UTF-8");
    }
    if (text.includes("\0")) throw schema("a metric text holds no NUL");
    let id = metricIds.get(text);
    if (id === undefined) {
      id = encodeBytes32String(text).toLowerCase();
      if (metricIds.size >= 4096) metricIds.clear();
      metricIds.set(text, id);
    }
    return id;
  }
  if (major === 2 && argument === 32) {
    const metric = hex(reader.take(argument));
    if (metricText(metric) !== undefined) throw malformed("a metric that is a short text is written as text");
    return metric;
  }
  throw schema("the metric is a text of 1 to 31 bytes or 32 bytes");
}

function hex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;
}

/** Whether `bytes` is a version-2 message by its first byte (a CBOR map; a JSON message starts otherwise). */
export const isCborMessage = (bytes: Uint8Array): boolean => bytes.length > 0 && bytes[0]! >= 0xa0 && bytes[0]! <= 0xbf;
