/**
 * Issue 27: a stock x402 client buys anchored data from an iotrail batcher by x402's `exact` scheme (EIP-3009 on
 * DemoToken), with x402's facilitator running inside the seller. The client side of the first test imports
 * only `@x402/fetch`, `@x402/evm` and viem: no iotrail code pays.
 */
import { expect } from "chai";
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from "@x402/core/http";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import { toClientEvmSigner } from "@x402/evm";
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import type { BatcherService } from "../../src/batcher";
import { IOTRAIL_CHANNEL_SCHEME, EXACT_SCHEME } from "../../src/sales";
import { pinTrust, verifyBundle } from "../../src/verify";
import {
  CHANNEL_PRICE,
  EXACT_PRICE,
  exactChain,
  exactSeller,
  publishedRange,
  skipWithoutAnvil,
  tokenBuyer,
} from "../helpers/exact";
import type { ExactChain } from "../helpers/exact";

describe("x402 exact (EIP-3009): a stock x402 client buys anchored data", function () {
  this.timeout(120_000);
  let chain: ExactChain;
  let service: BatcherService;

  before(async function () {
    skipWithoutAnvil(this);
    chain = await exactChain();
    service = await exactSeller(chain);
  });
  after(async function () {
    await service?.stop();
    chain?.provider.destroy();
    await chain?.node.stop();
  });

  it("a 402 offers iotrail-channel and exact, with the token's EIP-712 domain; @x402/fetch pays by exact, and the bundle verifies", async function () {
    const { device, url } = await publishedRange(chain, service, 6);
    const range = url(1, 6);
    const unpaid = await fetch(range);
    expect(unpaid.status).to.equal(402);
    const offer = decodePaymentRequiredHeader(unpaid.headers.get("payment-required")!);
    expect(offer.accepts.map((a) => a.scheme)).to.deep.equal([IOTRAIL_CHANNEL_SCHEME, EXACT_SCHEME]);
    const exact = offer.accepts[1]!;
    expect(exact).to.deep.include({
      network: "eip155:31337",
      asset: chain.token.target,
      amount: (6n * EXACT_PRICE).toString(),
      payTo: chain.payee,
    });
    expect(exact.extra).to.deep.include({ name: "iotrail Demo USD", version: "1" });
    expect(offer.accepts[0]!.amount).to.equal((6n * CHANNEL_PRICE).toString());

    // The buyer: a key with dUSD only (no ETH, no device key, no channel), and x402's stock client.
    const buyer = await tokenBuyer(chain, 1_000_000n);
    // Like any stock client it pays only assets it was told to, up to a cap: the buyer opts in to dUSD.
    const client = x402Client.fromConfig({
      schemes: [
        { network: "eip155:31337", client: new ExactEvmScheme(toClientEvmSigner(buyer.account, buyer.publicClient)) },
      ],
      spendControls: {
        allowedAssets: [{ network: "eip155:31337", asset: String(chain.token.target), maxAmountPerPayment: "100000" }],
      },
    });
    const pay = wrapFetchWithPayment(fetch, client);
    const paid = await pay(range);
    expect(paid.status, await paid.clone().text()).to.equal(200);
    const settlement = decodePaymentResponseHeader(paid.headers.get("payment-response")!);
    expect(settlement.success).to.equal(true);
    expect(settlement.payer?.toLowerCase()).to.equal(buyer.account.address.toLowerCase());
    expect(settlement.transaction).to.match(/^0x[0-9a-f]{64}$/);
    // The transfer is on the chain, from the buyer to the seller's payTo, for exactly the price.
    expect(await chain.token.balanceOf(buyer.account.address)).to.equal(1_000_000n - 6n * EXACT_PRICE);
    expect(await chain.token.balanceOf(chain.payee)).to.equal(6n * EXACT_PRICE);
    const receipt = await chain.provider.getTransactionReceipt(settlement.transaction);
    expect(receipt?.status).to.equal(1);

    const bundle = await paid.text();
    const report = await verifyBundle(bundle, {
      provider: chain.provider,
      trusted: pinTrust({ anchor: chain.anchor }, { kind: "program", what: "exact sales test" }),
      expected: { device: device.address, range: { fromSequence: 1n, toSequence: 6n } },
    });
    expect(report.ok, JSON.stringify(report.checks.filter((c) => c.status !== "pass"))).to.equal(true);
  });

  it("the batcher's channel buyers are served as before beside exact (a channel payment is not sent to the facilitator)", async function () {
    const { url } = await publishedRange(chain, service, 2);
    const header = Buffer.from(
      JSON.stringify({ x402Version: 2, accepted: { scheme: IOTRAIL_CHANNEL_SCHEME }, payload: {} }),
    ).toString("base64");
    const refused = await fetch(url(1, 2), { headers: { "payment-signature": header } });
    expect(refused.status).to.equal(402);
    const body = (await refused.json()) as { error: string; accepts: { scheme: string }[] };
    expect(body.error).to.match(/^invalid_iotrail_channel_/);
    expect(body.accepts.map((a) => a.scheme)).to.deep.equal([IOTRAIL_CHANNEL_SCHEME, EXACT_SCHEME]);
  });
});
