/**
 * What the device commands share: how a device, a time, a deadline, a reason code and a metadata hash are
 * read from the command line, the rows of a devices file, and the password of new keystores.
 */
import { readFile } from "node:fs/promises";
import { InvalidArgumentError } from "commander";
import { ZeroHash, id, isAddress, isHexString, toBeHex } from "ethers";
import { InvalidInputError } from "../errors";
import { DeviceStatus } from "../registry";
import type { DeviceRegistryClient } from "../registry";
import { Context } from "./context";
import { terminalPrompt } from "./files";

/** A device id as shown to people: 0x + 40 hex digits (a device's id is its first key as a number). */
export function deviceIdHex(deviceId: bigint): string {
  return toBeHex(deviceId, 20);
}

export function uint(value: string): bigint {
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(value)) throw new InvalidArgumentError("expected a whole number");
  return BigInt(value);
}

export function uint16(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new InvalidArgumentError("expected a reason code in [0, 65535]");
  return n;
}

/** A device given as its id (decimal or 0x hex) or one of its keys: the device id. */
export async function resolveDevice(registry: DeviceRegistryClient, ref: string): Promise<bigint> {
  if (isAddress(ref)) {
    const { deviceId } = await registry.getKey(ref);
    if (deviceId !== 0n) return deviceId;
  }
  if (!/^(0x[0-9a-fA-F]{1,64}|[0-9]+)$/.test(ref)) {
    throw new InvalidInputError(`device ${ref}: expected a device id or a device key (address)`);
  }
  const deviceId = BigInt(ref);
  const device = await registry.getDevice(deviceId);
  if (device.status === DeviceStatus.None) {
    throw new InvalidInputError(`no device ${ref} in the registry`, { details: { device: ref } });
  }
  return deviceId;
}

/** A metadata hash: 32 bytes of hex as given, or the keccak-256 of any other text (a document's content). */
export function metadataHash(value: string | undefined): string {
  if (value === undefined) return ZeroHash;
  return isHexString(value, 32) ? value : id(value);
}

export async function deadlineFrom(ctx: Context, seconds: number): Promise<bigint> {
  return (await ctx.chainTime()) + BigInt(seconds);
}

export const DEADLINE_OPTION = [
  "--deadline <seconds>",
  "seconds the signatures stay valid",
  (v: string) => Number(uint(v)),
  3600,
] as const;

export const ZERO = "0x0000000000000000000000000000000000000000";

export function isoTime(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString().replace(".000Z", "Z");
}

/** Unix seconds or an ISO 8601 date. */
export function parseTime(value: string): bigint {
  if (/^[0-9]+$/.test(value)) return BigInt(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidInputError(`time ${value}: expected unix seconds or an ISO 8601 date`);
  return BigInt(Math.floor(ms / 1000));
}

export interface DeviceRow {
  keyFile: string;
  owner?: string;
  metadata?: string;
  metadataURI?: string;
}

/** Rows of a CSV (header row; columns keyFile, owner, metadata, metadataURI) or a JSON array. */
export async function readDeviceRows(file: string): Promise<DeviceRow[]> {
  const text = await readFile(file, "utf8");
  let rows: DeviceRow[];
  if (file.endsWith(".json")) {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) throw new InvalidInputError(`${file}: expected a JSON array of rows`);
    rows = parsed as DeviceRow[];
  } else {
    const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
    const header = (lines.shift() ?? "").split(",").map((h) => h.trim());
    if (!header.includes("keyFile")) throw new InvalidInputError(`${file}: the header row needs a keyFile column`);
    rows = lines.map((line) => {
      const cells = line.split(",").map((c) => c.trim());
      const row: Record<string, string> = {};
      header.forEach((name, i) => {
        if (cells[i] !== undefined && cells[i] !== "") row[name] = cells[i]!;
      });
      return row as unknown as DeviceRow;
    });
  }
  rows.forEach((row, i) => {
    if (typeof row.keyFile !== "string" || row.keyFile === "") {
      throw new InvalidInputError(`${file}: row ${i + 1} has no keyFile`);
    }
  });
  if (rows.length === 0) throw new InvalidInputError(`${file}: no devices`);
  return rows;
}
/** The password of new keystores: IOTRAIL_KEY_PASSWORD, IOTRAIL_KEY_PASSWORD_FILE, or asked twice on a terminal. */
export async function newKeystorePassword(): Promise<string> {
  if (process.env.IOTRAIL_KEY_PASSWORD) return process.env.IOTRAIL_KEY_PASSWORD;
  const file = process.env.IOTRAIL_KEY_PASSWORD_FILE;
  if (file) return (await readFile(file, "utf8")).replace(/\r?\n$/, "");
  const first = terminalPrompt("keystore password: ");
  const again = terminalPrompt("the same password again: ");
  if (first === undefined || again === undefined) {
    throw new InvalidInputError(
      "--encrypt needs a password: IOTRAIL_KEY_PASSWORD, a file named by IOTRAIL_KEY_PASSWORD_FILE, or a terminal to ask on",
    );
  }
  const password = await first();
  if ((await again()) !== password) throw new InvalidInputError("the two passwords differ: nothing was written");
  return password;
}
