/**
 * Issue 27's adversaries of x402's `exact` scheme at an iotrail seller, each by name:
 * - a buyer who replays an authorization, or sends one for less, for another resource, or past its
 *   `validBefore`;
 * - a buyer who races two requests on one payment;
 * - a payer avoiding payment: it moves its tokens away after verification, before settlement;
 * - a look-alike token, or a facilitator, named in the payment payload.
 * Trust comes from the seller's configuration: its token, its payTo, its price, its facilitator.
 */
import { expect } from "chai";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Wallet } from "ethers";
import { waitFor } from "../helpers/batcher";
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from "@x402/core/http";
import type { PaymentPayload, PaymentRequirements } from "@x402/core/types";
import type { Hex } from "viem";
import type { BatcherService } from "../../src/batcher";
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from "../../src/eip712";
import { DeviceKey } from "../../src/device";
import { PaymentChannelsClient } from "../../src/payments";
import { ChannelBuyerScheme, EXACT_ERRORS, EXACT_SCHEME, buyOverHttp402 } from "../../src/sales";
import { DemoToken__factory } from "../../typechain-types";
import { EXACT_PRICE, exactChain, exactSeller, publishedRange, skipWithoutAnvil, tokenBuyer } from "../helpers/exact";
import type { ExactChain } from "../helpers/exact";

type Buyer = Awaited<ReturnType<typeof tokenBuyer>>;

/** The seller's `exact` offer for `url`. */
async function offerOf(url: string): Promise<{ requirements: PaymentRequirements; resource: { url: string } }> {
  const response = await fetch(url);
  expect(response.status).to.equal(402);
  const required = decodePaymentRequiredHeader(response.headers.get("payment-required")!);
  const requirements = required.accepts.find((a) => a.scheme === EXACT_SCHEME)!;
  return { requirements, resource: required.resource };
}

/**
 * A payment header as a client builds it: the buyer signs `TransferWithAuthorization` under `token`'s domain
 * (the seller's token unless overridden), echoing `accepted`; every field may be overridden.
 */
async function signedPayment(
  chain: ExactChain,
  buyer: Buyer,
  offer: { requirements: PaymentRequirements; resource: { url: string } },
  overrides: {
    value?: bigint;
    validBefore?: bigint;
    token?: string;
    accepted?: Partial<PaymentRequirements>;
    nonce?: Hex;
  } = {},
): Promise<string> {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const authorization = {
    from: buyer.account.address,
    to: offer.requirements.payTo as Hex,
    value: overrides.value ?? BigInt(offer.requirements.amount),
    validAfter: 0n,
    validBefore: overrides.validBefore ?? now + 120n,
    nonce: overrides.nonce ?? (Wallet.createRandom().privateKey as Hex),
  };
  const signature = await buyer.account.signTypedData({
    domain: {
      name: "iotrail Demo USD",
      version: "1",
      chainId: 31337,
      verifyingContract: (overrides.token ?? String(chain.token.target)) as Hex,
    },
    types: TRANSFER_WITH_AUTHORIZATION_TYPES,
    primaryType: "TransferWithAuthorization",
    message: authorization,
  });
  const payload: PaymentPayload = {
    x402Version: 2,
    resource: offer.resource,
    accepted: { ...offer.requirements, ...overrides.accepted } as PaymentRequirements,
    payload: {
      signature,
      authorization: {
        ...authorization,
        value: authorization.value.toString(),
        validAfter: "0",
        validBefore: authorization.validBefore.toString(),
      },
    },
  };
  return encodePaymentSignatureHeader(payload);
}

const buy = (url: string, header: string) => fetch(url, { headers: { "payment-signature": header } });

async function refusal(response: Response): Promise<string> {
  expect(response.status, "refused with a 402").to.equal(402);
  const body = (await response.json()) as { error: string; accepts: { scheme: string }[] };
  expect(
    body.accepts.map((a) => a.scheme),
    "the corrective 402 offers every scheme again",
  ).to.include(EXACT_SCHEME);
  return body.error;
}

