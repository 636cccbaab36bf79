// One Merkle build, in its own process so that its peak memory is its own. Prints one JSON line.
//   ts-node bench/merkle-case.ts <iotrail|openzeppelin> <tree|readings> <leaves>
// "tree" builds from leaf hashes computed before the clock starts (iotrail MerkleTree vs OpenZeppelin
// SimpleMerkleTree); "readings" builds from the readings themselves, leaf hashing included (iotrail vs
// OpenZeppelin StandardMerkleTree).
import { SimpleMerkleTree, StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { hexlify } from "ethers";
import { READING_ABI_TYPES, readingValues } from "../src/eip712";
import { MerkleTree, initKeccak } from "../src/merkle";
import { readingLeafBytes } from "../src/telemetry";
import type { Reading } from "../src/telemetry";

const MiB = 2 ** 20;

function readings(count: number): Reading[] {
  const devices = Array.from({ length: 100 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, "0")}`);
  const metric = `0x${"74656d70657261747572652e6d43".padEnd(64, "0")}`;
  const zero = `0x${"00".repeat(32)}`;
  return Array.from({ length: count }, (_, i) => ({
    device: devices[i % 100]!,
    sequence: BigInt(Math.floor(i / 100) + 1),
    timestamp: 1_767_225_600n + BigInt(i),
    metric,
    value: BigInt((i * 7919) % 100_000) - 50_000n,
    payloadHash: zero,
  }));
}

async function main(): Promise<void> {
  const [impl, mode, size] = process.argv.slice(2);
  const count = Number(size);
  await initKeccak();
  const input = readings(count);
  const leaves = mode === "tree" ? new Uint8Array(count * 32) : undefined;
  if (leaves !== undefined) input.forEach((reading, i) => leaves.set(readingLeafBytes(reading), i * 32));
  const leafHex =
    leaves !== undefined && impl === "openzeppelin"
      ? Array.from({ length: count }, (_, i) => hexlify(leaves.subarray(i * 32, i * 32 + 32)))
      : undefined;
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().rss;
  const started = process.hrtime.bigint();
  let root: string;
  if (impl === "iotrail" && leaves !== undefined) {
    root = MerkleTree.fromPackedLeafHashes(leaves).root;
  } else if (impl === "iotrail") {
    const packed = new Uint8Array(count * 32);
    for (let i = 0; i < count; i++) packed.set(readingLeafBytes(input[i]!), i * 32);
    root = MerkleTree.fromPackedLeafHashes(packed).root;
  } else if (impl === "openzeppelin" && leafHex !== undefined) {
    root = SimpleMerkleTree.of(leafHex).root;
  } else if (impl === "openzeppelin") {
    root = StandardMerkleTree.of(input.map(readingValues), READING_ABI_TYPES).root;
  } else {
    throw new Error(`unknown case ${impl} ${mode}`);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const peak = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ impl, mode, count, ms, peakMiB: peak / MiB, buildMiB: (peak - before) / MiB, root }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
