import { expect } from "chai";
import { ethers } from "hardhat";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodePaymentSignatureHeader,
} from "@x402/core/http";
import { DeviceKey } from "../../src/device";
import { PaymentChannelsClient, SqliteVoucherStore } from "../../src/payments";
import { IOTRAIL_CHANNEL_SCHEME, PAYMENT_ERRORS } from "../../src/sales";
import { startRpcServer, waitFor } from "../helpers/batcher";
import { iotrail, iotrailOk, tempDir } from "../helpers/cli";
import { PRICE, publish, salesFixtureOn, withSeller } from "../helpers/sales";

describe("iotrail data buy (readings sold over HTTP 402, end to end)", function () {
  this.timeout(120_000);
  let rpc: { url: string; close: () => Promise<void> };
  let salesFixture: ReturnType<typeof salesFixtureOn>;
  before(async function () {
    rpc = await startRpcServer();
    salesFixture = salesFixtureOn(rpc.url);
  });
  after(async function () {
    await rpc.close();
  });

  it("a buyer with no prior state pays for, receives and verifies a range; a second buyer process recovers the channel", async function () {
    const fx = await loadFixture(salesFixture);
    await withSeller(fx, async (service, vouchers) => {
      const seller = await publish(fx, service, 10);
      const range = `${service.httpUrl}/v1/devices/${seller}/bundle?from=1&to=10`;
      // Anchored once the range answers 402 (an incomplete or unanchored range answers 409 or 202, unpriced).
      const required = await waitFor(
        async () => {
          const response = await fetch(range);
          return response.status === 402 ? response : undefined;
        },
        30_000,
        "the range to be anchored and for sale",
      );
      // x402's own decoder reads the requirements.
      const paymentRequired = decodePaymentRequiredHeader(required.headers.get("payment-required")!);
      expect(paymentRequired.x402Version).to.equal(2);
      expect(paymentRequired.error).to.equal(PAYMENT_ERRORS.required);
      expect(paymentRequired.accepts[0]).to.deep.include({
        scheme: IOTRAIL_CHANNEL_SCHEME,
        network: "eip155:31337",
        asset: ethers.ZeroAddress,
        amount: (10n * PRICE).toString(),
        payTo: fx.payee,
      });
      expect(await required.json()).to.deep.equal(paymentRequired);

      const signer = join(fx.fleet, "device-2.json");
      const file = join(tempDir(), "bought.json");
      const payeeBefore = await ethers.provider.getBalance(fx.payee);
      const bought = await iotrailOk([
        ...fx.on,
        "--account",
        "2",
        "--json",
        "data",
        "buy",
        "--from",
        service.httpUrl,
        "--device",
        seller,
        "--range",
        "1..10",
        "--signer",
        signer,
        "-o",
        file,
      ]);
      const result = bought.json<{
        verdict: string;
        price: string;
        channel: { channelId: string; charged: string };
        attempts: number;
      }>();
      expect(result.verdict).to.equal("verified");
      expect(result.price).to.equal((10n * PRICE).toString());
      expect(result.channel.charged).to.equal((10n * PRICE).toString());
      expect(result.attempts).to.equal(1);
      expect((JSON.parse(readFileSync(file, "utf8")) as { readings: unknown[] }).readings).to.have.length(10);

      // security: a look-alike seller that answers (for free) with a bundle whose reading it changed: the buyer
      // checks against its own deployment record and the chain, never the seller, and exits 1.
      const forged = JSON.parse(readFileSync(file, "utf8")) as { readings: { reading: { value: string } }[] };
      forged.readings[2]!.reading.value = "123456";
      const fake = createServer((_request, response) => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify(forged));
      });
      await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
      const fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
      try {
        const cheated = await iotrail([
          ...fx.on,
          "--account",
          "2",
          "data",
          "buy",
          "--from",
          fakeUrl,
          "--device",
          seller,
          "--range",
          "1..10",
          "--signer",
          signer,
        ]);
        expect(cheated.code, cheated.stdout + cheated.stderr).to.equal(1);
        expect(cheated.stdout).to.contain("without payment");
      } finally {
        await new Promise((resolve) => fake.close(resolve));
      }

      // The seller kept the voucher on disk before it answered.
      const store = new SqliteVoucherStore(vouchers);
      const stored = (await store.get(BigInt(result.channel.channelId)))!;
      await store.close();
      expect(stored.amount).to.equal(10n * PRICE);

      // Another process, no local state: it finds its channel on the chain, learns the seller's charge from a
      // corrective 402 that shows its own voucher, and pays charged + price.
      const again = await iotrailOk([
        ...fx.on,
        "--account",
        "2",
        "--json",
        "data",
        "buy",
        "--from",
        service.httpUrl,
        "--device",
        seller,
        "--range",
        "3..5",
        "--signer",
        signer,
      ]);
      const second = again.json<{
        verdict: string;
        channel: { channelId: string; charged: string };
        attempts: number;
      }>();
      expect(second.verdict).to.equal("verified");
      expect(second.channel.channelId).to.equal(result.channel.channelId);
      expect(second.channel.charged).to.equal((13n * PRICE).toString());
      expect(second.attempts).to.equal(2);

      // The payee redeems the stored best voucher on the chain: it is paid what the buyer signed for.
      const channels = PaymentChannelsClient.connect({
        address: fx.record.contracts.PaymentChannels.address,
        runner: (await ethers.getSigners())[5]!,
      });
      const best = (await new SqliteVoucherStore(vouchers).get(BigInt(result.channel.channelId)))!;
      await channels.redeem({ channelId: best.channelId, amount: best.amount, signature: best.signature });
      expect(await ethers.provider.getBalance(fx.payee)).to.equal(payeeBefore + 13n * PRICE);
    });
  });

  it("security: an anonymous network client gets no readings without a payment that covers them, and a payment serves once", async function () {
    const fx = await loadFixture(salesFixture);
    await withSeller(fx, async (service) => {
      const seller = await publish(fx, service, 4);
      const range = `${service.httpUrl}/v1/devices/${seller}/bundle?from=1&to=4`;
      await waitFor(async () => ((await fetch(range)).status === 402 ? true : undefined), 30_000, "the range for sale");
      // Whole batches are not sold: no bundles or dumps without the admin token.
      for (const path of ["/v1/batches/1/bundles", "/v1/batches/1/dump"]) {
        expect((await fetch(`${service.httpUrl}${path}`)).status).to.equal(403);
      }
      expect((await fetch(`${service.httpUrl}/v1/readings/${seller}/1/bundle`)).status).to.equal(402);

      // A buyer with a channel pays for 1..4 once, then replays the same PAYMENT-SIGNATURE header.
      const key = await DeviceKey.load(join(fx.fleet, "device-2.json"));
      const [, , buyer] = await ethers.getSigners();
      const channels = PaymentChannelsClient.connect({
        address: fx.record.contracts.PaymentChannels.address,
        runner: buyer!,
      });
      const { channelId } = await channels.open({
        payee: fx.payee,
        signer: key.address,
        token: ethers.ZeroAddress,
        amount: 100n * PRICE,
      });
      const terms = await channels.terms(channelId);
      const domain = await channels.domain();
      const pay = (amount: bigint, accepted: Record<string, unknown>) =>
        encodePaymentSignatureHeader({
          x402Version: 2,
          accepted: accepted as never,
          payload: {
            type: "voucher",
            channel: { ...terms, cap: terms.cap.toString(), expiry: terms.expiry.toString() },
            voucher: {
              channelId: ethers.toBeHex(channelId, 32),
              amount: amount.toString(),
              signature: key.signVoucher(domain, channelId, amount),
            },
          },
        });
      const accepted = decodePaymentRequiredHeader((await fetch(range)).headers.get("payment-required")!).accepts[0]!;

      // Short by one wei: 402 again, with the charge to pay on (x402's corrective answer).
      const short = await fetch(range, { headers: { "payment-signature": pay(4n * PRICE - 1n, accepted) } });
      expect(short.status).to.equal(402);
      const corrective = decodePaymentRequiredHeader(short.headers.get("payment-required")!);
      expect(corrective.error).to.equal(PAYMENT_ERRORS.cumulative);
      expect(corrective.accepts[0]!.extra.channelState).to.deep.include({
        charged: "0",
        deposit: (100n * PRICE).toString(),
      });

      const header = pay(4n * PRICE, accepted);
      const paid = await fetch(range, { headers: { "payment-signature": header } });
      expect(paid.status).to.equal(200);
      const settlement = decodePaymentResponseHeader(paid.headers.get("payment-response")!);
      expect(settlement).to.deep.include({ success: true, network: "eip155:31337", payer: terms.payer });
      expect((await paid.json()) as { readings: unknown[] })
        .to.have.property("readings")
        .with.length(4);

      const replayed = await fetch(range, { headers: { "payment-signature": header } });
      expect(replayed.status).to.equal(402);
      expect(decodePaymentRequiredHeader(replayed.headers.get("payment-required")!).error).to.equal(
        PAYMENT_ERRORS.cumulative,
      );

      // A voucher signed by a key that is not the channel's signer: refused, nothing served.
      const stranger = DeviceKey.generate();
      const forged = encodePaymentSignatureHeader({
        x402Version: 2,
        accepted,
        payload: {
          type: "voucher",
          channel: { ...terms, cap: "0", expiry: "0" },
          voucher: {
            channelId: ethers.toBeHex(channelId, 32),
            amount: (8n * PRICE).toString(),
            signature: stranger.signVoucher(domain, channelId, 8n * PRICE),
          },
        },
      });
      const refused = await fetch(range, { headers: { "payment-signature": forged } });
      expect(refused.status).to.equal(402);
      expect(decodePaymentRequiredHeader(refused.headers.get("payment-required")!).error).to.equal(
        PAYMENT_ERRORS.voucher,
      );

      // Garbage in the header: a clear 402, not a crash.
      const garbage = await fetch(range, { headers: { "payment-signature": "not base64 json" } });
      expect(garbage.status).to.equal(402);
      expect(decodePaymentRequiredHeader(garbage.headers.get("payment-required")!).error).to.equal(
        PAYMENT_ERRORS.malformed,
      );
    });
  });

  it("a buyer with no registry standing signs its own vouchers with its account's key (no --signer), and is served", async function () {
    const fx = await loadFixture(salesFixture);
    await withSeller(fx, async (service) => {
      const seller = await publish(fx, service, 3);
      const range = `${service.httpUrl}/v1/devices/${seller}/bundle?from=1&to=3`;
      await waitFor(async () => ((await fetch(range)).status === 402 ? true : undefined), 30_000, "the range for sale");
      const account = join(tempDir(), "buyer.json");
      const made = await iotrailOk(["--json", "devices", "keygen", "-o", account]);
      const buyer = made.json<{ address: string }>().address;
      const [funder] = await ethers.getSigners();
      await (await funder!.sendTransaction({ to: buyer, value: ethers.parseEther("1") })).wait();
      const args = ["data", "buy", "--from", service.httpUrl, "--device", seller, "--range", "1..3"];
      // A node's unlocked account has no key on this machine to sign with: the error says what to give.
      const noKey = await iotrail([...fx.on, "--account", "3", ...args]);
      expect(noKey.code).to.equal(2);
      expect(noKey.stderr).to.contain("data buy needs a key to sign vouchers");
      const bought = await iotrail([...fx.on, "--key", account, "--json", ...args]);
      expect(bought.code, bought.stderr).to.equal(0);
      const result = bought.json<{ verdict: string; channel: { channelId: string } }>();
      expect(result.verdict).to.equal("verified");
      const channels = PaymentChannelsClient.connect({
        address: fx.record.contracts.PaymentChannels.address,
        runner: ethers.provider,
      });
      const channel = await channels.getChannel(BigInt(result.channel.channelId));
      expect(channel.payer).to.equal(buyer);
      expect(channel.signer, "the payer signs its own vouchers").to.equal(buyer);
    });
  });

  it("refuses a price above --max-price before signing anything", async function () {
    const fx = await loadFixture(salesFixture);
    await withSeller(fx, async (service) => {
      const seller = await publish(fx, service, 2);
      const range = `${service.httpUrl}/v1/devices/${seller}/bundle?from=1&to=2`;
      await waitFor(async () => ((await fetch(range)).status === 402 ? true : undefined), 30_000, "the range for sale");
      const refused = await iotrail([
        ...fx.on,
        "--account",
        "2",
        "data",
        "buy",
        "--from",
        service.httpUrl,
        "--device",
        seller,
        "--range",
        "1..2",
        "--signer",
        join(fx.fleet, "device-2.json"),
        "--max-price",
        "1000",
        "--raw",
      ]);
      expect(refused.code).to.not.equal(0);
      expect(refused.stderr).to.contain("the seller asks 2000 (base units), more than the 1000 (base units) allowed");
      // Without --raw, both amounts in the token's units (issue 24, defect 10: the error was in wei).
      const inEth = await iotrail([
        ...fx.on,
        "--account",
        "2",
        "data",
        "buy",
        "--from",
        service.httpUrl,
        "--device",
        seller,
        "--range",
        "1..2",
        "--signer",
        join(fx.fleet, "device-2.json"),
        "--max-price",
        "0.000000000000001",
      ]);
      expect(inEth.code).to.not.equal(0);
      expect(inEth.stderr).to.contain(
        "the seller asks 0.000000000000002 ETH, more than the 0.000000000000001 ETH allowed",
      );
    });
  });
});
