/**
 * The demo's HTML report: one self-contained file (no scripts from elsewhere, no fonts, no CDN) with each
 * story's figures, the trip's verification verdicts check by check, a chart of the trip's readings with
 * the anchored batches marked, and links that open each bundle in the verifier page.
 */
import { formatEther } from "ethers";
import type { ProofBundle } from "../proof";
import { readingSeries, reportRows } from "../verify";
import type { VerificationReport } from "../verify";
import type { ColdChainResult } from "./cold-chain";
import type { EnergyResult } from "./energy";

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** An SVG line chart of the bundle's first metric by sequence number, with a band per anchored batch. */
function tripChart(bundle: ProofBundle): string {
  const [series] = readingSeries(bundle, { min: 2_000, max: 8_000 });
  if (series === undefined) return "";
  const width = 720;
  const height = 220;
  const pad = 30;
  // By sequence, not device time: a simulated trip sends many readings per second.
  const sequences = series.sequences.map(Number);
  const t0 = Math.min(...sequences);
  const t1 = Math.max(...sequences, t0 + 1);
  const v0 = Math.min(...series.values, 2_000);
  const v1 = Math.max(...series.values, 8_000);
  const x = (t: number) => pad + ((t - t0) / (t1 - t0)) * (width - 2 * pad);
  const y = (v: number) => height - pad - ((v - v0) / (v1 - v0)) * (height - 2 * pad);
  const bands = bundle.batches.map((batch, i) => {
    const times = bundle.readings.filter((r) => r.batchId === batch.batchId).map((r) => Number(r.reading.sequence));
    const from = x(Math.min(...times));
    const to = x(Math.max(...times));
    return `<rect x="${from}" y="${pad}" width="${Math.max(2, to - from)}" height="${height - 2 * pad}" fill="${i % 2 === 0 ? "#dbeafe" : "#e0e7ff"}"><title>batch ${batch.batchId}, block ${batch.blockNumber}</title></rect>`;
  });
  const points = sequences.map((t, i) => `${x(t).toFixed(1)},${y(series.values[i]!).toFixed(1)}`).join(" ");
  const limits = [2_000, 8_000]
    .map(
      (v) =>
        `<line x1="${pad}" x2="${width - pad}" y1="${y(v)}" y2="${y(v)}" stroke="#dc2626" stroke-dasharray="4 4"/>`,
    )
    .join("");
  return `<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(series.metric)} over the trip, anchored batches shaded">${bands.join("")}${limits}<polyline fill="none" stroke="#1d4ed8" stroke-width="2" points="${points}"/><text x="${pad}" y="${pad - 8}" font-size="12">${escape(series.metric)}: ${series.values.length} readings by sequence, anchored batches shaded, 2..8 °C dashed</text></svg>`;
}

function checksTable(report: VerificationReport): string {
  const rows = reportRows(report)
    .map(
      (r) =>
        `<tr class="${r.status}"><td>${escape(r.check)}</td><td>${escape(r.subject)}</td><td>${{ pass: "VALID", fail: "INVALID", skip: "SKIPPED" }[r.status]}</td><td>${escape(r.message)}</td></tr>`,
    )
    .join("");
  return `<table><thead><tr><th>Check</th><th>Subject</th><th>Result</th><th>Reason</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function demoReportHtml(params: {
  coldChain: ColdChainResult;
  energy: EnergyResult;
  /** Links to the verifier page with each bundle in the fragment (the bundle only, never what to trust). */
  verifierLinks?: { trip: string; tampered: string };
  files: string[];
}): string {
  const { coldChain: c, energy: e } = params;
  const verdict = (r: VerificationReport) => `<strong class="${r.verdict}">${r.verdict.toUpperCase()}</strong>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>iotrail demo report</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#111827}
table{border-collapse:collapse;width:100%}td:nth-child(-n+3),th:nth-child(-n+3){white-space:nowrap}td,th{border-bottom:1px solid #e5e7eb;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
tr.fail td:nth-child(3),.failed{color:#b91c1c}tr.pass td:nth-child(3),.verified{color:#15803d}.not-verified{color:#92400e}
svg{width:100%;height:auto;background:#f9fafb}
</style></head><body>
<h1>iotrail demo report</h1>
<h2>Cold chain</h2>
<ul>
<li>${c.loggers.length} loggers onboarded as lot ${c.lotId} with one transaction</li>
<li>${c.simulation.acknowledged} of ${c.simulation.sent} readings acknowledged over MQTT (p50 ${c.simulation.latencyMs.p50} ms, p99 ${c.simulation.latencyMs.p99} ms)</li>
<li>${c.batches} batches anchored in ${c.anchorTransactions} transaction${c.anchorTransactions === 1 ? "" : "s"}: ${c.gasPerReading.toFixed(0)} gas per anchored reading</li>
<li>escrow released by the delivery reading: the carrier got ${formatEther(c.carrierPaid)} ETH</li>
<li>logger 1's trip (${c.trip.readings.length} readings): ${verdict(c.tripReport)}${params.verifierLinks === undefined ? "" : ` (<a href="${escape(params.verifierLinks.trip)}">open in the verifier</a>)`}; a tampered copy: ${verdict(c.tamperedReport)}${params.verifierLinks === undefined ? "" : ` (<a href="${escape(params.verifierLinks.tampered)}">open</a>)`}</li>
</ul>
${
  params.verifierLinks === undefined
    ? ""
    : `<p>The links open each bundle in <code>verifier.html</code>, a copy of the verifier page next to this report that works from disk. A link carries the bundle only, never what to trust: the page checks what needs no chain at once (so the tampered copy fails there too), and checks the chain once you enter, in the page, an RPC URL and the TelemetryAnchor you trust (<code>demo-output/deployments/</code> records it). The in-process chain of <code>npm run demo</code> ends with the demo; run it with <code>--network localhost</code> to check against a node that stays up.</p>`
}
${tripChart(c.trip)}
<h3>The trip's checks</h3>
${checksTable(c.tripReport)}
<h3>The tampered trip's checks</h3>
${checksTable(c.tamperedReport)}
<h2>Energy trading</h2>
<ul>
<li>${e.meters} smart meters, ${e.vouchers} payments (one voucher per kWh), settled in ${e.transactions} transactions: ${e.gasPerPayment.toFixed(1)} gas per payment</li>
<li>paid to each seller: ${e.paid.map((p) => `${formatEther(p)} ETH`).join(", ")}</li>
</ul>
<h2>Files</h2>
<ul>${params.files.map((f) => `<li>${escape(f)}</li>`).join("")}</ul>
</body></html>
`;
}
