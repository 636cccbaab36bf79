// npm run bench:sales [-- --quick]: paid range bundles per second for one seller, by scheme, side by side
// with unpaid bundles of the same size in the same run, and the gas each paid request costs on the chain.
//   - the chain is a fresh anvil (its clock is the wall clock, as x402's clients assume);
//   - one in-process batcher sells (iotrail-channel and x402 exact), a second one on the same chain serves
//     the same kind of range free: the baseline;
//   - each buyer buys one at a time (a buyer waits for its bundle before it pays again), as a device does.
// `iotrail-channel` checks a voucher signature against the chain's channel state and records it (no
// transaction per request; the payee claims many channels at once later); `exact` settles each payment
// on the chain before the bundle goes out. Nothing here asserts a timing.
import { decodePaymentResponseHeader } from "@x402/core/http";
import { DeviceKey } from "../src/device";
import { initKeccak } from "../src/merkle";
import { PaymentChannelsClient } from "../src/payments";
import { ChannelBuyerScheme, buyOverHttp402 } from "../src/sales";
import {
  CHANNEL_PRICE,
  EXACT_PRICE,
  exactChain,
  exactSeller,
  publishedRange,
  stockExactFetch,
  tokenBuyer,
} from "../test/helpers/exact";
import { contractsTestConfig, startBatcher } from "../test/helpers/batcher";
import { QUICK, record } from "./report";

const PURCHASES = QUICK ? 3 : Number(process.env.BENCH_SALES_PURCHASES ?? 200);
const READINGS = 10;

async function timed(count: number, one: (i: number) => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await one(i);
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function main(): Promise<void> {
  await initKeccak();
  const chain = await exactChain();
  const base = contractsTestConfig(chain.node.url, { chainId: 31337n });
  // One buyer makes every request here: lift the per-client GET budget (20/s by default) out of the way.
  const http = { ...base.http, getsPerSecond: 100_000 };
  const seller = await exactSeller(chain, {}, {}, { http });
  const free = await startBatcher(
    contractsTestConfig(
      chain.node.url,
      { chainId: 31337n, anchor: chain.anchor, registry: chain.registry },
      { anchoring: { ...base.anchoring, confirmations: 1 }, http },
    ),
  );
  try {
    const sold = (await publishedRange(chain, seller, READINGS)).url(1, READINGS);
    const given = (await publishedRange(chain, free, READINGS)).url(1, READINGS);

    // Unpaid: the same range size from a batcher that does not sell.
    const unpaid = await timed(PURCHASES, async () => {
      const response = await fetch(given);
      if (response.status !== 200) throw new Error(`unpaid: ${response.status}`);
      await response.text();
    });

    // iotrail-channel: a payer with ETH that signs its own vouchers; its first purchase opens the channel.
    const payerKey = DeviceKey.generate();
    const payer = payerKey.wallet(chain.provider);
    const funder = await chain.provider.getSigner(0);
    await (await funder.sendTransaction({ to: payer.address, value: 10n ** 19n })).wait();
    const channels = PaymentChannelsClient.connect({ address: chain.paymentChannels, runner: payer });
    const scheme = new ChannelBuyerScheme({
      channels,
      key: payerKey,
      limits: async () => ({ deposit: CHANNEL_PRICE * BigInt(READINGS) * BigInt(PURCHASES + 10) }),
    });
    const buy = () => buyOverHttp402({ url: sold, scheme, network: "eip155:31337", timeoutMs: 30_000 });
    await buy(); // opens the channel: not timed
    const channel = await timed(PURCHASES, async () => {
      const purchase = await buy();
      if (purchase.settlement?.success !== true) throw new Error("channel: not paid");
    });

    // x402 exact: a stock x402 client with a key and dUSD; the seller settles each payment on the chain.
    const buyer = await tokenBuyer(chain, EXACT_PRICE * BigInt(READINGS) * BigInt(PURCHASES + 1));
    const pay = stockExactFetch(chain, buyer);
    const transactions: string[] = [];
    const exact = await timed(PURCHASES, async () => {
      const response = await pay(sold);
      if (response.status !== 200) throw new Error(`exact: ${response.status} ${await response.text()}`);
      transactions.push(decodePaymentResponseHeader(response.headers.get("payment-response")!).transaction);
      await response.text();
    });
    const gas = await Promise.all(
      transactions.slice(-3).map(async (hash) => (await chain.provider.getTransactionReceipt(hash))!.gasUsed),
    );
    const result = {
      purchases: PURCHASES,
      readingsPerBundle: READINGS,
      unpaid: { perSecond: Math.round(unpaid) },
      channel: { perSecond: Math.round(channel), ratio: Number((channel / unpaid).toFixed(2)), gasPerRequest: 0 },
      exact: {
        perSecond: Math.round(exact),
        ratio: Number((exact / unpaid).toFixed(2)),
        gasPerRequest: Number(gas[gas.length - 1]),
      },
    };
    console.log(`paid range bundles (${READINGS} readings each), one buyer at a time, ${PURCHASES} each:`);
    console.log(`  unpaid (baseline)   ${result.unpaid.perSecond}/s`);
    console.log(
      `  iotrail-channel     ${result.channel.perSecond}/s  (${result.channel.ratio}x unpaid; no transaction per request)`,
    );
    console.log(
      `  x402 exact          ${result.exact.perSecond}/s  (${result.exact.ratio}x unpaid; ${result.exact.gasPerRequest} gas per request, settled before the answer)`,
    );
    record("sales", result);
  } finally {
    await seller.stop();
    await free.stop();
    chain.provider.destroy();
    await chain.node.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
