import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time, mine } from "@nomicfoundation/hardhat-network-helpers";
import { DeviceKey } from "../../src/device";
import { channelIdOf, signPaymentAction } from "../../src/eip712";
import { ChannelStatus, ETH, PERMIT_TYPES, PaymentChannelsClient } from "../../src/payments";
import { highS } from "../helpers/registry";
import {
  DAY,
  ONE,
  channelsFixture,
  termsOf,
  ethChannel,
  tokenChannel,
  voucher,
  mockTokenChannel,
} from "../helpers/payments";
import type { ChannelsFixture } from "../helpers/payments";

/** A funder without ETH that holds `minted` tokens and signed OpenChannel + permit for a channel of `amount`. */
async function signedOpen(fx: ChannelsFixture, minted: bigint, amount: bigint) {
  const funder = ethers.Wallet.createRandom().connect(ethers.provider);
  await fx.token.mint(funder.address, minted);
  const channel = { payee: fx.buyer.address, signer: fx.device.address, token: await fx.token.getAddress(), amount };
  const deadline = BigInt(await time.latest()) + 3600n;
  const authorization = await fx.pay.authorizeOpen({ funder, channel, deadline });
  return { funder, channel, deadline, authorization };
}

/** Terms of no channel, for calls on channel ids that do not exist. */
const NO_TERMS = {
  payer: ethers.ZeroAddress,
  payee: ethers.ZeroAddress,
  signer: ethers.ZeroAddress,
  token: ethers.ZeroAddress,
  cap: 0n,
  expiry: 0n,
  salt: ethers.ZeroHash,
};

