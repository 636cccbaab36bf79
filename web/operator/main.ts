/**
 * The operator view: the batcher's batches, ingest over the last hour, and devices seen, read from its own
 * API (`/v1/batches`, `/v1/operator/ingest`, `/v1/operator/devices`) with the admin token when one is set.
 * Read-only; nothing here changes the batcher.
 */
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const tokenInput = $<HTMLInputElement>("token");
tokenInput.value = sessionStorage.getItem("iotrail.adminToken") ?? "";
tokenInput.addEventListener("change", () => {
  sessionStorage.setItem("iotrail.adminToken", tokenInput.value);
  void refresh();
});

interface BatchView {
  localId: number;
  status: string;
  readingCount: number;
  root: string;
  note?: string;
  anchor?: { batchId: string; transactionHash: string; blockNumber: number; confirmations?: number };
}

async function get<T>(path: string): Promise<T> {
  const token = tokenInput.value.trim();
  const response = await fetch(path, token === "" ? {} : { headers: { authorization: `Bearer ${token}` } });
  if (response.status === 401) throw new Error("the batcher asks for its admin token");
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return (await response.json()) as T;
}

function row(cells: readonly (string | number)[], attributes: Record<string, string> = {}): HTMLTableRowElement {
  const tr = document.createElement("tr");
  for (const [name, value] of Object.entries(attributes)) tr.setAttribute(name, value);
  for (const cell of cells) {
    const td = document.createElement("td");
    td.textContent = String(cell);
    tr.append(td);
  }
  return tr;
}

const short = (hex: string) => `${hex.slice(0, 10)}…${hex.slice(-6)}`;

async function refresh(): Promise<void> {
  const status = $("status");
  try {
    const [list, ingest, devices] = await Promise.all([
      get<{ counts: Record<string, number>; batches: BatchView[] }>("./v1/batches?limit=50"),
      get<{
        queue: number;
        minutes: {
          minute: string;
          accepted: number;
          duplicate: number;
          busy: number;
          rejected: Record<string, number>;
        }[];
      }>("./v1/operator/ingest"),
      get<{
        total: number;
        devices: { device: string; lastSequence: string; lastReceivedAt: string; readings: number; registry: string }[];
      }>("./v1/operator/devices?limit=100"),
    ]);
    $("counts").textContent = Object.entries(list.counts)
      .map(([name, count]) => `${count} ${name}`)
      .join(", ");
    $("batches")
      .querySelector("tbody")!
      .replaceChildren(
        ...list.batches.map((b) =>
          row(
            [
              b.localId,
              b.status === "failed" && b.note !== undefined ? `failed: ${b.note}` : b.status,
              b.readingCount,
              short(b.root),
              b.anchor === undefined ? "" : `${short(b.anchor.transactionHash)} (block ${b.anchor.blockNumber})`,
              b.anchor?.confirmations ?? "",
            ],
            { "data-batch": String(b.localId), "data-status": b.status },
          ),
        ),
      );
    const accepted = ingest.minutes.reduce((sum, m) => sum + m.accepted, 0);
    const rejected: Record<string, number> = {};
    for (const m of ingest.minutes)
      for (const [code, n] of Object.entries(m.rejected)) rejected[code] = (rejected[code] ?? 0) + n;
    $("ingest-summary").textContent =
      `${accepted} readings accepted in the last hour (${(accepted / 3600).toFixed(1)}/s on average); rejected: ${
        Object.entries(rejected)
          .map(([code, n]) => `${code} ${n}`)
          .join(", ") || "none"
      }; ${ingest.queue} in the queue now.`;
    $("ingest")
      .querySelector("tbody")!
      .replaceChildren(
        ...[...ingest.minutes].reverse().map((m) =>
          row([
            m.minute.slice(11, 16),
            m.accepted,
            m.duplicate,
            m.busy,
            Object.entries(m.rejected)
              .map(([code, n]) => `${code} ${n}`)
              .join(", "),
          ]),
        ),
      );
    $("devices")
      .querySelector("tbody")!
      .replaceChildren(
        ...devices.devices.map((d) =>
          row([d.device, d.lastSequence, d.lastReceivedAt.replace("T", " ").slice(0, 19), d.readings, d.registry], {
            "data-device": d.device,
          }),
        ),
      );
    status.textContent = `Updated ${new Date().toLocaleTimeString()}; ${devices.total} device(s) seen since the batcher started.`;
    document.body.dataset.loaded = "true";
  } catch (error) {
    status.textContent = (error as Error).message;
  }
}

void refresh();
setInterval(() => void refresh(), 5_000);
