/**
 * A seller serving the wrong data (N-M1), or a proxy in front of an honest one: it serves another device's
 * genuine bundle, or a shorter range, for the price of what was asked, or prices another resource. The buyer
 * checks what it asked for (device, exact range, resource), not just "something verified", and stops paying
 * a seller that served a mismatch.
 */
import { expect } from "chai";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import { DeviceKey } from "../../src/device";
import { PaymentChannelsClient, SqliteVoucherStore } from "../../src/payments";
import { ChannelBuyerScheme } from "../../src/sales";
import { startRpcServer, waitFor } from "../helpers/batcher";
import { iotrail, tempDir } from "../helpers/cli";
import { bundleFixture } from "../helpers/bundle";
import { existsSync } from "node:fs";
import { publish, salesFixtureOn, withSeller } from "../helpers/sales";

/**
 * A proxy in front of `target` that rewrites every request path with `request` and every payment answer (402
 * bodies and x402 headers, decoded and re-encoded) with `answer`: what a seller, or a man in the middle, can do.
 */
async function rewritingProxy(
  target: string,
  request: (path: string) => string,
  answer: (text: string) => string,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    void (async () => {
      const headers: Record<string, string> = {};
      const payment = req.headers["payment-signature"];
      if (typeof payment === "string") headers["payment-signature"] = payment;
      const upstream = await fetch(`${target}${request(req.url!)}`, { headers });
      const out: Record<string, string> = { "content-type": upstream.headers.get("content-type") ?? "text/plain" };
      for (const name of ["payment-required", "payment-response"]) {
        const value = upstream.headers.get(name);
        if (value === null) continue;
        out[name] = Buffer.from(answer(Buffer.from(value, "base64").toString("utf8"))).toString("base64");
      }
      res.writeHead(upstream.status, out);
      // The bundle itself goes through untouched: genuine data, just not what was asked for.
      const text = await upstream.text();
      res.end(upstream.status === 200 ? text : answer(text));
    })().catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe("adversary: a seller serving the wrong data", function () {
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

  it("security (N-M1): another device's genuine bundle, or a shorter range, sold as the one asked for: data buy exits 1 on expected-subject", async function () {
    const fx = await loadFixture(salesFixture);
    await withSeller(fx, async (service, vouchers) => {
      const asked = await publish(fx, service, 10);
      const other = (await DeviceKey.load(join(fx.fleet, "device-2.json"))).address;
      for (const who of [asked, other]) {
        const range = `${service.httpUrl}/v1/devices/${who}/bundle?from=1&to=10`;
        await waitFor(async () => ((await fetch(range)).status === 402 ? true : undefined), 30_000, "for sale");
      }
      const buy = (from: string, range = "1..10") =>
        iotrail([
          ...fx.on,
          "--account",
          "2",
          "--json",
          "data",
          "buy",
          "--from",
          from,
          "--device",
          asked,
          "--range",
          range,
          "--signer",
          join(fx.fleet, "device-2.json"),
        ]);
      // The proxy asks the seller for the other device and tells the buyer the price is for the asked one.
      const swap = await rewritingProxy(
        service.httpUrl,
        (path) => path.replace(asked, other),
        (text) => text.replaceAll(other, asked).replaceAll(other.toLowerCase(), asked.toLowerCase()),
      );
      // ... or for readings 1..5 only, priced as 1..10 was asked.
      const shorter = await rewritingProxy(
        service.httpUrl,
        (path) => path.replace("to=10", "to=5"),
        (text) => text.replace("to=5", "to=10"),
      );
      try {
        for (const proxy of [swap, shorter]) {
          const cheated = await buy(proxy.url);
          expect(cheated.code, cheated.stderr).to.equal(1);
          const report = JSON.parse(cheated.stdout) as {
            verdict: string;
            report: { checks: { check: string; status: string; message: string }[] };
          };
          expect(report.verdict).to.equal("failed");
          const subject = report.report.checks.find((c) => c.check === "expected-subject")!;
          expect(subject.status, subject.message).to.equal("fail");
        }
      } finally {
        swap.server.close();
        shorter.server.close();
      }
      // The honest seller, asked directly, sells exactly what was asked.
      const honest = await buy(service.httpUrl, "1..10");
      expect(honest.code, honest.stderr).to.equal(0);
      await new SqliteVoucherStore(vouchers).close();
    });
  });

  it("security (N-M1): a 402 that prices another resource than the one asked is not paid at all", async function () {
    const fx = await loadFixture(salesFixture);
    await withSeller(fx, async (service, vouchers) => {
      const asked = await publish(fx, service, 4);
      const other = (await DeviceKey.load(join(fx.fleet, "device-2.json"))).address;
      const range = `${service.httpUrl}/v1/devices/${other}/bundle?from=1&to=4`;
      await waitFor(async () => ((await fetch(range)).status === 402 ? true : undefined), 30_000, "for sale");
      const proxy = await rewritingProxy(
        service.httpUrl,
        (path) => path.replace(asked, other),
        (text) => text,
      );
      try {
        const refused = await iotrail([
          ...fx.on,
          "--account",
          "2",
          "data",
          "buy",
          "--from",
          proxy.url,
          "--device",
          asked,
          "--range",
          "1..4",
          "--signer",
          join(fx.fleet, "device-2.json"),
        ]);
        expect(refused.code).to.equal(2);
        expect(refused.stderr).to.contain("not for what was asked; nothing was paid");
      } finally {
        proxy.server.close();
      }
      const store = new SqliteVoucherStore(vouchers);
      const [, , buyer] = await ethers.getSigners();
      const channels = PaymentChannelsClient.connect({
        address: fx.record.contracts.PaymentChannels.address,
        runner: buyer!,
      });
      const key = await DeviceKey.load(join(fx.fleet, "device-2.json"));
      const opened = await channels.recoverBySalt({
        payer: buyer!.address,
        payee: fx.payee,
        signer: key.address,
        token: ethers.ZeroAddress,
        cap: 0n,
        expiry: 0n,
      });
      expect(opened, "no channel was even opened").to.deep.equal([]);
      await store.close();
    });
  });

  it("security (N-M1): iotrail bundle writes nothing when the batcher answers with another device's or range's bundle", async function () {
    const fx = await bundleFixture();
    const served = JSON.stringify(fx.bundle); // fx.device's readings 1..12, genuine
    const batcher = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(served);
    });
    await new Promise<void>((resolve) => batcher.listen(0, "127.0.0.1", resolve));
    const from = `http://127.0.0.1:${(batcher.address() as AddressInfo).port}`;
    try {
      const out = join(tempDir(), "trip.json");
      for (const asked of [
        ["--device", DeviceKey.generate().address, "--range", "1..12"],
        ["--device", fx.device.address, "--range", "1..20"],
        ["--device", fx.device.address, "--sequence", "3"],
      ]) {
        const result = await iotrail(["bundle", "--from", from, ...asked, "-o", out]);
        expect(result.code, result.stderr).to.equal(2);
        expect(result.stderr).to.contain("expected-subject");
        expect(existsSync(out), "nothing written").to.equal(false);
      }
      const right = await iotrail([
        "bundle",
        "--from",
        from,
        "--device",
        fx.device.address,
        "--range",
        "1..12",
        "-o",
        out,
      ]);
      expect(right.code, right.stderr).to.equal(0);
      expect(existsSync(out)).to.equal(true);
    } finally {
      batcher.close();
    }
  });

  it("security (N-M1): a buyer scheme that was told a seller served a mismatch never pays it again", async function () {
    const [payer, payee] = await ethers.getSigners();
    const channels = PaymentChannelsClient.connect({ address: ethers.ZeroAddress, runner: payer! });
    const scheme = new ChannelBuyerScheme({ channels, key: DeviceKey.generate() });
    scheme.refuse(payee!.address, "it served a bundle that failed expected-subject");
    const refused = await scheme
      .createPaymentPayload(2, {
        scheme: "iotrail-channel",
        network: "eip155:31337",
        asset: ethers.ZeroAddress,
        amount: "1000",
        payTo: payee!.address,
        maxTimeoutSeconds: 60,
        extra: {},
      })
      .catch((error: unknown) => error);
    expect((refused as { code?: string }).code).to.equal("SELLER_REFUSED");
  });
});
