/**
 * Real Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core (never a downloaded
 * browser), and a static file server for the built pages. `npm test` skips the browser tests where Chromium
 * is not installed, except under CI=true (`.ci/run` installs it).
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const WEB_ROOT = join(__dirname, "..", "..", "dist", "web");
export const SCREENSHOTS = join(__dirname, "..", "..", "web-screenshots");

/** Skips the suite (or fails it under CI) when Chromium or the built page is missing. */
export function requireBrowser(context: Mocha.Context): void {
  const missing = !existsSync(CHROMIUM)
    ? `${CHROMIUM} is not installed`
    : !existsSync(join(WEB_ROOT, "index.html"))
      ? "the page is not built (npm run build)"
      : undefined;
  if (missing === undefined) return;
  if (process.env.CI === "true") throw new Error(`browser tests need Chromium and the built page: ${missing}`);
  context.skip();
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // No sandbox as root; and no background traffic to Google's hosts, which this machine's network refuses.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };

/** A plain static server for the built page, as any static host would serve it. */
export async function staticServer(root = WEB_ROOT): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname));
    const file = join(root, path === "/" ? "index.html" : path);
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/**
 * Saves trust settings in the verifier page as a partner does: typed into its fields (each saved in this
 * browser context's storage on change). The page must be loaded.
 */
export async function saveTrust(
  page: Page,
  trust: { rpc?: string; anchor?: string; registry?: string },
): Promise<void> {
  for (const [id, value] of Object.entries(trust)) {
    if (value === undefined) continue;
    await page.fill(`#${id}`, value);
    await page.dispatchEvent(`#${id}`, "change");
  }
}
