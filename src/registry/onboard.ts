/**
 * Onboarding in one call, for demos, tools and tests that hold the device keys themselves: each key signs
 * its possession proof naming the manufacturer as registrant, and the manufacturer registers them all in
 * one `registerBatch`.
 */
import type { DeviceKey } from "../device";
import type { DeviceRegistryClient } from "./client";
import type { Lot } from "./lot";

export async function registerDeviceKeys(params: {
  /** A client connected as the manufacturer (MANUFACTURER_ROLE). */
  registry: DeviceRegistryClient;
  /** The manufacturer's address (the account the client sends from). */
  registrant: string;
  keys: readonly DeviceKey[];
  owner: string;
  /** The metadata hash of the i-th key's device. */
  metadataHash: (index: number) => string;
  deadline: bigint;
}): Promise<bigint[]> {
  const { registry, registrant, owner, deadline } = params;
  const domain = await registry.domain();
  const { deviceIds } = await registry.registerBatch({
    registrations: params.keys.map((key, i) => ({
      key: key.address,
      owner,
      metadataHash: params.metadataHash(i),
      metadataURI: "",
      deadline,
      signature: key.signRegistration({ domain, registrant, owner, deadline }),
    })),
  });
  return deviceIds;
}

/**
 * Claims `key`'s entry of a committed lot: the key signs its `ClaimDevice` proof (over its current nonce)
 * and the client's account submits it (anyone may). Returns the new device id.
 */
export async function claimLotDevice(params: {
  registry: DeviceRegistryClient;
  lot: Lot;
  lotId: bigint;
  key: DeviceKey;
  deadline: bigint;
}): Promise<bigint> {
  const { registry, lot, lotId, key, deadline } = params;
  const entry = lot.entry(key.address);
  const nonce = await registry.nonce(key.address);
  const signature = key.signClaim({ domain: await registry.domain(), lotId, nonce, deadline });
  const { deviceId } = await registry.claim({
    lotId,
    metadataHash: entry.metadataHash,
    proof: lot.proof(key.address),
    keyProof: { key: key.address, deadline, signature },
  });
  return deviceId;
}
