/**
 * The `iotrail` command line: one tool for developers (deploy), manufacturers and owners (devices, roles),
 * operators (batcher, simulate), partners (bundle, verify) and machines that pay (channel, escrow). Commands
 * are thin callers of the library. An error prints one line (a revert as its decoded custom error, with a
 * hint) and exits with status 2; `--verbose` adds the details. `iotrail verify` has its own exit codes.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { batcherCommand } from "./batcher";
import { bundleCommand } from "./bundle";
import { channelCommand } from "./channel";
import { escrowCommand } from "./escrow";
import { dataCommand } from "./data";
import { DEFAULT_CLI_TIMEOUT_S } from "./context";
import { deployCommand, deploymentCommand } from "./deploy";
import { mqttPasswordsCommand } from "./broker";
import { anchorCommand, bundleInfoCommand, rolesListCommand } from "./lookups";
import { devicesCommand } from "./devices";
import { rolesCommand } from "./roles";
import { loadDotenv } from "../env";
import { dryRunLines, dryRunStopIn } from "./dry-run";
import { describeError } from "./errors";
import { simulateCommand } from "./simulate";
import { verifyCommand } from "./verify";

function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(`${require("./deploy").packageRoot()}/package.json`) as { version: string }).version;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive number of seconds");
  return n;
}

function accountIndex(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected an account index (0, 1, ...)");
  return n;
}

export function program(): Command {
  return new Command("iotrail")
    .description("iotrail: device registry, anchored telemetry and machine payments on Ethereum")
    .version(version(), "-V, --version")
    .addOption(
      new Option(
        "--network <name>",
        "network: localhost, testnet (RPC_URL) or <name> (RPC_URL_<NAME>) from .env",
      ).conflicts("rpc"),
    )
    .option("--rpc <url>", "JSON-RPC endpoint (instead of --network)")
    .option("--key <file>", "key file of the sending account (else IOTRAIL_PRIVATE_KEY from the environment)")
    .option("--account <n>", "send from a local node's unlocked account n (hardhat node, anvil)", accountIndex)
    .option("--deployments <dir>", "folder of deployment records (else IOTRAIL_DEPLOYMENTS, else ./deployments)")
    .option("--timeout <seconds>", "seconds to wait for each answer of the node", seconds, DEFAULT_CLI_TIMEOUT_S)
    .option("--json", "print results as JSON")
    .option("--dry-run", "send nothing: estimate and show the first transaction a command would send, then stop")
    .option("-q, --quiet", "print nothing but errors")
    .option("--verbose", "print details of errors (stack, causes)")
    .addCommand(deployCommand())
    .addCommand(deploymentCommand())
    .addCommand(devicesCommand().addCommand(mqttPasswordsCommand()))
    .addCommand(rolesCommand().addCommand(rolesListCommand()))
    .addCommand(simulateCommand())
    .addCommand(batcherCommand())
    .addCommand(bundleCommand().addCommand(bundleInfoCommand()))
    .addCommand(anchorCommand())
    .addCommand(verifyCommand())
    .addCommand(dataCommand())
    .addCommand(channelCommand())
    .addCommand(escrowCommand());
}

/**
 * A request that ethers cancelled because the command closed its provider after its work was done (a poll for
 * blocks or receipts still in flight on a chain with a block time): its answer is no longer wanted.
 */
function cancelledByClose(reason: unknown): boolean {
  const error = reason as { code?: unknown; message?: unknown } | undefined;
  return (
    error?.code === "UNSUPPORTED_OPERATION" &&
    typeof error.message === "string" &&
    error.message.startsWith("provider destroyed; cancelled request")
  );
}

export async function main(argv: string[]): Promise<void> {
  loadDotenv();
  // Issue 24 (2): on a chain with a block time, ethers' receipt polling could still be asking for a block when
  // the command closed its provider; the rejection went unhandled and crashed a command that had succeeded.
  process.on("unhandledRejection", (reason) => {
    if (cancelledByClose(reason)) return;
    process.stderr.write(`iotrail: internal error: ${String((reason as Error)?.stack ?? reason)}\n`);
    process.exitCode = 1;
  });
  const cli = program();
  cli.exitOverride();
  cli.configureOutput({ outputError: (text, write) => write(text) });
  try {
    await cli.parseAsync(argv);
  } catch (error) {
    const code = (error as { code?: string; exitCode?: number }).code;
    if (typeof code === "string" && code.startsWith("commander.")) {
      // Help and --version exit 0; usage errors were printed by commander.
      process.exitCode = (error as { exitCode: number }).exitCode === 0 ? 0 : 2;
    } else if (dryRunStopIn(error) !== undefined) {
      const { call } = dryRunStopIn(error)!;
      if (argv.includes("--json")) process.stdout.write(`${JSON.stringify({ dryRun: true, ...call }, null, 2)}\n`);
      else for (const line of dryRunLines(call)) process.stdout.write(`${line}\n`);
      process.exitCode = 0;
    } else {
      const verbose = argv.includes("--verbose");
      for (const line of describeError(error, verbose)) process.stderr.write(`iotrail: ${line}\n`);
      // 130: stopped by Ctrl-C, as shells report it.
      process.exitCode = (error as { code?: string }).code === "INTERRUPTED" ? 130 : 2;
    }
  }
  // A node that never answered can leave a socket open; it must not keep the process alive.
  setTimeout(() => process.exit(), 100).unref();
}

if (require.main === module) void main(process.argv);
