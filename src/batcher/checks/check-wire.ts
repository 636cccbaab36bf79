/**
 * How check results cross from a check thread to the ingest thread. Structured clone of result objects
 * costs about as much as a quarter of a signature check (every property name is written again for every
 * reading), so results travel as flat columns instead: strings in one array, integers and hashes in
 * transferred typed arrays (moved, not copied). {@link unpackChecked} rebuilds exactly what was packed.
 */
import { toHex } from "../../bytes";
import { IotrailError } from "../../errors";
import { INGEST_ERROR_CODES } from "./validate";
import type { Checked } from "./validate";

export interface PackedChecked {
  /** Per message: -1 checked, otherwise the index of its rejection code in INGEST_ERROR_CODES. */
  codes: Int8Array;
  /** The rejections' messages, in order. */
  rejections: string[];
  /** Per checked message: device, metric, value, payload hash, signature, canonical JSON. */
  strings: string[];
  /** Per checked message: sequence, timestamp. */
  integers: BigUint64Array;
  /** Per checked message: digest (32 bytes), leaf (32 bytes). */
  hashes: Uint8Array;
}

const STRINGS = 6;
const HASHES = 64;

/** Packs results (send them with {@link transferList}). */
export function packChecked(results: readonly Checked[]): PackedChecked {
  const checked = results.filter((r) => r.status === "checked").length;
  const packed: PackedChecked = {
    codes: new Int8Array(results.length),
    rejections: [],
    strings: [],
    integers: new BigUint64Array(2 * checked),
    hashes: new Uint8Array(HASHES * checked),
  };
  let n = 0;
  results.forEach((result, i) => {
    if (result.status === "rejected") {
      packed.codes[i] = INGEST_ERROR_CODES.indexOf(result.code);
      packed.rejections.push(result.message);
      return;
    }
    const { reading, signature, prepared } = result.item;
    if (prepared === undefined) throw new IotrailError("INTERNAL", "a checked result lacks its prepared form");
    packed.codes[i] = -1;
    packed.strings.push(
      reading.device,
      reading.metric,
      reading.value.toString(),
      reading.payloadHash,
      signature,
      prepared.body,
    );
    packed.integers[2 * n] = reading.sequence;
    packed.integers[2 * n + 1] = reading.timestamp;
    packed.hashes.set(prepared.digest, HASHES * n);
    packed.hashes.set(prepared.leaf, HASHES * n + 32);
    n++;
  });
  return packed;
}

/** The buffers to transfer with a packed form (moved to the receiving thread, not copied). */
export function transferList(packed: PackedChecked | PackedMessages): ArrayBuffer[] {
  const arrays = "data" in packed ? [packed.data, packed.ends] : [packed.codes, packed.integers, packed.hashes];
  return arrays.map((array) => array.buffer as ArrayBuffer);
}

/** The results that {@link packChecked} packed, in order. */
export function unpackChecked(packed: PackedChecked): Checked[] {
  const { codes, rejections, strings, integers, hashes } = packed;
  let n = 0;
  let r = 0;
  return Array.from(codes, (code): Checked => {
    if (code >= 0) return { status: "rejected", code: INGEST_ERROR_CODES[code]!, message: rejections[r++]! };
    const s = STRINGS * n;
    const digest = hashes.subarray(HASHES * n, HASHES * n + 32);
    const reading = {
      device: strings[s]!,
      sequence: integers[2 * n]!,
      timestamp: integers[2 * n + 1]!,
      metric: strings[s + 1]!,
      value: BigInt(strings[s + 2]!),
      payloadHash: strings[s + 3]!,
    };
    const prepared = { body: strings[s + 5]!, digest, leaf: hashes.subarray(HASHES * n + 32, HASHES * n + 64) };
    n++;
    return { status: "checked", item: { reading, signature: strings[s + 4]!, digest: toHex(digest), prepared } };
  });
}

/** Raw messages for a check thread: one buffer (transferred) and where each message ends. */
export interface PackedMessages {
  data: Uint8Array;
  ends: Uint32Array;
}

/**
 * Copies messages back to back into one buffer to transfer (see {@link transferList}) (a message that is a view into a larger
 * buffer, such as an MQTT packet, would otherwise be cloned with all of that buffer).
 */
export function packMessages(messages: readonly Uint8Array[]): PackedMessages {
  let total = 0;
  for (const message of messages) total += message.length;
  const data = new Uint8Array(total);
  const ends = new Uint32Array(messages.length);
  let at = 0;
  messages.forEach((message, i) => {
    data.set(message, at);
    ends[i] = at += message.length;
  });
  return { data, ends };
}

export function unpackMessages({ data, ends }: PackedMessages): Uint8Array[] {
  let start = 0;
  return Array.from(ends, (end) => data.subarray(start, (start = end)));
}
