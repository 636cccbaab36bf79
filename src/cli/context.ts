/**
 * What every chain command shares: the global options (`--network`/`--rpc`, `--key`/`--account`,
 * `--deployments`, `--json`, `--quiet`, `--verbose`, `--timeout`), the provider with a deadline on every
 * answer, the signer, the deployment record of the chain, and the output (JSON or text). Commands stay thin.
 */
import { Command } from "commander";
import { getAddress, isAddress } from "ethers";
import type { JsonRpcProvider } from "ethers";
import type { Signer } from "ethers";
import { DeviceKey } from "../device";
import { deploymentsDir, networkUrl, resolveDeployment, suiteClients } from "../deployments";
import type { DeploymentRecord, SuiteClients } from "../deployments";
import { ConfigError, InvalidInputError, withDeadline } from "../errors";
import { probeChainId, rpcProvider } from "../rpc";
import type { DeviceRegistryClient } from "../registry";
import type { TelemetryAnchorClient } from "../anchor";
import type { EscrowClient, PaymentChannelsClient } from "../payments";
import { DryRunSigner } from "./dry-run";
import { terminalPrompt } from "./files";
import { unitOf } from "./units";
import type { Unit } from "./units";

export const DEFAULT_CLI_TIMEOUT_S = 30;

export interface GlobalOptions {
  network?: string;
  rpc?: string;
  key?: string;
  account?: number;
  deployments?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  dryRun?: boolean;
  timeout: number;
}

/** The options of `command` merged with the program's global ones. */
export function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/** Prints a command's result: the JSON value with `--json`, else the text lines (none with `--quiet`). */
export class Output {
  constructor(private readonly options: GlobalOptions) {}

  get json(): boolean {
    return this.options.json === true;
  }

  /**
   * A command's result: `value` with `--json`, else `lines`. Every transaction a command sent is named in
   * both, written once here: a `transactionHash` or `transactions` in `value` that the lines do not show
   * gets a line of its own.
   */
  result(value: unknown, lines: readonly string[]): void {
    if (this.json) process.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
    else if (this.options.quiet !== true) {
      for (const line of [...lines, ...transactionLines(value, lines)]) process.stdout.write(`${line}\n`);
    }
  }

  /** Progress and notes, on standard error, only for people (never with `--json` or `--quiet`). */
  note(line: string): void {
    if (!this.json && this.options.quiet !== true) process.stderr.write(`${line}\n`);
  }

  /** A progress bar on standard error when it is a terminal (and a line every 10% otherwise). */
  progress(label: string, total: number): (done: number) => void {
    let lastDecile = -1;
    return (done: number) => {
      if (this.json || this.options.quiet === true || total === 0) return;
      const fraction = Math.min(1, done / total);
      if (process.stderr.isTTY) {
        const width = 30;
        const filled = Math.round(fraction * width);
        process.stderr.write(
          `\r${label} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total}${done >= total ? "\n" : ""}`,
        );
      } else {
        const decile = Math.floor(fraction * 10);
        if (decile !== lastDecile) {
          lastDecile = decile;
          process.stderr.write(`${label}: ${done}/${total}\n`);
        }
      }
    };
  }
}

/** The transactions in a result's `value` that none of its `lines` names. */
export function transactionLines(value: unknown, lines: readonly string[]): string[] {
  if (typeof value !== "object" || value === null) return [];
  const { transactionHash, transactions } = value as { transactionHash?: unknown; transactions?: unknown };
  const hashes = [
    ...(typeof transactionHash === "string" ? [transactionHash] : []),
    ...(Array.isArray(transactions) ? transactions.filter((t): t is string => typeof t === "string") : []),
  ].filter((hash) => /^0x[0-9a-fA-F]{64}$/.test(hash) && !lines.some((line) => line.includes(hash)));
  if (hashes.length === 0) return [];
  return [hashes.length === 1 ? `transaction ${hashes[0]}` : `transactions ${hashes.join(", ")}`];
}

