/**
 * `iotrail verify <bundle.json>`: a thin caller of `verifyBundle`. Exit status: 0 verified, 1 a check failed,
 * 2 usage or I/O error, 3 not fully verified (offline, no pinned anchor, or the chain could not be reached).
 */
import { readFile } from "node:fs/promises";
import { FetchRequest, JsonRpcProvider, getAddress, isAddress } from "ethers";
import { Command, InvalidArgumentError } from "commander";
import { verifyReceipt } from "../sales";
import type { ReceiptCheck } from "../sales";
import { InvalidInputError } from "../errors";
import { deploymentPath, deploymentsDir, networkUrl, readDeployment, trustFromDeployment } from "../deployments";
import { parseRange } from "./bundle";
import { Output } from "./context";
import {
  bundleChainId,
  formatReport,
  parseTrustConfig,
  pinTrust,
  trustedFor,
  verdictLine,
  verifyBundle,
} from "../verify";
import type { TrustedContracts, VerificationReport, Verdict } from "../verify";

export const VERIFY_EXIT_CODES: Record<Verdict, number> = { verified: 0, failed: 1, "not-verified": 3 };

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError("expected a non-negative integer");
  return n;
}

function address(value: string): string {
  if (!isAddress(value))
    throw new InvalidArgumentError("expected an address (0x + 40 hex digits, EIP-55 if mixed case)");
  return getAddress(value);
}

interface VerifyFlags {
  deployments?: string;
  rpc?: string;
  network?: string;
  offline?: boolean;
  anchor?: string;
  registry?: string;
  trust?: string;
  confirmations: number;
  device?: string;
  range?: string;
  receipt?: string;
  seller?: string;
  timeout: number;
  json?: boolean;
  verbose?: boolean;
}

export function verifyCommand(): Command {
  return new Command("verify")
    .description("verify proof bundles against the chain and the contracts you trust")
    .argument("<bundles...>", "proof bundle files (JSON), or - for one bundle on standard input")
    .option("--offline", "skip the chain checks even if an endpoint is configured (verdict: not fully verified)")
    .option("--anchor <address>", "the TelemetryAnchor you trust (pins it; the bundle's claim never counts)", address)
    .option("--registry <address>", "the DeviceRegistry you trust (default: the one the pinned anchor uses)", address)
    .option("--trust <file>", "a trust file pinning anchors per chain id (default: IOTRAIL_TRUST from the environment)")
    .addHelpText(
      "after",
      "\nThe pin, first found: --anchor (and --registry), --trust or IOTRAIL_TRUST, then the deployment record of\nthe bundle's chain in --deployments or IOTRAIL_DEPLOYMENTS. A bundle's own addresses never count.",
    )
    .option("--confirmations <n>", "confirmations required for each anchoring transaction", positiveInteger, 1)
    .option("--device <address>", "the device you expect the bundle to be about (check expected-subject)", address)
    .option("--range <from..to>", "the sequences you expect it to cover exactly (needs --device)")
    .option("--receipt <file>", "the seller's receipt for this bundle (x402 offer-receipt, as data buy keeps it)")
    .option(
      "--seller <address>",
      "the payee you bought from: the receipt must be its signature (needs --receipt)",
      address,
    )
    .addHelpText(
      "after",
      "\nThe chain: --rpc or --network (global options), else RPC_URL from the environment. --json prints the\nreport as JSON; --verbose lists every per-reading check.\n\nExit status: 0 verified, 1 a check failed, 2 usage or I/O error, 3 not fully verified (offline, no pinned\nanchor, or the chain could not be reached).",
    )
    .action(async (paths: string[], _flags: unknown, command: Command) => {
      const opts = command.optsWithGlobals<VerifyFlags>();
      const out = new Output(opts);
      const url =
        opts.offline === true
          ? undefined
          : opts.rpc ||
            (opts.network === undefined ? undefined : networkUrl(opts.network)) ||
            process.env.RPC_URL ||
            undefined;
      let provider: JsonRpcProvider | undefined;
      if (url !== undefined) {
        const request = new FetchRequest(url);
        request.timeout = opts.timeout * 1000;
        provider = new JsonRpcProvider(request, undefined, { staticNetwork: false });
      }
      if (opts.range !== undefined && opts.device === undefined) {
        throw new InvalidInputError("--range says what to expect of --device: give both");
      }
      if ((opts.receipt === undefined) !== (opts.seller === undefined)) {
        throw new InvalidInputError(
          "--receipt is checked against the seller you bought from, which you name with --seller: give both",
        );
      }
      if (opts.receipt !== undefined && paths.length !== 1) {
        throw new InvalidInputError("--receipt goes with one bundle");
      }
      const range = opts.range === undefined ? undefined : parseRange(opts.range);
      const expected =
        opts.device === undefined
          ? undefined
          : {
              device: opts.device,
              ...(range === undefined ? {} : { range: { fromSequence: range.from, toSequence: range.to } }),
            };
      const verifyText = async (text: string) => {
        const trusted = await trustedContracts(text, opts);
        return verifyBundle(text, {
          ...(expected === undefined ? {} : { expected }),
          ...(provider === undefined ? {} : { provider }),
          ...(trusted === undefined ? {} : { trusted }),
          minConfirmations: opts.confirmations,
          timeoutMs: opts.timeout * 1000,
        });
      };
      try {
        if (paths.length === 1) {
          const [path] = paths as [string];
          const text = path === "-" ? await readStdin() : await readFile(path, "utf8");
          const report = await verifyText(text);
          const receipt = opts.receipt === undefined ? undefined : await receiptCheck(opts.receipt, text, opts.seller!);
          process.stdout.write(
            opts.json === true
              ? `${JSON.stringify(receipt === undefined ? report : { ...report, receipt }, null, 2)}\n`
              : formatReport(report, { verbose: opts.verbose === true }) +
                  (receipt === undefined ? "" : `${receiptLine(receipt, opts.seller!)}\n`),
          );
          process.exitCode = receipt?.ok === false ? 1 : VERIFY_EXIT_CODES[report.verdict];
          if (!report.trust.pinned && opts.json !== true) process.stderr.write(`${PIN_HINT}\n`);
          return;
        }
        // Many bundles: one line each, a progress bar, and the worst verdict as the exit status.
        const progress = out.progress("verifying", paths.length);
        const results: Array<{ file: string; report: VerificationReport }> = [];
        for (const path of paths) {
          if (path === "-") throw new InvalidInputError("standard input (-) takes one bundle only");
          const report = await verifyText(await readFile(path, "utf8"));
          results.push({ file: path, report });
          if (opts.json !== true)
            process.stdout.write(`${report.verdict === "verified" ? "✔" : "✘"} ${path}: ${verdictLine(report)}\n`);
          progress(results.length);
        }
        const count = (verdict: Verdict) => results.filter((r) => r.report.verdict === verdict).length;
        if (opts.json === true) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        else {
          process.stdout.write(
            `\n${count("verified")} verified, ${count("failed")} failed, ${count("not-verified")} not fully verified\n`,
          );
        }
        process.exitCode = count("failed") > 0 ? 1 : count("not-verified") > 0 ? 3 : 0;
      } finally {
        provider?.destroy();
        // A node that never answered leaves its request open; it must not keep the process alive.
        setTimeout(() => process.exit(), 100).unref();
      }
    });
}

