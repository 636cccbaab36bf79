/**
 * Splitting an ingest body into its messages without parsing them: NDJSON lines, or the items of a JSON
 * array. Each message is then checked exactly as if it had been sent alone (size, UTF-8, JSON, schema), so a
 * deeply nested or badly encoded item gets the same answer in every form, and nothing is parsed twice.
 */

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

const isSpace = (byte: number) => byte === SPACE || byte === TAB || byte === CR || byte === LF;

/** The non-blank lines of an NDJSON body. */
export function ndjsonLines(body: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= body.length; i++) {
    if (i === body.length || body[i] === LF) {
      const line = body.subarray(start, i);
      if (line.some((byte) => !isSpace(byte))) out.push(line);
      start = i + 1;
    }
  }
  return out;
}

/** The first byte that is not JSON whitespace, if any. */
export function firstNonSpace(body: Uint8Array): number | undefined {
  for (const byte of body) if (!isSpace(byte)) return byte;
  return undefined;
}

/**
 * The raw bytes of each item of a top-level JSON array, or undefined when the body is not one array
 * (unbalanced brackets, an unterminated string, text after the closing bracket, an empty item). Nesting is
 * counted, never recursed into, so any depth costs one pass.
 */
export function jsonArrayItems(body: Uint8Array): Uint8Array[] | undefined {
  let i = 0;
  while (i < body.length && isSpace(body[i]!)) i++;
  if (body[i] !== OPEN_ARRAY) return undefined;
  i++;
  const items: Uint8Array[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  let closed = false;
  for (; i < body.length; i++) {
    const byte = body[i]!;
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    if (isSpace(byte)) continue;
    if (depth === 0 && (byte === COMMA || byte === CLOSE_ARRAY)) {
      if (start < 0) {
        // "[]" is an empty array; "[,", "[1,,2]" and "[1,]" have an empty item.
        if (byte === CLOSE_ARRAY && items.length === 0) {
          closed = true;
          i++;
          break;
        }
        return undefined;
      }
      items.push(trimEnd(body.subarray(start, i)));
      start = -1;
      if (byte === CLOSE_ARRAY) {
        closed = true;
        i++;
        break;
      }
      continue;
    }
    if (start < 0) start = i;
    if (byte === QUOTE) inString = true;
    else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) depth++;
    else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      if (depth === 0) return undefined;
      depth--;
    }
  }
  if (!closed) return undefined;
  for (; i < body.length; i++) if (!isSpace(body[i]!)) return undefined;
  return items;
}

function trimEnd(item: Uint8Array): Uint8Array {
  let end = item.length;
  while (end > 0 && isSpace(item[end - 1]!)) end--;
  return item.subarray(0, end);
}

/** Deepest nesting a CBOR body may have before framing refuses it (a version-2 message nests none). */
const CBOR_MAX_DEPTH = 8;

/**
 * Where the CBOR item starting at `offset` ends, reading only heads and lengths (never values), or
 * undefined for a truncated item, an indefinite length, a reserved head or nesting beyond
 * {@link CBOR_MAX_DEPTH}. Whether an item is an exact version-2 message is the check threads' question.
 */
function cborItemEnd(body: Uint8Array, offset: number, depth = 0): number | undefined {
  if (offset >= body.length || depth > CBOR_MAX_DEPTH) return undefined;
  const initial = body[offset]!;
  const major = initial >> 5;
  const info = initial & 0x1f;
  let argument: number;
  let at = offset + 1;
  if (info < 24) argument = info;
  else if (info <= 27) {
    const size = 1 << (info - 24);
    if (at + size > body.length) return undefined;
    argument = 0;
    for (let i = 0; i < size; i++) argument = argument * 256 + body[at + i]!;
    at += size;
  } else return undefined;
  switch (major) {
    case 0:
    case 1:
    case 7:
      return at;
    case 2:
    case 3:
      return at + argument <= body.length ? at + argument : undefined;
    case 6:
      return cborItemEnd(body, at, depth + 1);
    default: {
      // arrays (4) and maps (5): items, or key-value pairs
      const items = major === 5 ? argument * 2 : argument;
      if (items > body.length - at) return undefined;
      for (let i = 0; i < items; i++) {
        const end = cborItemEnd(body, at, depth + 1);
        if (end === undefined) return undefined;
        at = end;
      }
      return at;
    }
  }
}

/**
 * The messages of a CBOR body, as views of it: a CBOR array of messages (`application/cbor`), or messages
 * one after another (`sequence`: RFC 8742's `application/cbor-seq`); a body that is one map is one
 * message. Undefined when the body is not whole CBOR items.
 */
export function cborMessages(body: Uint8Array, sequence: boolean): Uint8Array[] | undefined {
  if (body.length === 0) return undefined;
  const items: Uint8Array[] = [];
  let at = 0;
  if (!sequence && body[0]! >> 5 === 4) {
    // one array: its head, then its items
    const end = cborItemEnd(body, 0);
    if (end !== body.length) return undefined;
    const info = body[0]! & 0x1f;
    at = 1 + (info < 24 ? 0 : 1 << (info - 24));
  }
  while (at < body.length) {
    const end = cborItemEnd(body, at);
    if (end === undefined) return undefined;
    items.push(body.subarray(at, end));
    at = end;
  }
  if (!sequence && body[0]! >> 5 !== 4 && items.length !== 1) return undefined;
  return items;
}

/**
 * A version-2 message as the device sent it, with the device the connection names written in (key 3) when
 * the message leaves it out, so that the checks read one complete message. The connection's device is the
 * readings topic's address, which the broker ties to the login (the embedded broker's guard; Mosquitto's
 * `%u` ACL). A message that names its device, a JSON message, or anything that is not a small CBOR map
 * comes back as it was: the checks judge it (a device named in the topic never overrides the signature's).
 */
export function withImpliedDevice(message: Uint8Array, device: Uint8Array): Uint8Array {
  const first = message[0];
  if (first === undefined || first < 0xa0 || first > 0xb6 || device.length !== 20) return message;
  const count = first & 0x1f;
  let at = 1;
  for (let i = 0; i < count; i++) {
    const key = message[at];
    if (key === undefined || key > 23) return message;
    if (key === 3) return message;
    if (key > 3) break;
    const end = cborItemEnd(message, at + 1);
    if (end === undefined) return message;
    at = end;
  }
  const out = new Uint8Array(message.length + 22);
  out[0] = first + 1;
  out.set(message.subarray(1, at), 1);
  out[at] = 3;
  out[at + 1] = 0x54; // a byte string of 20
  out.set(device, at + 2);
  out.set(message.subarray(at), at + 22);
  return out;
}

/** The device address a readings topic ends with (`…/readings/<address>`), as 20 bytes, or undefined. */
export function deviceOfTopic(topic: string): Uint8Array | undefined {
  const last = topic.slice(topic.lastIndexOf("/") + 1);
  if (!/^0x[0-9a-fA-F]{40}$/.test(last)) return undefined;
  return Buffer.from(last.slice(2), "hex");
}

/** An MQTT payload with the topic's device written in where a version-2 message leaves it out. */
export function mqttMessage(topic: string, payload: Uint8Array): Uint8Array {
  const first = payload[0];
  if (first === undefined || first < 0xa0) return payload; // JSON (and nothing else) starts lower
  const device = deviceOfTopic(topic);
  return device === undefined ? payload : withImpliedDevice(payload, device);
}
