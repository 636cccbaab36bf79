import { expect } from "chai";
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { Browser, FileChooser, Page } from "playwright-core";
import type { BatcherService } from "../../src/batcher";
import { bundleFixture, clone } from "../helpers/bundle";
import {
  liveReadings,
  postReadings,
  startBatcher,
  startRpcServer,
  testConfig,
  waitFor,
  wireBatch,
} from "../helpers/batcher";
import { SCREENSHOTS, WEB_ROOT, launchChromium, requireBrowser, saveTrust, staticServer } from "../helpers/browser";

describe("the verifier page (real Chromium)", function () {
  this.timeout(120_000);
  let browser: Browser;
  let rpc: { url: string; close: () => Promise<void> };
  let site: Awaited<ReturnType<typeof staticServer>>;

  before(async function () {
    requireBrowser(this);
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await launchChromium();
    rpc = await startRpcServer();
    site = await staticServer();
  });

  after(async function () {
    await browser?.close();
    await rpc?.close();
    site?.server.close();
  });

  /**
   * Opens the page with `trust` saved in this browser as a partner types it (the RPC always), then goes to
   * `path` (a query and fragment); fails the test on any page error.
   */
  async function open(
    base: string,
    trust: { anchor?: string } = {},
    path = "",
  ): Promise<{ page: Page; loadMs: number }> {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    (page as Page & { errors?: string[] }).errors = errors;
    const started = Date.now();
    await page.goto(`${base}/`);
    await page.waitForSelector("body[data-ready=true]");
    const loadMs = Date.now() - started;
    await saveTrust(page, { rpc: rpc.url, ...trust });
    if (path !== "") {
      await page.goto(`${base}/${path}`);
      await page.waitForSelector("body[data-ready=true]");
    }
    return { page, loadMs };
  }

  /** Drops `text` on the drop zone as a file, as a person dragging it from their desktop does. */
  async function dropBundle(page: Page, text: string): Promise<string> {
    // Runs in the page: the DOM's own DataTransfer and DragEvent.
    await page.evaluate(`(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([${JSON.stringify(text)}], "bundle.json", { type: "application/json" }));
      document.getElementById("drop").dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    })()`);
    return verdict(page);
  }

  /** The verdict, once the page shows one (waiting by selector works under the page's content security policy). */
  async function verdict(page: Page): Promise<string> {
    await page.waitForSelector("#verdict[data-verdict]", { state: "attached", timeout: 60_000 });
    return (await page.getAttribute("#verdict", "data-verdict"))!;
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  it("reports its size and load time (measured, not asserted: timings belong to benchmarks), and loads without an error", async function () {
    const assets = readdirSync(join(WEB_ROOT, "assets"));
    let raw = 0;
    let gzip = 0;
    for (const file of assets) {
      raw += statSync(join(WEB_ROOT, "assets", file)).size;
      gzip += gzipSync(readFileSync(join(WEB_ROOT, "assets", file))).length;
    }
    console.log(
      `      verifier page: ${assets.length} assets, ${(raw / 1024).toFixed(0)} KiB (${(gzip / 1024).toFixed(0)} KiB gzip)`,
    );
    const { page, loadMs } = await open(site.url);
    console.log(`      loaded and ready in ${loadMs} ms`);
    expect((page as Page & { errors: string[] }).errors).to.deep.equal([]);
    await page.close();
  });

  it("a good bundle dropped on the page served by a static server: verified, with rows, chart and device status", async function () {
    const fx = await loadFixture(bundleFixture);
    const { page } = await open(site.url, { anchor: fx.telemetry.verifyingContract });
    expect(await dropBundle(page, JSON.stringify(fx.bundle))).to.equal("verified");
    expect(await page.textContent("#verdict")).to.contain(
      `VERIFIED against the TelemetryAnchor ${fx.telemetry.verifyingContract} (saved in this browser)`,
    );
    const statuses = await page.$$eval("#checks tbody tr", (rows) => rows.map((r) => r.children[2]!.textContent));
    expect(statuses).to.include("VALID");
    expect(statuses).not.to.include("INVALID");
    expect(await page.textContent("#device-status")).to.contain("active");
    expect(await page.$$("#charts canvas")).to.have.length.greaterThan(0);
    await shot(page, "verified");
    expect((page as Page & { errors: string[] }).errors).to.deep.equal([]);
    await page.close();
  });

  it("a tampered bundle: failed, and the failing check is named", async function () {
    const fx = await loadFixture(bundleFixture);
    const tampered = clone(fx.bundle);
    tampered.readings[2]!.reading.value = "12345";
    const { page } = await open(site.url, { anchor: fx.telemetry.verifyingContract });
    expect(await dropBundle(page, JSON.stringify(tampered))).to.equal("failed");
    expect(await page.textContent("#verdict")).to.match(/FAILED: (device-signature|merkle-inclusion) \(reading #3\)/);
    const failing = await page.$$eval("#checks tbody tr.fail", (rows) => rows.map((r) => r.getAttribute("data-check")));
    expect(failing).to.include("device-signature");
    await shot(page, "tampered");
    await page.close();
  });

  it("an unpinned bundle (no anchor entered, no recorded deployment of its chain): not fully verified, never green", async function () {
    const fx = await loadFixture(bundleFixture);
    const { page } = await open(site.url);
    expect(await dropBundle(page, JSON.stringify(fx.bundle))).to.equal("not-verified");
    expect(await page.textContent("#verdict")).to.contain("NOT FULLY VERIFIED");
    expect(await page.textContent("#trust-note")).to.contain("Nothing is pinned");
    await shot(page, "unpinned");
    await page.close();
  });

  it("a share link carries the bundle in its fragment; whoever opens it verifies against their own trust", async function () {
    const fx = await loadFixture(bundleFixture);
    const context = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] });
    const page = await context.newPage();
    await page.goto(`${site.url}/`);
    await page.waitForSelector("body[data-ready=true]");
    await saveTrust(page, { rpc: rpc.url, anchor: fx.telemetry.verifyingContract });
    expect(await dropBundle(page, JSON.stringify(fx.bundle))).to.equal("verified");
    await page.click("#share");
    await page.waitForURL(/#bundle=/);
    const link = page.url();
    expect(new URL(link).search, "the link carries the bundle, not the sender's trust").to.equal("");
    await context.close();
    const fragment = new URL(link).hash;
    const opened = await open(site.url, { anchor: fx.telemetry.verifyingContract }, fragment);
    expect(await verdict(opened.page)).to.equal("verified");
    const unpinned = await open(site.url, {}, fragment);
    expect(await verdict(unpinned.page)).to.equal("not-verified");
    await opened.page.close();
    await unpinned.page.close();
  });

  it("the page served by a batcher at / (under its content security policy) verifies a bundle on a phone-sized screen, by keyboard", async function () {
    const fx = await loadFixture(bundleFixture);
    const service: BatcherService = await startBatcher(testConfig(fx, rpc.url));
    try {
      const response = await fetch(`${service.httpUrl}/`);
      expect(response.headers.get("content-security-policy")).to.contain("default-src 'self'");
      const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      // Listening for the chooser before the page loads: Playwright intercepts file choosers only once a
      // listener exists, and enabling that is asynchronous (a listener added at the key press can miss it).
      const chosen = new Promise<FileChooser>((resolve) => page.once("filechooser", resolve));
      await page.goto(`${service.httpUrl}/`);
      await page.waitForSelector("body[data-ready=true]");
      await saveTrust(page, { rpc: rpc.url, anchor: fx.telemetry.verifyingContract });
      // Keyboard: focus the drop zone, press Enter, and the file chooser opens.
      await page.locator("#drop").press("Enter");
      const chooser = await chosen;
      const file = join(SCREENSHOTS, "bundle.json");
      writeFileSync(file, JSON.stringify(fx.bundle));
      await chooser.setFiles(file);
      expect(await verdict(page), errors.join("; ")).to.equal("verified");
      const overflow = (await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
      expect(overflow, "no horizontal scrolling of the page on a phone").to.be.at.most(0);
      await shot(page, "phone");
      expect(errors).to.deep.equal([]);
      await page.close();
    } finally {
      await service.stop();
    }
  });

  it("the operator view (behind the admin token) lists the batches the API lists, the last hour's ingest and the devices seen", async function () {
    const fx = await loadFixture(bundleFixture);
    const token = "operator-view-token-0123456789";
    const base = testConfig(fx, rpc.url);
    const service: BatcherService = await startBatcher({ ...base, http: { ...base.http, adminToken: token } });
    try {
      const device = fx.device;
      const readings = liveReadings(device, 5);
      await postReadings(service.httpUrl, wireBatch(fx, device, readings));
      await postReadings(service.httpUrl, "{}"); // one rejection (E_SCHEMA)
      await waitFor(
        async () => {
          const view = (await (await fetch(`${service.httpUrl}/v1/batches/1`)).json()) as { anchor?: unknown };
          return view.anchor === undefined ? undefined : true;
        },
        20_000,
        "batch 1 anchored",
      );

      const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
      await page.goto(`${service.httpUrl}/operator`);
      await page.waitForSelector("#status:has-text('admin token')");
      await page.fill("#token", token);
      await page.press("#token", "Enter");
      await page.dispatchEvent("#token", "change");
      await page.waitForSelector("body[data-loaded=true]");
      const api = (await (await fetch(`${service.httpUrl}/v1/batches?limit=50`)).json()) as {
        batches: { localId: number; status: string; readingCount: number }[];
      };
      const shown = await page.$$eval("#batches tbody tr", (rows) =>
        rows.map((r) => [r.getAttribute("data-batch"), r.getAttribute("data-status"), r.children[2]!.textContent]),
      );
      expect(shown).to.deep.equal(api.batches.map((b) => [String(b.localId), b.status, String(b.readingCount)]));
      expect(await page.textContent("#ingest-summary")).to.contain("5 readings accepted");
      expect(await page.textContent("#ingest-summary")).to.contain("E_SCHEMA 1");
      const devices = await page.$$eval("#devices tbody tr", (rows) =>
        rows.map((r) => [r.getAttribute("data-device"), r.children[4]!.textContent]),
      );
      expect(devices).to.deep.equal([[device.address, "active"]]);
      await shot(page, "operator");
      const refused = await fetch(`${service.httpUrl}/v1/operator/devices`);
      expect(refused.status).to.equal(401);
      await page.close();
    } finally {
      await service.stop();
    }
  });
});
