import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { DeviceKey } from "../../src/device";
import { channelIdOf } from "../../src/eip712";
import { ChannelStatus, ETH, PaymentChannelsClient, toVoucherClaim } from "../../src/payments";
import type { VoucherClaimInput } from "../../src/payments";
import { expectRejected } from "../helpers/expect";
import { ONE, channelsFixture, tokenChannel, voucher } from "../helpers/payments";
import type { ChannelsFixture } from "../helpers/payments";
import type { MockUSDC } from "../../typechain-types";

/** `count` token channels from fx.owner to fx.buyer (counter salts 0..count-1), each with a voucher of `amount`. */
async function claims(fx: ChannelsFixture, count: number, amount: bigint) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const channelId = await tokenChannel(fx, 1000n);
    out.push({
      channelId,
      terms: await fx.pay.terms(channelId),
      amount,
      signature: voucher(fx, channelId, amount).signature,
    });
  }
  return out;
}

/** claimMany straight on the contract (for revert and balance matchers), as `from`. */
function claimMany(fx: ChannelsFixture, batch: VoucherClaimInput[], from = fx.relayer) {
  const { payee, token } = batch[0]!.terms;
  return fx.channels.connect(from).claimMany(payee, token, batch.map(toVoucherClaim));
}

const SECP256K1_N = BigInt("0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");

async function usdcFixture() {
  const fx = await loadFixture(channelsFixture);
  const usdc = (await ethers.deployContract("MockUSDC")) as unknown as MockUSDC;
  const funder = ethers.Wallet.createRandom().connect(ethers.provider); // holds tokens, no ETH
  await usdc.mint(funder.address, 1_000_000n);
  const channel = {
    payee: fx.buyer.address,
    signer: fx.device.address,
    token: await usdc.getAddress(),
    amount: 250_000n,
  };
  return { ...fx, usdc, funder, channel };
}

