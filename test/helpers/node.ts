// Deploying on an external JSON-RPC node (anvil), for the tests and benches that run one. No Hardhat here, so
// that benches started with ts-node can import it.
import { HDNodeWallet } from "ethers";
import type { Signer } from "ethers";
import { DeviceRegistry__factory, TelemetryAnchor__factory } from "../../src/contracts";
import type { DeviceRegistry, TelemetryAnchor } from "../../src/contracts";

/** The development chains' mnemonic (anvil's and Hardhat's): the private key of account `index`. */
export function devAccountKey(index: number): string {
  return HDNodeWallet.fromPhrase(
    "test test test test test test test test test test test junk",
    undefined,
    `m/44'/60'/0'/0/${index}`,
  ).privateKey;
}

/**
 * A DeviceRegistry and a TelemetryAnchor on it, deployed by `admin` (who holds their admin roles), with
 * MANUFACTURER_ROLE granted to `manufacturer` and ANCHORER_ROLE to `anchorer`.
 */
export async function deployRegistryAndAnchor(
  admin: Signer,
  roles: { manufacturer: string; anchorer: string },
): Promise<{ registry: DeviceRegistry; anchor: TelemetryAnchor }> {
  const adminAddress = await admin.getAddress();
  const registry = await new DeviceRegistry__factory(admin).deploy(adminAddress);
  await registry.waitForDeployment();
  await (await registry.grantRole(await registry.MANUFACTURER_ROLE(), roles.manufacturer)).wait();
  const anchor = await new TelemetryAnchor__factory(admin).deploy(adminAddress, await registry.getAddress());
  await anchor.waitForDeployment();
  await (await anchor.grantRole(await anchor.ANCHORER_ROLE(), roles.anchorer)).wait();
  return { registry, anchor };
}
