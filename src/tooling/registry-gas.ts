/**
 * Gas of every DeviceRegistry action on a fresh deployment, with deterministic keys and deadlines so that
 * the figures are reproducible (the Hardhat network's hardfork is pinned in hardhat.config.ts).
 */
import { id } from "ethers";
import type { ContractTransactionResponse, Signer } from "ethers";
import { DeviceRegistry__factory } from "../../typechain-types";
import { DeviceKey } from "../device";
import { DeviceRegistryClient, Lot } from "../registry";

const DEADLINE = 2n ** 40n;

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("transaction dropped");
  return receipt.gasUsed;
}

export async function measureRegistryGas(signers: Signer[]): Promise<Map<string, bigint>> {
  const [admin, manufacturer, owner, buyer, relayer] = signers as [Signer, Signer, Signer, Signer, Signer];
  const registry = await new DeviceRegistry__factory(admin).deploy(await admin.getAddress());
  await registry.grantRole(await registry.MANUFACTURER_ROLE(), await manufacturer.getAddress());
  const client = new DeviceRegistryClient({ contract: registry.connect(manufacturer) });
  const domain = await client.domain();
  const registrant = await manufacturer.getAddress();
  const ownerAddress = await owner.getAddress();
  const keyOf = (label: string) => DeviceKey.fromPrivateKey(id(`iotrail gas ${label}`));
  const registrationOf = (key: DeviceKey) => ({
    key: key.address,
    owner: ownerAddress,
    metadataHash: id(`metadata ${key.address}`),
    metadataURI: "ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
    deadline: DEADLINE,
    signature: key.signRegistration({ domain, registrant, owner: ownerAddress, deadline: DEADLINE }),
  });
  const asManufacturer = registry.connect(manufacturer);
  const asOwner = registry.connect(owner);
  const gas = new Map<string, bigint>();

  const device = keyOf("device");
  const deviceId = BigInt(device.address);
  gas.set("DeviceRegistry.register", await gasOf(asManufacturer.register(registrationOf(device))));

  const batch = Array.from({ length: 10 }, (_, i) => registrationOf(keyOf(`batch ${i}`)));
  const batchGas = await gasOf(asManufacturer.registerBatch(batch));
  gas.set("DeviceRegistry.registerBatch(10)", batchGas);
  gas.set("DeviceRegistry.registerBatch(10).perDevice", batchGas / 10n);

  const lotKeys = Array.from({ length: 10 }, (_, i) => keyOf(`lot ${i}`));
  const lot = Lot.build(lotKeys.map((k) => ({ key: k.address, metadataHash: id(`metadata ${k.address}`) })));
  gas.set("DeviceRegistry.commitLot", await gasOf(asManufacturer.commitLot(lot.root, ownerAddress, 10, "ipfs://lot")));
  const claimed = lotKeys[3]!;
  const claimProof = {
    key: claimed.address,
    deadline: DEADLINE,
    signature: claimed.signClaim({ domain, lotId: 1n, deadline: DEADLINE }),
  };
  gas.set(
    "DeviceRegistry.claim",
    await gasOf(
      registry
        .connect(relayer)
        .claim(1n, lot.entry(claimed.address).metadataHash, lot.proof(claimed.address), claimProof),
    ),
  );

  gas.set("DeviceRegistry.startTransfer", await gasOf(asOwner.startTransfer(deviceId, await buyer.getAddress())));
  gas.set("DeviceRegistry.acceptTransfer", await gasOf(registry.connect(buyer).acceptTransfer(deviceId)));

  const second = keyOf("second");
  const secondId = BigInt(second.address);
  await gasOf(asManufacturer.register(registrationOf(second)));
  gas.set("DeviceRegistry.suspend", await gasOf(asOwner.suspend(secondId, 1)));
  gas.set("DeviceRegistry.resume", await gasOf(asOwner.resume(secondId)));
  const auth = await client.authorize({
    signer: owner,
    action: "SuspendDevice",
    message: { deviceId: secondId, reason: 2 },
    deadline: DEADLINE,
  });
  gas.set(
    "DeviceRegistry.suspendBySig",
    await gasOf(registry.connect(relayer).suspendBySig(secondId, 2, auth.deadline, auth.signature)),
  );
  const rotated = keyOf("rotated");
  const acceptance = {
    key: rotated.address,
    deadline: DEADLINE,
    signature: rotated.signKeyAcceptance({ domain, deviceId: secondId, deadline: DEADLINE }),
  };
  gas.set("DeviceRegistry.rotateKey", await gasOf(asOwner.rotateKey(secondId, acceptance)));
  gas.set("DeviceRegistry.revoke", await gasOf(asOwner.revoke(secondId, 3)));
  return gas;
}
