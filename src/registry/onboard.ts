/**
 * Onboarding in one call, for demos, tools and tests that hold the device keys themselves: each key signs
 * its possession proof naming the manufacturer as registrant, and the manufacturer registers them all in
 * one `registerBatch`.
 */
import type { DeviceKey } from "../device";
import type { DeviceRegistryClient } from "./client";

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
