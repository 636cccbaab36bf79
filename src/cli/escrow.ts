/** `iotrail escrow ...`: escrows released by a proven, anchored reading (create, release, refund, show). */
import { readFile, writeFile } from "node:fs/promises";
import { Command } from "commander";
import { getAddress } from "ethers";
import { InvalidInputError } from "../errors";
import { EscrowStatus, NO_CONDITION, conditionHash } from "../payments";
import type { EscrowCondition } from "../payments";
import { parseProofBundle } from "../proof";
import { metricId, metricName, parseReading } from "../telemetry";
import { Context, parseAddress } from "./context";
import { readJsonFile } from "./files";
import { run } from "./run";
import { formatAmount, parseAmount } from "./units";
import type { Unit } from "./units";
import { ensureAllowance, timeArg, tokenArg, uint } from "./payment-args";

interface EscrowFile {
  version: 1;
  kind: "iotrail.escrow";
  chainId: string;
  escrow: string;
  escrowId: string;
  condition: Record<keyof EscrowCondition, string>;
}

function conditionToJson(condition: EscrowCondition): EscrowFile["condition"] {
  return {
    device: condition.device,
    metric: condition.metric,
    minValue: condition.minValue.toString(),
    maxValue: condition.maxValue.toString(),
    fromTimestamp: condition.fromTimestamp.toString(),
    toTimestamp: condition.toTimestamp.toString(),
  };
}

function conditionFromJson(json: EscrowFile["condition"]): EscrowCondition {
  return {
    device: getAddress(json.device),
    metric: json.metric,
    minValue: BigInt(json.minValue),
    maxValue: BigInt(json.maxValue),
    fromTimestamp: BigInt(json.fromTimestamp),
    toTimestamp: BigInt(json.toTimestamp),
  };
}

interface CreateFlags {
  payee: string;
  amount: string;
  deadline: string;
  token?: string;
  arbiter?: string;
  device?: string;
  metric?: string;
  min?: string;
  max?: string;
  after?: string;
  before?: string;
  out?: string;
  raw?: boolean;
}

export function escrowCommand(): Command {
  const escrow = new Command("escrow").description(
    "escrows released by the payer, an arbiter, or a proven anchored reading",
  );
  escrow
    .command("create")
    .description("lock a payment for a payee until a deadline, optionally with a reading condition")
    .requiredOption("--payee <address>", "who is paid on release")
    .requiredOption("--amount <amount>", "the amount locked")
    .requiredOption("--deadline <time>", "after it, the payer can refund: unix seconds, ISO date or +seconds")
    .option("--token <token>", "eth, demo or an ERC-20 address", "eth")
    .option("--arbiter <address>", "a third party who may release")
    .option("--device <key>", "condition: the device whose anchored reading releases the escrow")
    .option("--metric <name>", "condition: the reading's metric (e.g. temperature.mC)")
    .option("--min <value>", "condition: lowest value (inclusive)")
    .option("--max <value>", "condition: highest value (inclusive)")
    .option("--after <time>", "condition: the reading's earliest time (default: now, the escrow's creation)")
    .option("--before <time>", "condition: the reading's latest time (default: the deadline)")
    .option("-o, --out <file>", "write the escrow file (its condition, needed to release by reading)")
    .option("--raw", "amounts in base units")
    .action(
      run(async (ctx, flags: CreateFlags) => {
        const client = await ctx.escrow(true);
        const token = await tokenArg(ctx, flags.token);
        const unit: Unit = await ctx.unitOf(token);
        const amount = parseAmount(flags.amount, unit, flags.raw === true);
        const deadline = await timeArg(ctx, flags.deadline);
        let condition = NO_CONDITION;
        if (flags.device !== undefined) {
          if (flags.metric === undefined || flags.min === undefined || flags.max === undefined) {
            throw new InvalidInputError("a condition needs --device, --metric, --min and --max");
          }
          condition = {
            device: parseAddress(flags.device, "--device"),
            metric: metricId(flags.metric),
            minValue: BigInt(flags.min),
            maxValue: BigInt(flags.max),
            // Readings from before the escrow existed never release it, unless the payer asks (issue 24, 11).
            fromTimestamp: flags.after === undefined ? await ctx.chainTime() : await timeArg(ctx, flags.after),
            toTimestamp: flags.before === undefined ? deadline : await timeArg(ctx, flags.before),
          };
        }
        await ensureAllowance(await ctx.signer(), token, String(client.contract.target), amount);
        const { escrowId, receipt } = await client.create({
          payee: parseAddress(flags.payee, "--payee"),
          token,
          amount,
          deadline,
          ...(flags.arbiter === undefined ? {} : { arbiter: parseAddress(flags.arbiter, "--arbiter") }),
          condition,
        });
        const domain = await client.domain();
        const file: EscrowFile = {
          version: 1,
          kind: "iotrail.escrow",
          chainId: domain.chainId.toString(),
          escrow: domain.verifyingContract,
          escrowId: escrowId.toString(),
          condition: conditionToJson(condition),
        };
        if (flags.out !== undefined) await writeFile(flags.out, `${JSON.stringify(file, null, 2)}\n`);
        ctx.out.result({ ...file, transactionHash: receipt.hash }, [
          `escrow ${escrowId}: ${formatAmount(amount, unit, flags.raw === true)} for ${flags.payee}${flags.out === undefined ? "" : ` (written to ${flags.out})`}`,
        ]);
      }),
    );

  escrow
    .command("release")
    .description("release to the payee: as the payer or arbiter, or by a proven reading from a bundle (anyone)")
    .argument("<escrow-id>", "the escrow", uint)
    .option("--bundle <file>", "a proof bundle holding a reading that meets the escrow's condition")
    .option("--escrow-file <file>", "the escrow file from `escrow create --out` (its condition)")
    .option("--sequence <n>", "which reading of the bundle (default: the first that meets the condition)")
    .action(
      run(async (ctx, escrowId: bigint, flags: { bundle?: string; escrowFile?: string; sequence?: string }) => {
        const client = await ctx.escrow(true);
        if (flags.bundle === undefined) {
          const receipt = await client.release({ escrowId });
          await showEscrow(ctx, escrowId, receipt.hash);
          return;
        }
        if (flags.escrowFile === undefined) throw new InvalidInputError("--bundle needs --escrow-file (the condition)");
        const file = (await readJsonFile(flags.escrowFile, "escrow file")) as EscrowFile;
        if (file?.kind !== "iotrail.escrow" || file.version !== 1)
          throw new InvalidInputError(`${flags.escrowFile}: not an escrow file`);
        const condition = conditionFromJson(file.condition);
        const record = await client.getEscrow(escrowId);
        if (file.escrowId !== escrowId.toString() || conditionHash(condition) !== record.conditionHash) {
          throw new InvalidInputError(`${flags.escrowFile} is not the condition of escrow ${escrowId}`);
        }
        const bundle = parseProofBundle(await readFile(flags.bundle, "utf8"));
        const candidates = bundle.readings.filter((r) => {
          const reading = parseReading(r.reading);
          if (flags.sequence !== undefined) return reading.sequence === BigInt(flags.sequence);
          return (
            getAddress(reading.device) === condition.device &&
            reading.metric === condition.metric &&
            reading.value >= condition.minValue &&
            reading.value <= condition.maxValue &&
            reading.timestamp >= condition.fromTimestamp &&
            reading.timestamp <= condition.toTimestamp
          );
        });
        const chosen = candidates[0];
        if (chosen === undefined) throw new InvalidInputError("no reading of the bundle meets the escrow's condition");
        const receipt = await client.releaseByReading({
          escrowId,
          condition,
          batchId: BigInt(chosen.batchId),
          reading: parseReading(chosen.reading),
          signature: chosen.signature,
          proof: chosen.proof,
        });
        await showEscrow(ctx, escrowId, receipt.hash);
      }),
    );

  escrow
    .command("refund")
    .description("after the deadline, return the amount to the payer")
    .argument("<escrow-id>", "the escrow", uint)
    .action(
      run(async (ctx, escrowId: bigint) => {
        const receipt = await (await ctx.escrow(true)).refund({ escrowId });
        await showEscrow(ctx, escrowId, receipt.hash);
      }),
    );

  escrow
    .command("show")
    .description("an escrow's terms and status (its condition in words with --escrow-file)")
    .argument("<escrow-id>", "the escrow", uint)
    .option("--escrow-file <file>", "the escrow file from `escrow create --out`: shows the condition in words")
    .option("--raw", "amounts in base units")
    .action(
      run(async (ctx, escrowId: bigint, flags: { raw?: boolean; escrowFile?: string }) => {
        const condition =
          flags.escrowFile === undefined ? undefined : await readEscrowFile(ctx, flags.escrowFile, escrowId);
        await showEscrow(ctx, escrowId, undefined, flags.raw === true, condition);
      }),
    );
  return escrow;
}

