// npm run bench [-- --quick]: every benchmark in one run, one report.
//   - runs the Merkle, registry, payments, in-memory batcher, over-the-wire batcher, distinct-devices and
//     data-sales benches in turn
//     (each prints its own figures and ratios against its baseline, measured in the same run);
//   - writes every figure, with the machine (CPU model, cores), the Node version and the crypto path, to
//     bench/results/latest.json, and regenerates the results table in bench/README.md from it.
// `--quick` shrinks every bench to a harness check (under a minute; CI runs it), runs the steps three at a
// time, and writes bench/results/quick.json instead, leaving the committed report alone. Nothing here
// asserts a timing.
import { execFileSync, spawn } from "node:child_process";
import { cpus, tmpdir, totalmem } from "node:os";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { batchVerifyBackend, secp256k1Backend } from "../src/crypto";
import { initKeccak, keccakBackend } from "../src/merkle";

const ROOT = join(__dirname, "..");
const quick = process.argv.includes("--quick");

const STEPS: { name: string; command: string[] }[] = [
  { name: "merkle", command: ["npx", "ts-node", "--transpile-only", "bench/merkle.ts"] },
  { name: "registry", command: ["npx", "hardhat", "run", "bench/registry.ts"] },
  { name: "payments", command: ["npx", "hardhat", "run", "bench/payments.ts"] },
  { name: "batcher (in memory)", command: ["npx", "ts-node", "--transpile-only", "bench/batcher.ts"] },
  { name: "batcher (over the wire)", command: ["npx", "hardhat", "run", "bench/wire.ts"] },
  { name: "distinct devices", command: ["npx", "ts-node", "--transpile-only", "bench/distinct.ts"] },
  { name: "data sales by scheme", command: ["npx", "hardhat", "run", "bench/sales.ts"] },
];

/** Steps a quick run runs at once. */
const QUICK_PARALLEL = 3;

/**
 * Runs `steps`, at most `parallel` at a time, each with its output held and printed whole when it ends;
 * rejects with the first failure (after printing its output).
 */
async function runSideBySide(
  steps: { name: string; command: string[]; env: NodeJS.ProcessEnv }[],
  parallel: number,
): Promise<void> {
  const queue = [...steps];
  const runOne = (step: (typeof steps)[number]) =>
    new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const child = spawn(step.command[0]!, step.command.slice(1), { cwd: ROOT, env: step.env });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.on("close", (code) => {
        console.log(`\n=== ${step.name} (quick, ${((Date.now() - started) / 1000).toFixed(1)} s)\n${output.trimEnd()}`);
        if (code === 0) resolve();
        else reject(new Error(`bench step "${step.name}" exited with ${code}`));
      });
    });
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let step = queue.shift(); step !== undefined; step = queue.shift()) await runOne(step);
    }),
  );
}

interface WireCase {
  name: string;
  perSecond: number;
  pacedPerSecond: number;
  latencyMs: { p50: number; p99: number };
  cpuMicrosPerReading: number;
  brokerCpuMicrosPerReading?: number;
  databaseCpuMicrosPerReading?: number;
  devicesCpuMicrosPerReading?: number;
}

interface SalesFigures {
  purchases: number;
  readingsPerBundle: number;
  unpaid: { perSecond: number };
  channel: { perSecond: number; ratio: number; gasPerRequest: number };
  exact: { perSecond: number; ratio: number; gasPerRequest: number };
}

/** Paid bundles per second by scheme, against unpaid bundles of the same run (bench/sales.ts). */
function salesTable(sales: SalesFigures | undefined): string[] {
  if (sales === undefined) return [];
  return [
    "",
    `Range bundles of ${sales.readingsPerBundle} readings, one buyer at a time, ${sales.purchases} of each (\`bench/sales.ts\`):`,
    "",
    "| answer | bundles/s | vs unpaid | gas per paid request |",
    "| --- | --- | --- | --- |",
    `| unpaid (baseline) | ${sales.unpaid.perSecond} | 1.00 | |`,
    `| iotrail-channel (a voucher checked and recorded; claims come later, many channels at once) | ${sales.channel.perSecond} | ${sales.channel.ratio.toFixed(2)} | 0 |`,
    `| x402 exact (EIP-3009, settled on the chain before the answer) | ${sales.exact.perSecond} | ${sales.exact.ratio.toFixed(2)} | ${sales.exact.gasPerRequest.toLocaleString("en-US")} |`,
  ];
}

