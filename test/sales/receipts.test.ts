/**
 * Issue 27: every paid answer carries a receipt in x402's offer-receipt form, signed by the payee's key, that
 * names the exact bytes served. A stock client reads it with x402's own helpers; iotrail checks it against the
 * bundle and the seller the buyer trusts. Adversary: a seller who signs a receipt for a bundle it did not serve.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import { decodePaymentResponseHeader } from "@x402/core/http";
import { extractReceiptFromResponse, verifyReceiptSignatureEIP712 } from "@x402/extensions/offer-receipt";
import type { EIP712SignedReceipt } from "@x402/extensions/offer-receipt";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BatcherService } from "../../src/batcher";
import { iotrail, tempDir } from "../helpers/cli";
import { ConfigError } from "../../src/errors";
import { ReceiptSigner, bundleHash, receiptOf, verifyReceipt } from "../../src/sales";
import {
  PAYEE_KEY,
  exactChain,
  exactSeller,
  publishedRange,
  skipWithoutAnvil,
  stockExactFetch,
  tokenBuyer,
} from "../helpers/exact";
import type { ExactChain } from "../helpers/exact";

describe("x402 receipts (offer-receipt): what was paid, to whom, for which bytes", function () {
  this.timeout(120_000);
  let chain: ExactChain;
  let service: BatcherService;

  before(async function () {
    skipWithoutAnvil(this);
    chain = await exactChain();
    service = await exactSeller(chain, {}, { receipts: true, receiptKey: PAYEE_KEY });
  });
  after(async function () {
    await service?.stop();
    chain?.provider.destroy();
    await chain?.node.stop();
  });

  async function buy(count: number) {
    const { url } = await publishedRange(chain, service, count);
    const buyer = await tokenBuyer(chain, 1_000_000n);
    const response = await stockExactFetch(chain, buyer)(url(1, count));
    expect(response.status).to.equal(200);
    return { response, text: await response.clone().text(), buyer, url: url(1, count) };
  }

  it("a paid answer carries the payee's EIP-712 receipt, read by x402's own helpers, naming the payer, the transfer and the bytes served", async function () {
    const { response, text, buyer, url } = await buy(3);
    const receipt = extractReceiptFromResponse(response) as EIP712SignedReceipt;
    expect(receipt.format).to.equal("eip712");
    const { signer, payload } = await verifyReceiptSignatureEIP712(receipt);
    expect(signer).to.equal(chain.payee);
    const settlement = decodePaymentResponseHeader(response.headers.get("payment-response")!);
    expect(payload).to.deep.include({
      payer: buyer.account.address,
      network: "eip155:31337",
      transaction: settlement.transaction,
      resourceUrl: `${url}#iotrail-bundle=${bundleHash(text)}`,
    });
    expect(receiptOf(settlement)).to.deep.equal(receipt);
    const check = await verifyReceipt(receipt, text, chain.payee);
    expect(check.problems).to.deep.equal([]);
    expect(check.ok).to.equal(true);
  });

  it("security: a seller who signs a receipt for a bundle it did not serve: the receipt fails against the bundle received", async function () {
    const { text } = await buy(2);
    const seller = new ReceiptSigner(PAYEE_KEY);
    const other = await seller.sign({
      url: "http://seller.example/v1/devices/0x0/bundle?from=1&to=2",
      bundleText: `${text} `,
      payer: Wallet.createRandom().address,
      network: "eip155:31337",
    });
    const check = await verifyReceipt(other, text, chain.payee);
    expect(check.ok).to.equal(false);
    expect(check.problems.join()).to.contain("the receipt is for bundle");
    // A receipt that is the seller's, for this bundle, but a byte of the bundle changed: fails too.
    const genuine = await seller.sign({
      url: "http://x/",
      bundleText: text,
      payer: chain.payee,
      network: "eip155:31337",
    });
    expect((await verifyReceipt(genuine, text, chain.payee)).ok).to.equal(true);
    expect((await verifyReceipt(genuine, text.replace("1", "2"), chain.payee)).ok).to.equal(false);
    // Signed by anyone but the seller the buyer trusts: refused, whatever it names.
    const stranger = await new ReceiptSigner(Wallet.createRandom().privateKey).sign({
      url: "http://x/",
      bundleText: text,
      payer: chain.payee,
      network: "eip155:31337",
    });
    const strangers = await verifyReceipt(stranger, text, chain.payee);
    expect(strangers.ok).to.equal(false);
    expect(strangers.problems.join()).to.contain("not by the seller");
    expect((await verifyReceipt({ format: "jws", signature: "x" }, text, chain.payee)).ok).to.equal(false);
  });

  it("iotrail verify --receipt --seller: the bundle and its receipt in one command; a receipt for other bytes fails it (exit 1)", async function () {
    const { response, text } = await buy(2);
    const dir = tempDir();
    const bundleFile = join(dir, "bought.json");
    writeFileSync(bundleFile, text);
    writeFileSync(`${bundleFile}.receipt.json`, JSON.stringify(extractReceiptFromResponse(response)));
    const on = ["--rpc", chain.node.url, "verify", bundleFile, "--anchor", chain.anchor];
    const good = await iotrail([...on, "--receipt", `${bundleFile}.receipt.json`, "--seller", chain.payee]);
    expect(good.code, good.stdout + good.stderr).to.equal(0);
    expect(good.stdout).to.contain(`✔ receipt: signed by the seller ${chain.payee} for exactly this bundle`);
    const forged = await new ReceiptSigner(PAYEE_KEY).sign({
      url: "http://x/",
      bundleText: "{}",
      payer: chain.payee,
      network: "eip155:31337",
    });
    writeFileSync(join(dir, "forged.json"), JSON.stringify(forged));
    const bad = await iotrail([...on, "--receipt", join(dir, "forged.json"), "--seller", chain.payee]);
    expect(bad.code).to.equal(1);
    expect(bad.stdout).to.contain("✘ receipt: the receipt is for bundle");
    const unnamed = await iotrail([...on, "--receipt", join(dir, "forged.json")]);
    expect(unnamed.code).to.equal(2);
    expect(unnamed.stderr).to.contain("--seller");
  });

  it("a receipt key that is not the payee's stops the start, naming both", async function () {
    try {
      const wrong = await exactSeller(chain, {}, { receipts: true, receiptKey: Wallet.createRandom().privateKey });
      await wrong.stop();
      expect.fail("expected a ConfigError");
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as Error).message).to.contain(`receipts are signed by the payee ${chain.payee}`);
    }
  });
});
