/** Reading, writing and comparing the committed gas snapshot (`gas-snapshot.txt`: "name gas" per line). */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export type GasSnapshot = Map<string, bigint>;

export function formatSnapshot(snapshot: GasSnapshot): string {
  return [...snapshot.entries()].map(([name, gas]) => `${name} ${gas}`).join("\n") + "\n";
}

export function parseSnapshot(text: string): GasSnapshot {
  const snapshot: GasSnapshot = new Map();
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "") continue;
    const match = /^(\S+) (\d+)$/.exec(trimmed);
    if (match === null) throw new Error(`gas snapshot: malformed line "${trimmed}"`);
    snapshot.set(match[1]!, BigInt(match[2]!));
  }
  return snapshot;
}

/** Lines that differ between the committed snapshot and a fresh measurement. */
export function diffSnapshots(committed: GasSnapshot, measured: GasSnapshot): string[] {
  const names = new Set([...committed.keys(), ...measured.keys()]);
  const diffs: string[] = [];
  for (const name of names) {
    const before = committed.get(name);
    const after = measured.get(name);
    if (before !== after) diffs.push(`${name}: committed ${before ?? "-"}, measured ${after ?? "-"}`);
  }
  return diffs;
}

/** Writes the snapshot, or with `check` compares it to the committed file and returns the differences. */
export function saveOrCheck(path: string, measured: GasSnapshot, check: boolean): string[] {
  if (!check) {
    writeFileSync(path, formatSnapshot(measured));
    return [];
  }
  if (!existsSync(path)) return [`${path} does not exist: run npm run gas`];
  return diffSnapshots(parseSnapshot(readFileSync(path, "utf8")), measured);
}
