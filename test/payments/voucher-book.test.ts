import { expect } from "chai";
import { ethers } from "hardhat";
import fc from "fast-check";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { DeviceKey } from "../../src/device";
import { PAYMENT_TYPES, paymentsDomain, voucherDigest } from "../../src/eip712";
import { VoucherBook, VoucherRejectedError } from "../../src/payments";
import type { VoucherRejection } from "../../src/payments";
import { highS } from "../helpers/registry";
import { channelsFixture, ethChannel, voucher } from "../helpers/payments";

function rejection(fn: () => unknown): VoucherRejection | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof VoucherRejectedError) return error.reason;
    throw error;
  }
  return undefined;
}

describe("payments (SDK)", function () {
  describe("voucherDigest", function () {
    it("property: equals ethers' EIP-712 hash of Voucher", function () {
      const domain = paymentsDomain(31337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
      const uint = fc.bigInt({ min: 0n, max: 2n ** 256n - 1n });
      fc.assert(
        fc.property(uint, uint, (channelId, amount) => {
          expect(voucherDigest(domain, channelId, amount)).to.equal(
            ethers.TypedDataEncoder.hash(domain, { Voucher: [...PAYMENT_TYPES.Voucher] }, { channelId, amount }),
          );
        }),
        { numRuns: 200 },
      );
      expect(() => voucherDigest(domain, -1n, 0n)).to.throw(RangeError);
    });
  });

  describe("VoucherBook", function () {
    it("keeps the best voucher and rejects every bad one with its reason; its best voucher redeems on-chain", async function () {
      const fx = await loadFixture(channelsFixture);
      const expiry = BigInt(await time.latest()) + 3600n;
      const channelId = await ethChannel(fx, 1000n, { cap: 800n, expiry });
      const book = new VoucherBook({ domain: fx.payments, channel: await fx.pay.getChannel(channelId) });
      expect(book.accept(voucher(fx, channelId, 10n)).amount).to.equal(10n);
      expect(book.accept(voucher(fx, channelId, 25n)).amount).to.equal(25n);
      expect(rejection(() => book.accept(voucher(fx, channelId, 25n)))).to.equal("stale");
      expect(rejection(() => book.accept(voucher(fx, channelId, 20n)))).to.equal("stale");
      expect(rejection(() => book.accept(voucher(fx, channelId, 1001n)))).to.equal("exceeds-deposit");
      expect(rejection(() => book.accept(voucher(fx, channelId, 801n)))).to.equal("exceeds-cap");
      expect(rejection(() => book.accept(voucher(fx, channelId + 1n, 30n)))).to.equal("wrong-channel");
      expect(rejection(() => book.accept(voucher(fx, channelId, 30n, DeviceKey.generate())))).to.equal("bad-signature");
      const good = voucher(fx, channelId, 30n);
      expect(rejection(() => book.accept({ ...good, signature: highS(good.signature) }))).to.equal("malformed");
      expect(rejection(() => book.accept({ ...good, signature: "0x12" }))).to.equal("malformed");
      expect(rejection(() => book.accept(good, expiry + 1n))).to.equal("expired");
      expect(book.best!.amount).to.equal(25n);
      expect(book.unredeemed).to.equal(25n);
      await fx.pay.redeem(book.best!);
      book.update({ paid: 25n });
      expect(book.unredeemed).to.equal(0n);
      book.update({ deposit: 2000n });
      expect(book.accept(voucher(fx, channelId, 700n), expiry).amount).to.equal(700n);
    });

    it("security (I-7): checks the expiry without being told the time, and stops at a started close's end", async function () {
      const fx = await loadFixture(channelsFixture);
      const expiry = BigInt(await time.latest()) + 3600n;
      const channelId = await ethChannel(fx, 1000n, { expiry });
      let now = expiry + 1n;
      const book = new VoucherBook({
        domain: fx.payments,
        channel: await fx.pay.getChannel(channelId),
        clock: () => now,
      });
      expect(rejection(() => book.accept(voucher(fx, channelId, 10n)))).to.equal("expired");
      now = expiry - 100n;
      expect(book.accept(voucher(fx, channelId, 10n)).amount).to.equal(10n);
      book.update({ closesAt: expiry - 50n });
      now = expiry - 50n; // up to and including closesAt, as the contract
      expect(book.accept(voucher(fx, channelId, 20n)).amount).to.equal(20n);
      now = expiry - 49n;
      expect(rejection(() => book.accept(voucher(fx, channelId, 30n)))).to.equal("closed");
    });

    it("security (I-7): unredeemed never goes negative, and a voucher below what was paid on-chain is stale", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx, 1000n);
      const book = new VoucherBook({ domain: fx.payments, channel: await fx.pay.getChannel(channelId) });
      book.accept(voucher(fx, channelId, 100n));
      // Another copy of a later voucher was redeemed on-chain: paid passes the book's best.
      book.update({ paid: 300n });
      expect(book.unredeemed).to.equal(0n);
      expect(rejection(() => book.accept(voucher(fx, channelId, 200n)))).to.equal("stale");
      expect(book.accept(voucher(fx, channelId, 350n)).amount).to.equal(350n);
      expect(book.unredeemed).to.equal(50n);
    });
  });
});
