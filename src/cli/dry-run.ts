/**
 * `--dry-run`: a command runs as usual up to its first transaction, which is estimated (gas, and the most it
 * may cost) and shown (the contract, the function and its arguments), then nothing is sent and the command
 * stops there with exit 0. A call that would revert shows its decoded revert instead, as a real run would.
 * Later transactions of a command that sends several depend on the first, so they are not shown.
 */
import { AbstractSigner, Interface as EthersInterface, formatEther, getAddress } from "ethers";
import type {
  Interface,
  Provider,
  Signer,
  TransactionLike,
  TransactionRequest,
  TypedDataDomain,
  TypedDataField,
} from "ethers";
import {
  ConditionalEscrow__factory,
  DeviceRegistry__factory,
  PaymentChannels__factory,
  TelemetryAnchor__factory,
} from "../contracts";
import { IotrailError } from "../errors";

const INTERFACES: readonly [string, Interface][] = [
  ["DeviceRegistry", DeviceRegistry__factory.createInterface()],
  ["TelemetryAnchor", TelemetryAnchor__factory.createInterface()],
  ["PaymentChannels", PaymentChannels__factory.createInterface()],
  ["ConditionalEscrow", ConditionalEscrow__factory.createInterface()],
  [
    "ERC-20",
    new EthersInterface([
      "function approve(address spender, uint256 value)",
      "function transfer(address to, uint256 value)",
    ]),
  ],
];

export interface DryRunCall {
  from: string;
  to: string;
  /** `Contract.function(arg=value, …)` when an iotrail interface decodes the data; else the raw selector. */
  call: string;
  data: string;
  value: string;
  gas: string;
  /** The most it may cost: gas × the node's max fee per gas (or gas price), in ETH. */
  maxCostEth: string;
}

/** Where a dry run stopped: carries the transaction it would have sent. */
export class DryRunStop extends IotrailError {
  readonly call: DryRunCall;
  constructor(call: DryRunCall) {
    super("DRY_RUN", `dry run: would send ${call.call}`, { details: { ...call } });
    this.call = call;
  }
}

/** The dry-run stop in `error` or its causes, if any. */
export function dryRunStopIn(error: unknown): DryRunStop | undefined {
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    if (current instanceof DryRunStop) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** `Contract.function(args)`: the contract named by its address where known (several share AccessControl). */
function describe(data: string, to: string, names: Readonly<Record<string, string>>): string {
  const known = names[to];
  const order = [...INTERFACES].sort((a, b) => Number(b[0] === known) - Number(a[0] === known));
  for (const [name, iface] of order) {
    const parsed = iface.parseTransaction({ data });
    if (parsed === null) continue;
    const args = parsed.fragment.inputs.map((input, i) => `${input.name || i}=${String(parsed.args[i])}`);
    return `${known ?? name}.${parsed.name}(${args.join(", ")})`;
  }
  return data.length >= 10 ? `function ${data.slice(0, 10)}` : "a plain transfer";
}

/** A signer that signs what it is asked to sign, but estimates and shows a transaction instead of sending it. */
export class DryRunSigner extends AbstractSigner {
  /**
   * @param names The deployment's contracts by address (`getAddress` form), to name the called contract.
   */
  constructor(
    private readonly inner: Signer,
    provider: Provider,
    private readonly names: Readonly<Record<string, string>> = {},
  ) {
    super(provider);
  }

  getAddress(): Promise<string> {
    return this.inner.getAddress();
  }

  connect(provider: Provider): DryRunSigner {
    return new DryRunSigner(this.inner.connect(provider), provider, this.names);
  }

  signTransaction(_tx: TransactionRequest): Promise<string> {
    return Promise.reject(new IotrailError("DRY_RUN_SIGN", "a dry run signs no transaction"));
  }

  signMessage(message: string | Uint8Array): Promise<string> {
    return this.inner.signMessage(message);
  }

  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string> {
    return this.inner.signTypedData(domain, types, value);
  }

  override async sendTransaction(tx: TransactionRequest): Promise<never> {
    const provider = this.provider!;
    const from = getAddress(await this.getAddress());
    const populated = (await this.populateCall(tx)) as TransactionLike<string>;
    // A call that would revert throws here, and the command reports the decoded revert as it would when sent.
    const gas = await provider.estimateGas({ ...populated, from });
    const fees = await provider.getFeeData();
    const perGas = fees.maxFeePerGas ?? fees.gasPrice ?? 0n;
    const data = populated.data ?? "0x";
    const to = getAddress(populated.to!);
    throw new DryRunStop({
      from,
      to,
      call: describe(data, to, this.names),
      data,
      value: String(populated.value ?? 0n),
      gas: gas.toString(),
      maxCostEth: formatEther(gas * perGas),
    });
  }
}

/** The lines a dry run prints. */
export function dryRunLines(call: DryRunCall): string[] {
  return [
    "dry run: nothing was sent",
    `from   ${call.from}`,
    `to     ${call.to}`,
    `call   ${call.call}`,
    ...(call.value === "0" ? [] : [`value  ${formatEther(call.value)} ETH`]),
    `gas    ${call.gas} (at most ${call.maxCostEth} ETH at the node's current fees)`,
  ];
}
