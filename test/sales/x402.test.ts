import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodePaymentSignatureHeader, encodePaymentSignatureHeader } from "@x402/core/http";
import { x402Client, x402HTTPClient } from "@x402/core/client";
import { ETH, SqliteVoucherStore } from "../../src/payments";
import { ChannelBuyerScheme, ChannelSeller, IOTRAIL_CHANNEL_SCHEME, PAYMENT_ERRORS } from "../../src/sales";
import type { ChannelState } from "../../src/sales";
import { channelsFixture, ethChannel } from "../helpers/payments";
import type { ChannelsFixture } from "../helpers/payments";

const PRICE = 100n;
const URL = "http://seller.example/v1/devices/0x0000000000000000000000000000000000000001/bundle?from=1&to=3";

function seller(fx: ChannelsFixture) {
  const store = new SqliteVoucherStore(join(mkdtempSync(join(tmpdir(), "iotrail-x402-")), "vouchers.sqlite"));
  return {
    store,
    seller: new ChannelSeller({
      chainId: fx.payments.chainId,
      channels: fx.pay.connect(ethers.provider),
      payee: fx.buyer.address,
      token: ETH,
      pricePerReading: PRICE,
      store,
    }),
  };
}

/** The PAYMENT-SIGNATURE header that x402's own client builds with the buyer scheme for `required`. */
async function paymentHeader(
  scheme: ChannelBuyerScheme,
  required: Parameters<x402HTTPClient["createPaymentPayload"]>[0],
) {
  const http = new x402HTTPClient(
    x402Client.fromConfig({ schemes: [{ network: "eip155:31337", client: scheme }], spendControls: false }),
  );
  return http.encodePaymentSignatureHeader(await http.createPaymentPayload(required))["PAYMENT-SIGNATURE"]!;
}

