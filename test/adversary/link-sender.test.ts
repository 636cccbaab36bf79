/**
 * The sender of a link (N-H1): a link to the verifier page whose query names the trust (a look-alike anchor,
 * its own RPC node) and whose fragment carries an invented bundle. Trust comes only from what the partner
 * saved in the browser (or the deployments built into the page): the link's settings are never applied or
 * saved without the partner's explicit confirmation, and the verdict names where each address came from.
 */
import { expect } from "chai";
import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { shareFragment } from "../../src/verify";
import { lookAlikeBundle } from "../helpers/bundle";
import { startRpcServer } from "../helpers/batcher";
import { SCREENSHOTS, launchChromium, requireBrowser, saveTrust, staticServer } from "../helpers/browser";
import { join } from "node:path";

describe("adversary: the sender of a link to the verifier page (real Chromium)", function () {
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

  async function verdictOf(page: Page): Promise<string> {
    await page.waitForSelector("#verdict[data-verdict]", { state: "attached", timeout: 60_000 });
    return (await page.getAttribute("#verdict", "data-verdict"))!;
  }

  /** A partner's browser with `trust` saved, then the attacker's link opened in it. */
  async function partnerOpens(trust: { rpc?: string; anchor?: string }, link: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    await page.goto(`${site.url}/`);
    await page.waitForSelector("body[data-ready=true]");
    await saveTrust(page, trust);
    await page.goto(`${site.url}/${link}`);
    await page.waitForSelector("body[data-ready=true]");
    return page;
  }

  it("security (N-H1): a link naming a look-alike anchor and registry never turns the page green, nor changes the saved pin", async function () {
    const { fx, bundle, fakeAddress } = await lookAlikeBundle();
    const fragment = (await shareFragment(JSON.stringify(bundle)))!;
    const link = `?anchor=${fakeAddress}&registry=${fakeAddress}#${fragment}`;
    const real = fx.telemetry.verifyingContract;

    // A partner who pinned the real anchor: the bundle is judged against it, and fails.
    const pinned = await partnerOpens({ rpc: rpc.url, anchor: real }, link);
    expect(await verdictOf(pinned)).to.equal("failed");
    expect(await pinned.inputValue("#anchor"), "the link never fills the trust fields").to.equal(real);
    expect(await pinned.isVisible("#link-trust")).to.equal(true);
    expect(await pinned.textContent("#link-trust-text")).to.contain(`the TelemetryAnchor ${fakeAddress}`);
    await pinned.screenshot({ path: join(SCREENSHOTS, "link-asks-trust.png"), fullPage: true });
    expect(await pinned.evaluate("localStorage.getItem('iotrail.anchor')")).to.equal(real);

    // A partner who pinned nothing: not green either.
    const fresh = await partnerOpens({ rpc: rpc.url }, link);
    expect(await verdictOf(fresh)).to.equal("not-verified");
    expect(await fresh.inputValue("#anchor")).to.equal("");

    // Confirming uses the link's settings for this check only: the verdict says where they came from, and a
    // reload is back on the partner's own pin.
    await pinned.click("#link-trust-use");
    await pinned.waitForFunction(`document.getElementById("verdict").textContent.includes("confirmed by you")`);
    expect(await pinned.textContent("#verdict")).to.contain(
      `${fakeAddress} (from the link you opened, confirmed by you)`,
    );
    await pinned.reload();
    await pinned.waitForSelector("body[data-ready=true]");
    expect(await verdictOf(pinned)).to.equal("failed");
    expect(await pinned.evaluate("localStorage.getItem('iotrail.anchor')")).to.equal(real);
    await pinned.close();
    await fresh.close();
  });

  it("security (N-H1): a link naming the attacker's RPC node is not used; the partner's saved node is", async function () {
    const { fx, bundle } = await lookAlikeBundle();
    const fragment = (await shareFragment(JSON.stringify(bundle)))!;
    const liar = "http://127.0.0.1:9/attacker-node";
    const page = await partnerOpens(
      { rpc: rpc.url, anchor: fx.telemetry.verifyingContract },
      `?rpc=${encodeURIComponent(liar)}#${fragment}`,
    );
    expect(await verdictOf(page)).to.equal("failed");
    expect(await page.inputValue("#rpc")).to.equal(rpc.url);
    expect(await page.textContent("#trust-note")).to.contain(`asked through ${rpc.url} (saved in this browser)`);
    expect(await page.textContent("#link-trust-text")).to.contain(liar);
    await page.close();
  });
});
