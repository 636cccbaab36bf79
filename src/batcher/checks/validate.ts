/**
 * Validation of incoming telemetry, in the order the batcher applies it; each failure has a stable code
 * that is returned to the sender and counted:
 *
 * | order | code | meaning |
 * | --- | --- | --- |
 * | 1 | `E_TOO_LARGE` | the message exceeds the size limit |
 * | 2 | `E_MALFORMED` | not JSON, or not the exact deterministic CBOR of a version-2 message |
 * | 3 | `E_SCHEMA` | missing or mistyped fields, unknown fields |
 * | 4 | `E_DOMAIN` | signed for another chain id or anchor contract |
 * | 5 | `E_SIGNATURE` | not the device's signature (or malleable) |
 * | 6 | `E_UNKNOWN_DEVICE` | the key is not a registered device key |
 * | 7 | `E_DEVICE_INACTIVE` | the device is suspended or revoked |
 * | 8 | `E_SEQUENCE` | another reading was already accepted under this (device, sequence) |
 * | 9 | `E_TIMESTAMP` | the device timestamp is outside the accepted window |
 *
 * An exact repeat of an accepted reading (same digest) is not an error: it is acknowledged as a duplicate.
 * The wire form of a message is `{ "domain": { "chainId", "verifyingContract" }, "reading", "signature" }`
 * (version 1, JSON), or the compact CBOR map of version 2 (`schemas/ingest-message.v2.cddl`), told apart by
 * the first byte.
 */
import { isHexString } from "ethers";
import { decodeHexInto, toHex } from "../../bytes";
import { SignerBatchChecker } from "../../crypto";
import type { Eip712Domain } from "../../eip712";
import {
  CborMessageError,
  decodeIngestMessageCbor,
  isCborMessage,
  parseReading,
  readingDigestAndLeaf,
  readingToJson,
} from "../../telemetry";
import type { Reading } from "../../telemetry";
import type { AppendItem, SequenceLedger } from "../storage";

export const INGEST_ERROR_CODES = [
  "E_TOO_LARGE",
  "E_MALFORMED",
  "E_SCHEMA",
  "E_DOMAIN",
  "E_SIGNATURE",
  "E_UNKNOWN_DEVICE",
  "E_DEVICE_INACTIVE",
  "E_SEQUENCE",
  "E_TIMESTAMP",
] as const;

export type IngestErrorCode = (typeof INGEST_ERROR_CODES)[number];

/** `retired`: the key was rotated out; `unknown`: never a device key (or an entry of a lot the batcher does not hold). */
export type DeviceState = "active" | "suspended" | "revoked" | "retired" | "unknown";

/** What the batcher knows of device keys (a cache of registry views). */
export interface DeviceDirectory {
  state(device: string): DeviceState;
}

// The ledger of accepted (device, sequence) pairs is the store's (it lives below the checks).
export type { SequenceLedger, SequenceStatus } from "../storage";

export type Rejection = { status: "rejected"; code: IngestErrorCode; message: string };

export type Verdict = { status: "valid"; item: AppendItem } | { status: "duplicate"; item: AppendItem } | Rejection;

/** The outcome of the stateless checks (1 to 5), which worker threads can run. */
export type Checked = { status: "checked"; item: AppendItem } | Rejection;

export interface CheckOptions {
  /** The domain readings must be signed under (this deployment's TelemetryAnchor). */
  domain: Eip712Domain;
  /** Largest accepted message, in bytes. */
  maxBytes: number;
}

/** A directory with fixed states: for pinned fleets and tests. */
export class StaticDeviceDirectory implements DeviceDirectory {
  private readonly states = new Map<string, DeviceState>();

  constructor(entries: Iterable<[string, DeviceState]> = []) {
    for (const [device, state] of entries) this.set(device, state);
  }

  set(device: string, state: DeviceState): void {
    this.states.set(device.toLowerCase(), state);
  }

  state(device: string): DeviceState {
    return this.states.get(device.toLowerCase()) ?? "unknown";
  }
}

