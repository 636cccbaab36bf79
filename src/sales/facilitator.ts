/**
 * x402's facilitator for the `exact` scheme, run inside the seller: `@x402/evm`'s `ExactEvmScheme` on a viem
 * client of the seller's own node, with the seller's settlement key (which pays the gas of
 * `transferWithAuthorization`). Its receipts wait for the configured confirmations, so a transfer counts only
 * once it is that deep in the chain. An outside facilitator (`HTTPFacilitatorClient`) is the alternative.
 */
import { createPublicClient, createWalletClient, defineChain, http } from "viem";
import { createNonceManager, jsonRpc } from "viem/nonce";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ExactEvmScheme } from "@x402/evm/exact/facilitator";
import { HTTPFacilitatorClient } from "@x402/core/server";
import type { ExactFacilitator } from "./exact";

export interface LocalFacilitatorOptions {
  rpcUrl: string;
  chainId: bigint;
  /** The settlement account's key: it submits the transfers and pays their gas. */
  privateKey: string;
  /** Blocks a settlement's transaction must be deep in before it counts (default 1). */
  confirmations?: number;
  /** How long a settlement waits for its confirmations (ms; default 120,000). */
  timeoutMs?: number;
}

/** The in-process `exact` facilitator, and the address that settles. */
export function localExactFacilitator(options: LocalFacilitatorOptions): ExactFacilitator & { settler: string } {
  const chain = defineChain({
    id: Number(options.chainId),
    name: `eip155:${options.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [options.rpcUrl] } },
  });
  // One nonce sequence for this seller's settlements, so that concurrent payers' transfers do not collide. Its
  // own manager: viem's shared one keys its cache by address and chain id only, and would carry a count from
  // another node of the same chain id into this one.
  const account = privateKeyToAccount(options.privateKey as Hex, {
    nonceManager: createNonceManager({ source: jsonRpc() }),
  });
  const transport = http(options.rpcUrl);
  const reader = createPublicClient({ chain, transport });
  const writer = createWalletClient({ account, chain, transport });
  const confirmations = options.confirmations ?? 1;
  const timeout = options.timeoutMs ?? 120_000;
  type Signer = ConstructorParameters<typeof ExactEvmScheme>[0];
  const signer: Signer = {
    getAddresses: () => [account.address],
    readContract: (args) => reader.readContract(args as Parameters<typeof reader.readContract>[0]),
    verifyTypedData: (args) => reader.verifyTypedData(args as Parameters<typeof reader.verifyTypedData>[0]),
    writeContract: (args) => writer.writeContract(args as Parameters<typeof writer.writeContract>[0]),
    sendTransaction: (args) => writer.sendTransaction({ to: args.to, data: args.data }),
    waitForTransactionReceipt: (args) =>
      reader.waitForTransactionReceipt({ hash: args.hash, confirmations, timeout, pollingInterval: 200 }),
    getCode: (args) => reader.getCode(args),
  };
  // Settlement simulates again before it submits: a nonce used since verification fails there, not on-chain.
  const scheme = new ExactEvmScheme(signer, { simulateInSettle: true });
  return {
    settler: account.address,
    verify: (payload, requirements) => scheme.verify(payload, requirements),
    settle: (payload, requirements) => scheme.settle(payload, requirements),
  };
}

/** An outside x402 facilitator the seller configured (its `/verify` and `/settle`). */
export function remoteExactFacilitator(url: string): ExactFacilitator {
  const client = new HTTPFacilitatorClient({ url });
  return {
    verify: (payload, requirements) => client.verify(payload, requirements),
    settle: (payload, requirements) => client.settle(payload, requirements),
  };
}
