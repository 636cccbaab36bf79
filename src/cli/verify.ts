/** `iotrail verify <bundle.json>`: a thin caller of `verifyBundle`. */
import { readFile } from "node:fs/promises";
import { JsonRpcProvider } from "ethers";
import { Command, InvalidArgumentError } from "commander";
import { formatReport, verifyBundle } from "../verify";

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError("expected a non-negative integer");
  return n;
}

export function verifyCommand(): Command {
  return new Command("verify")
    .description("verify a proof bundle against the chain (or offline, without --rpc)")
    .argument("<bundle>", "path of the proof bundle (JSON), or - for standard input")
    .option("--rpc <url>", "JSON-RPC endpoint of the anchoring chain (default: RPC_URL from the environment)")
    .option("--offline", "skip the chain checks even if an endpoint is configured")
    .option("--anchor <address>", "the TelemetryAnchor address you trust (default: the bundle's)")
    .option("--confirmations <n>", "confirmations required for each anchoring transaction", positiveInteger, 1)
    .option("--json", "print the report as JSON")
    .option("--verbose", "list every per-reading check, not only failures and a summary")
    .action(
      async (
        path: string,
        opts: {
          rpc?: string;
          offline?: boolean;
          anchor?: string;
          confirmations: number;
          json?: boolean;
          verbose?: boolean;
        },
      ) => {
        const text = path === "-" ? await readStdin() : await readFile(path, "utf8");
        const url = opts.offline === true ? undefined : opts.rpc || process.env.RPC_URL || undefined;
        const provider = url === undefined ? undefined : new JsonRpcProvider(url, undefined, { staticNetwork: false });
        try {
          const report = await verifyBundle(text, {
            ...(provider === undefined ? {} : { provider }),
            minConfirmations: opts.confirmations,
            ...(opts.anchor === undefined ? {} : { expectedAnchor: opts.anchor }),
          });
          process.stdout.write(
            opts.json === true
              ? `${JSON.stringify(report, null, 2)}\n`
              : formatReport(report, { verbose: opts.verbose === true }),
          );
          if (!report.ok) process.exitCode = 1;
        } finally {
          provider?.destroy();
        }
      },
    );
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
