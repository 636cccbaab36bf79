import { pinTrust } from "../../src/verify";
import { ethers } from "hardhat";
import { telemetryDomain } from "../../src/eip712";
import { DeviceKey } from "../../src/device";
import { buildProofBundle } from "../../src/proof";
import type { ProofBundle } from "../../src/proof";
import { ReadingBatch } from "../../src/telemetry";
import { anchorFixture, readingsOf, sign } from "./anchor";
import type { AnchorFixture } from "./anchor";

export interface BundleFixture extends AnchorFixture {
  first: Awaited<ReturnType<typeof anchorBatch>>;
  second: Awaited<ReturnType<typeof anchorBatch>>;
  bundle: ProofBundle;
}

export async function anchorBatch(fx: AnchorFixture, batch: ReadingBatch) {
  const anchored = await fx.anchorClient.anchor(batch.header());
  const { anchoredAt } = await fx.anchorClient.getAnchor(batch.root);
  return { batch, anchored: { ...anchored, anchoredAt } };
}

/** The device's readings 1..12 over two anchored batches (mixed with another device's), and a bundle of all. */
export async function bundleFixture(): Promise<BundleFixture> {
  const fx = await anchorFixture();
  const neighbour = DeviceKey.generate();
  const mine = sign(fx, fx.device, readingsOf(fx.device, 12));
  const theirs = sign(fx, neighbour, readingsOf(neighbour, 6));
  const first = await anchorBatch(fx, await ReadingBatch.build([...mine.slice(0, 8), ...theirs.slice(0, 3)]));
  const second = await anchorBatch(fx, await ReadingBatch.build([...theirs.slice(3), ...mine.slice(8)]));
  const bundle = bundleOf(fx, [
    { source: first, indices: [0, 1, 2, 3, 4, 5, 6, 7] },
    { source: second, indices: [3, 4, 5, 6] },
  ]);
  return { ...fx, first, second, bundle };
}

export function bundleOf(
  fx: AnchorFixture,
  parts: { source: Awaited<ReturnType<typeof anchorBatch>>; indices: number[] }[],
  extra: Partial<Parameters<typeof buildProofBundle>[0]> = {},
): ProofBundle {
  return buildProofBundle({
    chainId: fx.telemetry.chainId,
    anchor: fx.telemetry.verifyingContract,
    registry: String(fx.registry.target),
    sources: parts.map(({ source, indices }) => ({ ...source, indices })),
    ...extra,
  });
}

/** A deep copy that tests may mutate. */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export const provider = () => ethers.provider;

/** Verify options of a partner that pins the fixture's anchor and asks the in-process chain. */
export function pinned(fx: AnchorFixture, extra: Record<string, unknown> = {}) {
  return {
    provider: ethers.provider,
    trusted: pinTrust({ anchor: fx.telemetry.verifyingContract }, { kind: "program", what: "test" }),
    ...extra,
  };
}

/** A bundle of invented readings by a revoked key, "anchored" by a look-alike contract that says yes to all. */
export async function lookAlikeBundle() {
  // A fresh fixture, not a cached snapshot: reverting to an old snapshot moves the chain's clock for later suites.
  const fx = await bundleFixture();
  const fake = await ethers.deployContract("LookAlikeAnchor");
  const fakeAddress = await fake.getAddress();
  await fx.registry.connect(fx.owner).revoke(fx.deviceId, 2);
  const domain = telemetryDomain(fx.telemetry.chainId, fakeAddress);
  const readings = readingsOf(fx.device, 3, 500n).map((reading) => ({
    reading,
    signature: fx.device.signReading(domain, reading),
  }));
  const batch = await ReadingBatch.build(readings);
  const receipt = await (await fake.fakeAnchor(batch.root, 1, batch.length)).wait();
  const bundle = buildProofBundle({
    chainId: fx.telemetry.chainId,
    anchor: fakeAddress,
    registry: fakeAddress,
    sources: [
      {
        batch,
        anchored: {
          batchId: 1n,
          root: batch.root,
          submitter: fx.owner.address,
          transactionHash: receipt!.hash,
          blockNumber: receipt!.blockNumber,
          blockHash: receipt!.blockHash,
        },
        indices: [0, 1, 2],
      },
    ],
  });
  return { fx, bundle, fakeAddress };
}