describe("adversary: buyers and look-alikes against an x402 exact seller", function () {
  this.timeout(180_000);
  let chain: ExactChain;
  let service: BatcherService;
  let range: (from: number, to: number) => string;

  before(async function () {
    skipWithoutAnvil(this);
    chain = await exactChain();
    service = await exactSeller(chain);
    range = (await publishedRange(chain, service, 6)).url;
  });
  after(async function () {
    await service?.stop();
    chain?.provider.destroy();
    await chain?.node.stop();
  });

  it("security: a buyer who replays a settled authorization gets nothing more (nonce already used), and paid once", async function () {
    const buyer = await tokenBuyer(chain, 1_000_000n);
    const url = range(1, 3);
    const header = await signedPayment(chain, buyer, await offerOf(url));
    expect((await buy(url, header)).status).to.equal(200);
    const payeeAfterOne = await chain.token.balanceOf(chain.payee);
    expect(await refusal(await buy(url, header))).to.equal(EXACT_ERRORS.nonceUsed);
    // Replayed for another resource of the same price: still the one used nonce.
    expect(await refusal(await buy(range(4, 6), header))).to.equal(EXACT_ERRORS.nonceUsed);
    expect(await chain.token.balanceOf(buyer.account.address)).to.equal(1_000_000n - 3n * EXACT_PRICE);
    expect(await chain.token.balanceOf(chain.payee)).to.equal(payeeAfterOne);
  });

  it("security: an authorization for less than the price is refused, whether or not the echo claims the price", async function () {
    const buyer = await tokenBuyer(chain, 1_000_000n);
    const url = range(1, 4);
    const offer = await offerOf(url);
    const less = BigInt(offer.requirements.amount) - 1n;
    // Honest echo of the price, authorization for less: x402's facilitator compares the value with the seller's price.
    expect(await refusal(await buy(url, await signedPayment(chain, buyer, offer, { value: less })))).to.equal(
      "invalid_exact_evm_payload_authorization_value_mismatch",
    );
    // An echo that claims the lower price is not the seller's offer.
    const cheaper = await signedPayment(chain, buyer, offer, { value: less, accepted: { amount: less.toString() } });
    expect(await refusal(await buy(url, cheaper))).to.equal(EXACT_ERRORS.mismatch);
    expect(await chain.token.balanceOf(buyer.account.address)).to.equal(1_000_000n);
  });

  it("security: an authorization made for another resource (a shorter range) does not buy a longer one", async function () {
    const buyer = await tokenBuyer(chain, 1_000_000n);
    const short = await offerOf(range(1, 1));
    const header = await signedPayment(chain, buyer, short);
    expect(await refusal(await buy(range(1, 6), header))).to.equal(EXACT_ERRORS.mismatch);
    const relabeled = await signedPayment(chain, buyer, short, {
      accepted: { amount: (6n * EXACT_PRICE).toString() },
    });
    expect(await refusal(await buy(range(1, 6), relabeled))).to.equal(
      "invalid_exact_evm_payload_authorization_value_mismatch",
    );
    expect(await chain.token.balanceOf(buyer.account.address)).to.equal(1_000_000n);
  });

  it("security: an authorization past (or too near) its validBefore is refused", async function () {
    const buyer = await tokenBuyer(chain, 1_000_000n);
    const url = range(2, 3);
    const now = BigInt(Math.floor(Date.now() / 1000));
    for (const validBefore of [now - 10n, now + 2n]) {
      const header = await signedPayment(chain, buyer, await offerOf(url), { validBefore });
      expect(await refusal(await buy(url, header))).to.equal("invalid_exact_evm_payload_authorization_valid_before");
    }
    expect(await chain.token.balanceOf(buyer.account.address)).to.equal(1_000_000n);
  });

  it("security: a buyer who races requests on one payment gets one answer, and pays once", async function () {
    const buyer = await tokenBuyer(chain, 1_000_000n);
    const url = range(1, 2);
    const header = await signedPayment(chain, buyer, await offerOf(url));
    const payeeBefore = await chain.token.balanceOf(chain.payee);
    const answers = await Promise.all([buy(url, header), buy(url, header), buy(range(3, 4), header)]);
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).to.deep.equal([200, 402, 402]);
    for (const answer of answers.filter((a) => a.status === 402)) {
      expect(await refusal(answer)).to.equal(EXACT_ERRORS.nonceUsed);
    }
    expect(await chain.token.balanceOf(chain.payee)).to.equal(payeeBefore + 2n * EXACT_PRICE);
  });

  it("security: a look-alike token (same name, same version, another address) pays for nothing", async function () {
    const buyer = await tokenBuyer(chain, 1_000_000n);
    const lookAlike = await new DemoToken__factory(await chain.provider.getSigner(0)).deploy();
    await (await lookAlike.mint(buyer.account.address, 1_000_000n)).wait();
    const url = range(1, 2);
    const offer = await offerOf(url);
    // Named in the echo: not the seller's asset.
    const named = await signedPayment(chain, buyer, offer, {
      token: String(lookAlike.target),
      accepted: { asset: String(lookAlike.target) },
    });
    expect(await refusal(await buy(url, named))).to.equal(EXACT_ERRORS.mismatch);
    // Signed under the look-alike's domain, echoing the seller's asset: the signature is not for the seller's token.
    const signedForLookAlike = await signedPayment(chain, buyer, offer, { token: String(lookAlike.target) });
    expect(await refusal(await buy(url, signedForLookAlike))).to.equal("invalid_exact_evm_signature");
    expect(await lookAlike.balanceOf(buyer.account.address)).to.equal(1_000_000n);
    expect(await chain.token.balanceOf(buyer.account.address)).to.equal(1_000_000n);
  });

  it("security: a facilitator named in the payment payload is never asked; the seller's own judges", async function () {
    let asked = 0;
    const rogue = createServer((request, response) => {
      asked++;
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ isValid: true, success: true, transaction: `0x${"11".repeat(32)}` }));
    });
    await new Promise<void>((resolve) => rogue.listen(0, "127.0.0.1", resolve));
    const rogueUrl = `http://127.0.0.1:${(rogue.address() as AddressInfo).port}`;
    try {
      const buyer = await tokenBuyer(chain, 1_000n); // less than the price
      const url = range(5, 6);
      const offer = await offerOf(url);
      const header = await signedPayment(chain, buyer, offer, {
        accepted: { extra: { ...offer.requirements.extra, facilitator: rogueUrl, facilitatorUrl: rogueUrl } },
      });
      const error = await refusal(await buy(url, header));
      expect(error).to.equal(EXACT_ERRORS.balance);
      expect(asked, "the rogue facilitator was never called").to.equal(0);
    } finally {
      rogue.close();
    }
  });
});

