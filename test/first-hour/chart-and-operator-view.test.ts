/**
 * Issue 24, defect 14 (the pages): on the verifier's chart a y-axis label was clipped (uPlot's fixed 50 px)
 * and the time axis ticked in quarter seconds for whole-second data; the operator view's "Confirmations"
 * froze once the last batch turned final (the anchorer stopped reading the head), and its headers wrapped
 * mid-word at 1280 px.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { Browser } from "playwright-core";
import type { BatcherService } from "../../src/batcher";
import { ZERO_HASH } from "../../src/telemetry";
import { TEMPERATURE, T0 } from "../helpers/anchor";
import {
  liveReadings,
  postReadings,
  startBatcher,
  startRpcServer,
  testConfig,
  waitFor,
  wireBatch,
} from "../helpers/batcher";
import { launchChromium, requireBrowser, staticServer } from "../helpers/browser";
import { bundleFixture } from "../helpers/bundle";
import { suiteBundle, suiteDevice, suiteFixture } from "../helpers/suite";

/** uPlot's default axis font (the labels are drawn on the canvas in it). */
const UPLOT_FONT =
  '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif, "Apple Color Emoji", "Segoe UI Emoji", "Segoe UI Symbol", "Noto Color Emoji"';

describe("first hour (issue 24): the chart's axes and the operator view", function () {
  this.timeout(120_000);
  let browser: Browser;
  before(async function () {
    requireBrowser(this);
    browser = await launchChromium();
  });
  after(async function () {
    await browser?.close();
  });

  it("the chart: ticks on whole seconds only, and a y axis as wide as its widest label", async function () {
    const fx = await suiteFixture();
    const device = await suiteDevice(fx);
    // 20 readings a second apart, with long values (the labels that were clipped).
    const readings = Array.from({ length: 20 }, (_, i) => ({
      device: device.address,
      sequence: BigInt(i + 1),
      timestamp: T0 + BigInt(i),
      metric: TEMPERATURE,
      value: -123_456_789n + 1_000_003n * BigInt(i),
      payloadHash: ZERO_HASH,
    }));
    const bundle = await suiteBundle(fx, device, readings);
    const site = await staticServer();
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    try {
      await page.goto(`${site.url}/`);
      await page.waitForSelector("body[data-ready=true]");
      await page.evaluate(`document.querySelector("details").open = true`);
      await page.fill("#paste", JSON.stringify(bundle));
      await page.click("#verify-paste");
      await page.waitForSelector("#charts figure[data-x-ticks]", { state: "attached" });
      const figure = await page.$eval("#charts figure", (f) => ({
        ...(f as unknown as { dataset: Record<string, string> }).dataset,
      }));
      const ticks = JSON.parse(figure.xTicks!) as number[];
      expect(ticks.length).to.be.greaterThan(1);
      for (const t of ticks) expect(Number.isInteger(t), `tick ${t}`).to.equal(true);
      const labels = JSON.parse(figure.yLabels!) as string[];
      const widest = await page.evaluate(
        `(() => { const c = document.createElement("canvas").getContext("2d"); c.font = ${JSON.stringify(UPLOT_FONT)};
          return Math.max(...${JSON.stringify(labels)}.map((l) => c.measureText(l).width)); })()`,
      );
      expect(Number(figure.ySize)).to.be.at.least(Math.ceil(widest as number) + 10);
      expect(Number(figure.ySize), "wider than uPlot's fixed 50 px, which clipped these labels").to.be.above(50);
    } finally {
      await page.close();
      site.server.close();
    }
  });

  it("the operator view: confirmations keep counting after finality, and no header wraps at 1280 px", async function () {
    const fx = await bundleFixture();
    const rpc = await startRpcServer();
    const service: BatcherService = await startBatcher(testConfig(fx, rpc.url));
    try {
      await postReadings(service.httpUrl, wireBatch(fx, fx.device, liveReadings(fx.device, 3)));
      // Automine: blocks come only with transactions, so a few are mined for the batch to turn final.
      await waitFor(
        async () => {
          const view = (await (await fetch(`${service.httpUrl}/v1/batches/1`)).json()) as { status: string };
          if (view.status === "final") return true;
          if (view.status === "anchored") await network.provider.send("hardhat_mine", ["0x1"]);
          return undefined;
        },
        20_000,
        "batch 1 final",
      );
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const confirmations = async () =>
        Number(await page.$eval("#batches tbody tr[data-batch='1']", (r) => r.children[5]!.textContent));
      await page.goto(`${service.httpUrl}/operator`);
      await page.waitForSelector("body[data-loaded=true]");
      const before = await confirmations();
      await network.provider.send("hardhat_mine", ["0x5"]);
      // The anchorer reads the head on its next pass; the view shows it on its next refresh (every 5 s).
      await waitFor(
        async () => {
          await page.reload();
          await page.waitForSelector("body[data-loaded=true]");
          return (await confirmations()) >= before + 5 ? true : undefined;
        },
        15_000,
        "confirmations counting on",
      );
      // Every header on one line: as tall as the one-word "Batch".
      const heights = await page.$$eval("th", (ths) =>
        ths.map((th) => (th as unknown as { offsetHeight: number }).offsetHeight),
      );
      expect(new Set(heights).size, `header heights ${heights.join(", ")}`).to.equal(1);
      await page.close();
    } finally {
      await service.stop();
      await rpc.close();
    }
  });
});