/** The pin: `--anchor` (with `--registry`), else the trust file's entry for the bundle's chain id. */
async function trustedContracts(bundleText: string, opts: VerifyFlags): Promise<TrustedContracts | undefined> {
  if (opts.anchor !== undefined) {
    return pinTrust({ anchor: opts.anchor, registry: opts.registry }, { kind: "flag", flag: "--anchor" });
  }
  if (opts.registry !== undefined)
    throw new InvalidInputError("--registry pins a registry only together with --anchor");
  const file = opts.trust ?? (process.env.IOTRAIL_TRUST || undefined);
  if (file === undefined) return trustedFromDeployments(bundleText, opts);
  const config = parseTrustConfig(await readFile(file, "utf8"), `trust file ${file}`);
  const chainId = bundleChainId(bundleText);
  if (chainId === undefined) return undefined;
  // A chain the file pins nothing for is an unpinned run: the verdict says so (exit 3).
  return trustedFor(config, chainId, file);
}

/** Every way to pin what `verify` trusts, for a run that pinned nothing (exit 3). */
const PIN_HINT =
  "iotrail: nothing pinned: give --anchor <address> (and --registry), a trust file (--trust <file> or IOTRAIL_TRUST), " +
  "or a deployment record of the bundle's chain in ./deployments (or --deployments <dir>, IOTRAIL_DEPLOYMENTS)";

/**
 * Without an anchor or trust file: the deployment record of the bundle's chain in the verifier's folder of
 * records, as every command finds it: `--deployments`, else IOTRAIL_DEPLOYMENTS, else `./deployments` (issue 24,
 * 5). The folder is the verifier's own; a record a bundle brings along is never looked at.
 */
async function trustedFromDeployments(bundleText: string, opts: VerifyFlags): Promise<TrustedContracts | undefined> {
  const chainId = bundleChainId(bundleText);
  if (chainId === undefined) return undefined;
  const dir = deploymentsDir(opts.deployments);
  const record = await readDeployment(dir, chainId);
  return record === undefined ? undefined : trustFromDeployment(record, deploymentPath(dir, chainId));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Reads a receipt file and checks it against the bundle and the seller named on the command line. */
async function receiptCheck(file: string, bundleText: string, seller: string): Promise<ReceiptCheck> {
  let receipt: unknown;
  try {
    receipt = JSON.parse(await readFile(file, "utf8"));
  } catch (cause) {
    throw new InvalidInputError(`cannot read the receipt ${file}: ${(cause as Error).message}`, { cause });
  }
  return verifyReceipt(receipt, bundleText, seller);
}

function receiptLine(check: ReceiptCheck, seller: string): string {
  if (!check.ok) return `✘ receipt: ${check.problems.join("; ")}`;
  return `✔ receipt: signed by the seller ${seller} for exactly this bundle; paid by ${check.payer} on ${check.network}${check.transaction === undefined ? "" : ` (transaction ${check.transaction})`}`;
}
