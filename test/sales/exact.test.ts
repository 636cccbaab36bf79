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
import { validateDiscoveryExtension } from "@x402/extensions/bazaar";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { PaymentPayload, PaymentRequirements } from "@x402/core/types";
import type { BatcherService } from "../../src/batcher";
import { localExactFacilitator } from "../../src/sales";
import { devAccountKey } from "../helpers/node";
import { iotrailOk } from "../helpers/cli";
import { IOTRAIL_CHANNEL_SCHEME, EXACT_SCHEME } from "../../src/sales";
import { pinTrust, verifyBundle } from "../../src/verify";
import {
  CHANNEL_PRICE,
  EXACT_PRICE,
  exactChain,
  exactSeller,
  publishedRange,
  skipWithoutAnvil,
  stockExactFetch,
  tokenBuyer,
} from "../helpers/exact";
import type { ExactChain } from "../helpers/exact";

describe("x402 exact with an outside facilitator the seller configured (sales.exact.facilitatorUrl)", function () {
  this.timeout(120_000);
  let chain: ExactChain;
  let service: BatcherService;
  let facilitator: Server;
  const calls: string[] = [];

  before(async function () {
    skipWithoutAnvil(this);
    chain = await exactChain();
    // The outside facilitator: x402's own exact facilitator behind /verify and /settle, with its own key.
    const inner = localExactFacilitator({ rpcUrl: chain.node.url, chainId: 31337n, privateKey: devAccountKey(8) });
    facilitator = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        const { paymentPayload, paymentRequirements } = JSON.parse(body) as {
          paymentPayload: PaymentPayload;
          paymentRequirements: PaymentRequirements;
        };
        calls.push(request.url!);
        const answer =
          request.url === "/verify"
            ? inner.verify(paymentPayload, paymentRequirements)
            : inner.settle(paymentPayload, paymentRequirements);
        void answer.then((result) => {
          response.setHeader("content-type", "application/json");
          response.end(JSON.stringify(result));
        });
      });
    });
    await new Promise<void>((resolve) => facilitator.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(facilitator.address() as AddressInfo).port}`;
    service = await exactSeller(chain, { facilitatorUrl: url, settlerKey: undefined });
  });
  after(async function () {
    await service?.stop();
    facilitator?.close();
    chain?.provider.destroy();
    await chain?.node.stop();
  });

  it("the seller verifies and settles through it, and a stock client's purchase lands", async function () {
    const { url } = await publishedRange(chain, service, 2);
    const buyer = await tokenBuyer(chain, 1_000_000n);
    const paid = await stockExactFetch(chain, buyer)(url(1, 2));
    expect(paid.status, await paid.clone().text()).to.equal(200);
    expect(calls).to.deep.equal(["/verify", "/settle"]);
    expect(await chain.token.balanceOf(chain.payee)).to.equal(2n * EXACT_PRICE);
  });
});

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

  it("discovery: /.well-known/x402 lists the resources, each scheme's price per reading, the bazaar input, and the devices for sale", async function () {
    const { device } = await publishedRange(chain, service, 3);
    const response = await fetch(`${service.httpUrl}/.well-known/x402`);
    expect(response.status).to.equal(200);
    const doc = (await response.json()) as {
      version: number;
      x402Version: number;
      resources: string[];
      offers: {
        resource: string;
        accepts: { scheme: string; amount: string; network: string }[];
        extensions: Record<string, unknown>;
      }[];
      devices: {
        device: string;
        resource: string;
        firstSequence: string;
        lastSequence: string;
        readings: number;
        metrics: { id: string; name?: string }[];
      }[];
      truncated: boolean;
    };
    expect(doc.version).to.equal(1);
    expect(doc.x402Version).to.equal(2);
    expect(doc.resources).to.deep.equal([
      `${service.httpUrl}/v1/devices/{device}/bundle`,
      `${service.httpUrl}/v1/readings/{device}/{sequence}/bundle`,
    ]);
    for (const offer of doc.offers) {
      expect(offer.accepts.map((a) => [a.scheme, a.amount, a.network])).to.deep.equal([
        [IOTRAIL_CHANNEL_SCHEME, CHANNEL_PRICE.toString(), "eip155:31337"],
        [EXACT_SCHEME, EXACT_PRICE.toString(), "eip155:31337"],
      ]);
      // x402's own validator accepts the bazaar extension.
      const validation = validateDiscoveryExtension(
        offer.extensions.bazaar as Parameters<typeof validateDiscoveryExtension>[0],
      );
      expect(validation.valid, JSON.stringify(validation.errors)).to.equal(true);
    }
    const listed = doc.devices.find((d) => d.device === device.address)!;
    expect(listed).to.deep.include({
      firstSequence: "1",
      lastSequence: "3",
      readings: 3,
      metrics: [{ id: listed.metrics[0]!.id, name: "temperature.mC" }],
    } as object);
    expect(doc.truncated).to.equal(false);
    // `iotrail data list` prints the same document.
    const listedByCli = await iotrailOk(["--json", "data", "list", "--from", service.httpUrl!]);
    const cliDoc = listedByCli.json<{ devices: { device: string }[]; offers: unknown[] }>();
    expect(cliDoc.devices.map((d) => d.device)).to.include(device.address);
    expect(cliDoc.offers).to.have.length(2);
    const human = await iotrailOk(["data", "list", "--from", service.httpUrl!]);
    expect(human.stdout).to.contain(`${device.address}  sequences 1..3 (3 readings)  temperature.mC`);
    expect(human.stdout).to.match(/exact +10000 base units of 0x[0-9a-fA-F]{40} on eip155:31337/);
    // The listed resource is the range itself: it answers 402 for exactly those readings.
    const offer = decodePaymentRequiredHeader((await fetch(listed.resource)).headers.get("payment-required")!);
    expect(offer.accepts[1]!.amount).to.equal((3n * EXACT_PRICE).toString());
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
