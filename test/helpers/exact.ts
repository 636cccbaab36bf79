/**
 * A batcher that sells readings by x402's `exact` scheme (and `iotrail-channel`), on its own anvil: a fresh
 * chain whose clock is the wall clock, as x402's clients and facilitator assume (they date authorizations by
 * `Date.now()`; the in-process Hardhat chain runs ahead after tests that move its time).
 */
import hre from "hardhat";
import { JsonRpcProvider, Wallet, id } from "ethers";
import type { JsonRpcSigner } from "ethers";
import { createPublicClient, http } from "viem";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import { toClientEvmSigner } from "@x402/evm";
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { BatcherService } from "../../src/batcher";
import type { BatcherConfig } from "../../src/batcher";
import { DeviceRegistry__factory, PaymentChannels__factory } from "../../src/contracts";
import { DeviceKey } from "../../src/device";
import { DeviceRegistryClient, registerDeviceKeys } from "../../src/registry";
import { telemetryDomain } from "../../src/eip712";
import type { Eip712Domain } from "../../src/eip712";
import { anvilBinary, startAnvil } from "../../src/tooling/anvil";
import type { AnvilNode } from "../../src/tooling/anvil";
import { DemoToken__factory } from "../../typechain-types";
import type { DemoToken } from "../../typechain-types";
import { ANCHORER_KEY, contractsTestConfig, liveReadings, postReadings, startBatcher, waitFor } from "./batcher";
import { devAccountKey, deployRegistryAndAnchor } from "./node";
import { encodeIngestMessage } from "../../src/telemetry";

/** dUSD base units (6 decimals) per reading. */
export const EXACT_PRICE = 10_000n;
export const CHANNEL_PRICE = 1_000n;
export const SETTLER_KEY = devAccountKey(7);
/** The payee's key (anvil's account 3, the payee of {@link exactChain}): it signs receipts. */
export const PAYEE_KEY = devAccountKey(3);

export interface ExactChain {
  node: AnvilNode;
  provider: JsonRpcProvider;
  token: DemoToken;
  anchor: string;
  registry: string;
  paymentChannels: string;
  payee: string;
  telemetry: Eip712Domain;
  manufacturer: JsonRpcSigner;
  owner: string;
}

/** A fresh anvil with the registry, the anchor, PaymentChannels and DemoToken deployed. */
export async function exactChain(args: string[] = []): Promise<ExactChain> {
  const node = await startAnvil({ args });
  const provider = new JsonRpcProvider(node.url, undefined, { pollingInterval: 50, cacheTimeout: -1 });
  const [admin, manufacturer, owner, payee] = (await Promise.all(
    [0, 1, 2, 3].map((i) => provider.getSigner(i)),
  )) as JsonRpcSigner[];
  const anchorer = new Wallet(ANCHORER_KEY).address;
  const { registry, anchor } = await deployRegistryAndAnchor(admin!, {
    manufacturer: manufacturer!.address,
    anchorer,
  });
  const channels = await new PaymentChannels__factory(admin!).deploy(await registry.getAddress(), 86_400n);
  await channels.waitForDeployment();
  const token = await new DemoToken__factory(admin!).deploy();
  await token.waitForDeployment();
  const chainId = (await provider.getNetwork()).chainId;
  return {
    node,
    provider,
    token,
    anchor: await anchor.getAddress(),
    registry: await registry.getAddress(),
    paymentChannels: await channels.getAddress(),
    payee: payee!.address,
    telemetry: telemetryDomain(chainId, await anchor.getAddress()),
    manufacturer: manufacturer!,
    owner: owner!.address,
  };
}