describe("PaymentChannels", function () {
  describe("constructor", function () {
    it("records the registry, the challenge period and the EIP-712 domain", async function () {
      const fx = await loadFixture(channelsFixture);
      expect(await fx.channels.registry()).to.equal(await fx.registry.getAddress());
      expect(await fx.channels.challengePeriod()).to.equal(DAY);
      expect(fx.payments.name).to.equal("iotrail PaymentChannels");
      expect(fx.payments.verifyingContract).to.equal(await fx.channels.getAddress());
    });

    it("security (I-2): a challenge period outside [1 hour, 365 days] reverts with ChannelInvalidChallengePeriod", async function () {
      const fx = await loadFixture(channelsFixture);
      const factory = await ethers.getContractFactory("PaymentChannels");
      const registry = await fx.registry.getAddress();
      for (const period of [0n, 3599n, 365n * DAY + 1n, 2n ** 48n - 1n]) {
        await expect(factory.deploy(registry, period))
          .to.be.revertedWithCustomError(fx.channels, "ChannelInvalidChallengePeriod")
          .withArgs(period);
      }
      for (const period of [3600n, 365n * DAY]) await factory.deploy(registry, period);
    });
  });

  describe("open", function () {
    it("opens an ETH channel whose id is the EIP-712 hash of its terms, and emits ChannelOpened", async function () {
      const fx = await loadFixture(channelsFixture);
      const params = {
        payee: fx.buyer.address,
        signer: fx.device.address,
        token: ETH,
        amount: ONE,
        cap: 0n,
        expiry: 0n,
        salt: ethers.ZeroHash,
      };
      const terms = termsOf(fx.owner.address, params);
      const channelId = channelIdOf(fx.payments, terms);
      expect(await fx.channels.channelIdOf(terms)).to.equal(channelId);
      await expect(fx.channels.connect(fx.owner).open(params, { value: ONE }))
        .to.emit(fx.channels, "ChannelOpened")
        .withArgs(channelId, fx.owner.address, fx.buyer.address, fx.device.address, ETH, ONE, 0n, 0n, ethers.ZeroHash);
      // The client's default salt is the next counter whose channel was never opened: 1 here.
      const second = await ethChannel(fx);
      expect(second).to.equal(channelIdOf(fx.payments, { ...terms, salt: ethers.toBeHex(1n, 32) }));
      const channel = await fx.pay.getChannel(channelId);
      expect(channel).to.deep.include({ payer: fx.owner.address, payee: fx.buyer.address, deposit: ONE, paid: 0n });
      expect(channel.status).to.equal(ChannelStatus.Open);
      expect(await ethers.provider.getBalance(await fx.channels.getAddress())).to.equal(2n * ONE);
    });

    it("reverts with ChannelExists for terms (and so an id) opened before, even once closed", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx);
      const terms = await fx.pay.terms(channelId);
      const params = { ...terms, amount: 1n };
      await expect(fx.channels.connect(fx.owner).open(params, { value: 1n }))
        .to.be.revertedWithCustomError(fx.channels, "ChannelExists")
        .withArgs(channelId);
      await fx.channels.connect(fx.buyer).close(terms, 0n, "0x");
      await expect(fx.channels.connect(fx.owner).open(params, { value: 1n }))
        .to.be.revertedWithCustomError(fx.channels, "ChannelExists")
        .withArgs(channelId);
    });

    it("security: an id binds the chain and the contract: another deployment gives the same terms another id", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx);
      const terms = await fx.pay.terms(channelId);
      const twin = await ethers.deployContract("PaymentChannels", [await fx.registry.getAddress(), DAY]);
      expect(await twin.channelIdOf(terms)).to.not.equal(channelId);
    });

    it("opens a token channel by pulling the deposit", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await tokenChannel(fx, 40n * ONE);
      expect((await fx.pay.getChannel(channelId)).deposit).to.equal(40n * ONE);
      expect(await fx.token.balanceOf(await fx.channels.getAddress())).to.equal(40n * ONE);
    });

    it("security: a fee-on-transfer token credits only what arrived", async function () {
      const fx = await loadFixture(channelsFixture);
      const fee = await ethers.deployContract("FeeOnTransferToken");
      const channelId = await mockTokenChannel(fx, await fee.getAddress(), 1000n);
      expect((await fx.pay.getChannel(channelId)).deposit).to.equal(990n);
      const over = voucher(fx, channelId, 991n);
      await expect(
        fx.channels.redeem(await fx.pay.terms(channelId), 991n, over.signature),
      ).to.be.revertedWithCustomError(fx.channels, "ChannelAmountExceedsDeposit");
    });

    it("reverts with ChannelInvalidDeposit when the ETH sent differs, or ETH comes with a token", async function () {
      const fx = await loadFixture(channelsFixture);
      const base = {
        payee: fx.buyer.address,
        signer: fx.device.address,
        token: ETH,
        amount: ONE,
        cap: 0n,
        expiry: 0n,
        salt: ethers.ZeroHash,
      };
      await expect(fx.channels.connect(fx.owner).open(base, { value: ONE - 1n }))
        .to.be.revertedWithCustomError(fx.channels, "ChannelInvalidDeposit")
        .withArgs(ONE, ONE - 1n);
      const withToken = { ...base, token: await fx.token.getAddress() };
      await expect(fx.channels.connect(fx.owner).open(withToken, { value: 1n }))
        .to.be.revertedWithCustomError(fx.channels, "ChannelInvalidDeposit")
        .withArgs(0n, 1n);
    });

    it("reverts with ChannelInvalidPayee for the zero address or the payer itself", async function () {
      const fx = await loadFixture(channelsFixture);
      for (const payee of [ethers.ZeroAddress, fx.owner.address]) {
        const params = {
          payee,
          signer: fx.device.address,
          token: ETH,
          amount: 1n,
          cap: 0n,
          expiry: 0n,
          salt: ethers.ZeroHash,
        };
        await expect(fx.channels.connect(fx.owner).open(params, { value: 1n }))
          .to.be.revertedWithCustomError(fx.channels, "ChannelInvalidPayee")
          .withArgs(payee);
      }
    });

    it("reverts with ChannelInvalidExpiry for an expiry not in the future", async function () {
      const fx = await loadFixture(channelsFixture);
      const now = BigInt(await time.latest());
      const params = {
        payee: fx.buyer.address,
        signer: fx.device.address,
        token: ETH,
        amount: 1n,
        cap: 0n,
        expiry: now,
        salt: ethers.ZeroHash,
      };
      await expect(fx.channels.connect(fx.owner).open(params, { value: 1n }))
        .to.be.revertedWithCustomError(fx.channels, "ChannelInvalidExpiry")
        .withArgs(now);
    });

    it("security: a revoked device or an unknown key cannot become a channel signer (ChannelSignerNotValid)", async function () {
      const fx = await loadFixture(channelsFixture);
      const stranger = DeviceKey.generate();
      const params = {
        payee: fx.buyer.address,
        signer: stranger.address,
        token: ETH,
        amount: 1n,
        cap: 0n,
        expiry: 0n,
        salt: ethers.ZeroHash,
      };
      await expect(fx.channels.connect(fx.owner).open(params, { value: 1n }))
        .to.be.revertedWithCustomError(fx.channels, "ChannelSignerNotValid")
        .withArgs(stranger.address);
      await fx.registry.connect(fx.owner).revoke(fx.deviceId, 1);
      await expect(fx.channels.connect(fx.owner).open({ ...params, signer: fx.device.address }, { value: 1n }))
        .to.be.revertedWithCustomError(fx.channels, "ChannelSignerNotValid")
        .withArgs(fx.device.address);
    });
  });

  describe("a payer that signs its own vouchers (no registry standing)", function () {
    it("the payer's own key may be the signer: open, a voucher it signs is redeemed to the payee; any other unregistered key still may not", async function () {
      const fx = await loadFixture(channelsFixture);
      const payerKey = DeviceKey.generate();
      const payer = payerKey.wallet(ethers.provider);
      await (await fx.owner.sendTransaction({ to: payer.address, value: ethers.parseEther("2") })).wait();
      const client = new PaymentChannelsClient({ contract: fx.channels.connect(payer) });
      const { channelId } = await client.open({
        payee: fx.buyer.address,
        signer: payer.address,
        token: ethers.ZeroAddress,
        amount: ONE,
      });
      const signed = voucher(fx, channelId, ONE / 4n, payerKey);
      const before = await ethers.provider.getBalance(fx.buyer.address);
      await (
        await fx.channels.connect(fx.other).redeem(await client.terms(channelId), signed.amount, signed.signature)
      ).wait();
      expect((await ethers.provider.getBalance(fx.buyer.address)) - before).to.equal(ONE / 4n);
      // Only the payer itself is exempt: another key without registry standing is refused as before.
      const stranger = DeviceKey.generate();
      await expect(
        fx.channels.connect(payer).open(
          {
            payee: fx.buyer.address,
            signer: stranger.address,
            token: ethers.ZeroAddress,
            amount: 1n,
            cap: 0n,
            expiry: 0n,
            salt: ethers.ZeroHash,
          },
          { value: 1n },
        ),
      )
        .to.be.revertedWithCustomError(fx.channels, "ChannelSignerNotValid")
        .withArgs(stranger.address);
    });
  });

  describe("openBySig", function () {
    it("a relayer opens a token channel for a funder without ETH (OpenChannel + permit)", async function () {
      const fx = await loadFixture(channelsFixture);
      const { funder, channel, authorization } = await signedOpen(fx, 50n * ONE, 50n * ONE);
      const { channelId } = await fx.pay.connect(fx.relayer).openBySig({ channel, authorization });
      expect((await fx.pay.getChannel(channelId)).payer).to.equal(funder.address);
      expect(await fx.token.balanceOf(funder.address)).to.equal(0n);
      expect(await ethers.provider.getBalance(funder.address)).to.equal(0n);
    });

    it("still opens when the permit was front-run (the allowance is there)", async function () {
      const fx = await loadFixture(channelsFixture);
      const { funder, channel, authorization } = await signedOpen(fx, 5n * ONE, 5n * ONE);
      const { permit } = authorization;
      await fx.token.permit(
        funder.address,
        await fx.channels.getAddress(),
        channel.amount,
        permit.deadline,
        permit.v,
        permit.r,
        permit.s,
      );
      const { channelId } = await fx.pay.connect(fx.relayer).openBySig({ channel, authorization });
      expect((await fx.pay.getChannel(channelId)).deposit).to.equal(channel.amount);
    });

    it("reverts with ChannelInvalidSignature for a replayed or foreign signature, ChannelSignatureExpired when late", async function () {
      const fx = await loadFixture(channelsFixture);
      const { funder, channel, deadline, authorization } = await signedOpen(fx, 10n * ONE, ONE);
      await fx.pay.connect(fx.relayer).openBySig({ channel, authorization });
      const c = fx.channels.connect(fx.relayer);
      const p = { ...channel, cap: 0n, expiry: 0n, salt: ethers.ZeroHash };
      await expect(c.openBySig(funder.address, p, deadline, authorization.signature, authorization.permit))
        .to.be.revertedWithCustomError(fx.channels, "ChannelInvalidSignature")
        .withArgs(funder.address);
      const fresh = await fx.pay.authorizeOpen({ funder, channel, deadline });
      await expect(
        c.openBySig(fx.other.address, p, deadline, fresh.signature, fresh.permit),
      ).to.be.revertedWithCustomError(fx.channels, "ChannelInvalidSignature");
      await time.setNextBlockTimestamp(deadline + 1n);
      await expect(c.openBySig(funder.address, p, deadline, fresh.signature, fresh.permit))
        .to.be.revertedWithCustomError(fx.channels, "ChannelSignatureExpired")
        .withArgs(deadline, deadline + 1n);
    });

    it("L-3 (documented): two pending opens of one funder and token, both permits front-run: the second reverts", async function () {
      const fx = await loadFixture(channelsFixture);
      const funder = ethers.Wallet.createRandom().connect(ethers.provider);
      await fx.token.mint(funder.address, 30n);
      const token = await fx.token.getAddress();
      const spender = await fx.channels.getAddress();
      const deadline = BigInt(await time.latest()) + 3600n;
      const params = (amount: bigint) => ({
        payee: fx.buyer.address,
        signer: fx.device.address,
        token,
        amount,
        cap: 0n,
        expiry: 0n,
        salt: ethers.toBeHex(amount, 32), // two channels: two salts
      });
      const tokenDomain = { name: "Mock Token", version: "1", chainId: fx.payments.chainId, verifyingContract: token };
      // The funder signs two opens (nonces 0 and 1) and two permits (nonces 0 and 1), for 10 and 20.
      const signed = await Promise.all(
        [10n, 20n].map(async (amount, nonce) => {
          const open = await signPaymentAction(funder, fx.payments, "OpenChannel", {
            funder: funder.address,
            ...params(amount),
            nonce: BigInt(nonce),
            deadline,
          });
          const permit = ethers.Signature.from(
            await funder.signTypedData(tokenDomain, PERMIT_TYPES, {
              owner: funder.address,
              spender,
              value: amount,
              nonce,
              deadline,
            }),
          );
          return { amount, open, permit: { deadline, v: permit.v, r: permit.r, s: permit.s } };
        }),
      );
      // A front-runner spends both permits: a permit sets the allowance, it does not add to it.
      for (const { amount, permit } of signed) {
        await fx.token.permit(funder.address, spender, amount, permit.deadline, permit.v, permit.r, permit.s);
      }
      expect(await fx.token.allowance(funder.address, spender)).to.equal(20n);
      const relay = fx.channels.connect(fx.relayer);
      await relay.openBySig(funder.address, params(10n), deadline, signed[0]!.open, signed[0]!.permit);
      await expect(relay.openBySig(funder.address, params(20n), deadline, signed[1]!.open, signed[1]!.permit))
        .to.be.revertedWithCustomError(fx.token, "ERC20InsufficientAllowance")
        .withArgs(spender, 10n, 20n);
    });

    it("security (L-2): one key behind two ERC-1271 wallets: a signature opens only the funder it names", async function () {
      const fx = await loadFixture(channelsFixture);
      const key = ethers.Wallet.createRandom();
      const walletA = await ethers.deployContract("ERC1271Wallet", [key.address]);
      const walletB = await ethers.deployContract("ERC1271Wallet", [key.address]);
      const params = {
        payee: fx.buyer.address,
        signer: fx.device.address,
        token: await fx.token.getAddress(),
        amount: 100n,
        cap: 0n,
        expiry: 0n,
        salt: ethers.ZeroHash,
      };
      const deadline = BigInt(await time.latest()) + 3600n;
      const signature = await signPaymentAction(key, fx.payments, "OpenChannel", {
        funder: await walletA.getAddress(),
        ...params,
        nonce: 0n,
        deadline,
      });
      const permit = { deadline: 0n, v: 27, r: ethers.ZeroHash, s: ethers.ZeroHash };
      await expect(fx.channels.openBySig(await walletB.getAddress(), params, deadline, signature, permit))
        .to.be.revertedWithCustomError(fx.channels, "ChannelInvalidSignature")
        .withArgs(await walletB.getAddress());
    });

    it("reverts with ChannelTokenRequired for ETH", async function () {
      const fx = await loadFixture(channelsFixture);
      const p = {
        payee: fx.buyer.address,
        signer: fx.device.address,
        token: ETH,
        amount: 1n,
        cap: 0n,
        expiry: 0n,
        salt: ethers.ZeroHash,
      };
      const permit = { deadline: 0n, v: 27, r: ethers.ZeroHash, s: ethers.ZeroHash };
      await expect(fx.channels.openBySig(fx.owner.address, p, 0n, "0x", permit)).to.be.revertedWithCustomError(
        fx.channels,
        "ChannelTokenRequired",
      );
    });
  });

  describe("topUp", function () {
    it("adds to the deposit, in ETH and in tokens, from anyone", async function () {
      const fx = await loadFixture(channelsFixture);
      const eth = await ethChannel(fx);
      await expect(fx.channels.connect(fx.other).topUp(await fx.pay.terms(eth), ONE, { value: ONE }))
        .to.emit(fx.channels, "ChannelToppedUp")
        .withArgs(eth, fx.other.address, ONE, 2n * ONE);
      const tok = await tokenChannel(fx, ONE);
      await fx.pay.topUp({ channelId: tok, amount: ONE });
      expect((await fx.pay.getChannel(tok)).deposit).to.equal(2n * ONE);
    });

    it("reverts with ChannelInvalidDeposit for a wrong msg.value", async function () {
      const fx = await loadFixture(channelsFixture);
      const eth = await ethChannel(fx);
      await expect(fx.channels.topUp(await fx.pay.terms(eth), ONE, { value: 1n })).to.be.revertedWithCustomError(
        fx.channels,
        "ChannelInvalidDeposit",
      );
      const tok = await tokenChannel(fx, ONE);
      await expect(
        fx.channels.connect(fx.owner).topUp(await fx.pay.terms(tok), 1n, { value: 1n }),
      ).to.be.revertedWithCustomError(fx.channels, "ChannelInvalidDeposit");
    });

    it("security: no top-up once a close started (ChannelNotOpen)", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx);
      await fx.pay.startClose({ channelId });
      await expect(fx.channels.topUp(await fx.pay.terms(channelId), 1n, { value: 1n }))
        .to.be.revertedWithCustomError(fx.channels, "ChannelNotOpen")
        .withArgs(channelId, ChannelStatus.Closing);
      await expect(fx.channels.topUp(NO_TERMS, 1n, { value: 1n }))
        .to.be.revertedWithCustomError(fx.channels, "ChannelUnknown")
        .withArgs(channelIdOf(fx.payments, NO_TERMS));
    });
  });

  describe("redeem", function () {
    it("pays the payee the increase of each cumulative voucher; anyone may submit", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx);
      const v1 = voucher(fx, channelId, ONE / 10n);
      await expect(
        fx.channels.connect(fx.relayer).redeem(await fx.pay.terms(channelId), v1.amount, v1.signature),
      ).to.changeEtherBalance(fx.buyer, ONE / 10n);
      const v2 = voucher(fx, channelId, ONE / 4n);
      await expect(fx.channels.connect(fx.other).redeem(await fx.pay.terms(channelId), v2.amount, v2.signature))
        .to.emit(fx.channels, "VoucherRedeemed")
        .withArgs(channelId, ONE / 4n, ONE / 4n - ONE / 10n);
      expect((await fx.pay.getChannel(channelId)).paid).to.equal(ONE / 4n);
    });

    it("security: terms other than the channel's (another payee or signer) name no channel: ChannelUnknown", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx);
      const terms = await fx.pay.terms(channelId);
      const thief = DeviceKey.generate();
      const forged = { ...terms, payee: fx.other.address, signer: thief.address };
      const forgedId = channelIdOf(fx.payments, forged);
      const v = voucher(fx, forgedId, 10n, thief);
      await expect(fx.channels.redeem(forged, 10n, v.signature))
        .to.be.revertedWithCustomError(fx.channels, "ChannelUnknown")
        .withArgs(forgedId);
      expect((await fx.pay.getChannel(channelId)).paid).to.equal(0n);
    });

    it("security: stale and equal vouchers revert with ChannelStaleVoucher", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx);
      const v5 = voucher(fx, channelId, 5n);
      await fx.pay.redeem(v5);
      await expect(fx.channels.redeem(await fx.pay.terms(channelId), 5n, v5.signature))
        .to.be.revertedWithCustomError(fx.channels, "ChannelStaleVoucher")
        .withArgs(channelId, 5n, 5n);
      const v3 = voucher(fx, channelId, 3n);
      await expect(fx.channels.redeem(await fx.pay.terms(channelId), 3n, v3.signature))
        .to.be.revertedWithCustomError(fx.channels, "ChannelStaleVoucher")
        .withArgs(channelId, 3n, 5n);
    });

    it("reverts with ChannelAmountExceedsDeposit and ChannelCapExceeded", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx, 100n, { cap: 60n });
      const over = voucher(fx, channelId, 101n);
      await expect(fx.channels.redeem(await fx.pay.terms(channelId), 101n, over.signature))
        .to.be.revertedWithCustomError(fx.channels, "ChannelAmountExceedsDeposit")
        .withArgs(channelId, 101n, 100n);
      const capped = voucher(fx, channelId, 61n);
      await expect(fx.channels.redeem(await fx.pay.terms(channelId), 61n, capped.signature))
        .to.be.revertedWithCustomError(fx.channels, "ChannelCapExceeded")
        .withArgs(channelId, 61n, 60n);
    });

    it("security: a forged or malleable (high-s) voucher reverts with ChannelInvalidVoucher", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx);
      const intruder = DeviceKey.generate();
      const forged = voucher(fx, channelId, 10n, intruder);
      await expect(fx.channels.redeem(await fx.pay.terms(channelId), 10n, forged.signature))
        .to.be.revertedWithCustomError(fx.channels, "ChannelInvalidVoucher")
        .withArgs(channelId, fx.device.address, intruder.address);
      const good = voucher(fx, channelId, 10n);
      await expect(fx.channels.redeem(await fx.pay.terms(channelId), 10n, highS(good.signature)))
        .to.be.revertedWithCustomError(fx.channels, "ChannelInvalidVoucher")
        .withArgs(channelId, fx.device.address, ethers.ZeroAddress);
      await expect(
        fx.channels.redeem(await fx.pay.terms(channelId), 11n, good.signature),
      ).to.be.revertedWithCustomError(fx.channels, "ChannelInvalidVoucher");
    });

    it("security: replay on another channel, another chain or a reopened channel fails", async function () {
      const fx = await loadFixture(channelsFixture);
      const first = await ethChannel(fx);
      const v = voucher(fx, first, 10n);
      const second = await ethChannel(fx);
      await expect(fx.channels.redeem(await fx.pay.terms(second), 10n, v.signature)).to.be.revertedWithCustomError(
        fx.channels,
        "ChannelInvalidVoucher",
      );
      const otherChain = fx.device.signVoucher({ ...fx.payments, chainId: fx.payments.chainId + 1n }, first, 10n);
      await expect(fx.channels.redeem(await fx.pay.terms(first), 10n, otherChain)).to.be.revertedWithCustomError(
        fx.channels,
        "ChannelInvalidVoucher",
      );
      // Close the first channel; the same parties open again and get a new id: the old voucher is dead.
      await fx.pay.connect(fx.buyer).close({ channelId: first, amount: 0n, signature: "0x" });
      const reopened = await ethChannel(fx);
      expect([first, second]).to.not.include(reopened);
      await expect(fx.channels.redeem(await fx.pay.terms(first), 10n, v.signature))
        .to.be.revertedWithCustomError(fx.channels, "ChannelNotOpen")
        .withArgs(first, ChannelStatus.Closed);
      await expect(fx.channels.redeem(await fx.pay.terms(reopened), 10n, v.signature)).to.be.revertedWithCustomError(
        fx.channels,
        "ChannelInvalidVoucher",
      );
    });

    it("reverts with ChannelExpired after the expiry and ChannelUnknown for no channel", async function () {
      const fx = await loadFixture(channelsFixture);
      const expiry = BigInt(await time.latest()) + 100n;
      const channelId = await ethChannel(fx, ONE, { expiry });
      await time.setNextBlockTimestamp(expiry);
      await fx.pay.redeem(voucher(fx, channelId, 1n)); // at the expiry: still accepted
      const late = voucher(fx, channelId, 2n);
      await expect(fx.channels.redeem(await fx.pay.terms(channelId), 2n, late.signature))
        .to.be.revertedWithCustomError(fx.channels, "ChannelExpired")
        .withArgs(channelId, expiry);
      await expect(fx.channels.redeem(NO_TERMS, 2n, late.signature))
        .to.be.revertedWithCustomError(fx.channels, "ChannelUnknown")
        .withArgs(channelIdOf(fx.payments, NO_TERMS));
    });

    it("security: a device revoked after opening does not void vouchers it already signed", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx);
      const signed = voucher(fx, channelId, 77n);
      await fx.registry.connect(fx.owner).revoke(fx.deviceId, 1); // the payer owns the device
      await expect(fx.channels.redeem(await fx.pay.terms(channelId), 77n, signed.signature)).to.changeEtherBalance(
        fx.buyer,
        77n,
      );
    });
  });

  describe("close", function () {
    it("the payee closes with its best voucher: payee paid, payer refunded", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx, 1000n);
      await fx.pay.redeem(voucher(fx, channelId, 100n));
      const v = voucher(fx, channelId, 300n);
      await expect(
        fx.channels.connect(fx.buyer).close(await fx.pay.terms(channelId), 300n, v.signature),
      ).to.changeEtherBalances([fx.buyer, fx.owner], [200n, 700n]);
      const channel = await fx.pay.getChannel(channelId);
      expect(channel.status).to.equal(ChannelStatus.Closed);
      expect(channel.closesAt).to.equal(0n);
    });

    it("a voucher for the whole deposit leaves no refund", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx, 1000n);
      const v = voucher(fx, channelId, 1000n);
      await expect(fx.channels.connect(fx.buyer).close(await fx.pay.terms(channelId), 1000n, v.signature))
        .to.emit(fx.channels, "ChannelClosed")
        .withArgs(channelId, 1000n, 0n)
        .and.not.to.emit(fx.channels, "PayoutCredited");
    });

    it("with amount 0 closes at what was paid", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx, 1000n);
      await fx.pay.redeem(voucher(fx, channelId, 100n));
      await expect(fx.channels.connect(fx.buyer).close(await fx.pay.terms(channelId), 0n, "0x"))
        .to.emit(fx.channels, "ChannelClosed")
        .withArgs(channelId, 100n, 900n);
      await expect(fx.channels.connect(fx.buyer).close(await fx.pay.terms(channelId), 0n, "0x"))
        .to.be.revertedWithCustomError(fx.channels, "ChannelNotOpen")
        .withArgs(channelId, ChannelStatus.Closed);
    });

    it("only the payee may close (ChannelUnauthorized)", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx);
      await expect(fx.channels.connect(fx.owner).close(await fx.pay.terms(channelId), 0n, "0x"))
        .to.be.revertedWithCustomError(fx.channels, "ChannelUnauthorized")
        .withArgs(channelId, fx.owner.address);
    });
  });

  describe("closeBySig", function () {
    it("a relayer closes for a payee that signed CloseChannel; the signature works once", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx, 1000n);
      const v = voucher(fx, channelId, 250n);
      const deadline = BigInt(await time.latest()) + 3600n;
      const authorization = await fx.pay.authorizeClose({ payee: fx.buyer, channelId, amount: 250n, deadline });
      await expect(
        fx.channels
          .connect(fx.relayer)
          .closeBySig(await fx.pay.terms(channelId), 250n, v.signature, deadline, authorization.signature),
      ).to.changeEtherBalances([fx.buyer, fx.owner], [250n, 750n]);
      await expect(
        fx.channels.closeBySig(await fx.pay.terms(channelId), 250n, v.signature, deadline, authorization.signature),
      ).to.be.revertedWithCustomError(fx.channels, "ChannelInvalidSignature");
      await expect(fx.channels.closeBySig(NO_TERMS, 1n, "0x", deadline, "0x"))
        .to.be.revertedWithCustomError(fx.channels, "ChannelUnknown")
        .withArgs(channelIdOf(fx.payments, NO_TERMS));
    });
  });

  describe("startClose and finalize", function () {
    it("the payer starts a close; the payee answers within the challenge period; then anyone finalizes", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx, 1000n);
      await expect(fx.pay.startClose({ channelId })).to.emit(fx.channels, "ChannelCloseStarted");
      const { closesAt } = await fx.pay.getChannel(channelId);
      expect(closesAt).to.equal(BigInt(await time.latest()) + DAY);
      await fx.pay.redeem(voucher(fx, channelId, 400n));
      await time.setNextBlockTimestamp(closesAt - 1n);
      await expect(fx.channels.finalize(await fx.pay.terms(channelId)))
        .to.be.revertedWithCustomError(fx.channels, "ChannelChallengePeriod")
        .withArgs(channelId, closesAt);
      await time.setNextBlockTimestamp(closesAt);
      await expect(fx.channels.finalize(await fx.pay.terms(channelId))).to.be.revertedWithCustomError(
        fx.channels,
        "ChannelChallengePeriod",
      );
      await time.setNextBlockTimestamp(closesAt + 1n);
      await expect(fx.channels.connect(fx.other).finalize(await fx.pay.terms(channelId))).to.changeEtherBalance(
        fx.owner,
        600n,
      );
      await expect(fx.channels.finalize(await fx.pay.terms(channelId)))
        .to.be.revertedWithCustomError(fx.channels, "ChannelNotOpen")
        .withArgs(channelId, ChannelStatus.Closed);
    });

    it("vouchers are accepted up to the end of the challenge period, not after", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx, 1000n);
      await fx.pay.startClose({ channelId });
      const { closesAt } = await fx.pay.getChannel(channelId);
      await time.setNextBlockTimestamp(closesAt);
      await fx.pay.redeem(voucher(fx, channelId, 10n));
      const late = voucher(fx, channelId, 20n);
      await expect(fx.channels.redeem(await fx.pay.terms(channelId), 20n, late.signature))
        .to.be.revertedWithCustomError(fx.channels, "ChannelExpired")
        .withArgs(channelId, closesAt);
    });

    it("close vs redeem in the same block (automine off): the payee's voucher still counts", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx, 1000n);
      const v = voucher(fx, channelId, 300n);
      await ethers.provider.send("evm_setAutomine", [false]);
      try {
        const start = await fx.channels.connect(fx.owner).startClose(await fx.pay.terms(channelId));
        const redeem = await fx.channels.connect(fx.buyer).redeem(await fx.pay.terms(channelId), v.amount, v.signature);
        await mine();
        expect((await start.wait())!.blockNumber).to.equal((await redeem.wait())!.blockNumber);
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
      }
      const channel = await fx.pay.getChannel(channelId);
      expect(channel.paid).to.equal(300n);
      expect(channel.status).to.equal(ChannelStatus.Closing);
    });

    it("finalizes without a challenge once the expiry passed", async function () {
      const fx = await loadFixture(channelsFixture);
      const expiry = BigInt(await time.latest()) + 100n;
      const channelId = await ethChannel(fx, 1000n, { expiry });
      await expect(fx.channels.finalize(await fx.pay.terms(channelId)))
        .to.be.revertedWithCustomError(fx.channels, "ChannelChallengePeriod")
        .withArgs(channelId, 0n);
      await time.increaseTo(expiry + 1n);
      await expect(fx.channels.finalize(await fx.pay.terms(channelId))).to.changeEtherBalance(fx.owner, 1000n);
      await expect(fx.channels.finalize(NO_TERMS)).to.be.revertedWithCustomError(fx.channels, "ChannelUnknown");
    });

    it("only the payer starts a close; a relayer may submit the payer's StartClose signature", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx);
      await expect(fx.channels.connect(fx.buyer).startClose(await fx.pay.terms(channelId)))
        .to.be.revertedWithCustomError(fx.channels, "ChannelUnauthorized")
        .withArgs(channelId, fx.buyer.address);
      const deadline = BigInt(await time.latest()) + 3600n;
      const authorization = await fx.pay.authorizeStartClose({ payer: fx.owner, channelId, deadline });
      await fx.pay.connect(fx.relayer).startClose({ channelId, authorization });
      expect((await fx.pay.getChannel(channelId)).status).to.equal(ChannelStatus.Closing);
      await expect(fx.channels.startClose(await fx.pay.terms(channelId))).to.be.revertedWithCustomError(
        fx.channels,
        "ChannelUnauthorized",
      );
      await expect(fx.channels.connect(fx.owner).startClose(await fx.pay.terms(channelId)))
        .to.be.revertedWithCustomError(fx.channels, "ChannelNotOpen")
        .withArgs(channelId, ChannelStatus.Closing);
      await expect(fx.channels.startCloseBySig(NO_TERMS, deadline, "0x"))
        .to.be.revertedWithCustomError(fx.channels, "ChannelUnknown")
        .withArgs(channelIdOf(fx.payments, NO_TERMS));
    });
  });
});
