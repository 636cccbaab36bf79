/**
 * The sweep (issue 23, "the rule, built in"): whoever is judged never chooses the judge. One artifact names a
 * look-alike anchor and registry (a contract that answers yes to everything) for invented readings of a revoked
 * key; every entry point that judges an artifact meets it, each with the trust its user configured: the SDK,
 * `iotrail verify` in every way of pinning, `iotrail data buy` from a look-alike seller, the batcher's lots, and
 * the verifier page. No verdict is green.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { DeviceKey } from "../../src/device";
import { ConfigError, InvalidInputError } from "../../src/errors";
import { Lot } from "../../src/registry";
import { writeLotEntries } from "../../src/registry/lot-entries";
import { pinTrust, verifyBundle } from "../../src/verify";
import { lookAlikeBundle } from "../helpers/bundle";
import { startBatcher, startRpcServer, tempDatabase, testConfig } from "../helpers/batcher";
import { CHROMIUM, WEB_ROOT, launchChromium, saveTrust, staticServer } from "../helpers/browser";
import { iotrail, tempDir } from "../helpers/cli";
import { suiteFixture } from "../helpers/suite";
import { existsSync } from "node:fs";

const FIXTURES = join(__dirname, "..", "fixtures");

describe("adversary: a look-alike contract, at every entry point (the sweep)", function () {
  this.timeout(180_000);
  let rpc: { url: string; close: () => Promise<void> };
  let look: Awaited<ReturnType<typeof lookAlikeBundle>>;
  let file: string;
  let dir: string;
  before(async function () {
    rpc = await startRpcServer();
    look = await lookAlikeBundle();
    dir = tempDir();
    file = join(dir, "look-alike.json");
    writeFileSync(file, JSON.stringify(look.bundle));
  });
  after(async function () {
    await rpc.close();
  });

  const real = () => ({ anchor: look.fx.telemetry.verifyingContract, registry: String(look.fx.registry.target) });

  /** The user's own deployment record of the real contracts (the golden record with the fixture's addresses). */
  function deploymentsDir(): string {
    const record = JSON.parse(readFileSync(join(FIXTURES, "deployments.v1.json"), "utf8")) as {
      contracts: Record<string, { address: string }>;
    };
    record.contracts.TelemetryAnchor!.address = real().anchor;
    record.contracts.DeviceRegistry!.address = real().registry;
    const folder = join(dir, "deployments");
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "31337.json"), JSON.stringify(record));
    return folder;
  }

  it("the SDK: unpinned is never verified, pinned is failed, and a plain object is refused as trust", async function () {
    const unpinned = await verifyBundle(look.bundle, { provider: ethers.provider });
    expect(unpinned.verdict).to.equal("not-verified");
    const pinned = await verifyBundle(look.bundle, {
      provider: ethers.provider,
      trusted: pinTrust(real(), { kind: "program", what: "the test's configuration" }),
    });
    expect(pinned.verdict).to.equal("failed");
    // By construction: trust is made by pinTrust only, so an artifact's fields cannot be passed in as trust.
    const forged = await verifyBundle(look.bundle, {
      provider: ethers.provider,
      trusted: { anchor: look.fakeAddress, source: "the bundle" } as never,
    }).catch((error: unknown) => error);
    expect(forged).to.be.instanceOf(InvalidInputError);
  });

  it("iotrail verify: with a deployment record, --anchor, a trust file, or nothing pinned, never exit 0", async function () {
    const trust = join(dir, "trust.json");
    writeFileSync(
      trust,
      JSON.stringify({ version: 1, kind: "iotrail.trust", chains: { "31337": { anchor: real().anchor } } }),
    );
    const on = ["--rpc", rpc.url, "verify", file];
    const runs = {
      "deployment record": await iotrail([...on, "--deployments", deploymentsDir()]),
      "--anchor": await iotrail([...on, "--anchor", real().anchor]),
      "trust file": await iotrail([...on, "--trust", trust]),
      "nothing pinned": await iotrail([...on], { env: { IOTRAIL_DEPLOYMENTS: join(dir, "none") } }),
    };
    for (const [how, run] of Object.entries(runs)) {
      expect(run.code, `${how}: ${run.stdout}`).to.not.equal(0);
      expect(run.stdout, how).to.not.match(/^VERIFIED/m);
    }
    expect(runs["nothing pinned"].code).to.equal(3);
  });

  it("iotrail data buy: a look-alike seller's free bundle is judged by the buyer's own record: exit 1", async function () {
    const fake = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(look.bundle));
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    try {
      const signer = join(dir, "buyer.json");
      if (!existsSync(signer)) await DeviceKey.generate().save(signer);
      const reading = look.bundle.readings[0]!.reading;
      // The buyer's own, complete deployment (data buy reads its payment contracts too).
      const suite = await suiteFixture();
      const bought = await iotrail([
        "--rpc",
        rpc.url,
        "--deployments",
        suite.dir,
        "--account",
        "2",
        "data",
        "buy",
        "--from",
        `http://127.0.0.1:${(fake.address() as AddressInfo).port}`,
        "--device",
        reading.device,
        "--range",
        `${look.bundle.range!.fromSequence}..${look.bundle.range!.toSequence}`,
        "--signer",
        signer,
      ]);
      expect(bought.code, bought.stdout + bought.stderr).to.equal(1);
    } finally {
      fake.close();
    }
  });

  it("the batcher's lots: a lot file is judged against the configured registry, never the one it claims", async function () {
    // A lot committed on the look-alike (which "has" every lot), named to a batcher whose registry is the real one.
    const keys = [DeviceKey.generate(), DeviceKey.generate()];
    const lot = Lot.build(keys.map((key) => ({ key: key.address, metadataHash: ethers.ZeroHash })));
    const entries = join(dirname(tempDatabase()), "look-alike-lot.csv");
    await writeLotEntries(entries, lot.entries);
    const refused = await startBatcher(testConfig(look.fx, rpc.url, { lots: [{ id: 1n, entries }] })).catch(
      (error: unknown) => error,
    );
    expect(refused).to.be.instanceOf(ConfigError);
  });

  it("the verifier page: the look-alike bundle dropped on a partner's page is not green", async function () {
    if (!existsSync(CHROMIUM) || !existsSync(join(WEB_ROOT, "index.html"))) {
      if (process.env.CI === "true") throw new Error("the browser tests need Chromium and the built page");
      this.skip();
    }
    const browser = await launchChromium();
    const site = await staticServer();
    try {
      for (const trust of [{ rpc: rpc.url, anchor: real().anchor }, { rpc: rpc.url }]) {
        const page = await browser.newPage();
        await page.goto(`${site.url}/`);
        await page.waitForSelector("body[data-ready=true]");
        await saveTrust(page, trust);
        await page.click("details summary"); // "Paste the bundle's JSON"
        await page.fill("#paste", JSON.stringify(look.bundle));
        await page.click("#verify-paste");
        await page.waitForSelector("#verdict[data-verdict]", { state: "attached", timeout: 60_000 });
        expect(await page.getAttribute("#verdict", "data-verdict")).to.not.equal("verified");
        await page.close();
      }
    } finally {
      await browser.close();
      site.server.close();
    }
  });
});