describe("PaymentChannels: settlement at scale", function () {
  describe("claimMany", function () {
    it("pays one payee the latest vouchers of many channels with one token transfer", async function () {
      const fx = await loadFixture(channelsFixture);
      const batch = await claims(fx, 5, 300n);
      const token = await fx.token.getAddress();
      const tx = claimMany(fx, batch);
      await expect(tx).to.changeTokenBalances(fx.token, [fx.buyer, fx.channels], [1500n, -1500n]);
      const receipt = (await (await tx).wait())!;
      const transfers = receipt.logs.filter((log) => log.address === token);
      expect(transfers).to.have.length(1); // one aggregated payout
      for (const { channelId } of batch) {
        await expect(tx).to.emit(fx.channels, "VoucherRedeemed").withArgs(channelId, 300n, 300n);
        expect((await fx.pay.getChannel(channelId)).paid).to.equal(300n);
      }
    });

    it("returns the total paid, and pays only what each voucher adds to what was paid", async function () {
      const fx = await loadFixture(channelsFixture);
      const [a, b] = await claims(fx, 2, 100n);
      await fx.pay.redeem({
        channelId: a!.channelId,
        amount: 40n,
        signature: voucher(fx, a!.channelId, 40n).signature,
      });
      const encoded = [a!, b!].map(toVoucherClaim);
      expect(
        await fx.channels.connect(fx.relayer).claimMany.staticCall(fx.buyer.address, a!.terms.token, encoded),
      ).to.equal(160n);
    });

    it("works for ETH channels", async function () {
      const fx = await loadFixture(channelsFixture);
      const ids = [];
      for (let i = 0; i < 3; i++)
        ids.push(
          (await fx.pay.open({ payee: fx.buyer.address, signer: fx.device.address, token: ETH, amount: ONE }))
            .channelId,
        );
      const batch = await Promise.all(
        ids.map(async (channelId) => ({
          terms: await fx.pay.terms(channelId),
          amount: 7n,
          signature: voucher(fx, channelId, 7n).signature,
        })),
      );
      await expect(claimMany(fx, batch)).to.changeEtherBalance(fx.buyer, 21n);
    });

    it("security: a griefer who redeems one voucher first cannot make the batch revert: that claim is skipped", async function () {
      const fx = await loadFixture(channelsFixture);
      const batch = await claims(fx, 3, 200n);
      // The griefer front-runs with the same voucher (which pays the payee anyway).
      await fx.channels.connect(fx.other).redeem(batch[1]!.terms, 200n, batch[1]!.signature);
      await expect(claimMany(fx, batch)).to.changeTokenBalance(fx.token, fx.buyer, 400n);
      for (const { channelId } of batch) expect((await fx.pay.getChannel(channelId)).paid).to.equal(200n);
    });

    it("security: the money goes to the payee named in the call, whoever submits; another payee's channels name no channel", async function () {
      const fx = await loadFixture(channelsFixture);
      const batch = await claims(fx, 2, 50n);
      const encoded = batch.map(toVoucherClaim);
      const token = await fx.token.getAddress();
      const stolenId = channelIdOf(fx.payments, { ...batch[0]!.terms, payee: fx.other.address });
      await expect(fx.channels.connect(fx.other).claimMany(fx.other.address, token, encoded))
        .to.be.revertedWithCustomError(fx.channels, "ChannelUnknown")
        .withArgs(stolenId);
      await expect(fx.channels.connect(fx.other).claimMany(fx.buyer.address, token, encoded)).to.changeTokenBalance(
        fx.token,
        fx.buyer,
        100n,
      );
    });

    it("security: a voucher by another key, or with a high s, reverts the batch with ChannelInvalidVoucher", async function () {
      const fx = await loadFixture(channelsFixture);
      const [good, bad] = await claims(fx, 2, 50n);
      const thief = DeviceKey.generate();
      const forged = { ...bad!, signature: voucher(fx, bad!.channelId, 50n, thief).signature };
      await expect(claimMany(fx, [good!, forged]))
        .to.be.revertedWithCustomError(fx.channels, "ChannelInvalidVoucher")
        .withArgs(bad!.channelId, fx.device.address, thief.address);
      // The same voucher with s replaced by n - s and the parity flipped, in EIP-2098 form (the top bit of vs
      // carries the parity, so only the low 255 bits of n - s fit): never accepted.
      const sig = ethers.Signature.from(bad!.signature);
      const flipped =
        (BigInt(sig.yParity === 0 ? 1 : 0) << 255n) | ((SECP256K1_N - BigInt(sig.s)) & ((1n << 255n) - 1n));
      const malleable = { ...toVoucherClaim(bad!), vs: ethers.toBeHex(flipped, 32) };
      await expect(
        fx.channels.claimMany(fx.buyer.address, bad!.terms.token, [toVoucherClaim(good!), malleable]),
      ).to.be.revertedWithCustomError(fx.channels, "ChannelInvalidVoucher");
      expect((await fx.pay.getChannel(good!.channelId)).paid).to.equal(0n);
    });

    it("reverts with the channel's error for a voucher above the deposit or the cap, or after the challenge period", async function () {
      const fx = await loadFixture(channelsFixture);
      const [c] = await claims(fx, 1, 50n);
      const over = { ...c!, amount: 1001n, signature: voucher(fx, c!.channelId, 1001n).signature };
      await expect(claimMany(fx, [over]))
        .to.be.revertedWithCustomError(fx.channels, "ChannelAmountExceedsDeposit")
        .withArgs(c!.channelId, 1001n, 1000n);
      await fx.pay.startClose({ channelId: c!.channelId });
      await time.increase(86_401);
      await expect(claimMany(fx, [c!])).to.be.revertedWithCustomError(fx.channels, "ChannelExpired");
    });

    it("security: a claim whose fields carry dirty high bits names no channel (ChannelUnknown), not another one", async function () {
      const fx = await loadFixture(channelsFixture);
      const [c] = await claims(fx, 1, 50n);
      const data = fx.channels.interface.encodeFunctionData("claimMany", [
        fx.buyer.address,
        c!.terms.token,
        [toVoucherClaim(c!)],
      ]);
      // claims[0].payer is the word after selector, payee, token, offset and length: set its top byte.
      const at = 2 + 8 + 64 * 4;
      const dirty = data.slice(0, at) + "ff" + data.slice(at + 2);
      await expect(
        fx.relayer.sendTransaction({ to: await fx.channels.getAddress(), data: dirty }),
      ).to.be.revertedWithCustomError(fx.channels, "ChannelUnknown");
      expect((await fx.pay.getChannel(c!.channelId)).paid).to.equal(0n);
    });

    it("rejects an empty list, or claims of several payees or tokens, in the client", async function () {
      const fx = await loadFixture(channelsFixture);
      await expectRejected(fx.pay.claimMany({ claims: [] }), "at least one claim");
      const [c] = await claims(fx, 1, 5n);
      const eth = await fx.pay.open({ payee: fx.buyer.address, signer: fx.device.address, token: ETH, amount: 10n });
      const other = {
        terms: await fx.pay.terms(eth.channelId),
        amount: 5n,
        signature: voucher(fx, eth.channelId, 5n).signature,
      };
      await expectRejected(fx.pay.claimMany({ claims: [c!, other] }), "one payee and one token");
    });
  });

  describe("openWithAuthorization", function () {
    it("opens a channel for a funder without ETH from one EIP-3009 signature whose nonce is the channel id", async function () {
      const fx = await usdcFixture();
      const validBefore = BigInt(await time.latest()) + 3600n;
      const authorization = await fx.pay.authorizeOpenWithAuthorization({
        funder: fx.funder,
        channel: fx.channel,
        validBefore,
      });
      const relayed = fx.pay.connect(fx.relayer);
      const { channelId } = await relayed.openWithAuthorization({ channel: fx.channel, authorization });
      expect(channelId).to.equal(authorization.channelId);
      expect(await fx.usdc.authorizationState(fx.funder.address, ethers.toBeHex(channelId, 32))).to.equal(true);
      const channel = await fx.pay.getChannel(channelId);
      expect(channel).to.deep.include({ payer: fx.funder.address, payee: fx.buyer.address, deposit: 250_000n });
      expect(channel.status).to.equal(ChannelStatus.Open);
      expect(await fx.usdc.balanceOf(fx.funder.address)).to.equal(750_000n);
    });

    it("security: the authorization opens only the channel it names: other terms fail, and it works once", async function () {
      const fx = await usdcFixture();
      const validBefore = BigInt(await time.latest()) + 3600n;
      const authorization = await fx.pay.authorizeOpenWithAuthorization({
        funder: fx.funder,
        channel: fx.channel,
        validBefore,
      });
      const relayed = fx.pay.connect(fx.relayer);
      // A relayer that swaps the payee (or any term) changes the nonce, so the token refuses the signature.
      const hijacked = { ...fx.channel, payee: fx.other.address };
      await expectRejected(
        relayed.openWithAuthorization({ channel: hijacked, authorization }),
        "ERC3009InvalidSignature",
      );
      await relayed.openWithAuthorization({ channel: fx.channel, authorization });
      await expect(
        fx.channels
          .connect(fx.relayer)
          .openWithAuthorization(
            fx.funder.address,
            { ...fx.channel, cap: 0n, expiry: 0n, salt: authorization.salt },
            authorization.authorization,
          ),
      )
        .to.be.revertedWithCustomError(fx.channels, "ChannelExists")
        .withArgs(authorization.channelId);
    });

    it("security: nobody but PaymentChannels can execute the authorization (receiveWithAuthorization)", async function () {
      const fx = await usdcFixture();
      const validBefore = BigInt(await time.latest()) + 3600n;
      const { authorization, channelId } = await fx.pay.authorizeOpenWithAuthorization({
        funder: fx.funder,
        channel: fx.channel,
        validBefore,
      });
      const channels = await fx.channels.getAddress();
      await expect(
        fx.usdc
          .connect(fx.other)
          .getFunction(
            "receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)",
          )(
          fx.funder.address,
          channels,
          fx.channel.amount,
          0n,
          validBefore,
          ethers.toBeHex(channelId, 32),
          authorization.v,
          authorization.r,
          authorization.s,
        ),
      )
        .to.be.revertedWithCustomError(fx.usdc, "ERC3009CallerNotPayee")
        .withArgs(fx.other.address, channels);
    });

    it("reverts for an expired authorization, for ETH, or for a signer that is not an active device", async function () {
      const fx = await usdcFixture();
      const validBefore = BigInt(await time.latest()) + 60n;
      const authorization = await fx.pay.authorizeOpenWithAuthorization({
        funder: fx.funder,
        channel: fx.channel,
        validBefore,
      });
      await time.increase(120);
      await expectRejected(
        fx.pay.openWithAuthorization({ channel: fx.channel, authorization }),
        "ERC3009AuthorizationExpired",
      );
      const params = { ...fx.channel, cap: 0n, expiry: 0n, salt: ethers.ZeroHash };
      await expect(
        fx.channels.openWithAuthorization(fx.funder.address, { ...params, token: ETH }, authorization.authorization),
      ).to.be.revertedWithCustomError(fx.channels, "ChannelTokenRequired");
      const stranger = DeviceKey.generate();
      await expect(
        fx.channels.openWithAuthorization(
          fx.funder.address,
          { ...params, signer: stranger.address },
          authorization.authorization,
        ),
      )
        .to.be.revertedWithCustomError(fx.channels, "ChannelSignerNotValid")
        .withArgs(stranger.address);
    });
  });

  describe("recovery from the chain", function () {
    it("a payer and a payee that lost their local state recover every channel, with its terms and state", async function () {
      const fx = await loadFixture(channelsFixture);
      const first = await tokenChannel(fx, 500n);
      const second = await tokenChannel(fx, 700n);
      await fx.pay.redeem({ channelId: first, amount: 120n, signature: voucher(fx, first, 120n).signature });
      const eth = (await fx.pay.open({ payee: fx.other.address, signer: fx.device.address, token: ETH, amount: 9n }))
        .channelId;

      // New clients, no local state: only the contract address.
      const address = await fx.channels.getAddress();
      const payer = PaymentChannelsClient.connect({ address, runner: ethers.provider });
      const asPayer = await payer.recover({ payer: fx.owner.address });
      expect(asPayer.map((c) => c.channelId).sort()).to.deep.equal([first, second, eth].sort());
      const recovered = asPayer.find((c) => c.channelId === first)!;
      expect(recovered).to.deep.include({
        deposit: 500n,
        paid: 120n,
        payee: fx.buyer.address,
        status: ChannelStatus.Open,
      });
      const asPayee = await payer.recover({ payee: fx.buyer.address });
      expect(asPayee.map((c) => c.channelId).sort()).to.deep.equal([first, second].sort());

      // Without logs: default salts are counters, so the payer recomputes the ids from the terms it knows.
      const bySalt = await payer.recoverBySalt({
        payer: fx.owner.address,
        payee: fx.buyer.address,
        signer: fx.device.address,
        token: await fx.token.getAddress(),
        cap: 0n,
        expiry: 0n,
      });
      expect(bySalt.map((c) => c.channelId)).to.deep.equal([first, second]);
    });

    it("security: a ChannelOpened log from a look-alike contract at another address is not taken for a channel", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await tokenChannel(fx, 10n);
      const twin = await ethers.deployContract("PaymentChannels", [await fx.registry.getAddress(), 86_400n]);
      const twinClient = PaymentChannelsClient.connect({ address: await twin.getAddress(), runner: ethers.provider });
      expect(await twinClient.recover({ payer: fx.owner.address })).to.deep.equal([]);
      await expectRejected(twinClient.getChannel(channelId), "no channel");
    });
  });
});
