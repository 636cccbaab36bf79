/** A batcher that sells readings over HTTP 402, and a fleet that publishes to it (data sales tests). */
import { ethers } from "hardhat";
import { join } from "node:path";
import type { BatcherService } from "../../src/batcher";
import { DeviceKey } from "../../src/device";
import { ANCHORER_KEY, contractsTestConfig, startBatcher } from "./batcher";
import { iotrailOk, tempDir } from "./cli";
import { suiteFixture } from "./suite";

export const PRICE = 1_000n; // wei per reading

export type SalesFixture = Awaited<ReturnType<ReturnType<typeof salesFixtureOn>>>;

/**
 * A fixture (for `loadFixture`: make it once per suite) of the suite and a fleet of 2 registered devices
 * (device-1 sells readings, device-2 signs the buyer's vouchers), reached through `rpcUrl`.
 */
export function salesFixtureOn(rpcUrl: string) {
  return async function salesFixture() {
    const fx = await suiteFixture();
    const on = ["--rpc", rpcUrl, "--deployments", fx.dir];
    await iotrailOk([...on, "--account", "0", "roles", "grant", "anchorer", new ethers.Wallet(ANCHORER_KEY).address]);
    const fleet = join(tempDir(), "fleet");
    await iotrailOk(["devices", "keygen", "--count", "2", "--out", fleet]);
    const [, payee] = await ethers.getSigners();
    return {
      ...fx,
      rpcUrl,
      on,
      fleet,
      csv: join(fleet, "devices.csv"),
      payee: payee!.address,
      vouchers: join(tempDir(), "vouchers.sqlite"),
    };
  };
}

/** A batcher selling readings, with a new voucher store (the chain's snapshots do not reach it). */
export async function withSeller<T>(
  fx: SalesFixture,
  fn: (service: BatcherService, vouchers: string) => Promise<T>,
): Promise<T> {
  const vouchers = join(tempDir(), "vouchers.sqlite");
  const base = contractsTestConfig(fx.rpcUrl, { chainId: 31337n });
  const service = await startBatcher(
    contractsTestConfig(
      fx.rpcUrl,
      { chainId: 31337n, deployments: fx.dir },
      {
        anchoring: { ...base.anchoring, confirmations: 1 },
        sales: {
          pricePerReading: PRICE,
          token: ethers.ZeroAddress,
          payee: fx.payee,
          vouchers,
          watchIntervalMs: 60_000,
          claimMarginSeconds: 3_600,
        },
      },
    ),
  );
  try {
    return await fn(service, vouchers);
  } finally {
    await service.stop();
  }
}

/** The fleet registers and publishes readings 1..count each; the selling device's address (device-1). */
export async function publish(fx: SalesFixture, service: BatcherService, count: number): Promise<string> {
  const simulate = ["simulate", "--devices", fx.csv, "--to", service.mqttUrl!, "--rate", "200"];
  await iotrailOk([
    ...fx.on,
    "--account",
    "0",
    ...simulate,
    "--count",
    String(count),
    "--first-sequence",
    "1",
    "--register",
  ]);
  return (await DeviceKey.load(join(fx.fleet, "device-1.json"))).address;
}
