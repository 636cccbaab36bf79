/**
 * `iotrail data list`: what a seller says it sells (its x402 discovery document at `/.well-known/x402`).
 * `iotrail data buy`: buys a range of a device's anchored readings from a batcher that sells them over
 * HTTP 402, paying over a payment channel (found on the chain or opened), and verifies what it bought against
 * the chain and the deployment record this machine trusts. A thin caller of `buyOverHttp402` and
 * `verifyBundle`. Exit status: 0 bought and verified, 1 a check failed, 2 usage or I/O error, 3 not fully
 * verified.
 */
import { writeFile } from "node:fs/promises";
import { Command } from "commander";
import { DeviceKey } from "../device";
import { deploymentPath, trustFromDeployment } from "../deployments";
import { Contract } from "ethers";
import type { Provider } from "ethers";
import { decodePaymentRequiredHeader } from "@x402/core/http";
import type { PaymentRequirements } from "@x402/core/types";
import {
  ChannelBuyerScheme,
  DISCOVERY_PATH,
  EXACT_SCHEME,
  ExactBuyerScheme,
  IOTRAIL_CHANNEL_SCHEME,
  PAYMENT_REQUIRED_HEADER,
  buyOverHttp402,
  receiptOf,
} from "../sales";
import type { ChannelState, DiscoveryDocument } from "../sales";
import { formatReport, verdictLine, verifyBundle } from "../verify";
import { parseRange } from "./bundle";
import { parseAddress } from "./context";
import type { Context } from "./context";
import { InvalidInputError } from "../errors";
import { run } from "./run";
import { formatAmount, parseAmount } from "./units";
import type { Unit } from "./units";
import { VERIFY_EXIT_CODES } from "./verify";

interface BuyFlags {
  from: string;
  scheme?: string;
  asset?: string;
  device: string;
  range: string;
  signer?: string;
  deposit?: string;
  maxPrice?: string;
  out?: string;
  raw?: boolean;
}

