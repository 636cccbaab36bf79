/**
 * The registry part of the end-to-end demo: a manufacturer onboards devices one by one and as a lot,
 * a device is sold along the supply chain (relayed, gasless for the buyer), suspended, resumed and re-keyed,
 * and a verifier asks which keys were valid at which chain time.
 */
import { id } from "ethers";
import type { Provider, Signer } from "ethers";
import { DeviceRegistry__factory } from "../contracts";
import { DeviceKey } from "../device";
import { DeviceRegistryClient, DeviceStatus, Lot } from "../registry";

export interface RegistryDemoResult {
  registry: string;
  deviceId: bigint;
  lotId: bigint;
  /** validAt answers for the device's first key at the chain times the demo recorded. */
  answers: { label: string; key: string; timestamp: bigint; valid: boolean }[];
}

async function chainTime(provider: Provider): Promise<bigint> {
  const block = await provider.getBlock("latest");
  return BigInt(block!.timestamp);
}

export async function runRegistryDemo(params: {
  admin: Signer;
  manufacturer: Signer;
  owner: Signer;
  buyer: Signer;
  relayer: Signer;
  log?: (line: string) => void;
}): Promise<RegistryDemoResult> {
  const log = params.log ?? (() => undefined);
  const provider = params.admin.provider!;
  const [manufacturerAddress, ownerAddress, buyerAddress] = await Promise.all([
    params.manufacturer.getAddress(),
    params.owner.getAddress(),
    params.buyer.getAddress(),
  ]);
  const deadline = (await chainTime(provider)) + 3600n;

  const registry = await new DeviceRegistry__factory(params.admin).deploy(await params.admin.getAddress());
  await registry.waitForDeployment();
  await (await registry.grantRole(await registry.MANUFACTURER_ROLE(), manufacturerAddress)).wait();
  const manufacturer = new DeviceRegistryClient({ contract: registry.connect(params.manufacturer) });
  const domain = await manufacturer.domain();
  log(`DeviceRegistry deployed at ${await registry.getAddress()} (chain ${domain.chainId})`);

  // 1. One device registers with a possession proof naming the manufacturer and its first owner.
  const thermometer = DeviceKey.generate();
  const { deviceId, receipt } = await manufacturer.register({
    key: thermometer.address,
    owner: ownerAddress,
    metadataHash: id("model=ColdChain TH-1; firmware=1.4.2"),
    metadataURI: "ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
    deadline,
    signature: thermometer.signRegistration({ domain, registrant: manufacturerAddress, owner: ownerAddress, deadline }),
  });
  log(`registered device ${thermometer.address} for ${receipt.gasUsed} gas`);
  const registeredAt = await chainTime(provider);

  // 2. A production lot of 1,000 devices: one root, no per-device transaction.
  const lotKeys = Array.from({ length: 1000 }, () => DeviceKey.generate());
  const lot = Lot.build(lotKeys.map((k, i) => ({ key: k.address, metadataHash: id(`lot-7 unit ${i}`) })));
  const { lotId, receipt: lotReceipt } = await manufacturer.commitLot({
    root: lot.root,
    owner: ownerAddress,
    deviceCount: lot.deviceCount,
    metadataURI: "ipfs://lot-7",
  });
  log(`committed lot ${lotId} of ${lot.deviceCount} devices for ${lotReceipt.gasUsed} gas`);
  const unit = lotKeys[42]!;
  const { metadataHash } = lot.entry(unit.address);
  const inLot = await manufacturer.lotEntryValidAt({
    lotId,
    key: unit.address,
    metadataHash,
    proof: lot.proof(unit.address),
    timestamp: await chainTime(provider),
  });
  log(`lot device ${unit.address} counts as registered without a transaction: ${inLot}`);
  const relayer = manufacturer.connect(params.relayer);
  await relayer.claim({
    lotId,
    metadataHash,
    proof: lot.proof(unit.address),
    keyProof: { key: unit.address, deadline, signature: unit.signClaim({ domain, lotId, deadline }) },
  });
  log(`lot device claimed its entry through a relayer`);

  // 3. Supply chain: owner -> buyer, both steps signed and relayed.
  const owner = manufacturer.connect(params.owner);
  await relayer.startTransfer({
    deviceId,
    newOwner: buyerAddress,
    authorization: await owner.authorize({
      signer: params.owner,
      action: "TransferDevice",
      message: { deviceId, newOwner: buyerAddress },
      deadline,
    }),
  });
  await relayer.acceptTransfer({
    deviceId,
    authorization: await owner.authorize({
      signer: params.buyer,
      action: "AcceptTransfer",
      message: { deviceId },
      deadline,
    }),
  });
  log(`device transferred to ${buyerAddress} (both signatures relayed)`);

  // 4. The buyer suspends it (key suspected leaked), rotates the key, resumes.
  const buyer = manufacturer.connect(params.buyer);
  await buyer.suspend({ deviceId, reason: 1 });
  const suspendedAt = await chainTime(provider);
  const fresh = DeviceKey.generate();
  await buyer.rotateKey({
    deviceId,
    newKey: { key: fresh.address, deadline, signature: fresh.signKeyAcceptance({ domain, deviceId, deadline }) },
  });
  await buyer.resume({ deviceId });
  const device = await buyer.getDevice(deviceId);
  log(`device ${deviceId} now ${DeviceStatus[device.status]} with key ${device.currentKey}`);

  // 5. A verifier's questions.
  const now = await chainTime(provider);
  const answers = [
    { label: "first key, at registration", key: thermometer.address, timestamp: registeredAt },
    { label: "first key, while suspended", key: thermometer.address, timestamp: suspendedAt },
    { label: "first key, now (rotated out)", key: thermometer.address, timestamp: now },
    { label: "new key, now", key: fresh.address, timestamp: now },
  ];
  const result: RegistryDemoResult["answers"] = [];
  for (const a of answers) {
    const valid = await buyer.validAt({ key: a.key, timestamp: a.timestamp });
    result.push({ ...a, valid });
    log(`validAt(${a.label}) = ${valid}`);
  }
  return { registry: await registry.getAddress(), deviceId, lotId, answers: result };
}
