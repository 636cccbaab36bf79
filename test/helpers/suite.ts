/** The whole suite deployed with Ignition on the in-process chain, recorded in a temporary folder. */
import hre from "hardhat";
import { TelemetryAnchorClient } from "../../src/anchor";
import { deploySuite } from "../../src/deploy";
import { DeviceKey } from "../../src/device";
import { telemetryDomain } from "../../src/eip712";
import { buildProofBundle } from "../../src/proof";
import type { ProofBundle } from "../../src/proof";
import { DeviceRegistryClient, registerDeviceKeys } from "../../src/registry";
import { ReadingBatch, ZERO_HASH } from "../../src/telemetry";
import type { Reading } from "../../src/telemetry";
import type { DeploymentRecord } from "../../src/deployments";
import { tempDir } from "./cli";

export interface SuiteFixture {
  record: DeploymentRecord;
  /** The folder of deployment records (pass it as --deployments). */
  dir: string;
}

export async function suiteFixture(): Promise<SuiteFixture> {
  const dir = tempDir("iotrail-deployments-");
  const { record } = await deploySuite(hre, { dir });
  return { record, dir };
}

/** A new device key registered on the suite, owned by the deployer (account 0, the suite's manufacturer). */
export async function suiteDevice(fx: SuiteFixture): Promise<DeviceKey> {
  const [deployer] = await hre.ethers.getSigners();
  const device = DeviceKey.generate();
  await registerDeviceKeys({
    registry: DeviceRegistryClient.connect({ address: fx.record.contracts.DeviceRegistry.address, runner: deployer! }),
    registrant: deployer!.address,
    keys: [device],
    owner: deployer!.address,
    metadataHash: () => ZERO_HASH,
    deadline: BigInt((await hre.ethers.provider.getBlock("latest"))!.timestamp) + 3600n,
  });
  return device;
}

/** `readings` of `device`, signed, anchored as one batch by the deployer (the suite's anchorer), as a bundle. */
export async function suiteBundle(
  fx: SuiteFixture,
  device: DeviceKey,
  readings: readonly Reading[],
): Promise<ProofBundle> {
  const [deployer] = await hre.ethers.getSigners();
  const anchor = fx.record.contracts.TelemetryAnchor.address;
  const domain = telemetryDomain(31337n, anchor);
  const batch = await ReadingBatch.build(
    readings.map((reading) => ({ reading, signature: device.signReading(domain, reading) })),
  );
  const anchored = await TelemetryAnchorClient.connect({ address: anchor, runner: deployer! }).anchor(batch.header());
  return buildProofBundle({
    chainId: 31337n,
    anchor,
    registry: fx.record.contracts.DeviceRegistry.address,
    sources: [{ batch, anchored, indices: readings.map((_, i) => i) }],
  });
}
