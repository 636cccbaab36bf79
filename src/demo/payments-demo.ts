/**
 * The payments part of the demo. A smart meter pays a charging station per watt-hour through a payment
 * channel (thousands of signed vouchers, two transactions on-chain), and a shipper pays a carrier through an
 * escrow that a proven, anchored thermometer reading releases, relayed for devices that hold no ETH.
 */
import { formatEther, id, parseEther } from "ethers";
import type { Signer } from "ethers";
import { ConditionalEscrow__factory, PaymentChannels__factory } from "../contracts";
import { TelemetryAnchorClient } from "../anchor";
import { DeviceKey } from "../device";
import { DeviceRegistryClient, registerDeviceKeys } from "../registry";
import { ETH, EscrowClient, EscrowStatus, PaymentChannelsClient, Relayer, VoucherBook } from "../payments";
import { metricId, ReadingBatch, ZERO_HASH } from "../telemetry";

export interface PaymentsDemoResult {
  channels: string;
  escrow: string;
  vouchers: number;
  paid: bigint;
  channelTransactions: number;
  escrowStatus: EscrowStatus;
}

export async function runPaymentsDemo(params: {
  registry: string;
  anchor: string;
  admin: Signer;
  manufacturer: Signer;
  owner: Signer;
  payee: Signer;
  relayer: Signer;
  batcher: Signer;
  vouchers?: number;
  log?: (line: string) => void;
}): Promise<PaymentsDemoResult> {
  const log = params.log ?? (() => undefined);
  const provider = params.admin.provider!;
  const [manufacturerAddress, ownerAddress, payeeAddress] = await Promise.all([
    params.manufacturer.getAddress(),
    params.owner.getAddress(),
    params.payee.getAddress(),
  ]);
  const registry = DeviceRegistryClient.connect({ address: params.registry, runner: params.manufacturer });
  const deadline = BigInt((await provider.getBlock("latest"))!.timestamp) + 86_400n;
  const meter = DeviceKey.generate();
  const thermometer = DeviceKey.generate();
  await registerDeviceKeys({
    registry,
    registrant: manufacturerAddress,
    keys: [meter, thermometer],
    owner: ownerAddress,
    metadataHash: (i) => id(i === 0 ? "smart meter" : "reefer thermometer"),
    deadline,
  });

  const channelsContract = await new PaymentChannels__factory(params.admin).deploy(params.registry, 3600);
  const escrowContract = await new ConditionalEscrow__factory(params.admin).deploy(params.anchor);
  await Promise.all([channelsContract.waitForDeployment(), escrowContract.waitForDeployment()]);
  const channelsAddress = await channelsContract.getAddress();
  const escrowAddress = await escrowContract.getAddress();
  log(`PaymentChannels at ${channelsAddress}, ConditionalEscrow at ${escrowAddress}`);
  const relayer = new Relayer({ signer: params.relayer, channels: channelsAddress, escrow: escrowAddress });

  // 1. Metered charging: the owner funds a channel whose vouchers the meter signs.
  const count = params.vouchers ?? 10_000;
  const price = 10n ** 12n; // wei per Wh
  const channels = new PaymentChannelsClient({ contract: channelsContract.connect(params.owner) });
  const domain = await channels.domain();
  const firstBlock = await provider.getBlockNumber();
  const { channelId } = await channels.open({
    payee: payeeAddress,
    signer: meter.address,
    token: ETH,
    amount: price * BigInt(count),
  });
  const book = new VoucherBook({ domain, channel: await channels.getChannel(channelId) });
  const started = Date.now();
  for (let wh = 1; wh <= count; wh++) {
    const amount = price * BigInt(wh);
    book.accept({ channelId, amount, signature: meter.signVoucher(domain, channelId, amount) });
  }
  const seconds = (Date.now() - started) / 1000;
  log(`the meter signed and the station checked ${count} vouchers (1 per Wh) in ${seconds.toFixed(1)} s`);
  const best = book.best!;
  const closed = await channels.connect(params.payee).close({ ...best });
  const channelTransactions = closed.blockNumber - firstBlock;
  const { paid } = await channels.getChannel(channelId);
  log(`settled with ${channelTransactions} transactions: the station got ${formatEther(paid)} ETH, the owner the rest`);

  // 2. Cold-chain escrow released by a proven reading, relayed (the thermometer holds no ETH).
  const escrow = new EscrowClient({ contract: escrowContract.connect(params.owner) });
  const anchor = TelemetryAnchorClient.connect({ address: params.anchor, runner: params.batcher });
  const t0 = BigInt((await provider.getBlock("latest"))!.timestamp);
  const condition = {
    device: thermometer.address,
    metric: metricId("temperature.mC"),
    minValue: 2_000n,
    maxValue: 8_000n,
    fromTimestamp: t0 - 3600n,
    toTimestamp: t0 + 86_400n,
  };
  const { escrowId } = await escrow.create({
    payee: payeeAddress,
    token: ETH,
    amount: parseEther("1"),
    deadline: t0 + 7n * 86_400n,
    condition,
  });
  const reading = {
    device: thermometer.address,
    sequence: 1n,
    timestamp: t0,
    metric: condition.metric,
    value: 4_300n,
    payloadHash: ZERO_HASH,
  };
  const batch = await ReadingBatch.build([
    { reading, signature: thermometer.signReading(await anchor.domain(), reading) },
  ]);
  const { batchId } = await anchor.anchor(batch.header({ contentURI: "demo://delivery" }));
  const outcome = await relayer.submit({
    kind: "releaseByReading",
    escrowId,
    condition,
    batchId,
    reading,
    signature: batch.readings[0]!.signature,
    proof: batch.proof(0),
  });
  const { status } = await escrow.getEscrow(escrowId);
  log(`escrow ${escrowId} on a 4.3 °C delivery reading, relayed: ${outcome.status}; status ${EscrowStatus[status]}`);
  return {
    channels: channelsAddress,
    escrow: escrowAddress,
    vouchers: count,
    paid,
    channelTransactions,
    escrowStatus: status,
  };
}
