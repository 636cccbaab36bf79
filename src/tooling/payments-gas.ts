/**
 * Gas of PaymentChannels and ConditionalEscrow actions on fresh deployments with deterministic keys.
 */
import { Signature, Wallet, ZeroAddress, id, toBeHex } from "ethers";
import type { ContractTransactionResponse, Signer, TransactionResponse } from "ethers";
import {
  ConditionalEscrow__factory,
  DemoToken__factory,
  DeviceRegistry__factory,
  MockToken__factory,
  MockUSDC__factory,
  PaymentChannels__factory,
  TelemetryAnchor__factory,
} from "../../typechain-types";
import { TelemetryAnchorClient } from "../anchor";
import { metricId, ReadingBatch, ZERO_HASH } from "../telemetry";
import { DeviceKey } from "../device";
import { DeviceRegistryClient, registerDeviceKeys } from "../registry";
import { ETH, EscrowClient, PaymentChannelsClient, toVoucherClaim } from "../payments";
import { eventIn } from "../contract-calls";
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from "../eip712";

const DEADLINE = 2n ** 40n;

async function gasOf(tx: Promise<ContractTransactionResponse | TransactionResponse>): Promise<bigint> {
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

/** Signers of `count` payer accounts with ETH, for channels of one payee in `claimMany`. */
async function fundedWallets(funder: Signer, count: number): Promise<Signer[]> {
  const wallets = Array.from({ length: count }, (_, i) => new Wallet(id(`iotrail gas payer ${i}`), funder.provider));
  for (const wallet of wallets) await gasOf(funder.sendTransaction({ to: wallet.address, value: 10n ** 18n }));
  return wallets;
}

/**
 * Gas of PaymentChannels actions, in the steady state µRaiden's and x402's published figures assume: the
 * contract and the payee already hold the token (a transfer to them updates a balance rather than creating
 * one), and each row is a channel's first use of its own slot.
 */
export async function measurePaymentsGas(signers: Signer[]): Promise<Map<string, bigint>> {
  const [admin, manufacturer, payer, payee, relayer] = signers as [Signer, Signer, Signer, Signer, Signer];
  const [payerAddress, payeeAddress] = await Promise.all([payer.getAddress(), payee.getAddress()]);
  const { registry, device } = await registryWithDevice(admin, manufacturer, payerAddress, "payment device");
  const contract = await new PaymentChannels__factory(admin).deploy(await registry.getAddress(), 86_400);
  const contractAddress = await contract.getAddress();
  const channels = contract.connect(payer);
  const client = new PaymentChannelsClient({ contract: channels });
  const domain = await client.domain();
  const token = await new MockToken__factory(admin).deploy();
  const usdc = await new MockUSDC__factory(admin).deploy();
  for (const t of [token, usdc]) {
    await t.mint(payerAddress, 10n ** 24n);
    await t.mint(payeeAddress, 1n); // the payee's balance exists, as a payee's does in the steady state
    await t.connect(payer).approve(contractAddress, 2n ** 255n);
  }
  let salts = 0;
  const params = (tokenAddress: string) => ({
    payee: payeeAddress,
    signer: device.address,
    token: tokenAddress,
    amount: 10n ** 18n,
    cap: 0n,
    expiry: 0n,
    salt: toBeHex(salts++, 32), // counter salts, as the client picks by default
  });
  const opened = async (tx: Promise<ContractTransactionResponse>) => {
    const receipt = await (await tx).wait();
    if (receipt === null) throw new Error("transaction dropped");
    const event = eventIn(contract, receipt, "ChannelOpened");
    return {
      gas: receipt.gasUsed,
      channelId: event.args.channelId as bigint,
      terms: await client.terms(event.args.channelId as bigint),
    };
  };
  const openEth = () => {
    const p = params(ETH);
    return opened(channels.open(p, { value: p.amount }));
  };
  const tokenAddress = await token.getAddress();
  const gas = new Map<string, bigint>();

  await openEth();
  await opened(channels.open(params(tokenAddress))); // the contract's token balance exists from here on
  await opened(channels.open(params(await usdc.getAddress())));
  const eth = await openEth();
  gas.set("PaymentChannels.open(ETH)", eth.gas);
  const erc20 = await opened(channels.open(params(tokenAddress)));
  gas.set("PaymentChannels.open(ERC20)", erc20.gas);
  const usdcParams = params(await usdc.getAddress());
  const authorization = await client.authorizeOpenWithAuthorization({
    funder: payer,
    channel: usdcParams,
    validBefore: DEADLINE,
  });
  gas.set(
    "PaymentChannels.open(ERC20,EIP3009)",
    (
      await opened(
        contract.connect(relayer).openWithAuthorization(payerAddress, usdcParams, authorization.authorization),
      )
    ).gas,
  );
  gas.set("PaymentChannels.topUp(ETH)", await gasOf(channels.topUp(eth.terms, 1000n, { value: 1000n })));
  gas.set("PaymentChannels.topUp(ERC20)", await gasOf(channels.topUp(erc20.terms, 1000n)));
  const v = (channelId: bigint, amount: bigint) => device.signVoucher(domain, channelId, amount);
  gas.set(
    "PaymentChannels.redeem(ETH)",
    await gasOf(contract.connect(relayer).redeem(eth.terms, 200n, v(eth.channelId, 200n))),
  );
  gas.set(
    "PaymentChannels.redeem(ERC20)",
    await gasOf(contract.connect(relayer).redeem(erc20.terms, 100n, v(erc20.channelId, 100n))),
  );
  gas.set(
    "PaymentChannels.close(cooperative,ETH)",
    await gasOf(contract.connect(payee).close(eth.terms, 300n, v(eth.channelId, 300n))),
  );
  gas.set(
    "PaymentChannels.close(cooperative,ERC20)",
    await gasOf(contract.connect(payee).close(erc20.terms, 300n, v(erc20.channelId, 300n))),
  );

  // claimMany: ten payers' ERC-20 channels to one payee, each with one voucher, claimed by a relayer.
  const payers = await fundedWallets(admin, 10);
  const claims = [];
  for (const p of payers) {
    await gasOf(token.mint(await p.getAddress(), 10n ** 18n));
    await gasOf(token.connect(p).approve(contractAddress, 2n ** 255n));
    const ch = await opened(contract.connect(p).open(params(tokenAddress)));
    claims.push({ terms: ch.terms, amount: 500n, signature: v(ch.channelId, 500n) });
  }
  const claimed = await gasOf(
    contract.connect(relayer).claimMany(payeeAddress, tokenAddress, claims.map(toVoucherClaim)),
  );
  gas.set("PaymentChannels.claimMany(10)", claimed);
  gas.set("PaymentChannels.claimMany(10)/channel", claimed / 10n);

  const closing = await openEth();
  gas.set("PaymentChannels.startClose", await gasOf(channels.startClose(closing.terms)));
  await (payer.provider as unknown as { send(m: string, p: unknown[]): Promise<unknown> }).send(
    "evm_increaseTime",
    [86_401],
  );
  gas.set("PaymentChannels.finalize", await gasOf(contract.connect(relayer).finalize(closing.terms)));

  return gas;
}

/**
 * Gas of one paid request by x402's `exact` scheme: the facilitator (here a relayer) submits the buyer's
 * `transferWithAuthorization` in DemoToken (the v, r, s form x402's facilitator uses for a key's signature),
 * in the steady state: the buyer and the payee already hold the token.
 */
export async function measureExactGas(signers: Signer[]): Promise<Map<string, bigint>> {
  const [admin, , payer, payee, relayer] = signers as [Signer, Signer, Signer, Signer, Signer];
  const [payerAddress, payeeAddress] = await Promise.all([payer.getAddress(), payee.getAddress()]);
  const token = await new DemoToken__factory(admin).deploy();
  await token.mint(payerAddress, 10n ** 12n);
  await token.mint(payeeAddress, 1n);
  const { chainId } = await payer.provider!.getNetwork();
  const domain = { name: "iotrail Demo USD", version: "1", chainId, verifyingContract: await token.getAddress() };
  const message = {
    from: payerAddress,
    to: payeeAddress,
    value: 10_000n,
    validAfter: 0n,
    validBefore: DEADLINE,
    nonce: id("iotrail gas exact payment"),
  };
  const signature = Signature.from(
    await payer.signTypedData(
      domain,
      { TransferWithAuthorization: [...TRANSFER_WITH_AUTHORIZATION_TYPES.TransferWithAuthorization] },
      message,
    ),
  );
  const gas = new Map<string, bigint>();
  gas.set(
    "DemoToken.transferWithAuthorization(x402,exact)",
    await gasOf(
      token
        .connect(relayer)
        .getFunction(
          "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)",
        )(
        message.from,
        message.to,
        message.value,
        message.validAfter,
        message.validBefore,
        message.nonce,
        signature.v,
        signature.r,
        signature.s,
      ),
    ),
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
