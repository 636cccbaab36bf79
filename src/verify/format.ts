/** Readable renderings of a {@link VerificationReport}: grouped rows (CLI and web page) and text (CLI). */
import type { CheckName, CheckResult, CheckStatus, VerificationReport } from "./verify";

const MARK = { pass: "✔", fail: "✘", skip: "–" } as const;

/** One row of a report: one check, or the passes of a per-reading check summed up. */
export interface ReportRow {
  check: CheckName;
  subject: string;
  status: CheckStatus;
  message: string;
  /** How many checks the row stands for (more than one for summed-up passes). */
  count: number;
}

/**
 * The rows of a report. A check run once per reading lists its failures and skips one by one and sums up
 * its passes in one row per distinct outcome (readings of two batches lead to two roots), unless
 * `verbose` asks for every row.
 */
export function reportRows(report: VerificationReport, options: { verbose?: boolean } = {}): ReportRow[] {
  const rows: ReportRow[] = [];
  const one = (c: CheckResult): ReportRow => ({
    check: c.check,
    subject: c.subject,
    status: c.status,
    message: c.message,
    count: 1,
  });
  const seen = new Set<string>();
  for (const check of report.checks) {
    if (seen.has(check.check)) continue;
    seen.add(check.check);
    const group = report.checks.filter((c) => c.check === check.check);
    const perReading = group.length > 1 && group.every((c) => c.subject.startsWith("reading #"));
    if (!perReading || options.verbose === true) {
      rows.push(...group.map(one));
      continue;
    }
    rows.push(...group.filter((c) => c.status !== "pass").map(one));
    const passes = new Map<string, number>();
    for (const c of group) if (c.status === "pass") passes.set(c.message, (passes.get(c.message) ?? 0) + 1);
    for (const [message, count] of passes) {
      rows.push({
        check: check.check,
        subject: `${count} reading${count === 1 ? "" : "s"}`,
        status: "pass",
        message,
        count,
      });
    }
  }
  return rows;
}

/** One line per row of {@link reportRows}, then the verdict. */
export function formatReport(report: VerificationReport, options: { verbose?: boolean } = {}): string {
  const lines = reportRows(report, options).map(
    (r) => `${MARK[r.status]} ${r.check.padEnd(18)} ${r.subject.padEnd(14)} ${r.message}`,
  );
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