/** bigints as decimal strings in `--json` output. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

export class Context {
  readonly options: GlobalOptions;
  readonly out: Output;
  private providerPromise: Promise<JsonRpcProvider> | undefined;
  private deploymentPromise: Promise<DeploymentRecord> | undefined;
  private readonly opened: JsonRpcProvider[] = [];
  /** The unit of the amounts this command deals in, once it asked (see {@link Context.unitOf}). */
  unit: Unit | undefined;
  /** Whether this command shows amounts in base units (`--raw`). */
  rawAmounts = false;

  constructor(options: GlobalOptions) {
    this.options = options;
    this.out = new Output(options);
  }

  static of(command: Command): Context {
    return new Context(globals(command));
  }

  /** The unit of `token` (ETH for the zero address), remembered as the unit of this command's amounts. */
  async unitOf(token: string | undefined, raw = false): Promise<Unit> {
    this.unit = await unitOf(await this.provider(), token);
    this.rawAmounts = raw;
    return this.unit;
  }

  get timeoutMs(): number {
    return this.options.timeout * 1000;
  }

  /** The JSON-RPC endpoint: `--rpc`, else `--network` (see `src/deployments/networks.ts`), else `localhost`. */
  rpcUrl(): string {
    if (this.options.rpc !== undefined) return this.options.rpc;
    return networkUrl(this.options.network ?? "localhost");
  }

  /** A provider whose chain id was read once, within the deadline (a node that does not answer fails fast). */
  provider(): Promise<JsonRpcProvider> {
    this.providerPromise ??= (async () => {
      const url = this.rpcUrl();
      const provider = rpcProvider(url, await probeChainId(url, this.timeoutMs), this.timeoutMs);
      this.opened.push(provider);
      return provider;
    })();
    return this.providerPromise;
  }

  /** The sending account: `--key <file>`, else `IOTRAIL_PRIVATE_KEY`, else `--account <n>` of the node. */
  async signer(): Promise<Signer> {
    const signer = await this.sendingSigner();
    if (this.options.dryRun !== true) return signer;
    // The deployment's contracts by address, to name the called contract (none when there is no record).
    const record = await this.deployment().catch(() => undefined);
    const names = Object.fromEntries(
      Object.entries(record?.contracts ?? {}).map(([name, c]) => [getAddress(c.address), name]),
    );
    return new DryRunSigner(signer, await this.provider(), names);
  }

  /** The sending account's own key, when it comes from a key file or IOTRAIL_PRIVATE_KEY (else undefined). */
  async sendingKey(): Promise<DeviceKey | undefined> {
    if (this.options.key !== undefined) {
      return DeviceKey.load(this.options.key, { ...passwordPrompt(`password of ${this.options.key}: `) });
    }
    const fromEnv = process.env.IOTRAIL_PRIVATE_KEY;
    return fromEnv ? DeviceKey.fromPrivateKey(fromEnv) : undefined;
  }

  private async sendingSigner(): Promise<Signer> {
    const provider = await this.provider();
    if (this.options.key !== undefined) {
      const key = this.options.key;
      return (await DeviceKey.load(key, { ...passwordPrompt(`password of ${key}: `) })).wallet(provider);
    }
    const fromEnv = process.env.IOTRAIL_PRIVATE_KEY;
    if (fromEnv) return DeviceKey.fromPrivateKey(fromEnv).wallet(provider);
    if (this.options.account !== undefined) return provider.getSigner(this.options.account);
    throw new ConfigError(
      "no account to send from: pass --key <key file>, set IOTRAIL_PRIVATE_KEY, or --account <n> for a local node's account",
    );
  }

  async signerAddress(): Promise<string> {
    return getAddress(await (await this.signer()).getAddress());
  }

  /** The deployment record of the chain (`--deployments`, `IOTRAIL_DEPLOYMENTS`, `./deployments`). */
  deployment(): Promise<DeploymentRecord> {
    this.deploymentPromise ??= (async () =>
      withDeadline(
        resolveDeployment(await this.provider(), this.options.deployments),
        this.timeoutMs,
        "reading the deployment",
      ))();
    return this.deploymentPromise;
  }

  get deploymentsDir(): string {
    return deploymentsDir(this.options.deployments);
  }

  /** The clients of the chain's recorded deployment, reading (default) or sending from the signer. */
  async clients(send = false): Promise<SuiteClients> {
    return suiteClients(await this.deployment(), send ? await this.signer() : await this.provider());
  }

  async registry(send = false): Promise<DeviceRegistryClient> {
    return (await this.clients(send)).registry;
  }

  async anchor(send = false): Promise<TelemetryAnchorClient> {
    return (await this.clients(send)).anchor;
  }

  async channels(send = false): Promise<PaymentChannelsClient> {
    return (await this.clients(send)).channels;
  }

  async escrow(send = false): Promise<EscrowClient> {
    return (await this.clients(send)).escrow;
  }

  /** Chain time now (the latest block's timestamp). */
  async chainTime(): Promise<bigint> {
    const block = await (await this.provider()).getBlock("latest");
    return BigInt(block!.timestamp);
  }

  /**
   * Stops the providers' listeners (a transaction's receipt is awaited through block polling on a chain with a
   * block time), then destroys them, so that the process can exit once the work is done.
   */
  async close(): Promise<void> {
    for (const provider of this.opened) {
      await provider.removeAllListeners().catch(() => undefined);
      provider.destroy();
    }
  }
}

/** A checksummed address argument. */
export function parseAddress(value: string, what = "address"): string {
  if (!isAddress(value)) throw new InvalidInputError(`${what}: expected an address (0x + 40 hex digits), got ${value}`);
  return getAddress(value);
}

/** `{ password }` for {@link DeviceKey.load}: a prompt on a terminal, nothing elsewhere. */
export function passwordPrompt(question: string): { password?: () => Promise<string> } {
  const prompt = terminalPrompt(question);
  return prompt === undefined ? {} : { password: prompt };
}
