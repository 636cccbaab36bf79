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
