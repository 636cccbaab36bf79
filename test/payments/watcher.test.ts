import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChannelStatus, PayeeWatcher, SqliteVoucherStore } from "../../src/payments";
import { DAY, channelsFixture, tokenChannel, voucher } from "../helpers/payments";
import type { ChannelsFixture } from "../helpers/payments";

/** The payee's store holding the best voucher of `channelId` for `amount`. */
async function storeWith(fx: ChannelsFixture, channelId: bigint, amount: bigint) {
  const store = new SqliteVoucherStore(join(mkdtempSync(join(tmpdir(), "iotrail-watcher-")), "vouchers.sqlite"));
  const { signature } = voucher(fx, channelId, amount);
  await store.charge({ channelId, terms: await fx.pay.terms(channelId), amount, signature, charged: amount }, 0n);
  return store;
}

describe("PayeeWatcher", function () {
  afterEach(async function () {
    await network.provider.send("evm_setIntervalMining", [0]);
    await network.provider.send("evm_setAutomine", [true]);
  });

  describe("tick", function () {
    it("claims in time when the payer starts a close, on a node with automine off", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await tokenChannel(fx, 1000n);
      const store = await storeWith(fx, channelId, 600n);
      const watcher = new PayeeWatcher({ store, channels: fx.pay.connect(fx.relayer) });
      expect((await watcher.tick()).claimed).to.deep.equal([]); // nothing at risk yet

      await network.provider.send("evm_setAutomine", [false]);
      await network.provider.send("evm_setIntervalMining", [250]);
      // The payer tries to leave with everything: it starts a close and waits out the challenge period.
      const started = await fx.channels.connect(fx.owner).startClose(await fx.pay.terms(channelId));
      await started.wait();
      const { closesAt } = await fx.pay.getChannel(channelId);
      expect((await fx.pay.getChannel(channelId)).status).to.equal(ChannelStatus.Closing);

      const { claimed } = await watcher.tick();
      expect(claimed).to.have.length(1);
      expect(claimed[0]!.channelIds).to.deep.equal([channelId]);
      const block = (await ethers.provider.getBlock(claimed[0]!.blockNumber))!;
      expect(BigInt(block.timestamp) <= closesAt).to.equal(true, "the claim landed after the challenge period");
      expect((await fx.pay.getChannel(channelId)).paid).to.equal(600n);

      await network.provider.send("evm_setIntervalMining", [0]);
      await network.provider.send("evm_setAutomine", [true]);
      await time.increase(DAY + 1n);
      await expect(fx.channels.finalize(await fx.pay.terms(channelId))).to.changeTokenBalances(
        fx.token,
        [fx.owner, fx.buyer],
        [400n, 0n],
      );
      expect(await fx.token.balanceOf(fx.buyer.address)).to.equal(600n);
      await store.close();
    });

    it("claims a channel whose expiry is within the margin, and leaves a channel with time to spare", async function () {
      const fx = await loadFixture(channelsFixture);
      const soon = BigInt(await time.latest()) + 1_800n;
      const { channelId: expiring } = await fx.pay.open({
        payee: fx.buyer.address,
        signer: fx.device.address,
        token: await fx.token.getAddress(),
        amount: 100n,
        expiry: soon,
      });
      const relaxed = await tokenChannel(fx, 100n);
      const store = await storeWith(fx, expiring, 30n);
      const { signature } = voucher(fx, relaxed, 20n);
      await store.charge(
        { channelId: relaxed, terms: await fx.pay.terms(relaxed), amount: 20n, signature, charged: 20n },
        0n,
      );
      const watcher = new PayeeWatcher({ store, channels: fx.pay.connect(fx.relayer), marginSeconds: 3_600n });
      const { claimed } = await watcher.tick();
      expect(claimed.flatMap((c) => c.channelIds)).to.deep.equal([expiring]);
      expect((await fx.pay.getChannel(expiring)).paid).to.equal(30n);
      expect((await fx.pay.getChannel(relaxed)).paid).to.equal(0n);
      await mine(1);
      expect((await watcher.tick()).claimed).to.deep.equal([]); // claimed already
      await store.close();
    });
  });
});
