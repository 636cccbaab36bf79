/**
 * Issue 24, defect 5: in the project folder, `iotrail verify trip.json` exited 3 ("no pinned anchor") although
 * `deployments/31337.json` was there, unlike every other command (`--deployments` defaults to ./deployments),
 * and the hint named only --anchor and --trust. Now one rule for every command: the record of the chain in
 * --deployments, else IOTRAIL_DEPLOYMENTS, else ./deployments; and the exit-3 hint names every way to pin.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { TelemetryAnchorClient } from "../../src/anchor";
import { DeviceKey } from "../../src/device";
import { telemetryDomain } from "../../src/eip712";
import { buildProofBundle } from "../../src/proof";
import { DeviceRegistryClient, registerDeviceKeys } from "../../src/registry";
import { ReadingBatch, ZERO_HASH, metricId } from "../../src/telemetry";
import { startRpcServer } from "../helpers/batcher";
import { iotrail, tempDir } from "../helpers/cli";
import { suiteFixture } from "../helpers/suite";

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
    const [deployer] = await ethers.getSigners();
    const device = DeviceKey.generate();
    await registerDeviceKeys({
      registry: DeviceRegistryClient.connect({
        address: fx.record.contracts.DeviceRegistry.address,
        runner: deployer!,
      }),
      registrant: deployer!.address,
      keys: [device],
      owner: deployer!.address,
      metadataHash: () => ZERO_HASH,
      deadline: BigInt(await time.latest()) + 3600n,
    });
    const anchorAddress = fx.record.contracts.TelemetryAnchor.address;
    const domain = telemetryDomain(31337n, anchorAddress);
    const now = BigInt(await time.latest());
    const readings = [1n, 2n, 3n].map((sequence) => {
      const reading = {
        device: device.address,
        sequence,
        timestamp: now - 10n + sequence,
        metric: metricId("temperature.mC"),
        value: 4_000n + sequence,
        payloadHash: ZERO_HASH,
      };
      return { reading, signature: device.signReading(domain, reading) };
    });
    const batch = await ReadingBatch.build(readings);
    const anchors = TelemetryAnchorClient.connect({ address: anchorAddress, runner: deployer! });
    const anchored = await anchors.anchor(batch.header({ contentURI: "" }));
    const bundle = buildProofBundle({
      chainId: 31337n,
      anchor: anchorAddress,
      registry: fx.record.contracts.DeviceRegistry.address,
      sources: [{ batch, anchored, indices: [0, 1, 2] }],
    });
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
