/**
 * Gas of PaymentChannels actions on a fresh deployment with deterministic keys. Open and close are
 * measured in the steady state (after a first channel initialized the channel counter), as µRaiden's
 * published figures are.
 */
import { ZeroAddress, id } from "ethers";
import type { ContractTransactionResponse, Signer } from "ethers";
import {
  ConditionalEscrow__factory,
  DeviceRegistry__factory,
  MockToken__factory,
  PaymentChannels__factory,
  TelemetryAnchor__factory,
} from "../../typechain-types";
import { TelemetryAnchorClient } from "../anchor";
import { metricId, ReadingBatch, ZERO_HASH } from "../telemetry";
import { DeviceKey } from "../device";
import { DeviceRegistryClient, registerDeviceKeys } from "../registry";
import { ETH, EscrowClient, PaymentChannelsClient, readChannelTerms } from "../payments";

const DEADLINE = 2n ** 40n;

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("transaction dropped");
  return receipt.gasUsed;
}

/** A fresh registry with one registered device (deterministic key `label`) owned by `owner`. */
async function registryWithDevice(admin: Signer, manufacturer: Signer, owner: string, label: string) {
  const manufacturerAddress = await manufacturer.getAddress();
  const registry = await new DeviceRegistry__factory(admin).deploy(await admin.getAddress());
  await registry.grantRole(await registry.MANUFACTURER_ROLE(), manufacturerAddress);
  const device = DeviceKey.fromPrivateKey(id(`iotrail gas ${label}`));
  await registerDeviceKeys({
    registry: new DeviceRegistryClient({ contract: registry.connect(manufacturer) }),
    registrant: manufacturerAddress,
    keys: [device],
    owner,
    metadataHash: () => id(label),
    deadline: DEADLINE,
  });
  return { registry, device };
}

export async function measurePaymentsGas(signers: Signer[]): Promise<Map<string, bigint>> {
  const [admin, manufacturer, payer, payee, relayer] = signers as [Signer, Signer, Signer, Signer, Signer];
  const [payerAddress, payeeAddress] = await Promise.all([payer.getAddress(), payee.getAddress()]);
  const { registry, device } = await registryWithDevice(admin, manufacturer, payerAddress, "payment device");
  const contract = await new PaymentChannels__factory(admin).deploy(await registry.getAddress(), 86_400);
  const channels = contract.connect(payer);
  const client = new PaymentChannelsClient({ contract: channels });
  const domain = await client.domain();
  const token = await new MockToken__factory(admin).deploy();
  await token.mint(payerAddress, 10n ** 24n);
  await token.connect(payer).approve(await contract.getAddress(), 2n ** 255n);
  const ethParams = {
    payee: payeeAddress,
    signer: device.address,
    token: ETH,
    amount: 10n ** 18n,
    cap: 0n,
    expiry: 0n,
  };
  const tokenParams = { ...ethParams, token: await token.getAddress() };
  const gas = new Map<string, bigint>();

  await gasOf(channels.open(ethParams, { value: ethParams.amount })); // initializes the counter
  await gasOf(channels.open(tokenParams)); // and the contract's token balance
  gas.set("PaymentChannels.open(ETH)", await gasOf(channels.open(ethParams, { value: ethParams.amount })));
  const ethId = await contract.channelCount();
  gas.set("PaymentChannels.open(ERC20)", await gasOf(channels.open(tokenParams)));
  const tokenId = await contract.channelCount();
  gas.set(
    "PaymentChannels.topUp(ETH)",
    await gasOf(channels.topUp(ethId, await readChannelTerms(contract, ethId), 1000n, { value: 1000n })),
  );
  gas.set(
    "PaymentChannels.topUp(ERC20)",
    await gasOf(channels.topUp(tokenId, await readChannelTerms(contract, tokenId), 1000n)),
  );
  const v = (channelId: bigint, amount: bigint) => device.signVoucher(domain, channelId, amount);
  gas.set(
    "PaymentChannels.redeem(ETH)",
    await gasOf(contract.connect(relayer).redeem(ethId, await readChannelTerms(contract, ethId), 200n, v(ethId, 200n))),
  );
  gas.set(
    "PaymentChannels.redeem(ERC20)",
    await gasOf(
      contract.connect(relayer).redeem(tokenId, await readChannelTerms(contract, tokenId), 100n, v(tokenId, 100n)),
    ),
  );
  gas.set(
    "PaymentChannels.close(cooperative,ETH)",
    await gasOf(contract.connect(payee).close(ethId, await readChannelTerms(contract, ethId), 300n, v(ethId, 300n))),
  );
  gas.set(
    "PaymentChannels.close(cooperative,ERC20)",
    await gasOf(
      contract.connect(payee).close(tokenId, await readChannelTerms(contract, tokenId), 300n, v(tokenId, 300n)),
    ),
  );

  await gasOf(channels.open(ethParams, { value: ethParams.amount }));
  const closing = await contract.channelCount();
  gas.set(
    "PaymentChannels.startClose",
    await gasOf(channels.startClose(closing, await readChannelTerms(contract, closing))),
  );
  await (payer.provider as unknown as { send(m: string, p: unknown[]): Promise<unknown> }).send(
    "evm_increaseTime",
    [86_401],
  );
  gas.set(
    "PaymentChannels.finalize",
    await gasOf(contract.connect(relayer).finalize(closing, await readChannelTerms(contract, closing))),
  );

  return gas;
}

