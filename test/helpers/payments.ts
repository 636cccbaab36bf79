import { ethers } from "hardhat";
import { DeviceKey } from "../../src/device";
import { PaymentChannelsClient } from "../../src/payments";
import type { ChannelTerms } from "../../src/payments";
import type { Eip712Domain } from "../../src/eip712";
import type { MockToken, PaymentChannels } from "../../typechain-types";
import { registeredDevice, registryFixture } from "./registry";
import type { RegistryFixture } from "./registry";

export const DAY = 86_400n;
export const ONE = 10n ** 18n;

export interface ChannelsFixture extends RegistryFixture {
  channels: PaymentChannels;
  pay: PaymentChannelsClient;
  payments: Eip712Domain;
  token: MockToken;
  /** The payer's device key, a registered device owned by fx.owner. */
  device: DeviceKey;
  deviceId: bigint;
}

export async function channelsFixture(): Promise<ChannelsFixture> {
  const fx = await registryFixture();
  const channels = await ethers.deployContract("PaymentChannels", [await fx.registry.getAddress(), DAY]);
  const token = await ethers.deployContract("MockToken");
  await token.mint(fx.owner.address, 1_000n * ONE);
  await token.connect(fx.owner).approve(await channels.getAddress(), ethers.MaxUint256);
  const { key, deviceId } = await registeredDevice(fx);
  const pay = new PaymentChannelsClient({ contract: channels.connect(fx.owner) });
  return { ...fx, channels, pay, payments: await pay.domain(), token, device: key, deviceId };
}

/** An ETH channel from fx.owner (payer) to fx.buyer (payee), vouchers signed by fx.device. */
export async function ethChannel(fx: ChannelsFixture, amount = ONE, extra: { cap?: bigint; expiry?: bigint } = {}) {
  const { channelId } = await fx.pay.open({
    payee: fx.buyer.address,
    signer: fx.device.address,
    token: ethers.ZeroAddress,
    amount,
    ...extra,
  });
  return channelId;
}

export async function tokenChannel(fx: ChannelsFixture, amount = 100n * ONE) {
  const { channelId } = await fx.pay.open({
    payee: fx.buyer.address,
    signer: fx.device.address,
    token: await fx.token.getAddress(),
    amount,
  });
  return channelId;
}

export function voucher(fx: ChannelsFixture, channelId: bigint, amount: bigint, key: DeviceKey = fx.device) {
  return { channelId, amount, signature: key.signVoucher(fx.payments, channelId, amount) };
}

/** Mints `amount` of a test token (any mock with `mint`) to the payer, approves it, opens a channel to the buyer. */
export async function mockTokenChannel(fx: ChannelsFixture, token: string, amount: bigint): Promise<bigint> {
  const mock = new ethers.Contract(
    token,
    ["function mint(address to, uint256 amount)", "function approve(address spender, uint256 amount) returns (bool)"],
    fx.owner,
  );
  await (await mock.getFunction("mint")(fx.owner.address, amount)).wait();
  await (await mock.getFunction("approve")(await fx.channels.getAddress(), amount)).wait();
  const { channelId } = await fx.pay.open({ payee: fx.buyer.address, signer: fx.device.address, token, amount });
  return channelId;
}

/** A channel's terms from the parameters it was opened with and its payer. */
export function termsOf(
  payer: string,
  params: { payee: string; signer: string; token: string; cap: bigint; expiry: bigint; salt: string },
): ChannelTerms {
  const { payee, signer, token, cap, expiry, salt } = params;
  return { payer, payee, signer, token, cap, expiry, salt };
}
