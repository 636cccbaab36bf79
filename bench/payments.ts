// npm run bench: payment targets, measured in one run on the in-process Hardhat network.
//   - gas: open and cooperative close against µRaiden's published figures (open 109k, close 71-81k);
//   - 1,000,000 vouchers settle in at most 3 transactions (open, then a close with the last voucher);
//   - the payee verifies at least 10,000 vouchers/s on one core (VoucherBook), against ethers'
//     recoverAddress measured in the same run as the baseline.
import { ethers } from "hardhat";
import { Signature, recoverAddress } from "ethers";
import { secp256k1Backend } from "../src/crypto";
import { DeviceKey } from "../src/device";
import { voucherDigest } from "../src/eip712";
import { initKeccak } from "../src/merkle";
import { DeviceRegistryClient } from "../src/registry";
import { ETH, PaymentChannelsClient, VoucherBook } from "../src/payments";
import { measurePaymentsGas } from "../src/tooling/payments-gas";
import { QUICK, record } from "./report";

const VOUCHERS = Number(process.env.BENCH_VOUCHERS ?? (QUICK ? 20_000 : 1_000_000));
const PRICE = 1_000n; // wei per micro-payment

async function main(): Promise<void> {
  await initKeccak();
  console.log(`secp256k1 backend: ${secp256k1Backend()}`);
  const signers = await ethers.getSigners();
  const gas = await measurePaymentsGas(signers);
  const line = (name: string, target: string, ok: boolean) =>
    console.log(`${name.padEnd(40)} ${String(gas.get(name)).padStart(7)} gas (${target}: ${ok ? "met" : "MISSED"})`);
  line("PaymentChannels.open(ETH)", "< 109,000", gas.get("PaymentChannels.open(ETH)")! < 109_000n);
  line("PaymentChannels.open(ERC20)", "< 109,000", gas.get("PaymentChannels.open(ERC20)")! < 109_000n);
  line(
    "PaymentChannels.close(cooperative,ETH)",
    "< 71,000",
    gas.get("PaymentChannels.close(cooperative,ETH)")! < 71_000n,
  );
  line(
    "PaymentChannels.close(cooperative,ERC20)",
    "< 71,000",
    gas.get("PaymentChannels.close(cooperative,ERC20)")! < 71_000n,
  );
  // x402 scale (issue 15): claims of many channels, a single voucher with its payout, and deposits.
  line(
    "PaymentChannels.claimMany(10)/channel",
    "<= 20,000",
    gas.get("PaymentChannels.claimMany(10)/channel")! <= 20_000n,
  );
  line("PaymentChannels.redeem(ERC20)", "<= 60,000", gas.get("PaymentChannels.redeem(ERC20)")! <= 60_000n);
  line("PaymentChannels.open(ERC20)", "<= 100,000", gas.get("PaymentChannels.open(ERC20)")! <= 100_000n);
  line(
    "PaymentChannels.open(ERC20,EIP3009)",
    "<= 100,000",
    gas.get("PaymentChannels.open(ERC20,EIP3009)")! <= 100_000n,
  );

  // A metered stream: the payer's device signs VOUCHERS cumulative vouchers, the payee checks every one.
  const [admin, manufacturer, payer, payee] = signers as [
    (typeof signers)[0],
    (typeof signers)[0],
    (typeof signers)[0],
    (typeof signers)[0],
  ];
  const registry = await ethers.deployContract("DeviceRegistry", [admin.address]);
  await registry.grantRole(await registry.MANUFACTURER_ROLE(), manufacturer.address);
  const registryClient = new DeviceRegistryClient({ contract: registry.connect(manufacturer) });
  const device = DeviceKey.generate();
  const deadline = 2n ** 40n;
  await registryClient.register({
    key: device.address,
    owner: payer.address,
    metadataHash: ethers.id("meter"),
    metadataURI: "",
    deadline,
    signature: device.signRegistration({
      domain: await registryClient.domain(),
      registrant: manufacturer.address,
      owner: payer.address,
      deadline,
    }),
  });
  const channels = await ethers.deployContract("PaymentChannels", [await registry.getAddress(), 86_400]);
  const client = new PaymentChannelsClient({ contract: channels.connect(payer) });
  const domain = await client.domain();
  const firstBlock = await ethers.provider.getBlockNumber();
  const deposit = PRICE * BigInt(VOUCHERS);
  const { channelId } = await client.open({
    payee: payee.address,
    signer: device.address,
    token: ETH,
    amount: deposit,
  });
  const book = new VoucherBook({ domain, channel: await client.getChannel(channelId) });

  let signSeconds = 0;
  let verifySeconds = 0;
  const chunk = 10_000;
  const vouchers: { amount: bigint; signature: string }[] = new Array(chunk);
  for (let done = 0; done < VOUCHERS; done += chunk) {
    const n = Math.min(chunk, VOUCHERS - done);
    let t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const amount = PRICE * BigInt(done + i + 1);
      vouchers[i] = { amount, signature: device.signVoucher(domain, channelId, amount) };
    }
    signSeconds += Number(process.hrtime.bigint() - t) / 1e9;
    t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) book.accept({ channelId, ...vouchers[i]! });
    verifySeconds += Number(process.hrtime.bigint() - t) / 1e9;
  }
  // Baseline: ethers' recoverAddress on a sample of the same vouchers.
  const sample = 2_000;
  const t = process.hrtime.bigint();
  for (let i = 0; i < sample; i++) {
    const v = vouchers[i]!;
    recoverAddress(voucherDigest(domain, channelId, v.amount), Signature.from(v.signature));
  }
  const baselineRate = sample / (Number(process.hrtime.bigint() - t) / 1e9);
  const verifyRate = VOUCHERS / verifySeconds;
  console.log(`payer signed ${VOUCHERS} vouchers: ${(VOUCHERS / signSeconds).toFixed(0)}/s`);
  console.log(
    `payee verified ${VOUCHERS} vouchers: ${verifyRate.toFixed(0)}/s on one core (target >= 10,000: ${
      verifyRate >= 10_000 ? "met" : "MISSED"
    }); ethers recoverAddress baseline ${baselineRate.toFixed(0)}/s, ratio ${(verifyRate / baselineRate).toFixed(1)}x`,
  );

  const best = book.best!;
  const receipt = await client.connect(payee).close({ channelId, amount: best.amount, signature: best.signature });
  const transactions = receipt.blockNumber - firstBlock; // automine: one transaction per block
  const settled = (await client.getChannel(channelId)).paid;
  record("payments", {
    gas: Object.fromEntries(gas),
    vouchers: VOUCHERS,
    signedPerSecond: VOUCHERS / signSeconds,
    verifiedPerSecond: verifyRate,
    baselineRecoverPerSecond: baselineRate,
    settlementTransactions: transactions,
  });
  console.log(
    `${VOUCHERS} vouchers settled in ${transactions} transactions (open + close; target <= 3: ${
      transactions <= 3 ? "met" : "MISSED"
    }), payee paid ${settled} wei = ${VOUCHERS} x ${PRICE}: ${settled === deposit}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
