/**
 * The verifier page: the same `verifyBundle` as `iotrail verify`, bundled for the browser. The trust
 * configuration (RPC URL, pinned anchor and registry) is the partner's own: typed here and saved in this
 * browser, or the deployment recorded for the bundle's chain that the page was built with. A link carries a
 * bundle and nothing that decides a verdict (N-H1): settings a link's query names are never filled in or
 * saved; the page shows what the link asks to trust, and uses it for one check only when the partner says so,
 * with the verdict naming where each trusted address came from. An unpinned or offline run is never green.
 */
import { JsonRpcProvider, getAddress, isAddress } from "ethers";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import knownDeployments from "./known-deployments.json";
import {
  bundleChainId,
  bundleFromFragment,
  pinTrust,
  readingSeries,
  reportRows,
  shareFragment,
  verifyBundle,
} from "../../src/verify";
import type { ReportRow, TrustedContracts, VerificationReport } from "../../src/verify";
import type { ProofBundle } from "../../src/proof";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const rpcInput = $<HTMLInputElement>("rpc");
const anchorInput = $<HTMLInputElement>("anchor");
const registryInput = $<HTMLInputElement>("registry");

/** Block explorers of well-known chains, for links to the anchoring transactions and blocks. */
const EXPLORERS: Record<string, string> = {
  "1": "https://etherscan.io",
  "11155111": "https://sepolia.etherscan.io",
  "17000": "https://holesky.etherscan.io",
  "8453": "https://basescan.org",
  "84532": "https://sepolia.basescan.org",
};

type Known = Record<string, { network: string; anchor: string; registry: string }>;
const KNOWN = knownDeployments as Known;

let lastText: string | undefined;

const SETTINGS = [
  [rpcInput, "rpc"],
  [anchorInput, "anchor"],
  [registryInput, "registry"],
] as const;
type Setting = (typeof SETTINGS)[number][1];

// The trust fields hold what the partner saved in this browser, and nothing else.
for (const [input, key] of SETTINGS) {
  input.value = localStorage.getItem(`iotrail.${key}`) ?? "";
  input.addEventListener("change", () => {
    localStorage.setItem(`iotrail.${key}`, input.value.trim());
    showLinkRequest();
  });
}

// What a link's query asks to trust: shown, never applied unless the partner confirms, never saved.
const query = new URLSearchParams(location.search);
const linkAsks: Partial<Record<Setting, string>> = {};
for (const [, key] of SETTINGS) {
  const value = query.get(key)?.trim();
  if (value !== undefined && value !== "") linkAsks[key] = value;
}
let linkConfirmed = false;
const LABELS: Record<Setting, string> = {
  rpc: "the chain through",
  anchor: "the TelemetryAnchor",
  registry: "the DeviceRegistry",
};

function showLinkRequest(): void {
  const differs = SETTINGS.filter(
    ([input, key]) => linkAsks[key] !== undefined && linkAsks[key] !== input.value.trim(),
  );
  const box = $("link-trust");
  box.hidden = differs.length === 0 || linkConfirmed;
  $("link-trust-text").textContent =
    differs.length === 0
      ? ""
      : `This link asks you to trust ${differs.map(([, key]) => `${LABELS[key]} ${linkAsks[key]}`).join(", ")}. ` +
        "Whoever sent it chose these, not you: the page uses your own settings unless you confirm, and never saves the link's.";
}
$("link-trust-use").addEventListener("click", () => {
  linkConfirmed = true;
  showLinkRequest();
  if (lastText !== undefined) void verifyText(lastText);
});
showLinkRequest();

/** One trust setting in effect, and where it came from. */
function setting(key: Setting): { value: string; from: string } {
  const input = SETTINGS.find(([, k]) => k === key)![0];
  const asked = linkAsks[key];
  if (linkConfirmed && asked !== undefined) return { value: asked, from: "from the link you opened, confirmed by you" };
  return { value: input.value.trim(), from: "saved in this browser" };
}

function trustFor(chainId: string | undefined): { trusted?: TrustedContracts; note: string } {
  const anchor = setting("anchor");
  const registry = setting("registry");
  const rpc = setting("rpc");
  const through = rpc.value === "" ? "" : `, asked through ${rpc.value} (${rpc.from})`;
  if (anchor.value !== "") {
    if (!isAddress(anchor.value))
      return { note: `"${anchor.value}" is not an address (or its checksum is wrong): nothing is pinned` };
    if (registry.value !== "" && !isAddress(registry.value))
      return { note: `"${registry.value}" is not an address: nothing is pinned` };
    const pinned =
      `the TelemetryAnchor ${getAddress(anchor.value)} (${anchor.from})` +
      (registry.value === "" ? "" : ` and the DeviceRegistry ${getAddress(registry.value)} (${registry.from})`);
    return {
      trusted: pinTrust(
        { anchor: anchor.value, ...(registry.value === "" ? {} : { registry: registry.value }) },
        { kind: "browser", what: `${pinned}${through}` },
      ),
      note: `Pinned: ${pinned}${through}.`,
    };
  }
  const known = chainId === undefined ? undefined : KNOWN[chainId];
  if (known !== undefined) {
    const pinned = `the recorded deployment of chain ${chainId} (${known.network}) built into this page: anchor ${known.anchor}, registry ${known.registry}`;
    return {
      trusted: pinTrust(
        { anchor: known.anchor, registry: known.registry },
        { kind: "browser", what: `${pinned}${through}` },
      ),
      note: `Pinned: ${pinned}${through}.`,
    };
  }
  return {
    note: 'Nothing is pinned: the result can at most be "not fully verified". Enter the anchor you trust above.',
  };
}