export function dataCommand(): Command {
  const data = new Command("data").description("anchored readings sold over HTTP 402");
  data
    .command("list")
    .description("what a seller sells: its schemes and prices per reading, and the devices with anchored readings")
    .requiredOption("--from <url>", "the seller's API (a batcher with sales configured)")
    .action(
      run(async (ctx, flags: { from: string }) => {
        const url = `${flags.from.replace(/\/$/, "")}${DISCOVERY_PATH}`;
        const doc = await fetchDiscovery(url, ctx.timeoutMs);
        const offer = doc.offers[0];
        ctx.out.result(doc, [
          `${flags.from} sells anchored readings (x402 version ${doc.x402Version}), priced per reading:`,
          ...(offer?.accepts ?? []).map(
            (a) => `  ${a.scheme.padEnd(16)} ${a.amount} base units of ${a.asset} on ${a.network}, to ${a.payTo}`,
          ),
          `${doc.devices.length}${doc.truncated ? "+" : ""} device(s) with anchored readings:`,
          ...doc.devices.map(
            (d) =>
              `  ${d.device}  sequences ${d.firstSequence}..${d.lastSequence} (${d.readings} readings)  ${d.metrics.map((m) => m.name ?? m.id).join(", ")}`,
          ),
          "buy a range with: iotrail data buy --from <url> --device <address> --range <first>..<last>",
        ]);
      }),
    );
  data
    .command("buy")
    .description(
      "buy a range of a device's readings (over a payment channel, or by x402 exact), and verify them against the chain",
    )
    .requiredOption("--from <url>", "the seller's API (a batcher with sales configured)")
    .requiredOption("--device <address>", "the device whose readings to buy")
    .requiredOption("--range <a..b>", "the sequences, first..last")
    .option(
      "--signer <key file>",
      "the key that signs your vouchers: an active registered device key (default: your own account's key, --key)",
    )
    .option(
      "--scheme <scheme>",
      "auto (a channel you have, else exact if you hold the price in --asset, else a new channel), iotrail-channel or exact",
      "auto",
    )
    .option("--asset <address>", "the token you pay in by x402 exact (default: the deployment record's DemoToken)")
    .option("--deposit <amount>", "the deposit of a channel opened for this (default: ten times the price)")
    .option("--max-price <amount>", "refuse to pay more than this for the range")
    .option("-o, --out <file>", "write the bundle here")
    .option("--raw", "amounts in base units (wei, token base units)")
    .action(
      run(async (ctx, flags: BuyFlags) => {
        const device = parseAddress(flags.device, "--device");
        const { from, to } = parseRange(flags.range);
        const url = `${flags.from.replace(/\/$/, "")}/v1/devices/${device}/bundle?from=${from}&to=${to}`;
        const [channels, key, provider, record] = await Promise.all([
          ctx.channels(true),
          flags.signer === undefined ? ownVoucherKey(ctx) : DeviceKey.load(flags.signer),
          ctx.provider(),
          ctx.deployment(),
        ]);
        const { chainId } = await provider.getNetwork();
        const raw = flags.raw === true;
        // Amounts are in the seller's token, known from its first 402.
        let unit: Unit | undefined;
        const opened: string[] = [];
        const scheme = new ChannelBuyerScheme({
          channels,
          key,
          limits: async (token) => {
            unit = await ctx.unitOf(token, raw);
            const shown = unit;
            return {
              format: (amount: bigint) => formatAmount(amount, shown, raw),
              ...(flags.deposit === undefined ? {} : { deposit: parseAmount(flags.deposit, unit, raw) }),
              ...(flags.maxPrice === undefined ? {} : { maxPrice: parseAmount(flags.maxPrice, unit, raw) }),
            };
          },
          onOpen: ({ payee, deposit }) =>
            opened.push(
              `opened a channel to ${payee} with ${unit === undefined ? deposit : formatAmount(deposit, unit, raw)}`,
            ),
        });
        if (!["auto", IOTRAIL_CHANNEL_SCHEME, EXACT_SCHEME].includes(flags.scheme ?? "auto")) {
          throw new InvalidInputError(
            `--scheme is auto, ${IOTRAIL_CHANNEL_SCHEME} or ${EXACT_SCHEME}, not ${flags.scheme}`,
          );
        }
        // x402 exact: paid from the account's own key, in a token the buyer names (never the one a seller names).
        const assets =
          flags.asset !== undefined
            ? [parseAddress(flags.asset, "--asset")]
            : record.contracts.DemoToken === undefined
              ? []
              : [record.contracts.DemoToken.address];
        const sending = flags.scheme === IOTRAIL_CHANNEL_SCHEME ? undefined : await ctx.sendingKey();
        const exact =
          sending === undefined || assets.length === 0
            ? undefined
            : new ExactBuyerScheme({
                privateKey: sending.wallet().privateKey,
                rpcUrl: ctx.rpcUrl(),
                assets,
                ...(flags.maxPrice === undefined
                  ? {}
                  : { maxPrice: parseAmount(flags.maxPrice, await ctx.unitOf(assets[0]!, raw), raw) }),
              });
        if (flags.scheme === EXACT_SCHEME && exact === undefined) {
          throw new InvalidInputError(
            "--scheme exact pays from a key file's account (--key, IOTRAIL_PRIVATE_KEY) in a token: --asset, or the deployment record's DemoToken",
          );
        }
        const prefer =
          flags.scheme === "auto" ? await preferredScheme(url, ctx.timeoutMs, scheme, exact, provider) : flags.scheme;
        const purchase = await buyOverHttp402({
          url,
          scheme,
          ...(exact === undefined ? {} : { exact }),
          ...(prefer === undefined ? {} : { prefer }),
          network: `eip155:${chainId}`,
          timeoutMs: ctx.timeoutMs,
        });
        // The seller's receipt (x402 offer-receipt), kept next to the bundle: `iotrail verify --receipt` checks it.
        const receipt = receiptOf(purchase.settlement);
        const receiptFile = flags.out === undefined || receipt === undefined ? undefined : `${flags.out}.receipt.json`;
        if (flags.out !== undefined) await writeFile(flags.out, purchase.text);
        if (receiptFile !== undefined) await writeFile(receiptFile, `${JSON.stringify(receipt, null, 2)}\n`);
        // What was bought is checked against the chain and this machine's deployment record, never the seller,
        // and against what was asked for: this device and exactly this range (N-M1).
        const report = await verifyBundle(purchase.text, {
          provider,
          trusted: trustFromDeployment(record, deploymentPath(ctx.deploymentsDir, chainId)),
          expected: { device, range: { fromSequence: from, toSequence: to } },
          timeoutMs: ctx.timeoutMs,
        });
        if (report.verdict === "failed" && purchase.payTo !== undefined) {
          const failed = report.checks.find((c) => c.status === "fail")!;
          scheme.refuse(purchase.payTo, `it served a bundle that failed ${failed.check}: ${failed.message}`);
          exact?.refuse(purchase.payTo, `it served a bundle that failed ${failed.check}: ${failed.message}`);
        }
        const state = purchase.settlement?.extra?.channelState as ChannelState | undefined;
        const price = purchase.settlement?.extra?.chargedAmount as string | undefined;
        const shown = (value: string) => (unit === undefined ? value : formatAmount(BigInt(value), unit, raw));
        ctx.out.result(
          {
            device,
            from: from.toString(),
            to: to.toString(),
            verdict: report.verdict,
            ...(price === undefined ? {} : { price }),
            ...(state === undefined ? {} : { channel: state }),
            ...(purchase.settlement?.transaction
              ? { scheme: EXACT_SCHEME, transaction: purchase.settlement.transaction }
              : {}),
            attempts: purchase.attempts,
            ...(flags.out === undefined ? {} : { file: flags.out }),
            ...(receipt === undefined ? {} : { receipt }),
            ...(receiptFile === undefined ? {} : { receiptFile }),
            report,
          },
          [
            ...opened,
            price !== undefined && state !== undefined
              ? `bought readings ${from}..${to} of ${device} for ${shown(price)} on channel ${state.channelId} (${shown(state.charged)} charged on it in all)`
              : purchase.settlement?.transaction
                ? `bought readings ${from}..${to} of ${device} by x402 exact: transfer ${purchase.settlement.transaction}`
                : `got readings ${from}..${to} of ${device} without payment`,
            ctx.options.verbose === true ? formatReport(report, { verbose: true }) : verdictLine(report),
            ...(flags.out === undefined ? [] : [`bundle written to ${flags.out}`]),
            ...(receiptFile === undefined ? [] : [`the seller's receipt written to ${receiptFile}`]),
          ],
        );
        process.exitCode = VERIFY_EXIT_CODES[report.verdict];
      }),
    );
  return data;
}

