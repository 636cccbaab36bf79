import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { channelIdOf } from "../../src/eip712";
import { toVoucherClaim } from "../../src/payments";
import { channelsFixture, termsOf, voucher, mockTokenChannel } from "../helpers/payments";
import type { ChannelsFixture } from "../helpers/payments";

async function blocklistChannel(fx: ChannelsFixture, returnFalse: boolean) {
  const token = await ethers.deployContract("BlocklistToken", [returnFalse]);
  await token.mint(fx.owner.address, 1000n);
  await token.connect(fx.owner).approve(await fx.channels.getAddress(), 1000n);
  const { channelId } = await fx.pay.open({
    payee: fx.buyer.address,
    signer: fx.device.address,
    token: await token.getAddress(),
    amount: 1000n,
  });
  return { token, channelId };
}

describe("PaymentChannels: payouts", function () {
  for (const returnFalse of [false, true]) {
    const kind = returnFalse ? "a token that returns false" : "a blocklisting token";
    it(`security: ${kind} cannot make the payer's refund lock the payee's close`, async function () {
      const fx = await loadFixture(channelsFixture);
      const { token, channelId } = await blocklistChannel(fx, returnFalse);
      await token.setBlocked(fx.owner.address, true);
      const v = voucher(fx, channelId, 300n);
      const tokenAddress = await token.getAddress();
      await expect(fx.channels.connect(fx.buyer).close(await fx.pay.terms(channelId), 300n, v.signature))
        .to.emit(fx.channels, "PayoutCredited")
        .withArgs(fx.owner.address, tokenAddress, 700n);
      expect(await token.balanceOf(fx.buyer.address)).to.equal(300n);
      expect(await fx.channels.credited(fx.owner.address, tokenAddress)).to.equal(700n);
      await expect(fx.channels.connect(fx.owner).withdraw(tokenAddress, fx.other.address))
        .to.emit(fx.channels, "Withdrawn")
        .withArgs(fx.owner.address, tokenAddress, fx.other.address, 700n);
      expect(await token.balanceOf(fx.other.address)).to.equal(700n);
    });

    it(`security: ${kind} blocking the payee credits its payout; the payer's finalize still works`, async function () {
      const fx = await loadFixture(channelsFixture);
      const { token, channelId } = await blocklistChannel(fx, returnFalse);
      await token.setBlocked(fx.buyer.address, true);
      const v = voucher(fx, channelId, 250n);
      await fx.channels.connect(fx.relayer).redeem(await fx.pay.terms(channelId), 250n, v.signature);
      expect(await fx.channels.credited(fx.buyer.address, await token.getAddress())).to.equal(250n);
      await fx.pay.startClose({ channelId });
      await ethers.provider.send("evm_increaseTime", [86_401]);
      await fx.channels.finalize(await fx.pay.terms(channelId));
      expect(await token.balanceOf(fx.owner.address)).to.equal(750n);
    });
  }

  it("security: a payer contract that refuses ETH, or burns all gas, gets its refund credited", async function () {
    const fx = await loadFixture(channelsFixture);
    const wallet = await ethers.deployContract("RevertingReceiver");
    const params = {
      payee: fx.buyer.address,
      signer: fx.device.address,
      token: ethers.ZeroAddress,
      amount: 1000n,
      cap: 0n,
      expiry: 0n,
      salt: ethers.ZeroHash,
    };
    for (const burn of [false, true]) {
      await wallet.setBurn(burn);
      const salted = { ...params, salt: ethers.toBeHex(burn ? 1n : 0n, 32) };
      const data = fx.channels.interface.encodeFunctionData("open", [salted]);
      await wallet.execute(await fx.channels.getAddress(), data, { value: 1000n });
      const channelId = channelIdOf(fx.payments, termsOf(await wallet.getAddress(), salted));
      const v = voucher(fx, channelId, 100n);
      await expect(
        fx.channels.connect(fx.buyer).close(await fx.pay.terms(channelId), 100n, v.signature),
      ).to.changeEtherBalance(fx.buyer, 100n);
    }
    expect(await fx.channels.credited(await wallet.getAddress(), ethers.ZeroAddress)).to.equal(1800n);
    const withdraw = fx.channels.interface.encodeFunctionData("withdraw", [ethers.ZeroAddress, fx.other.address]);
    await expect(wallet.execute(await fx.channels.getAddress(), withdraw)).to.changeEtherBalance(fx.other, 1800n);
  });

  it("withdraw reverts with PaymentsNothingToWithdraw when nothing is credited", async function () {
    const fx = await loadFixture(channelsFixture);
    await expect(fx.channels.connect(fx.other).withdraw(ethers.ZeroAddress, fx.other.address))
      .to.be.revertedWithCustomError(fx.channels, "PaymentsNothingToWithdraw")
      .withArgs(fx.other.address, ethers.ZeroAddress);
  });

  it("withdraw bubbles up a failing ETH recipient's revert and keeps the credit", async function () {
    const fx = await loadFixture(channelsFixture);
    const wallet = await ethers.deployContract("RevertingReceiver");
    const params = {
      payee: fx.buyer.address,
      signer: fx.device.address,
      token: ethers.ZeroAddress,
      amount: 10n,
      cap: 0n,
      expiry: 0n,
      salt: ethers.ZeroHash,
    };
    await wallet.execute(await fx.channels.getAddress(), fx.channels.interface.encodeFunctionData("open", [params]), {
      value: 10n,
    });
    await fx.channels.connect(fx.buyer).close(termsOf(await wallet.getAddress(), params), 0n, "0x");
    const toSelf = fx.channels.interface.encodeFunctionData("withdraw", [
      ethers.ZeroAddress,
      await wallet.getAddress(),
    ]);
    await expect(wallet.execute(await fx.channels.getAddress(), toSelf)).to.be.revertedWith("no ETH");
    expect(await fx.channels.credited(await wallet.getAddress(), ethers.ZeroAddress)).to.equal(10n);
  });

  it("security: a reentrant token cannot re-enter any state-changing function during a payout", async function () {
    const fx = await loadFixture(channelsFixture);
    const token = await ethers.deployContract("ReentrantToken");
    const tokenAddress = await token.getAddress();
    const channelId = await mockTokenChannel(fx, tokenAddress, 10_000n);
    const params = {
      payee: fx.buyer.address,
      signer: fx.device.address,
      token: tokenAddress,
      amount: 1n,
      cap: 0n,
      expiry: 0n,
      salt: ethers.ZeroHash,
    };
    const permit = { deadline: 0n, v: 27, r: ethers.ZeroHash, s: ethers.ZeroHash };
    const i = fx.channels.interface;
    const terms = await fx.pay.terms(channelId);
    const calls = [
      i.encodeFunctionData("open", [params]),
      i.encodeFunctionData("openBySig", [fx.owner.address, params, 0n, "0x", permit]),
      i.encodeFunctionData("topUp", [terms, 1n]),
      i.encodeFunctionData("redeem", [terms, 9_000n, voucher(fx, channelId, 9_000n).signature]),
      i.encodeFunctionData("claimMany", [
        terms.payee,
        terms.token,
        [toVoucherClaim({ terms, amount: 9_000n, signature: voucher(fx, channelId, 9_000n).signature })],
      ]),
      i.encodeFunctionData("close", [terms, 0n, "0x"]),
      i.encodeFunctionData("closeBySig", [terms, 0n, "0x", 0n, "0x"]),
      i.encodeFunctionData("finalize", [terms]),
      i.encodeFunctionData("withdraw", [tokenAddress, fx.other.address]),
    ];
    const guard = i.getError("ReentrancyGuardReentrantCall")!.selector;
    for (const [n, data] of calls.entries()) {
      await token.arm(await fx.channels.getAddress(), data);
      const amount = BigInt(n + 1) * 10n;
      await fx.channels.redeem(await fx.pay.terms(channelId), amount, voucher(fx, channelId, amount).signature);
      expect(await token.attempted()).to.equal(true);
      expect(await token.reentered()).to.equal(false);
      expect(await token.reason()).to.equal(guard);
    }
  });

  it("a token whose transfer returns nothing (USDT-style) pays out directly", async function () {
    const fx = await loadFixture(channelsFixture);
    const token = await ethers.deployContract("NoReturnToken");
    await token.mint(fx.owner.address, 1000n);
    const { channelId } = await fx.pay.open({
      payee: fx.buyer.address,
      signer: fx.device.address,
      token: await token.getAddress(),
      amount: 1000n,
    });
    await expect(
      fx.channels.redeem(await fx.pay.terms(channelId), 300n, voucher(fx, channelId, 300n).signature),
    ).not.to.emit(fx.channels, "PayoutCredited");
    expect(await token.balanceOf(fx.buyer.address)).to.equal(300n);
  });

  it("security (L-4): a token recipient whose hook burns all gas cannot block close; its payout is credited", async function () {
    const fx = await loadFixture(channelsFixture);
    const token = await ethers.deployContract("HookToken");
    const channelId = await mockTokenChannel(fx, await token.getAddress(), 1000n);
    // The payer's account griefs: the refund of close would burn every unit of gas it is given.
    await token.setGreedy(fx.owner.address);
    const tx = fx.channels
      .connect(fx.buyer)
      .close(await fx.pay.terms(channelId), 400n, voucher(fx, channelId, 400n).signature, {
        gasLimit: 1_000_000,
      });
    await expect(tx)
      .to.emit(fx.channels, "PayoutCredited")
      .withArgs(fx.owner.address, await token.getAddress(), 600n);
    expect((await (await tx).wait())!.gasUsed).to.be.below(300_000n);
    expect(await token.balanceOf(fx.buyer.address)).to.equal(400n);
    expect(await fx.channels.credited(fx.owner.address, await token.getAddress())).to.equal(600n);
  });

  it("security: a reentrant token cannot re-enter redeem during a payout", async function () {
    const fx = await loadFixture(channelsFixture);
    const token = await ethers.deployContract("ReentrantToken");
    const channelId = await mockTokenChannel(fx, await token.getAddress(), 1000n);
    const second = voucher(fx, channelId, 600n);
    await token.arm(
      await fx.channels.getAddress(),
      fx.channels.interface.encodeFunctionData("redeem", [await fx.pay.terms(channelId), 600n, second.signature]),
    );
    const first = voucher(fx, channelId, 100n);
    await fx.channels.redeem(await fx.pay.terms(channelId), 100n, first.signature);
    expect(await token.attempted()).to.equal(true);
    expect(await token.reentered()).to.equal(false);
    expect((await fx.pay.getChannel(channelId)).paid).to.equal(100n);
    expect(await token.balanceOf(fx.buyer.address)).to.equal(100n);
    // The re-entered voucher itself was valid: only the reentrancy guard stopped it.
    await fx.channels.redeem(await fx.pay.terms(channelId), 600n, second.signature);
    expect(await token.balanceOf(fx.buyer.address)).to.equal(600n);
  });
});
