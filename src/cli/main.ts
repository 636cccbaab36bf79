/**
 * The `iotrail` command line. Commands are thin callers of the library; errors print one line (the
 * message of the typed error) and exit with status 2. A verification that fails exits with status 1.
 */
import "dotenv/config";
import { Command } from "commander";
import { batcherCommand } from "./batcher";
import { verifyCommand } from "./verify";

export function program(): Command {
  return new Command("iotrail")
    .description("iotrail: device registry, anchored telemetry and machine payments on Ethereum")
    .addCommand(verifyCommand())
    .addCommand(batcherCommand());
}

export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (error) {
    process.stderr.write(`iotrail: ${(error as Error).message}\n`);
    process.exitCode = 2;
  }
}

if (require.main === module) void main(process.argv);