describe("x402 over payment channels (iotrail-channel)", function () {
  describe("ChannelSeller.authorize", function () {
    it("asks for payment without a header: x402 version 2 requirements with the price of the answer", async function () {
      const fx = await loadFixture(channelsFixture);
      const { seller: s } = seller(fx);
      const result = await s.authorize(undefined, URL, 3);
      expect(result.status).to.equal("required");
      if (result.status !== "required") return;
      expect(result.paymentRequired).to.deep.include({ x402Version: 2, error: PAYMENT_ERRORS.required });
      expect(result.paymentRequired.accepts[0]).to.deep.include({
        scheme: IOTRAIL_CHANNEL_SCHEME,
        network: "eip155:31337",
        amount: "300",
        payTo: fx.buyer.address,
        asset: ETH,
      });
    });

    it("takes a voucher built by x402's own client with the buyer scheme, then settles it durably", async function () {
      const fx = await loadFixture(channelsFixture);
      const { seller: s, store } = seller(fx);
      const scheme = new ChannelBuyerScheme({ channels: fx.pay, key: fx.device });
      const first = await s.authorize(undefined, URL, 3);
      if (first.status !== "required") throw new Error("expected 402");
      const header = await paymentHeader(scheme, first.paymentRequired);
      expect(decodePaymentSignatureHeader(header).accepted.scheme).to.equal(IOTRAIL_CHANNEL_SCHEME);
      const paid = await s.authorize(header, URL, 3);
      expect(paid.status).to.equal("paid");
      if (paid.status !== "paid") return;
      const settled = await s.settle(paid.sale, URL, 3);
      expect(settled.status).to.equal("settled");
      const stored = (await store.get(paid.sale.channelId))!;
      expect(stored).to.deep.include({ amount: 300n, charged: 300n });
    });

    it("security: a closing channel, or one expiring within the margin, pays for nothing more", async function () {
      const fx = await loadFixture(channelsFixture);
      const { seller: s } = seller(fx);
      const expiry = BigInt(await time.latest()) + 600n; // inside the default 1 hour margin
      const soon = await ethChannel(fx, 10_000n, { expiry });
      const closing = await ethChannel(fx, 10_000n);
      await fx.pay.startClose({ channelId: closing });
      for (const channelId of [soon, closing]) {
        const terms = await fx.pay.terms(channelId);
        const header = encodePaymentSignatureHeader({
          x402Version: 2,
          accepted: (await s
            .authorize(undefined, URL, 1)
            .then((r) => (r.status === "required" ? r.paymentRequired.accepts[0] : undefined)))!,
          payload: {
            type: "voucher",
            channel: { ...terms, cap: terms.cap.toString(), expiry: terms.expiry.toString() },
            voucher: {
              channelId: ethers.toBeHex(channelId, 32),
              amount: PRICE.toString(),
              signature: fx.device.signVoucher(fx.payments, channelId, PRICE),
            },
          },
        });
        const result = await s.authorize(header, URL, 1);
        expect(result.status).to.equal("required");
        if (result.status === "required") expect(result.paymentRequired.error).to.equal(PAYMENT_ERRORS.notOpen);
      }
    });
  });

  describe("ChannelSeller's warm path", function () {
    it("a repeat buyer's payments read the channel and the chain's time once per chainCacheMs, and with chainCacheMs 0 every payment reads the chain", async function () {
      const fx = await loadFixture(channelsFixture);
      const real = fx.pay.connect(ethers.provider);
      const reads = { channel: 0, block: 0 };
      const provider = ethers.provider;
      // The seller's view of the chain, counted.
      const counted = {
        domain: () => real.domain(),
        contract: {
          target: real.contract.target,
          getChannel: (...args: Parameters<typeof real.contract.getChannel>) => {
            reads.channel++;
            return real.contract.getChannel(...args);
          },
          runner: {
            provider: {
              getBlock: (tag: string) => {
                reads.block++;
                return provider.getBlock(tag);
              },
              getBlockNumber: () => provider.getBlockNumber(),
            },
          },
        },
      } as unknown as typeof real;
      const store = new SqliteVoucherStore(join(mkdtempSync(join(tmpdir(), "iotrail-x402-")), "vouchers.sqlite"));
      const s = new ChannelSeller({
        chainId: fx.payments.chainId,
        channels: counted,
        payee: fx.buyer.address,
        token: ETH,
        pricePerReading: PRICE,
        store,
        chainCacheMs: 60_000,
      });
      const scheme = new ChannelBuyerScheme({ channels: fx.pay, key: fx.device });
      const buyOnce = async () => {
        const first = await s.authorize(undefined, URL, 1);
        if (first.status !== "required") throw new Error("expected 402");
        const paid = await s.authorize(await paymentHeader(scheme, first.paymentRequired), URL, 1);
        if (paid.status !== "paid") throw new Error(`expected paid, got ${JSON.stringify(paid)}`);
        expect((await s.settle(paid.sale, URL, 1)).status).to.equal("settled");
      };
      await buyOnce();
      expect(reads).to.deep.equal({ channel: 1, block: 1 });
      for (let i = 0; i < 5; i++) await buyOnce();
      expect(reads, "five more payments, no chain call").to.deep.equal({ channel: 1, block: 1 });
      // With no cache every payment reads the chain.
      const uncached = new ChannelSeller({
        chainId: fx.payments.chainId,
        channels: counted,
        payee: fx.buyer.address,
        token: ETH,
        pricePerReading: PRICE,
        store,
        chainCacheMs: 0,
      });
      const first = await uncached.authorize(undefined, URL, 1);
      if (first.status !== "required") throw new Error("expected 402");
      await uncached.authorize(await paymentHeader(scheme, first.paymentRequired), URL, 1);
      expect(reads).to.deep.equal({ channel: 2, block: 2 });
      await store.close();
    });
  });

  describe("ChannelSeller.settle", function () {
    it("security: of two payments authorized from the same state, one is settled and the other gets a corrective 402", async function () {
      const fx = await loadFixture(channelsFixture);
      const { seller: s } = seller(fx);
      const scheme = new ChannelBuyerScheme({ channels: fx.pay, key: fx.device });
      const first = await s.authorize(undefined, URL, 1);
      if (first.status !== "required") throw new Error("expected 402");
      const header = await paymentHeader(scheme, first.paymentRequired);
      const [a, b] = await Promise.all([s.authorize(header, URL, 1), s.authorize(header, URL, 1)]);
      if (a.status !== "paid" || b.status !== "paid") throw new Error("both should pass the checks");
      const results = [await s.settle(a.sale, URL, 1), await s.settle(b.sale, URL, 1)];
      expect(results.map((r) => r.status)).to.deep.equal(["settled", "required"]);
      const corrective = results[1]!;
      if (corrective.status !== "required") return;
      expect(corrective.paymentRequired.error).to.equal(PAYMENT_ERRORS.cumulative);
      expect((corrective.paymentRequired.accepts[0]!.extra.channelState as ChannelState).charged).to.equal("100");
    });
  });

  describe("ChannelBuyerScheme.createPaymentPayload", function () {
    it("opens a channel when it has none, and reuses it (counter salt 0) from a fresh instance", async function () {
      const fx = await loadFixture(channelsFixture);
      const { seller: s } = seller(fx);
      const opened: bigint[] = [];
      const make = () =>
        new ChannelBuyerScheme({
          channels: fx.pay,
          key: fx.device,
          limits: async () => ({ deposit: 1_000n }),
          onOpen: ({ deposit }) => opened.push(deposit),
        });
      const required = await s.authorize(undefined, URL, 2);
      if (required.status !== "required") throw new Error("expected 402");
      const one = await make().createPaymentPayload(2, required.paymentRequired.accepts[0]!);
      const two = await make().createPaymentPayload(2, required.paymentRequired.accepts[0]!);
      expect(opened).to.deep.equal([1_000n]);
      const id = (p: { payload: Record<string, unknown> }) => (p.payload.voucher as { channelId: string }).channelId;
      expect(id(two)).to.equal(id(one));
      expect((one.payload.channel as { salt: string }).salt).to.equal(ethers.toBeHex(0n, 32));
    });

    it("refuses a price above its limit, and a deposit that does not cover the price, before signing", async function () {
      const fx = await loadFixture(channelsFixture);
      const { seller: s } = seller(fx);
      const required = await s.authorize(undefined, URL, 5);
      if (required.status !== "required") throw new Error("expected 402");
      const requirement = required.paymentRequired.accepts[0]!;
      const capped = new ChannelBuyerScheme({
        channels: fx.pay,
        key: fx.device,
        limits: async () => ({ maxPrice: 499n }),
      });
      await expectRejectedCode(capped.createPaymentPayload(2, requirement), "PRICE_TOO_HIGH");
      const thin = new ChannelBuyerScheme({ channels: fx.pay, key: fx.device, limits: async () => ({ deposit: 10n }) });
      await expectRejectedCode(thin.createPaymentPayload(2, requirement), "DEPOSIT_TOO_SMALL");
    });
  });
});

async function expectRejectedCode(promise: Promise<unknown>, code: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as { code?: string }).code).to.equal(code);
    return;
  }
  expect.fail(`expected a rejection with ${code}`);
}