/** The condition an escrow file holds, checked against the escrow's condition hash on the chain. */
async function readEscrowFile(ctx: Context, path: string, escrowId: bigint): Promise<EscrowCondition> {
  const file = (await readJsonFile(path, "escrow file")) as EscrowFile;
  if (file?.kind !== "iotrail.escrow" || file.version !== 1) throw new InvalidInputError(`${path}: not an escrow file`);
  const condition = conditionFromJson(file.condition);
  const record = await (await ctx.escrow()).getEscrow(escrowId);
  if (file.escrowId !== escrowId.toString() || conditionHash(condition) !== record.conditionHash) {
    throw new InvalidInputError(`${path} is not the condition of escrow ${escrowId}`);
  }
  return condition;
}

/** A condition in words: device, metric, value range and the window of reading times. */
function conditionInWords(condition: EscrowCondition): string {
  const when = (t: bigint) => new Date(Number(t) * 1000).toISOString();
  return (
    `a reading of ${condition.device}, metric ${metricName(condition.metric) ?? condition.metric}, ` +
    `value ${condition.minValue}..${condition.maxValue}, taken ${when(condition.fromTimestamp)} .. ${when(condition.toTimestamp)}`
  );
}

async function showEscrow(
  ctx: Context,
  escrowId: bigint,
  transactionHash?: string,
  raw = false,
  condition?: EscrowCondition,
): Promise<void> {
  const record = await (await ctx.escrow()).getEscrow(escrowId);
  const unit = await ctx.unitOf(record.token);
  ctx.out.result(
    {
      ...record,
      ...(condition === undefined ? {} : { condition: conditionToJson(condition) }),
      escrowId: escrowId.toString(),
      status: EscrowStatus[record.status],
      ...(transactionHash === undefined ? {} : { transactionHash }),
    },
    [
      `escrow    ${escrowId} (${EscrowStatus[record.status]})`,
      `payer     ${record.payer}`,
      `payee     ${record.payee}`,
      `amount    ${formatAmount(record.amount, unit, raw)}`,
      `deadline  ${new Date(Number(record.deadline) * 1000).toISOString()}`,
      `condition ${
        record.conditionHash === NO_CONDITION_HASH
          ? "none"
          : condition === undefined
            ? `${record.conditionHash} (pass --escrow-file to see it in words)`
            : conditionInWords(condition)
      }`,
      ...(transactionHash === undefined ? [] : [`transaction ${transactionHash}`]),
    ],
  );
}

const NO_CONDITION_HASH = `0x${"00".repeat(32)}`;
