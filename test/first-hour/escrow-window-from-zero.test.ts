/**
 * Issue 24, defect 11: an escrow's reading window started at 0 by default, so a delivery escrow was released
 * at once by readings anchored minutes before the escrow existed. The window now starts at the escrow's
 * creation unless `--after` says otherwise, and `escrow show` prints the condition in words.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { EscrowClient, EscrowStatus } from "../../src/payments";
import { ZERO_HASH, metricId } from "../../src/telemetry";
import { startRpcServer } from "../helpers/batcher";
import { iotrail, iotrailOk, tempDir } from "../helpers/cli";
import { suiteBundle, suiteDevice, suiteFixture } from "../helpers/suite";

describe("first hour (issue 24): an escrow's reading window starts at its creation", function () {
  let rpc: { url: string; close: () => Promise<void> };
  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });

  it("readings anchored before the escrow existed do not release it; escrow show says the condition in words", async function () {
    const fx = await suiteFixture();
    const [, payee] = await ethers.getSigners();
    const device = await suiteDevice(fx);
    // A delivery reading in range, taken and anchored before the escrow.
    const taken = BigInt(await time.latest());
    const bundle = await suiteBundle(fx, device, [
      {
        device: device.address,
        sequence: 1n,
        timestamp: taken,
        metric: metricId("temperature.mC"),
        value: 4_200n,
        payloadHash: ZERO_HASH,
      },
    ]);
    const files = tempDir();
    writeFileSync(join(files, "bundle.json"), JSON.stringify(bundle));
    await time.increase(120);

    const on = ["--rpc", rpc.url, "--deployments", fx.dir];
    const created = await iotrailOk([
      ...on,
      "--account",
      "0",
      "--json",
      "escrow",
      "create",
      "--payee",
      payee!.address,
      "--amount",
      "0.1",
      "--deadline",
      "+86400",
      "--device",
      device.address,
      "--metric",
      "temperature.mC",
      "--min",
      "2000",
      "--max",
      "8000",
      "-o",
      join(files, "escrow.json"),
    ]);
    const id = created.json().escrowId as string;
    const release = await iotrail([
      ...on,
      "--account",
      "7",
      "escrow",
      "release",
      id,
      "--bundle",
      join(files, "bundle.json"),
      "--escrow-file",
      join(files, "escrow.json"),
    ]);
    expect(release.code, "an older reading released the escrow").to.not.equal(0);
    const escrow = EscrowClient.connect({
      address: fx.record.contracts.ConditionalEscrow.address,
      runner: ethers.provider,
    });
    expect((await escrow.getEscrow(BigInt(id))).status).to.equal(EscrowStatus.Active);

    const shown = await iotrailOk([...on, "escrow", "show", id, "--escrow-file", join(files, "escrow.json")]);
    expect(shown.stdout).to.contain(`a reading of ${device.address}, metric temperature.mC, value 2000..8000, taken `);
    const bare = await iotrailOk([...on, "escrow", "show", id]);
    expect(bare.stdout).to.contain("pass --escrow-file to see it in words");
  });
});
