import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { EscrowClient, ETH, Relayer } from "../../src/payments";
import { ReadingBatch } from "../../src/telemetry";
import { T0, TEMPERATURE, anchorFixture, sign } from "../helpers/anchor";
import { channelsFixture, ethChannel, voucher } from "../helpers/payments";

describe("Relayer", function () {
  describe("submit (channels)", function () {
    it("relays a voucher redemption and reports the confirmed transaction", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx, 1000n);
      const relayer = new Relayer({ signer: fx.relayer, channels: await fx.channels.getAddress() });
      const before = await ethers.provider.getBalance(fx.buyer.address);
      const outcome = await relayer.submit({ kind: "redeem", ...voucher(fx, channelId, 400n) });
      expect(outcome.status).to.equal("confirmed");
      expect(outcome).to.have.property("transactionHash");
      expect(await ethers.provider.getBalance(fx.buyer.address)).to.equal(before + 400n);
    });

    it("reports a request that would revert as rejected, with the decoded error, and sends nothing", async function () {
      const fx = await loadFixture(channelsFixture);
      const channelId = await ethChannel(fx, 1000n);
      const relayer = new Relayer({ signer: fx.relayer, channels: await fx.channels.getAddress() });
      await relayer.submit({ kind: "redeem", ...voucher(fx, channelId, 400n) });
      const nonce = await ethers.provider.getTransactionCount(fx.relayer.address);
      const outcome = await relayer.submit({ kind: "redeem", ...voucher(fx, channelId, 300n) });
      expect(outcome).to.deep.equal({
        kind: "redeem",
        status: "rejected",
        error: {
          code: "CONTRACT_REVERT",
          message: `ChannelStaleVoucher(channelId=${channelId}, amount=300, paid=400)`,
          errorName: "ChannelStaleVoucher",
          args: { channelId: channelId.toString(), amount: "300", paid: "400" },
        },
      });
      expect(await ethers.provider.getTransactionCount(fx.relayer.address)).to.equal(nonce);
    });

    it("relays a funder's channel opening (with permit), the payer's start of close and the payee's close", async function () {
      const fx = await loadFixture(channelsFixture);
      const relayer = new Relayer({ signer: fx.relayer, channels: await fx.channels.getAddress() });
      const funder = ethers.Wallet.createRandom().connect(ethers.provider);
      await fx.token.mint(funder.address, 1000n);
      const channel = {
        payee: fx.buyer.address,
        signer: fx.device.address,
        token: await fx.token.getAddress(),
        amount: 1000n,
      };
      const deadline = BigInt(await time.latest()) + 3600n;
      const opened = await relayer.submit({
        kind: "openChannel",
        channel,
        authorization: await fx.pay.authorizeOpen({ funder, channel, deadline }),
      });
      expect(opened.status).to.equal("confirmed");
      const [{ channelId }] = await fx.pay.recover({ payer: funder.address });
      const payer = fx.pay.connect(funder);
      const started = await relayer.submit({
        kind: "startClose",
        channelId,
        authorization: await payer.authorizeStartClose({ payer: funder, channelId, deadline }),
      });
      expect(started.status).to.equal("confirmed");
      const v = voucher(fx, channelId, 600n);
      const closed = await relayer.submit({
        kind: "closeChannel",
        channelId,
        amount: 600n,
        voucherSignature: v.signature,
        authorization: await fx.pay.authorizeClose({ payee: fx.buyer, channelId, amount: 600n, deadline }),
      });
      expect(closed.status).to.equal("confirmed");
      expect(await fx.token.balanceOf(fx.buyer.address)).to.equal(600n);
      expect(await fx.token.balanceOf(funder.address)).to.equal(400n);
    });

    it("rejects an escrow request when it has no escrow address", async function () {
      const fx = await loadFixture(channelsFixture);
      const relayer = new Relayer({ signer: fx.relayer, channels: await fx.channels.getAddress() });
      const outcome = await relayer.submit({
        kind: "releaseEscrow",
        escrowId: 1n,
        authorization: { deadline: 0n, signature: "0x" },
      });
      expect(outcome.status).to.equal("rejected");
      expect(outcome.status === "rejected" && outcome.error.code).to.equal("INVALID_INPUT");
    });
  });

  describe("submit (escrow)", function () {
    it("relays a payer's release and a proven reading; decodes the anchor's errors", async function () {
      const fx = await loadFixture(anchorFixture);
      const escrow = await ethers.deployContract("ConditionalEscrow", [await fx.anchor.getAddress()]);
      const client = new EscrowClient({ contract: escrow.connect(fx.owner) });
      const relayer = new Relayer({ signer: fx.relayer, escrow: await escrow.getAddress() });
      const deadline = BigInt(await time.latest()) + 86_400n;
      const condition = {
        device: fx.device.address,
        metric: TEMPERATURE,
        minValue: 2_000n,
        maxValue: 8_000n,
        fromTimestamp: T0,
        toTimestamp: T0 + 86_400n,
      };
      const first = await client.create({ payee: fx.buyer.address, token: ETH, amount: 10n, deadline, condition });
      const released = await relayer.submit({
        kind: "releaseEscrow",
        escrowId: first.escrowId,
        authorization: await client.authorizeRelease({ payer: fx.owner, escrowId: first.escrowId, deadline }),
      });
      expect(released.status).to.equal("confirmed");

      const second = await client.create({ payee: fx.buyer.address, token: ETH, amount: 10n, deadline, condition });
      const reading = {
        device: fx.device.address,
        sequence: 1n,
        timestamp: T0 + 60n,
        metric: TEMPERATURE,
        value: 4_000n,
        payloadHash: ethers.ZeroHash,
      };
      const unanchored = await ReadingBatch.build(sign(fx, fx.device, [reading]));
      const request = {
        kind: "releaseByReading" as const,
        escrowId: second.escrowId,
        condition,
        batchId: 1n,
        reading,
        signature: unanchored.readings[0]!.signature,
        proof: unanchored.proof(0),
      };
      const rejected = await relayer.submit(request);
      expect(rejected.status === "rejected" && rejected.error.errorName).to.equal("AnchorReadingNotAnchored");
      const { batchId } = await fx.anchorClient.anchor(unanchored.header());
      const proven = await relayer.submit({ ...request, batchId });
      expect(proven.status).to.equal("confirmed");
    });
  });
});
