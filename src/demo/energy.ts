/**
 * Story 2 of the demo, energy trading: smart meters on a street sell each other energy per kWh over
 * payment channels. Each meter's owner opens one channel to a neighbour; the meter signs a cumulative
 * voucher for every kWh it draws; the neighbour checks each voucher off-chain and settles with one
 * transaction. Thousands of payments, a few transactions.
 */
import { formatEther, id, parseEther } from "ethers";
import type { Signer } from "ethers";
import { suiteClients } from "../deployments";
import type { DeploymentRecord } from "../deployments";
import { DeviceKey } from "../device";
import { ETH, VoucherBook } from "../payments";
import { registerDeviceKeys } from "../registry";

export interface EnergyResult {
  meters: number;
  vouchers: number;
  transactions: number;
  /** Gas of every channel transaction, over the payments made. */
  gasPerPayment: number;
  /** What each seller received, in wei. */
  paid: bigint[];
}

/** Price of one kWh in wei (0.0001 ETH). */
export const KWH_PRICE = parseEther("0.0001");

export async function runEnergyStory(params: {
  record: DeploymentRecord;
  /** Holds MANUFACTURER_ROLE: registers the meters. */
  manufacturer: Signer;
  /** One owner account per meter (each buys from the next, the last from the first). */
  owners: readonly Signer[];
  kwhPerMeter?: number;
  log?: (line: string) => void;
}): Promise<EnergyResult> {
  const log = params.log ?? (() => undefined);
  const { record, owners } = params;
  const kwh = params.kwhPerMeter ?? 1_000;
  const meters = owners.map(() => DeviceKey.generate());
  const manufacturer = suiteClients(record, params.manufacturer);
  const provider = params.manufacturer.provider!;
  const deadline = BigInt((await provider.getBlock("latest"))!.timestamp) + 3600n;
  const registrant = await params.manufacturer.getAddress();
  for (let i = 0; i < meters.length; i++) {
    await registerDeviceKeys({
      registry: manufacturer.registry,
      registrant,
      keys: [meters[i]!],
      owner: await owners[i]!.getAddress(),
      metadataHash: () => id(`smart meter ${i + 1}`),
      deadline,
    });
  }
  log(
    `${meters.length} smart meters registered; each buys from its neighbour at ${formatEther(KWH_PRICE)} ETH per kWh`,
  );

  let gas = 0n;
  let transactions = 0;
  const paid: bigint[] = [];
  const started = Date.now();
  for (let i = 0; i < meters.length; i++) {
    const buyer = suiteClients(record, owners[i]!).channels;
    const seller = owners[(i + 1) % owners.length]!;
    const opened = await buyer.open({
      payee: await seller.getAddress(),
      signer: meters[i]!.address,
      token: ETH,
      amount: KWH_PRICE * BigInt(kwh),
    });
    const domain = await buyer.domain();
    const book = new VoucherBook({ domain, channel: await buyer.getChannel(opened.channelId) });
    for (let unit = 1; unit <= kwh; unit++) {
      const amount = KWH_PRICE * BigInt(unit);
      book.accept({
        channelId: opened.channelId,
        amount,
        signature: meters[i]!.signVoucher(domain, opened.channelId, amount),
      });
    }
    const closed = await buyer.connect(seller).close({ ...book.best! });
    gas += opened.receipt.gasUsed + closed.gasUsed;
    transactions += 2;
    paid.push((await buyer.getChannel(opened.channelId)).paid);
  }
  const vouchers = kwh * meters.length;
  const gasPerPayment = Number(gas) / vouchers;
  log(
    `${vouchers} vouchers signed and checked in ${((Date.now() - started) / 1000).toFixed(1)} s, settled in ${transactions} transactions: ${gasPerPayment.toFixed(1)} gas per payment`,
  );
  return { meters: meters.length, vouchers, transactions, gasPerPayment, paid };
}
