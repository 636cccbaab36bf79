/**
 * Issue 24, defect 6: `channel pay` signed a voucher for 5 ETH on a 1 ETH channel, exit 0. The redeem then
 * reverted, but the device key had signed a promise that becomes redeemable the moment anyone tops up.
 * Refused now, in the CLI and in the SDK's checked signer, unless explicitly allowed; a cap is never exceeded.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DeviceKey } from "../../src/device";
import { PaymentChannelsClient } from "../../src/payments";
import { startRpcServer } from "../helpers/batcher";
import { iotrail, iotrailOk, tempDir } from "../helpers/cli";
import { suiteDevice, suiteFixture } from "../helpers/suite";

describe("first hour (issue 24): no voucher above the deposit unless asked for", function () {
  let rpc: { url: string; close: () => Promise<void> };
  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });

  it("channel pay refuses 5 ETH on a 1 ETH channel (nothing written); --allow-above-deposit signs it; the SDK's signer does the same", async function () {
    const fx = await suiteFixture();
    const [, payee] = await ethers.getSigners();
    const files = tempDir();
    const device = await suiteDevice(fx);
    await device.save(join(files, "device.json"));
    const on = ["--rpc", rpc.url, "--deployments", fx.dir];
    const opened = await iotrailOk([
      ...on,
      "--account",
      "0",
      "--json",
      "channel",
      "open",
      "--payee",
      payee!.address,
      "--signer",
      device.address,
      "--amount",
      "1",
    ]);
    const id = opened.json().channelId as string;
    const out = join(files, "voucher.json");
    const pay = (...extra: string[]) =>
      iotrail([
        ...on,
        "channel",
        "pay",
        id,
        "--amount",
        "5",
        "--device",
        join(files, "device.json"),
        "-o",
        out,
        ...extra,
      ]);
    const refused = await pay();
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.contain("exceeds the channel's deposit of 1.0 ETH");
    expect(refused.stderr).to.contain("--allow-above-deposit");
    expect(existsSync(out), "no voucher written").to.equal(false);
    const allowed = await pay("--allow-above-deposit");
    expect(allowed.code, allowed.stderr).to.equal(0);
    expect(existsSync(out)).to.equal(true);

    const channels = PaymentChannelsClient.connect({
      address: fx.record.contracts.PaymentChannels.address,
      runner: ethers.provider,
    });
    const five = ethers.parseEther("5");
    const sdk = await channels.signVoucher(device, BigInt(id), five).catch((error: unknown) => error);
    expect((sdk as Error).message).to.contain("exceeds the channel's deposit");
    expect(await channels.signVoucher(device, BigInt(id), five, { allowAboveDeposit: true })).to.match(
      /^0x[0-9a-f]{130}$/,
    );
    expect(await channels.signVoucher(device, BigInt(id), ethers.parseEther("0.5"))).to.match(/^0x[0-9a-f]{130}$/);
    const stranger = await channels.signVoucher(DeviceKey.generate(), BigInt(id), 1n).catch((error: unknown) => error);
    expect((stranger as Error).message).to.contain("takes vouchers from");
  });
});