export interface ValidatorOptions {
  /** The domain readings must be signed under (this deployment's TelemetryAnchor). */
  domain: Eip712Domain;
  devices: DeviceDirectory;
  ledger: SequenceLedger;
  /** Largest accepted message, in bytes (default 4 KiB). */
  maxBytes?: number;
  /** Accepted device timestamps, relative to the batcher's clock (seconds). */
  window: { pastSeconds: number; futureSeconds: number };
  /** The batcher's clock in Unix seconds (default: the system clock). */
  now?: () => number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 4096;

/** The wire form of one signed reading (defined with the reading, in `src/telemetry`). */
export { encodeIngestMessage } from "../../telemetry";

const MESSAGE_KEYS = new Set(["domain", "reading", "signature"]);
const DOMAIN_KEYS = new Set(["chainId", "verifyingContract"]);
const READING_KEYS = new Set(["device", "sequence", "timestamp", "metric", "value", "payloadHash"]);

/** The keys of `value` (when it is an object) that `known` does not hold, prefixed with their path. */
function unknownKeys(value: unknown, known: ReadonlySet<string>, prefix: string): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [];
  return Object.keys(value)
    .filter((key) => !known.has(key))
    .map((key) => `${prefix}${key}`);
}
const reject = (code: IngestErrorCode, message: string): Rejection => ({ status: "rejected", code, message });
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The stateless checks, 1 to 5 (size, JSON, schema, domain, signature): the CPU-heavy part, safe to run
 * in any thread. Never throws for bad input.
 */
export function checkMessage(input: string | Uint8Array, options: CheckOptions): Checked {
  return checkMessages([input], options)[0]!;
}

/** This thread's signature checker: it remembers device public keys to check their signatures in batches. */
const signatures = new SignerBatchChecker();

/**
 * {@link checkMessage} for many messages at once (one verdict each, in order): the signatures of messages
 * that pass checks 1 to 4 are checked together (see {@link SignerBatchChecker}), with the same verdicts.
 */
export function checkMessages(inputs: readonly (string | Uint8Array)[], options: CheckOptions): Checked[] {
  const parsed = inputs.map((input) => parseMessage(input, options));
  const claims = parsed.flatMap((entry) =>
    entry.status === "rejected"
      ? []
      : [{ digest: entry.digest, signature: entry.signature, signer: entry.reading.device }],
  );
  const verdicts = signatures.check(claims);
  let next = 0;
  return parsed.map((entry): Checked => {
    if (entry.status === "rejected") return entry;
    if (!verdicts[next++]) return reject("E_SIGNATURE", "the signature is not the device's signature of this reading");
    const { reading, digest, leaf, signatureHex } = entry;
    // Prepared here, on the checking thread, for the store: canonical JSON, digest bytes and Merkle leaf.
    const prepared = { body: JSON.stringify(readingToJson(reading)), digest, leaf };
    return { status: "checked", item: { reading, signature: signatureHex, digest: toHex(digest), prepared } };
  });
}

type Parsed =
  | {
      status: "parsed";
      reading: Reading;
      signature: Uint8Array;
      signatureHex: string;
      /** What the signature must sign. */
      digest: Uint8Array;
      leaf: Uint8Array;
    }
  | Rejection;

/** Checks 1 to 4; the digest the signature must sign and the reading's Merkle leaf. */
function parseMessage(input: string | Uint8Array, options: CheckOptions): Parsed {
  const { maxBytes, domain } = options;
  const size = typeof input === "string" ? Buffer.byteLength(input) : input.length;
  if (size > maxBytes) return reject("E_TOO_LARGE", `the message has ${size} bytes; the limit is ${maxBytes}`);
  if (typeof input !== "string" && isCborMessage(input)) return parseCborMessage(input, options);
  let message: unknown;
  try {
    message = JSON.parse(typeof input === "string" ? input : utf8.decode(input)) as unknown;
  } catch {
    return reject("E_MALFORMED", "the message is not valid UTF-8 JSON");
  }
  if (typeof message !== "object" || message === null || Array.isArray(message)) {
    return reject("E_SCHEMA", "the message must be an object with domain, reading and signature");
  }
  const fields = message as Record<string, unknown>;
  const unknown = [
    ...unknownKeys(fields, MESSAGE_KEYS, ""),
    ...unknownKeys(fields.domain, DOMAIN_KEYS, "domain."),
    ...unknownKeys(fields.reading, READING_KEYS, "reading."),
  ];
  if (unknown.length > 0) return reject("E_SCHEMA", `unknown field(s): ${unknown.join(", ")}`);
  const claimed = fields.domain as { chainId?: unknown; verifyingContract?: unknown } | undefined;
  if (
    typeof claimed !== "object" ||
    claimed === null ||
    typeof claimed.chainId !== "string" ||
    !/^(0|[1-9][0-9]*)$/.test(claimed.chainId) ||
    typeof claimed.verifyingContract !== "string" ||
    !isHexString(claimed.verifyingContract, 20)
  ) {
    return reject("E_SCHEMA", "domain must hold chainId (decimal string) and verifyingContract (address)");
  }
  const signature = new Uint8Array(65);
  if (!decodeHexInto(signature, 0, fields.signature, 65)) {
    return reject("E_SCHEMA", "signature must be 65 bytes of 0x-hex");
  }
  let reading;
  try {
    reading = parseReading(fields.reading);
  } catch (error) {
    return reject("E_SCHEMA", (error as Error).message);
  }
  if (
    BigInt(claimed.chainId) !== domain.chainId ||
    claimed.verifyingContract.toLowerCase() !== domain.verifyingContract.toLowerCase()
  ) {
    return reject(
      "E_DOMAIN",
      `signed for chain ${claimed.chainId} and contract ${claimed.verifyingContract}; this batcher anchors on chain ${domain.chainId} at ${domain.verifyingContract}`,
    );
  }
  const signatureHex = (fields.signature as string).toLowerCase();
  return { status: "parsed", reading, signature, signatureHex, ...readingDigestAndLeaf(domain, reading) };
}

