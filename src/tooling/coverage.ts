/**
 * The contract coverage gate: every contract file must reach the minimum line and branch coverage.
 * Reads istanbul's json-summary (written by solidity-coverage).
 */
export interface CoverageMetric {
  total: number;
  covered: number;
  pct: number | "Unknown";
}

export type CoverageSummary = Record<string, { lines: CoverageMetric; branches: CoverageMetric }>;

export interface CoverageFailure {
  file: string;
  metric: "lines" | "branches";
  pct: number;
}

export function coverageFailures(summary: CoverageSummary, minimum: number): CoverageFailure[] {
  const failures: CoverageFailure[] = [];
  for (const [file, metrics] of Object.entries(summary)) {
    if (file === "total") continue;
    for (const metric of ["lines", "branches"] as const) {
      const { total, covered } = metrics[metric];
      // A file with no branches has nothing to miss.
      const pct = total === 0 ? 100 : (covered / total) * 100;
      if (pct < minimum) failures.push({ file, metric, pct });
    }
  }
  return failures;
}