describe("adversary: a payer avoiding payment by x402 exact, on a chain that mines when told", function () {
  this.timeout(180_000);
  let chain: ExactChain;
  let service: BatcherService;
  let range: (from: number, to: number) => string;

  before(async function () {
    skipWithoutAnvil(this);
    chain = await exactChain();
    service = await exactSeller(chain, { confirmations: 2 }, { confirmations: 2 });
    range = (await publishedRange(chain, service, 4)).url;
  });
  after(async function () {
    // A test that failed midway leaves settlements unmined: mine them, so the seller's waits end.
    await chain?.provider.send("evm_setAutomine", [true]).catch(() => undefined);
    for (let i = 0; i < 3; i++) await chain?.provider.send("evm_mine", []).catch(() => undefined);
    await service?.stop();
    chain?.provider.destroy();
    await chain?.node.stop();
  });

  /** The hashes of the transactions waiting in the node's pool. */
  const pending = async () => {
    const pool = (await chain.provider.send("txpool_content", [])) as {
      pending: Record<string, Record<string, { hash: string }>>;
    };
    return Object.values(pool.pending).flatMap((byNonce) => Object.values(byNonce).map((tx) => tx.hash));
  };

  it("security: an authorization that is not yet final is never counted: the answer waits for the configured confirmations", async function () {
    const buyer = await tokenBuyer(chain, 1_000_000n);
    const url = range(1, 2);
    const header = await signedPayment(chain, buyer, await offerOf(url));
    await chain.provider.send("evm_setAutomine", [false]);
    let answered = false;
    const answer = buy(url, header).then((response) => {
      answered = true;
      return response;
    });
    // The settlement waits in the mempool; nothing is served for it.
    await waitFor(async () => ((await pending()).length > 0 ? true : undefined), 20_000, "the settlement submitted");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(answered, "not served while the transfer is unmined").to.equal(false);
    await chain.provider.send("evm_mine", []);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(answered, "not served at one confirmation of two").to.equal(false);
    await chain.provider.send("evm_mine", []);
    const response = await answer;
    expect(response.status).to.equal(200);
    await chain.provider.send("evm_setAutomine", [true]);
  });

  it("security: a channel deposit that is not yet final (one block of two) pays for nothing; one block later it does", async function () {
    const url = range(1, 1);
    const payerKey = DeviceKey.generate();
    const payer = payerKey.wallet(chain.provider);
    const funder = await chain.provider.getSigner(0);
    await (await funder.sendTransaction({ to: payer.address, value: 10n ** 18n })).wait();
    const scheme = new ChannelBuyerScheme({
      channels: PaymentChannelsClient.connect({ address: chain.paymentChannels, runner: payer }),
      key: payerKey,
    });
    const buy = () => buyOverHttp402({ url, scheme, network: "eip155:31337", timeoutMs: 30_000 });
    // The buyer opens its channel (mined at once) and pays from it: the seller reads one block back.
    try {
      await buy();
      expect.fail("expected the payment to be refused");
    } catch (error) {
      expect((error as Error).message).to.contain("invalid_iotrail_channel_channel_not_found");
    }
    await chain.provider.send("evm_mine", []);
    const purchase = await buy();
    expect(purchase.settlement?.success).to.equal(true);
  });

  it("security: a payer who moves its tokens away after verification gets no data (its settlement fails first)", async function () {
    const buyer = await tokenBuyer(chain, 2n * EXACT_PRICE);
    const admin = await chain.provider.getSigner(0);
    await (await admin.sendTransaction({ to: buyer.account.address, value: 10n ** 18n })).wait();
    const url = range(3, 4);
    const header = await signedPayment(chain, buyer, await offerOf(url));
    await chain.provider.send("evm_setAutomine", [false]);
    const answer = buy(url, header);
    const [settlement] = await waitFor(
      async () => {
        const txs = await pending();
        return txs.length > 0 ? txs : undefined;
      },
      20_000,
      "the settlement submitted",
    );
    // The payer front-runs it: all its tokens elsewhere, at a higher fee, in the same block.
    const escape = new Wallet(buyer.key, chain.provider);
    const tx = await escape.sendTransaction({
      to: String(chain.token.target),
      data: chain.token.interface.encodeFunctionData("transfer", [Wallet.createRandom().address, 2n * EXACT_PRICE]),
      gasLimit: 100_000n, // not estimated: against the pool, the settlement already took the tokens
      maxPriorityFeePerGas: 10n ** 11n,
      maxFeePerGas: 10n ** 12n,
    });
    await chain.provider.send("evm_mine", []);
    await chain.provider.send("evm_mine", []);
    await chain.provider.send("evm_setAutomine", [true]);
    expect((await chain.provider.getTransactionReceipt(tx.hash))?.status).to.equal(1);
    expect((await chain.provider.getTransactionReceipt(settlement!))?.status, "the settlement reverted").to.equal(0);
    const response = await answer;
    expect(response.status, "no data for a payment that did not land").to.equal(402);
    expect(await chain.token.balanceOf(chain.payee)).to.equal(2n * EXACT_PRICE); // the first test's payment only
  });
});