/**
 * Checks 2 to 4 of a version-2 (CBOR) message: its exact deterministic shape (`E_MALFORMED` otherwise),
 * its fields (`E_SCHEMA`), and the domain it names, if any (`E_DOMAIN`); a message that names none is
 * for this batcher's one domain.
 */
function parseCborMessage(input: Uint8Array, options: CheckOptions): Parsed {
  const { domain } = options;
  let decoded;
  try {
    decoded = decodeIngestMessageCbor(input, { domain });
  } catch (error) {
    const kind = error instanceof CborMessageError ? error.kind : "schema";
    return reject(kind === "malformed" ? "E_MALFORMED" : "E_SCHEMA", (error as Error).message);
  }
  const claimed = decoded.claimedDomain;
  if (
    claimed !== undefined &&
    (claimed.chainId !== domain.chainId ||
      claimed.verifyingContract.toLowerCase() !== domain.verifyingContract.toLowerCase())
  ) {
    return reject(
      "E_DOMAIN",
      `signed for chain ${claimed.chainId} and contract ${claimed.verifyingContract}; this batcher anchors on chain ${domain.chainId} at ${domain.verifyingContract}`,
    );
  }
  const { reading, signature } = decoded;
  return {
    status: "parsed",
    reading,
    signature,
    signatureHex: toHex(signature),
    ...readingDigestAndLeaf(domain, reading),
  };
}

export class ReadingValidator {
  private readonly options: Required<ValidatorOptions>;

  constructor(options: ValidatorOptions) {
    this.options = { maxBytes: DEFAULT_MAX_MESSAGE_BYTES, now: () => Math.floor(Date.now() / 1000), ...options };
  }

  /** Checks one message (raw bytes or text, as received), all nine checks; never throws for bad input. */
  async validate(input: string | Uint8Array): Promise<Verdict> {
    const checked = this.check(input);
    return checked.status === "rejected" ? checked : this.admit(checked.item);
  }

  /** Checks 1 to 5 (see {@link checkMessage}). */
  check(input: string | Uint8Array): Checked {
    return checkMessage(input, this.options);
  }

  /** Checks 6 to 9 of a message that passed {@link check}: device, sequence, timestamp. */
  async admit(item: AppendItem): Promise<Verdict> {
    const device = this.deviceVerdict(item);
    if (device !== undefined) return device;
    const seen = await this.options.ledger.sequenceStatus(item.reading.device, item.reading.sequence, item.digest);
    if (seen === "duplicate") return { status: "duplicate", item };
    if (seen === "conflict") return sequenceConflict(item);
    return this.windowVerdict(item) ?? { status: "valid", item };
  }

  /** Checks 6 and 7: the key is a known, active device key. */
  deviceVerdict({ reading }: AppendItem): Rejection | undefined {
    const state = this.options.devices.state(reading.device);
    if (state === "unknown") return reject("E_UNKNOWN_DEVICE", `${reading.device} is not a registered device key`);
    if (state !== "active") return reject("E_DEVICE_INACTIVE", `device ${reading.device} is ${state}`);
    return undefined;
  }

  /** Check 9: the device timestamp lies inside the window around the batcher's clock. */
  windowVerdict({ reading }: AppendItem): Rejection | undefined {
    const { window, now } = this.options;
    const clock = BigInt(now());
    if (
      reading.timestamp >= clock - BigInt(window.pastSeconds) &&
      reading.timestamp <= clock + BigInt(window.futureSeconds)
    ) {
      return undefined;
    }
    return reject(
      "E_TIMESTAMP",
      `timestamp ${reading.timestamp} is outside [now - ${window.pastSeconds}, now + ${window.futureSeconds}] (now ${clock})`,
    );
  }
}

/** Check 8's rejection: another reading was accepted under this (device, sequence). */
export function sequenceConflict({ reading }: AppendItem): Rejection {
  return reject(
    "E_SEQUENCE",
    `sequence ${reading.sequence} of ${reading.device} was already accepted with other content`,
  );
}
