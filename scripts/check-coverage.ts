import { readFileSync } from "node:fs";
import { coverageFailures } from "../src/tooling/coverage";
import type { CoverageSummary } from "../src/tooling/coverage";

const MINIMUM = Number(process.env.COVERAGE_MIN ?? 95);
const summary = JSON.parse(readFileSync("coverage/coverage-summary.json", "utf8")) as CoverageSummary;
const files = Object.keys(summary).filter((f) => f !== "total");
if (files.length === 0) {
  console.error("coverage gate: the summary lists no contract");
  process.exit(1);
}
const failures = coverageFailures(summary, MINIMUM);
for (const f of failures) console.error(`coverage gate: ${f.file} ${f.metric} ${f.pct.toFixed(2)}% < ${MINIMUM}%`);
if (failures.length > 0) process.exit(1);
console.log(`coverage gate: ${files.length} contract files at or above ${MINIMUM}% lines and branches`);
