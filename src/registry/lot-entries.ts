/**
 * The lot entries file: a lot's `(key, metadataHash)` leaves in leaf order, one per line, for lots too big
 * for a JSON lot file (whose proofs alone take 1.3 KB per device at a million). The batcher reads it to
 * accept readings from a lot's unclaimed entries. Version 1:
 *
 * ```text
 * # iotrail.lot-entries v1
 * key,metadataHash
 * 0x<40 hex>,0x<64 hex>
 * ```
 *
 * Blank lines are ignored. A JSON lot file of `iotrail devices lot build` is read too (its entries).
 * Node only (files); the browser never needs it.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { InvalidInputError } from "../errors";
import { initKeccak } from "../merkle";
import { LotIndex, LotIndexBuilder } from "./lot";
import type { LotEntry } from "./lot";

export const LOT_ENTRIES_MAGIC = "# iotrail.lot-entries v1";
const HEADER = "key,metadataHash";

/** Writes `entries` (in leaf order) as a lot entries file at `path` (which must not exist). */
export async function writeLotEntries(path: string, entries: Iterable<LotEntry>): Promise<void> {
  const out = createWriteStream(path, { flags: "wx" });
  const write = async (line: string) => {
    if (!out.write(`${line}\n`)) await once(out, "drain");
  };
  await once(out, "open");
  await write(LOT_ENTRIES_MAGIC);
  await write(HEADER);
  for (const { key, metadataHash } of entries) await write(`${key.toLowerCase()},${metadataHash.toLowerCase()}`);
  out.end();
  await once(out, "finish");
}

/** The entries of a lot entries file, with their line numbers; streamed, so a million entries stay cheap. */
async function* readEntryLines(path: string): AsyncGenerator<LotEntry & { line: number }> {
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  let number = 0;
  for await (const raw of lines) {
    number++;
    const line = raw.trim();
    if (number === 1) {
      if (line !== LOT_ENTRIES_MAGIC) {
        throw new InvalidInputError(`${path}: not a lot entries file (its first line must be "${LOT_ENTRIES_MAGIC}")`);
      }
      continue;
    }
    if (number === 2) {
      if (line !== HEADER) throw new InvalidInputError(`${path}: line 2 must be "${HEADER}"`);
      continue;
    }
    if (line === "") continue;
    const comma = line.indexOf(",");
    if (comma < 0) throw new InvalidInputError(`${path}: line ${number} is not "key,metadataHash"`);
    yield { key: line.slice(0, comma), metadataHash: line.slice(comma + 1), line: number };
  }
}

/**
 * The index of lot `lotId` from a lot entries file or a JSON lot file (`iotrail.lot` v1). Bad lines are
 * errors naming the line; the caller checks the index's root against the committed one.
 */
export async function loadLotIndex(path: string, lotId: bigint): Promise<LotIndex> {
  await initKeccak();
  let first: string;
  try {
    const file = await open(path, "r");
    try {
      const { buffer, bytesRead } = await file.read({ buffer: Buffer.alloc(64), position: 0 });
      first = buffer.subarray(0, bytesRead).toString("utf8");
    } finally {
      await file.close();
    }
  } catch (error) {
    throw new InvalidInputError(`${path}: cannot read the lot (${String(error)})`, { cause: error });
  }
  if (first.trimStart().startsWith("{")) {
    const file = JSON.parse(await readFile(path, "utf8")) as { version?: unknown; kind?: unknown; entries?: unknown };
    if (file.version !== 1 || file.kind !== "iotrail.lot" || !Array.isArray(file.entries)) {
      throw new InvalidInputError(`${path}: not a version-1 lot file`);
    }
    return LotIndex.build(lotId, file.entries as LotEntry[]);
  }
  const builder = new LotIndexBuilder();
  for await (const entry of readEntryLines(path)) {
    try {
      builder.add(entry);
    } catch (error) {
      throw new InvalidInputError(`${path}: line ${entry.line}: ${(error as Error).message}`, { cause: error });
    }
  }
  try {
    return builder.build(lotId);
  } catch (error) {
    throw new InvalidInputError(`${path}: ${(error as Error).message}`, { cause: error });
  }
}
