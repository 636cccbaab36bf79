/**
 * Issue 24, defect 5: in the project folder, `iotrail verify trip.json` exited 3 ("no pinned anchor") although
 * `deployments/31337.json` was there, unlike every other command (`--deployments` defaults to ./deployments),
 * and the hint named only --anchor and --trust. Now one rule for every command: the record of the chain in
 * --deployments, else IOTRAIL_DEPLOYMENTS, else ./deployments; and the exit-3 hint names every way to pin.
 */
import { expect } from "chai";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { ZERO_HASH, metricId } from "../../src/telemetry";
import { startRpcServer } from "../helpers/batcher";
import { iotrail, tempDir } from "../helpers/cli";
import { suiteBundle, suiteDevice, suiteFixture } from "../helpers/suite";

describe("first hour (issue 24): verify finds ./deployments as every command does", function () {
  let rpc: { url: string; close: () => Promise<void> };
  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });

  it("in the project folder, verify pins the chain's record in ./deployments (exit 0); elsewhere exit 3 names every way to pin", async function () {
    const fx = await suiteFixture();
    const device = await suiteDevice(fx);
    const now = BigInt(await time.latest());
    const bundle = await suiteBundle(
      fx,
      device,
      [1n, 2n, 3n].map((sequence) => ({
        device: device.address,
        sequence,
        timestamp: now - 10n + sequence,
        metric: metricId("temperature.mC"),
        value: 4_000n + sequence,
        payloadHash: ZERO_HASH,
      })),
    );
    await time.increase(2);

    const project = tempDir();
    mkdirSync(join(project, "deployments"));
    copyFileSync(join(fx.dir, "31337.json"), join(project, "deployments", "31337.json"));
    writeFileSync(join(project, "trip.json"), JSON.stringify(bundle));
    const verified = await iotrail(["--rpc", rpc.url, "verify", "trip.json"], { cwd: project });
    expect(verified.code, verified.stdout + verified.stderr).to.equal(0);
    expect(verified.stdout).to.contain(`deployment record ${join(project, "deployments", "31337.json")}`);

    const elsewhere = tempDir();
    writeFileSync(join(elsewhere, "trip.json"), JSON.stringify(bundle));
    const unpinned = await iotrail(["--rpc", rpc.url, "verify", "trip.json"], { cwd: elsewhere });
    expect(unpinned.code).to.equal(3);
    for (const way of [
      "--anchor",
      "--trust",
      "IOTRAIL_TRUST",
      "./deployments",
      "--deployments",
      "IOTRAIL_DEPLOYMENTS",
    ]) {
      expect(unpinned.stderr, way).to.contain(way);
    }
  });
});
