import { ethers } from "hardhat";
import { Signature } from "ethers";
import { DeviceKey } from "../../src/device";
import { DeviceRegistryClient } from "../../src/registry";
import type { Eip712Domain } from "../../src/eip712";
import type { DeviceRegistry } from "../../typechain-types";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

/** A deadline far in the future (year ~36800). */
export const FAR_DEADLINE = 2n ** 40n;
export const ZERO_HASH = ethers.ZeroHash;
export const METADATA = ethers.id("model=TH-1;firmware=sha256:00ff");
export const METADATA_URI = "ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";

export interface RegistryFixture {
  registry: DeviceRegistry;
  client: DeviceRegistryClient;
  domain: Eip712Domain;
  admin: HardhatEthersSigner;
  manufacturer: HardhatEthersSigner;
  manufacturer2: HardhatEthersSigner;
  owner: HardhatEthersSigner;
  buyer: HardhatEthersSigner;
  other: HardhatEthersSigner;
  relayer: HardhatEthersSigner;
}

export async function registryFixture(): Promise<RegistryFixture> {
  const [admin, manufacturer, manufacturer2, owner, buyer, other, relayer] = await ethers.getSigners();
  const registry = await ethers.deployContract("DeviceRegistry", [admin!.address]);
  const role = await registry.MANUFACTURER_ROLE();
  await registry.grantRole(role, manufacturer!.address);
  await registry.grantRole(role, manufacturer2!.address);
  const client = new DeviceRegistryClient({ contract: registry.connect(manufacturer!) });
  return {
    registry,
    client,
    domain: await client.domain(),
    admin: admin!,
    manufacturer: manufacturer!,
    manufacturer2: manufacturer2!,
    owner: owner!,
    buyer: buyer!,
    other: other!,
    relayer: relayer!,
  };
}

/** A registration signed by `key`, for `registrant` to submit. */
export function registration(
  fx: RegistryFixture,
  key: DeviceKey,
  overrides: { owner?: string; registrant?: string; deadline?: bigint; metadataHash?: string } = {},
) {
  const owner = overrides.owner ?? fx.owner.address;
  const deadline = overrides.deadline ?? FAR_DEADLINE;
  const signature = key.signRegistration({
    domain: fx.domain,
    registrant: overrides.registrant ?? fx.manufacturer.address,
    owner,
    deadline,
  });
  return {
    key: key.address,
    owner,
    metadataHash: overrides.metadataHash ?? METADATA,
    metadataURI: METADATA_URI,
    deadline,
    signature,
  };
}

/** Registers a fresh device owned by `fx.owner`. */
export async function registeredDevice(fx: RegistryFixture): Promise<{ key: DeviceKey; deviceId: bigint }> {
  const key = DeviceKey.generate();
  const { deviceId } = await fx.client.register(registration(fx, key));
  return { key, deviceId };
}

/** The same signature with s replaced by n - s and v flipped: valid for ecrecover, rejected by OpenZeppelin. */
export function highS(signature: string): string {
  const sig = Signature.from(signature);
  const n = BigInt("0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");
  const s = n - BigInt(sig.s);
  const v = sig.v === 27 ? 28 : 27;
  return ethers.concat([sig.r, ethers.toBeHex(s, 32), ethers.toBeHex(v, 1)]);
}