/**
 * `--scheme auto`: a channel the buyer has to this seller first (no gas, no new deposit); else x402 exact if
 * the seller offers it in a token the buyer pays in and the buyer holds the price; else a new channel.
 */
async function preferredScheme(
  url: string,
  timeoutMs: number,
  channel: ChannelBuyerScheme,
  exact: ExactBuyerScheme | undefined,
  provider: Provider,
): Promise<string | undefined> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const header = response.headers.get(PAYMENT_REQUIRED_HEADER);
  if (response.status !== 402 || header === null) return undefined;
  let accepts: PaymentRequirements[];
  try {
    accepts = decodePaymentRequiredHeader(header).accepts;
  } catch {
    return undefined;
  }
  const byChannel = accepts.find((a) => a.scheme === IOTRAIL_CHANNEL_SCHEME);
  if (
    byChannel !== undefined &&
    (await channel.hasChannel(byChannel.payTo, byChannel.asset, BigInt(byChannel.amount)))
  ) {
    return IOTRAIL_CHANNEL_SCHEME;
  }
  const byExact = accepts.find((a) => a.scheme === EXACT_SCHEME);
  if (byExact !== undefined && exact !== undefined && exact.accepts(byExact.asset)) {
    const token = new Contract(byExact.asset, ["function balanceOf(address) view returns (uint256)"], provider);
    const balance = (await token.getFunction("balanceOf")(exact.payer)) as bigint;
    if (balance >= BigInt(byExact.amount)) return EXACT_SCHEME;
  }
  return byChannel === undefined ? undefined : IOTRAIL_CHANNEL_SCHEME;
}

/** The most a discovery document may weigh: it comes from the seller, who is not trusted. */
const MAX_DISCOVERY_BYTES = 4 << 20;

/** Fetches and checks the shape of a seller's discovery document. */
async function fetchDiscovery(url: string, timeoutMs: number): Promise<DiscoveryDocument> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" } });
  } catch (cause) {
    throw new InvalidInputError(`cannot reach ${url}: ${(cause as Error).message}`, { cause });
  }
  if (response.status === 404)
    throw new InvalidInputError(`${url}: 404, this server sells nothing (no sales configured)`);
  if (!response.ok) throw new InvalidInputError(`${url} answered ${response.status}`);
  const length = Number(response.headers.get("content-length") ?? "0");
  if (length > MAX_DISCOVERY_BYTES)
    throw new InvalidInputError(`${url}: the document is over ${MAX_DISCOVERY_BYTES} bytes`);
  const text = await response.text();
  if (text.length > MAX_DISCOVERY_BYTES)
    throw new InvalidInputError(`${url}: the document is over ${MAX_DISCOVERY_BYTES} bytes`);
  let doc: Partial<DiscoveryDocument>;
  try {
    doc = JSON.parse(text) as Partial<DiscoveryDocument>;
  } catch (cause) {
    throw new InvalidInputError(`${url} is not JSON`, { cause });
  }
  if (doc?.version !== 1 || !Array.isArray(doc.offers) || !Array.isArray(doc.devices)) {
    throw new InvalidInputError(`${url} is not an iotrail discovery document (version 1, with offers and devices)`);
  }
  return doc as DiscoveryDocument;
}

/**
 * Without --signer the payer signs its own vouchers with its account's key (the contract accepts the payer
 * as signer with no registry standing): the key of --key or IOTRAIL_PRIVATE_KEY. A node's unlocked account
 * (--account) has no key on this machine.
 */
async function ownVoucherKey(ctx: Context): Promise<DeviceKey> {
  const key = await ctx.sendingKey();
  if (key === undefined) {
    throw new InvalidInputError(
      "data buy needs a key to sign vouchers: --signer <key file> (a registered device key), or send from a key file " +
        "(--key, IOTRAIL_PRIVATE_KEY), whose key then signs them (a node's unlocked --account has no key here)",
    );
  }
  return key;
}
