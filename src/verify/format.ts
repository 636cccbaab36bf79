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
    lines.push(...group.filter((c) => c.status !== "pass").map(line));
    // One summary line per distinct outcome: readings of two batches lead to two roots.
    const passes = new Map<string, number>();
    for (const c of group) if (c.status === "pass") passes.set(c.message, (passes.get(c.message) ?? 0) + 1);
    for (const [message, count] of passes) {
      lines.push(
        `${MARK.pass} ${check.check.padEnd(18)} ${`${count} reading${count === 1 ? "" : "s"}`.padEnd(14)} ${message}`,
      );
    }
  }
  return `${lines.join("\n")}\n\n${verdictLine(report)}\n`;
}

/** The verdict in one line: VERIFIED (and against what), NOT VERIFIED (how many checks failed), or why not fully. */
export function verdictLine(report: VerificationReport): string {
  const failed = report.checks.filter((c) => c.status === "fail");
  return report.verdict === "verified"
    ? `VERIFIED (online, against the anchor pinned by ${report.trust.source})`
    : report.verdict === "failed"
      ? `NOT VERIFIED: ${failed.length} check(s) failed, first ${failed[0]!.check} (${failed[0]!.subject})`
      : `NOT FULLY VERIFIED: ${report.reasons.join("; ")}`;
}
