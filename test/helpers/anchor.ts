import { ethers } from "hardhat";
import { TelemetryAnchorClient } from "../../src/anchor";
import type { BatchHeader } from "../../src/anchor";
import { DeviceKey } from "../../src/device";
import { telemetryDomain } from "../../src/eip712";
import type { Eip712Domain } from "../../src/eip712";
import { metricId, ReadingBatch, ZERO_HASH } from "../../src/telemetry";
import type { Reading, SignedReading } from "../../src/telemetry";
import type { TelemetryAnchor } from "../../typechain-types";
import { registeredDevice, registryFixture } from "./registry";
import type { RegistryFixture } from "./registry";

export const TEMPERATURE = metricId("temperature.mC");
export const T0 = 1_767_225_600n;

export interface AnchorFixture extends RegistryFixture {
  anchor: TelemetryAnchor;
  anchorClient: TelemetryAnchorClient;
  telemetry: Eip712Domain;
  device: DeviceKey;
  deviceId: bigint;
}

export async function anchorFixture(): Promise<AnchorFixture> {
  const fx = await registryFixture();
  const anchor = await ethers.deployContract("TelemetryAnchor", [fx.admin.address, await fx.registry.getAddress()]);
  await anchor.grantRole(await anchor.ANCHORER_ROLE(), fx.relayer.address);
  const { chainId } = await ethers.provider.getNetwork();
  const { key, deviceId } = await registeredDevice(fx);
  return {
    ...fx,
    anchor,
    anchorClient: new TelemetryAnchorClient({ contract: anchor.connect(fx.relayer) }),
    telemetry: telemetryDomain(chainId, await anchor.getAddress()),
    device: key,
    deviceId,
  };
}

/** Readings 1..count of `device`, one per minute from T0. */
export function readingsOf(device: DeviceKey, count: number, firstSequence = 1n): Reading[] {
  return Array.from({ length: count }, (_, i) => ({
    device: device.address,
    sequence: firstSequence + BigInt(i),
    timestamp: T0 + 60n * BigInt(i),
    metric: TEMPERATURE,
    value: 4_000n - 37n * BigInt(i),
    payloadHash: i % 2 === 0 ? ZERO_HASH : ethers.id(`payload ${i}`),
  }));
}

export function sign(fx: AnchorFixture, device: DeviceKey, readings: readonly Reading[]): SignedReading[] {
  return readings.map((reading) => ({ reading, signature: device.signReading(fx.telemetry, reading) }));
}

export function header(overrides: Partial<BatchHeader> = {}): BatchHeader {
  return {
    root: ethers.id("some root"),
    readingCount: 10,
    fromTimestamp: T0,
    toTimestamp: T0 + 60n,
    contentHash: ethers.id("content"),
    contentURI: "ipfs://batch",
    ...overrides,
  };
}

/** Signs `count` readings of the fixture's device, builds a batch and anchors it. */
export async function anchoredBatch(fx: AnchorFixture, count = 8) {
  const batch = await ReadingBatch.build(sign(fx, fx.device, readingsOf(fx.device, count)));
  const anchored = await fx.anchorClient.anchor(batch.header({ contentURI: "ipfs://batch-1" }));
  return { batch, anchored };
}