async function verifyText(text: string): Promise<void> {
  lastText = text;
  const chainId = bundleChainId(text);
  const { trusted, note } = trustFor(chainId);
  $("trust-note").textContent = note;
  const url = setting("rpc").value;
  const provider = url === "" ? undefined : new JsonRpcProvider(url, undefined, { staticNetwork: false });
  $("result").hidden = false;
  $("verdict").textContent = "Verifying…";
  $("verdict").className = "verdict";
  try {
    const report = await verifyBundle(text, {
      ...(provider === undefined ? {} : { provider }),
      ...(trusted === undefined ? {} : { trusted }),
      timeoutMs: 30_000,
    });
    render(report, text, chainId);
  } finally {
    provider?.destroy();
  }
}

function render(report: VerificationReport, text: string, chainId: string | undefined): void {
  const verdict = $("verdict");
  const failed = report.checks.filter((c) => c.status === "fail");
  verdict.className = `verdict ${report.verdict}`;
  verdict.dataset.verdict = report.verdict;
  verdict.textContent =
    report.verdict === "verified"
      ? `VERIFIED against ${report.trust.source}`
      : report.verdict === "failed"
        ? `FAILED: ${failed
            .map((c) => `${c.check} (${c.subject})`)
            .slice(0, 3)
            .join(", ")}${failed.length > 3 ? ", …" : ""}`
        : `NOT FULLY VERIFIED: ${report.reasons.join("; ")}`;

  let bundle: ProofBundle | undefined;
  try {
    bundle = JSON.parse(text) as ProofBundle;
  } catch {
    bundle = undefined;
  }
  const tbody = $("checks").querySelector("tbody")!;
  tbody.replaceChildren(...reportRows(report).map((row) => rowElement(row, bundle, chainId)));

  const deviceChecks = report.checks.filter((c) => c.check === "device-valid");
  $("device-status").textContent =
    deviceChecks.length === 0
      ? ""
      : `Device status at the anchoring: ${deviceChecks.map((c) => `${c.subject}: ${c.status === "pass" ? "active" : c.status === "fail" ? "NOT active" : "not checked"} (${c.message})`).join("; ")}`;
  drawCharts(bundle, report);
}

const LABEL = { pass: "VALID", fail: "INVALID", skip: "SKIPPED" } as const;

function rowElement(row: ReportRow, bundle: ProofBundle | undefined, chainId: string | undefined): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.className = row.status;
  tr.dataset.check = row.check;
  const cells = [row.check, row.subject, LABEL[row.status], row.message].map((text) => {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  });
  // Links to the anchoring transaction and block of a batch, on a known explorer.
  const batchId = /^batch (\d+)$/.exec(row.subject)?.[1];
  const batch = bundle?.batches?.find((b) => b.batchId === batchId);
  const explorer = chainId === undefined ? undefined : EXPLORERS[chainId];
  if (
    batch !== undefined &&
    explorer !== undefined &&
    (row.check === "anchor-transaction" || row.check === "root-anchored")
  ) {
    const links = document.createElement("span");
    links.append(
      " ",
      link(`${explorer}/tx/${batch.transactionHash}`, "transaction"),
      " ",
      link(`${explorer}/block/${batch.blockNumber}`, "block"),
    );
    cells[3]!.append(links);
  }
  tr.append(...cells);
  return tr;
}

function link(href: string, text: string): HTMLAnchorElement {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  a.rel = "noopener noreferrer";
  a.target = "_blank";
  return a;
}

let plots: uPlot[] = [];

/** Tick steps of the time axis, in whole seconds (1 s up to a year). */
const SECOND_STEPS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 2592000,
  31536000,
];

/** A tick of the time axis in UTC: the time of day, with the date when the span crosses days. */
function timeLabel(t: number, splits: number[]): string {
  const iso = new Date(t * 1000).toISOString();
  const span = (splits[splits.length - 1] ?? t) - (splits[0] ?? t);
  return span >= 86400 ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 19);
}