function table(results: Record<string, unknown>, date: string): string {
  const machine = results.machine as { cpu: string; cores: number; node: string; crypto: Record<string, string> };
  const memory = results.batcherInMemory as
    | {
        best: { perSecond: number; mode: string; cpuMicros: number };
        cbor?: { best: { perSecond: number; mode: string; cpuMicros: number }; cpuRatio: number };
      }
    | undefined;
  const wire = (results.wire as { cases: WireCase[] } | undefined)?.cases ?? [];
  const distinct = results.distinct as
    { mode?: string; devices: number; perSecond: number; cpuMicrosPerReading: number; peakRssMiB: number } | undefined;
  const fleet =
    distinct?.mode === "lot"
      ? "one committed lot, judged from its entries file"
      : "registered, a registry lookup per key";
  const rows = wire.map(
    (c) =>
      `| ${c.name} | ${Math.round(c.perSecond).toLocaleString("en-US")} | ${c.pacedPerSecond.toLocaleString("en-US")}: ${c.latencyMs.p50} / ${c.latencyMs.p99} ms | ${c.cpuMicrosPerReading} / ${c.brokerCpuMicrosPerReading ?? "–"} / ${c.databaseCpuMicrosPerReading ?? "–"} / ${c.devicesCpuMicrosPerReading ?? "–"} µs | ${memory === undefined ? "" : (c.perSecond / memory.best.perSecond).toFixed(2)} |`,
  );
  return [
    `Measured ${date} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}, crypto: secp256k1 ${machine.crypto.secp256k1}, batch verification ${machine.crypto.batchVerify}, keccak ${machine.crypto.keccak}. Every figure is in [results/latest.json](results/latest.json).`,
    "",
    "| path | acknowledged readings/s (saturation) | at 80% of it: p50 / p99 ack latency | CPU per reading: batchers / Mosquitto / PostgreSQL / devices | share of the in-memory figure |",
    "| --- | --- | --- | --- | --- |",
    ...(memory === undefined
      ? []
      : [
          `| in memory, no wire (upper bound; ${memory.best.mode}) | ${Math.round(memory.best.perSecond).toLocaleString("en-US")} | | ${memory.best.cpuMicros.toFixed(0)} µs | 1.00 |`,
          ...(memory.cbor === undefined
            ? []
            : [
                `| in memory, version-2 CBOR messages (${memory.cbor.best.mode}; CPU ${memory.cbor.cpuRatio.toFixed(2)}x JSON's at the same threads) | ${Math.round(memory.cbor.best.perSecond).toLocaleString("en-US")} | | ${memory.cbor.best.cpuMicros.toFixed(0)} µs | ${(memory.cbor.best.perSecond / memory.best.perSecond).toFixed(2)} |`,
              ]),
        ]),
    ...rows,
    ...(distinct === undefined
      ? []
      : [
          `| SQLite, HTTP, ${distinct.devices.toLocaleString("en-US")} distinct new devices, one reading each (${fleet}; peak RSS ${distinct.peakRssMiB} MiB) | ${distinct.perSecond.toLocaleString("en-US")} | | ${distinct.cpuMicrosPerReading} µs | ${memory === undefined ? "" : (distinct.perSecond / memory.best.perSecond).toFixed(2)} |`,
        ]),
    ...salesTable(results.sales as SalesFigures | undefined),
  ].join("\n");
}

async function main(): Promise<void> {
  await initKeccak();
  const file = join(mkdtempSync(join(tmpdir(), "iotrail-bench-")), "results.json");
  // One build for the batcher processes the wire bench starts (they run the compiled CLI). A quick run (a
  // harness check, in CI right after the tests built dist/) uses the build that is there.
  if (!quick || !existsSync(join(ROOT, "dist", "src", "cli", "main.js"))) {
    execFileSync("npx", ["hardhat", "compile", "--quiet"], { cwd: ROOT, stdio: "inherit" });
    execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: "inherit" });
    execFileSync("node", ["scripts/export-artifacts.js"], { cwd: ROOT, stdio: "inherit" });
  }
  // Each step records into its own file (merged below), so that a quick run can run steps side by side:
  // it times nothing, and its steps are mostly start-up (compilers, nodes, child processes) waiting on I/O.
  const files = STEPS.map((_, i) => `${file}.${i}`);
  const envOf = (step: (typeof STEPS)[number], i: number) => ({
    ...process.env,
    BENCH_RESULTS: files[i]!,
    BENCH_QUICK: quick ? "1" : "",
    ...(step.name === "registry" ? { NODE_OPTIONS: "--max-old-space-size=12288" } : {}),
  });
  if (quick) {
    await runSideBySide(
      STEPS.map((step, i) => ({ ...step, env: envOf(step, i) })),
      QUICK_PARALLEL,
    );
  } else {
    STEPS.forEach((step, i) => {
      console.log(`\n=== ${step.name}`);
      execFileSync(step.command[0]!, step.command.slice(1), { cwd: ROOT, stdio: "inherit", env: envOf(step, i) });
    });
  }
  const recorded = Object.assign(
    {},
    ...files.filter((f) => existsSync(f)).map((f) => JSON.parse(readFileSync(f, "utf8")) as Record<string, unknown>),
  ) as Record<string, unknown>;
  const date = new Date().toISOString();
  const results = {
    date,
    quick,
    machine: {
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      crypto: { secp256k1: secp256k1Backend(), batchVerify: batchVerifyBackend(), keccak: keccakBackend() },
    },
    ...recorded,
  };
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  const out = join(ROOT, "bench", "results", quick ? "quick.json" : "latest.json");
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
  if (quick) return;
  writeTable(results);
}

/** Regenerates the table in bench/README.md from `results` (a run's, or latest.json's with `--table`). */
function writeTable(results: Record<string, unknown>): void {
  const readme = join(ROOT, "bench", "README.md");
  const text = readFileSync(readme, "utf8");
  const start = "<!-- results:start -->";
  const end = "<!-- results:end -->";
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${readme} lacks the ${start} / ${end} markers`);
  const date = String(results.date).slice(0, 10);
  writeFileSync(readme, `${text.slice(0, from + start.length)}\n${table(results, date)}\n${text.slice(to)}`);
  // The committed files stay as the formatter writes them (lint checks them).
  execFileSync("npx", ["prettier", "--write", readme, join(ROOT, "bench", "results", "latest.json")], {
    cwd: ROOT,
    stdio: "ignore",
  });
  console.log(`regenerated the table in ${readme}`);
}

// `--table`: only regenerate the table from the committed results (after a change to its layout).
(process.argv.includes("--table")
  ? Promise.resolve().then(() =>
      writeTable(
        JSON.parse(readFileSync(join(ROOT, "bench", "results", "latest.json"), "utf8")) as Record<string, unknown>,
      ),
    )
  : main()
).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
