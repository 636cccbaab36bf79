/** A readable rendering of a {@link VerificationReport}. */
import type { CheckResult, VerificationReport } from "./verify";

const MARK = { pass: "✔", fail: "✘", skip: "–" } as const;

const line = (c: CheckResult) => `${MARK[c.status]} ${c.check.padEnd(18)} ${c.subject.padEnd(14)} ${c.message}`;

/**
 * One line per check. A check run once per reading lists its failures one by one and sums up its passes
 * in one line, unless `verbose` asks for every line.
 */
export function formatReport(report: VerificationReport, options: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const check of report.checks) {
    if (seen.has(check.check)) continue;
    seen.add(check.check);
    const group = report.checks.filter((c) => c.check === check.check);
    const perReading = group.length > 1 && group.every((c) => c.subject.startsWith("reading #"));
    if (!perReading || options.verbose === true) {
      lines.push(...group.map(line));
      continue;
    }
    const passed = group.filter((c) => c.status === "pass");
    lines.push(...group.filter((c) => c.status !== "pass").map(line));
    if (passed.length > 0) {
      lines.push(
        `${MARK.pass} ${check.check.padEnd(18)} ${`${passed.length} readings`.padEnd(14)} ${passed[0]!.message}`,
      );
    }
  }
  const failed = report.checks.filter((c) => c.status === "fail").length;
  const skipped = report.checks.filter((c) => c.status === "skip").length;
  const verdict = report.ok
    ? `VERIFIED (${report.mode}${skipped > 0 ? `, ${skipped} check(s) skipped` : ""})`
    : `NOT VERIFIED: ${failed} check(s) failed`;
  return `${lines.join("\n")}\n\n${verdict}\n`;
}