/** Gas of ConditionalEscrow actions: create, release by signature, release by proven reading, refund. */
export async function measureEscrowGas(signers: Signer[]): Promise<Map<string, bigint>> {
  const [admin, manufacturer, payer, payee, relayer] = signers as [Signer, Signer, Signer, Signer, Signer];
  const [adminAddress, payerAddress, payeeAddress] = await Promise.all([
    admin.getAddress(),
    payer.getAddress(),
    payee.getAddress(),
  ]);
  const { registry, device } = await registryWithDevice(admin, manufacturer, payerAddress, "thermometer");
  const anchor = await new TelemetryAnchor__factory(admin).deploy(adminAddress, await registry.getAddress());
  await anchor.grantRole(await anchor.ANCHORER_ROLE(), adminAddress);
  const anchorClient = new TelemetryAnchorClient({ contract: anchor });
  const escrowContract = await new ConditionalEscrow__factory(admin).deploy(await anchor.getAddress());
  const escrow = new EscrowClient({ contract: escrowContract.connect(payer) });
  const deadline = BigInt((await payer.provider!.getBlock("latest"))!.timestamp) + 86_400n;
  const t0 = 1_767_225_600n;
  const condition = {
    device: device.address,
    metric: metricId("temperature.mC"),
    minValue: 2_000n,
    maxValue: 8_000n,
    fromTimestamp: t0,
    toTimestamp: t0 + 86_400n,
  };
  const create = () =>
    escrowContract
      .connect(payer)
      .create(
        { payee: payeeAddress, token: ETH, amount: 1000n, deadline, arbiter: ZeroAddress, condition },
        { value: 1000n },
      );
  const gas = new Map<string, bigint>();
  await gasOf(create()); // initializes the escrow counter
  gas.set("ConditionalEscrow.create(ETH,condition)", await gasOf(create()));
  const bySig = await escrowContract.escrowCount();
  const authorization = await escrow.authorizeRelease({ payer, escrowId: bySig, deadline: DEADLINE });
  gas.set(
    "ConditionalEscrow.releaseBySig",
    await gasOf(escrowContract.connect(relayer).releaseBySig(bySig, DEADLINE, authorization.signature)),
  );

  await gasOf(create());
  const byReading = await escrowContract.escrowCount();
  const telemetry = await anchorClient.domain();
  const readings = Array.from({ length: 1024 }, (_, i) => ({
    device: device.address,
    sequence: BigInt(i + 1),
    timestamp: t0 + 60n * BigInt(i),
    metric: condition.metric,
    value: 4_000n + BigInt(i % 100),
    payloadHash: ZERO_HASH,
  }));
  const batch = await ReadingBatch.build(
    readings.map((reading) => ({ reading, signature: device.signReading(telemetry, reading) })),
  );
  const { batchId } = await anchorClient.anchor(batch.header());
  const { reading, signature } = batch.readings[500]!;
  gas.set(
    "ConditionalEscrow.releaseByReading(leaves=1024)",
    await gasOf(
      escrowContract
        .connect(relayer)
        .releaseByReading(byReading, condition, batchId, reading, signature, batch.proof(500)),
    ),
  );

  await gasOf(create());
  const refunded = await escrowContract.escrowCount();
  await (payer.provider as unknown as { send(m: string, p: unknown[]): Promise<unknown> }).send(
    "evm_increaseTime",
    [86_401],
  );
  gas.set("ConditionalEscrow.refund", await gasOf(escrowContract.connect(relayer).refund(refunded)));
  return gas;
}
