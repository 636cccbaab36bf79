/** A readable rendering of a {@link VerificationReport}. */
import type { VerificationReport } from "./verify";

const MARK = { pass: "✔", fail: "✘", skip: "–" } as const;

export function formatReport(report: VerificationReport): string {
  const lines = report.checks.map(
    (c) => `${MARK[c.status]} ${c.check.padEnd(18)} ${c.subject.padEnd(14)} ${c.message}`,
  );
  const failed = report.checks.filter((c) => c.status === "fail").length;
  const skipped = report.checks.filter((c) => c.status === "skip").length;
  const verdict = report.ok
    ? `VERIFIED (${report.mode}${skipped > 0 ? `, ${skipped} check(s) skipped` : ""})`
    : `NOT VERIFIED: ${failed} check(s) failed`;
  return `${lines.join("\n")}\n\n${verdict}\n`;
}
