// npm run bench: Merkle tree build time and peak memory, iotrail's builder against OpenZeppelin's
// merkle-tree, measured in the same run on the same readings. Two measurements:
//   - tree:     from leaf hashes (iotrail MerkleTree vs SimpleMerkleTree). Target: 1M leaves <= 2 s, <= 0.5 GB.
//   - readings: from readings, leaf encoding and hashing included (iotrail vs StandardMerkleTree.of).
// Each build runs in its own process so that peak memory (max RSS) belongs to that build alone.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { QUICK, record } from "./report";

interface Result {
  impl: string;
  mode: string;
  count: number;
  ms: number;
  peakMiB: number;
  buildMiB: number;
  root: string;
}

function run(impl: string, mode: string, count: number): Result {
  const script = join(__dirname, "merkle-case.ts");
  const args = ["--expose-gc", "--max-old-space-size=8192", "-r", "ts-node/register/transpile-only", script];
  const out = execFileSync(process.execPath, [...args, impl, mode, String(count)], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").pop()!) as Result;
}

const fmt = (r: Result) =>
  `  ${r.impl.padEnd(13)} ${String(r.count).padStart(9)} leaves: ${(r.ms / 1000).toFixed(2).padStart(7)} s, ` +
  `peak RSS ${r.peakMiB.toFixed(0).padStart(5)} MiB (+${r.buildMiB.toFixed(0)} MiB during the build)`;

const ratios: { mode: string; count: number; speedup: number; peakRatio: number; iotrail: Result; baseline: Result }[] =
  [];

function compare(mode: string, reference: string): Map<number, Result> {
  console.log(`${mode === "tree" ? "tree from leaf hashes" : "tree from readings"} (baseline: ${reference})`);
  const ours = new Map<number, Result>();
  for (const count of QUICK ? [10_000] : [10_000, 100_000, 1_000_000]) {
    ours.set(count, run("iotrail", mode, count));
    console.log(fmt(ours.get(count)!));
  }
  for (const count of QUICK ? [10_000] : [10_000, 100_000]) {
    const baseline = run("openzeppelin", mode, count);
    console.log(fmt(baseline));
    const mine = ours.get(count)!;
    const same = mine.root === baseline.root;
    ratios.push({
      mode,
      count,
      speedup: baseline.ms / mine.ms,
      peakRatio: mine.peakMiB / baseline.peakMiB,
      iotrail: mine,
      baseline,
    });
    if (!same) process.exitCode = 1;
    console.log(
      `    ratio at ${count}: ${(baseline.ms / mine.ms).toFixed(1)}x faster, peak RSS ${(mine.peakMiB / baseline.peakMiB).toFixed(2)}x, ` +
        `build memory ${(mine.buildMiB / Math.max(baseline.buildMiB, 1)).toFixed(2)}x (roots equal: ${same})`,
    );
  }
  return ours;
}

function main(): void {
  const trees = compare("tree", "SimpleMerkleTree.of(leafHashes)");
  compare("readings", "StandardMerkleTree.of(values)");
  const tree = trees.get(QUICK ? 10_000 : 1_000_000)!;
  record("merkle", { largestTree: tree, comparisons: ratios });
  const fast = tree.ms <= 2000;
  const small = tree.peakMiB <= 512;
  console.log(
    `target, 1M leaf hashes -> tree: ${(tree.ms / 1000).toFixed(2)} s (<= 2 s: ${fast ? "met" : "MISSED"}), ` +
      `peak RSS ${tree.peakMiB.toFixed(0)} MiB (<= 512 MiB: ${small ? "met" : "MISSED"})`,
  );
}

main();
