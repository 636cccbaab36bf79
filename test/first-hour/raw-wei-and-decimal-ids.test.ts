/**
 * Issue 24, defect 10: raw wei and decimal ids. A revert printed `ChannelAmountExceedsDeposit(channelId=<77
 * decimal digits>, amount=5000000000000000000, deposit=1000000000000000000)`; `data buy --max-price` and the
 * demo spoke wei. Amounts now show in the token's units with its symbol (base units only with --raw), ids
 * in hex, moments with their UTC time. (The demo's report and `data buy` are checked in their own tests:
 * test/demo/stories.test.ts and test/cli/data.test.ts.)
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { join } from "node:path";
import { describeError, formatRevertArg } from "../../src/cli/errors";
import { ETH_UNIT } from "../../src/cli/units";
import { ContractRevertError } from "../../src/errors";
import { startRpcServer } from "../helpers/batcher";
import { iotrail, iotrailOk, tempDir } from "../helpers/cli";
import { suiteDevice, suiteFixture } from "../helpers/suite";

describe("first hour (issue 24): amounts in token units and ids in hex, errors included", function () {
  let rpc: { url: string; close: () => Promise<void> };
  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });

  it("a redeem that reverts names the channel in hex and the amounts in ETH", async function () {
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
    expect(id).to.match(/^0x[0-9a-f]{64}$/);
    const voucher = join(files, "voucher.json");
    const paid = await iotrailOk([
      ...on,
      "channel",
      "pay",
      id,
      "--amount",
      "5",
      "--device",
      join(files, "device.json"),
      "-o",
      voucher,
      "--allow-above-deposit",
    ]);
    expect(paid.stdout).to.contain(`voucher for 5.0 ETH on channel ${id}`);
    const redeemed = await iotrail([...on, "--account", "1", "channel", "redeem", voucher]);
    expect(redeemed.code).to.equal(2);
    expect(redeemed.stderr).to.contain(
      `reverted: ChannelAmountExceedsDeposit(channelId=${id}, amount=5.0 ETH, deposit=1.0 ETH)`,
    );
    expect(redeemed.stderr).not.to.match(/[0-9]{19}/);
  });

  it("revert arguments: devices as addresses, amounts in base units when the unit is unknown or --raw, moments with their time", function () {
    const revert = new ContractRevertError(
      "Example",
      { deviceId: 0xabcn, amount: 10n ** 18n, deadline: 1_767_225_600n, batchId: 7n, flag: true },
      undefined,
    );
    expect(describeError(revert, false)[0]).to.equal(
      "reverted: Example(deviceId=0x0000000000000000000000000000000000000abc, amount=1000000000000000000 (base units), deadline=1767225600 (2026-01-01T00:00:00Z), batchId=7, flag=true)",
    );
    expect(formatRevertArg("amount", 10n ** 18n, { unit: ETH_UNIT, raw: false })).to.equal("1.0 ETH");
    expect(formatRevertArg("paid", 5n, { unit: ETH_UNIT, raw: true })).to.equal("5 (base units)");
  });
});
