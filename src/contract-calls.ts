/**
 * Shared plumbing of the contract clients: custom reverts decoded into typed errors, mined receipts, and
 * event logs matched by the ABI's topic hash (never hard-coded topics).
 */
import type {
  BaseContract,
  ContractTransactionReceipt,
  ContractTransactionResponse,
  Interface,
  LogDescription,
  TransactionReceipt,
} from "ethers";
import { makeDomain } from "./eip712";
import type { Eip712Domain } from "./eip712";
import { decodeContractError, TransactionError } from "./errors";

/** Runs a contract call, turning a revert into a `ContractRevertError` decoded with `iface`. */
export async function callDecoded<T>(iface: Interface, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw decodeContractError(error, iface);
  }
}

/** Sends a transaction and waits for its receipt; reverts are decoded as in {@link callDecoded}. */
export async function sendDecoded(
  iface: Interface,
  fn: () => Promise<ContractTransactionResponse>,
): Promise<ContractTransactionReceipt> {
  const receipt = await callDecoded(iface, async () => (await fn()).wait());
  if (receipt === null) throw new TransactionError("the transaction was replaced or dropped before it was mined");
  return receipt;
}

/** Logs of event `name` emitted by `contract` in `receipt`, matched by the ABI's topic hash. */
export function eventsIn(
  contract: BaseContract,
  receipt: Pick<TransactionReceipt, "logs">,
  name: string,
): LogDescription[] {
  const iface = contract.interface;
  const topic = iface.getEvent(name)!.topicHash;
  const address = String(contract.target).toLowerCase();
  return receipt.logs
    .filter((log) => log.address.toLowerCase() === address && log.topics[0] === topic)
    .map((log) => iface.parseLog(log)!);
}

/** The first log of event `name` in `receipt`, or a {@link TransactionError}. */
export function eventIn(contract: BaseContract, receipt: ContractTransactionReceipt, name: string): LogDescription {
  const [first] = eventsIn(contract, receipt, name);
  if (first === undefined) throw new TransactionError(`the transaction emitted no ${name} event`);
  return first;
}

/** A contract's EIP-712 domain from its ERC-5267 `eip712Domain()`. */
export async function readEip712Domain(contract: {
  eip712Domain(): Promise<[string, string, string, bigint, string, string, bigint[]]>;
}): Promise<Eip712Domain> {
  const [, name, version, chainId, verifyingContract] = await contract.eip712Domain();
  return makeDomain(name, version, chainId, verifyingContract);
}