function drawCharts(bundle: ProofBundle | undefined, report: VerificationReport): void {
  for (const plot of plots) plot.destroy();
  plots = [];
  const charts = $("charts");
  charts.replaceChildren();
  $("gaps").textContent = "";
  if (
    bundle === undefined ||
    !Array.isArray(bundle.readings) ||
    report.checks.some((c) => c.check === "schema" && c.status !== "pass")
  )
    return;
  const min = $<HTMLInputElement>("min").value;
  const max = $<HTMLInputElement>("max").value;
  const series = readingSeries(bundle, {
    ...(min === "" ? {} : { min: Number(min) }),
    ...(max === "" ? {} : { max: Number(max) }),
  });
  const notes: string[] = [];
  for (const s of series) {
    const figure = document.createElement("figure");
    const caption = document.createElement("figcaption");
    caption.textContent = `${s.metric}: ${s.values.length} readings, ${s.gaps.length} gap(s), ${s.outOfRange.length} value(s) out of range`;
    figure.append(caption);
    charts.append(figure);
    const flagged = s.values.map((v, i) => (s.outOfRange.includes(i) ? v : null));
    const width = Math.max(280, Math.min(900, charts.clientWidth || 600));
    plots.push(
      new uPlot(
        {
          width,
          height: 220,
          series: [
            {},
            { label: s.metric, stroke: "#2563eb" },
            { label: "out of range", stroke: "transparent", points: { show: true, size: 8, fill: "#dc2626" } },
          ],
          axes: [
            {
              // Readings carry whole seconds: ticks never fall between them (uPlot's default steps go to 1/4 s).
              incrs: SECOND_STEPS,
              values: (_u, splits) => {
                figure.dataset.xTicks = JSON.stringify(splits);
                return splits.map((t) => timeLabel(t, splits));
              },
            },
            {
              values: (_u, splits) => {
                const labels = splits.map((v) => String(Number(v.toPrecision(6))));
                figure.dataset.yLabels = JSON.stringify(labels);
                return labels;
              },
              // As wide as its widest tick label, so none is clipped (uPlot's default is a fixed 50 px).
              size: (u, values, axisIdx) => {
                const axis = u.axes[axisIdx]!;
                const widest = (values ?? []).reduce((a, v) => (v.length > a.length ? v : a), "");
                u.ctx.font = (axis.font as unknown as [string])?.[0] ?? u.ctx.font;
                const size = Math.ceil(
                  (axis.ticks?.size ?? 10) + (axis.gap ?? 5) + u.ctx.measureText(widest).width / devicePixelRatio + 4,
                );
                figure.dataset.ySize = String(size);
                return size;
              },
            },
          ],
          hooks: {
            draw: [
              (u) => {
                // Sequence gaps as dashed vertical lines after the last reading before each gap.
                const ctx = u.ctx;
                ctx.save();
                ctx.strokeStyle = "#f59e0b";
                ctx.setLineDash([4, 4]);
                for (const gap of s.gaps) {
                  const x = u.valToPos(gap.timestamp, "x", true);
                  ctx.beginPath();
                  ctx.moveTo(x, u.bbox.top);
                  ctx.lineTo(x, u.bbox.top + u.bbox.height);
                  ctx.stroke();
                }
                ctx.restore();
              },
            ],
          },
        },
        [s.timestamps, s.values, flagged],
        figure,
      ),
    );
    for (const gap of s.gaps)
      notes.push(`${s.metric}: ${gap.missing} reading(s) missing after sequence ${gap.afterSequence}`);
  }
  $("gaps").textContent = notes.join("; ");
}

async function readFileText(file: File): Promise<void> {
  await verifyText(await file.text());
}

const drop = $("drop");
const fileInput = $<HTMLInputElement>("file");
drop.addEventListener("click", () => fileInput.click());
drop.addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    fileInput.click();
  }
});
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  const file = event.dataTransfer?.files[0];
  if (file !== undefined) void readFileText(file);
});
fileInput.addEventListener("change", () => {
  const file = fileInput.files?.[0];
  if (file !== undefined) void readFileText(file);
});
$("verify-paste").addEventListener("click", () => void verifyText($<HTMLTextAreaElement>("paste").value));
for (const id of ["min", "max"]) {
  $(id).addEventListener("change", () => {
    if (lastText !== undefined) void verifyText(lastText);
  });
}
$("share").addEventListener("click", async () => {
  if (lastText === undefined) return;
  const fragment = await shareFragment(lastText);
  const note = $("share-note");
  if (fragment === undefined) {
    note.textContent = "This bundle is too large for a link; send the file.";
    return;
  }
  // The link carries the bundle only: whoever opens it verifies against what they trust.
  const url = `${location.origin}${location.pathname}#${fragment}`;
  history.replaceState(null, "", url);
  try {
    await navigator.clipboard.writeText(url);
    note.textContent = "Link copied.";
  } catch {
    note.textContent = "The link is in the address bar.";
  }
});

async function fromLink(): Promise<void> {
  try {
    const text = await bundleFromFragment(location.hash);
    if (text !== undefined) await verifyText(text);
  } catch (error) {
    $("result").hidden = false;
    $("verdict").textContent = `The link's bundle cannot be read: ${(error as Error).message}`;
  }
}
window.addEventListener("hashchange", () => void fromLink());
void fromLink();
document.body.dataset.ready = "true";