/** A batcher on `chain` selling by `iotrail-channel` in ETH and by `exact` in DemoToken. */
export function exactSeller(
  chain: ExactChain,
  exact: Record<string, unknown> = {},
  sales: Record<string, unknown> = {},
  top: Partial<BatcherConfig> = {},
): Promise<BatcherService> {
  const base = contractsTestConfig(chain.node.url, { chainId: 31337n });
  const config = contractsTestConfig(
    chain.node.url,
    { chainId: 31337n, anchor: chain.anchor, registry: chain.registry },
    {
      anchoring: { ...base.anchoring, confirmations: 1 },
      sales: {
        pricePerReading: CHANNEL_PRICE,
        token: "0x0000000000000000000000000000000000000000",
        payee: chain.payee,
        vouchers: ":memory:",
        paymentChannels: chain.paymentChannels,
        watchIntervalMs: 60_000,
        claimMarginSeconds: 3_600,
        exact: {
          asset: String(chain.token.target),
          pricePerReading: EXACT_PRICE,
          confirmations: 1,
          maxTimeoutSeconds: 120,
          settlerKey: SETTLER_KEY,
          ...exact,
        },
        ...sales,
      },
      ...top,
    },
  );
  return startBatcher(config as BatcherConfig);
}

/** A registered device that published readings 1..count to the batcher, anchored; its range URL. */
export async function publishedRange(chain: ExactChain, service: BatcherService, count: number) {
  const device = DeviceKey.generate();
  const { timestamp } = (await chain.provider.getBlock("latest"))!;
  await registerDeviceKeys({
    registry: new DeviceRegistryClient({
      contract: DeviceRegistry__factory.connect(chain.registry, chain.manufacturer),
    }),
    registrant: chain.manufacturer.address,
    keys: [device],
    owner: chain.owner,
    metadataHash: () => id("exact-sales device"),
    deadline: BigInt(timestamp) + 3_600n,
  });
  const readings = liveReadings(device, count);
  const body = `[${readings
    .map((reading) =>
      encodeIngestMessage({
        domain: chain.telemetry,
        reading,
        signature: device.signReading(chain.telemetry, reading),
      }),
    )
    .join(",")}]`;
  const posted = await postReadings(service.httpUrl, body);
  if (posted.status !== 202) throw new Error(`readings refused: ${posted.status}`);
  const url = (from: number, to: number) =>
    `${service.httpUrl}/v1/devices/${device.address}/bundle?from=${from}&to=${to}`;
  await waitFor(
    // Anchored once it is priced (402 from a seller) or served (200 from a batcher that does not sell).
    async () => ([200, 402].includes((await fetch(url(1, count))).status) ? true : undefined),
    30_000,
    "the range anchored and for sale",
  );
  return { device, url };
}

/**
 * `fetch` that pays by x402's stock client: `@x402/fetch` with `@x402/evm`'s exact client for the buyer's
 * key, allowed to pay in the chain's DemoToken (a stock client pays only assets it was told to).
 */
export function stockExactFetch(chain: ExactChain, buyer: Awaited<ReturnType<typeof tokenBuyer>>) {
  const client = x402Client.fromConfig({
    schemes: [
      { network: "eip155:31337", client: new ExactEvmScheme(toClientEvmSigner(buyer.account, buyer.publicClient)) },
    ],
    spendControls: { allowedAssets: [{ network: "eip155:31337", asset: String(chain.token.target) }] },
  });
  return wrapFetchWithPayment(fetch, client);
}

/** A buyer with only a key and dUSD: no ETH, no device key, no channel. */
export async function tokenBuyer(chain: ExactChain, balance: bigint) {
  const key = Wallet.createRandom().privateKey as Hex;
  const account = privateKeyToAccount(key);
  await (await chain.token.connect(await chain.provider.getSigner(0)).mint(account.address, balance)).wait();
  const publicClient = createPublicClient({ transport: http(chain.node.url) });
  return { key, account, publicClient };
}

/** Skips without anvil (CI must have it), and under solidity-coverage (its contracts exceed a real node's size limit). */
export const skipWithoutAnvil = (context: Mocha.Context) => {
  if (
    anvilBinary() === undefined ||
    (hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING
  ) {
    if (process.env.CI === "true" && anvilBinary() === undefined) throw new Error("anvil is required in CI");
    context.skip();
  }
};
