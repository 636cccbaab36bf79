// The benchmarks' shared report: `--quick` (or BENCH_QUICK=1) shrinks every bench to a harness check, and
// `record` adds a bench's figures to the run's results file (BENCH_RESULTS, set by bench/run.ts).
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export const QUICK = process.argv.includes("--quick") || process.env.BENCH_QUICK === "1";

/** Adds `figures` under `section` to the results file of this run, if there is one. */
export function record(section: string, figures: unknown): void {
  const file = process.env.BENCH_RESULTS;
  if (file === undefined || file === "") return;
  const results = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : {};
  results[section] = figures;
  writeFileSync(
    file,
    JSON.stringify(results, (_, value) => (typeof value === "bigint" ? value.toString() : value), 2),
  );
}
