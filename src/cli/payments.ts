/**
 * `iotrail channel ...` and `iotrail escrow ...`: payment channels with cumulative vouchers signed by a device
 * key, and escrows released by the payer, an arbiter, or a proven anchored reading from a bundle.
 */
import { readFile, writeFile } from "node:fs/promises";
import { Command, InvalidArgumentError } from "commander";
import { Contract, getAddress } from "ethers";
import type { Signer } from "ethers";
import { DeviceKey } from "../device";
import { InvalidInputError } from "../errors";
import { ChannelStatus, ETH, EscrowStatus, NO_CONDITION, conditionHash, formatChannelId } from "../payments";
import type { EscrowCondition } from "../payments";
import { parseProofBundle } from "../proof";
import { metricId, metricName, parseReading } from "../telemetry";
import { Context, parseAddress } from "./context";
import { parseTime } from "./devices";
import { readJsonFile } from "./files";
import { run } from "./run";
import { formatAmount, parseAmount } from "./units";
import type { Unit } from "./units";

/** A channel id: 0x and 64 hex digits (as shown), or its decimal value. */
function channelIdArg(value: string): bigint {
  if (/^0x[0-9a-fA-F]{1,64}$/.test(value) || /^[0-9]+$/.test(value)) return BigInt(value);
  throw new InvalidArgumentError("expected a channel id (0x and 64 hex digits)");
}

function uint(value: string): bigint {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError("expected a whole number");
  return BigInt(value);
}

/** A chain time: unix seconds, an ISO date, or `+<seconds>` from now. */
async function timeArg(ctx: Context, value: string): Promise<bigint> {
  if (value.startsWith("+")) return (await ctx.chainTime()) + uint(value.slice(1));
  return parseTime(value);
}

/** The token option: `eth` (default), `demo` (the recorded DemoToken), or an ERC-20 address. */
async function tokenArg(ctx: Context, value: string | undefined): Promise<string> {
  if (value === undefined || value.toLowerCase() === "eth") return ETH;
  if (value.toLowerCase() === "demo") {
    const demo = (await ctx.deployment()).contracts.DemoToken;
    if (demo === undefined) throw new InvalidInputError("this chain's deployment has no DemoToken");
    return demo.address;
  }
  return parseAddress(value, "--token");
}

/** Approves `spender` for `amount` of `token` when the allowance is short (ERC-20 deposits are pulled). */
async function ensureAllowance(signer: Signer, token: string, spender: string, amount: bigint): Promise<void> {
  if (token === ETH) return;
  const erc20 = new Contract(
    token,
    [
      "function allowance(address owner, address spender) view returns (uint256)",
      "function approve(address spender, uint256 value) returns (bool)",
    ],
    signer,
  );
  const owner = await signer.getAddress();
  if (((await erc20.getFunction("allowance")(owner, spender)) as bigint) >= amount) return;
  await ((await erc20.getFunction("approve")(spender, amount)) as { wait(): Promise<unknown> }).wait();
}

interface VoucherFile {
  version: 1;
  kind: "iotrail.voucher";
  chainId: string;
  channels: string;
  channelId: string;
  amount: string;
  signature: string;
}

async function readVoucher(path: string): Promise<VoucherFile> {
  const voucher = (await readJsonFile(path, "voucher file")) as VoucherFile;
  if (voucher?.version !== 1 || voucher.kind !== "iotrail.voucher")
    throw new InvalidInputError(`${path}: not a version-1 voucher file`);
  return voucher;
}

export function channelCommand(): Command {
  const channel = new Command("channel").description(
    "payment channels: deposit once, pay with signed cumulative vouchers",
  );
  const raw = ["--raw", "amounts in base units (wei, token base units)"] as const;

  channel
    .command("open")
    .description("open a channel as the payer, with a deposit in ETH or an ERC-20")
    .requiredOption("--payee <address>", "who is paid")
    .requiredOption("--signer <address>", "the device key that signs vouchers (an active registered key)")
    .requiredOption("--amount <amount>", "the deposit")
    .option("--token <token>", "eth, demo (the deployment's DemoToken) or an ERC-20 address", "eth")
    .option("--cap <amount>", "most the signer may ever authorize (default: the deposit)")
    .option("--expiry <time>", "last time vouchers count: unix seconds, ISO date or +seconds (default: none)")
    .option(...raw)
    .action(
      run(
        async (
          ctx,
          flags: {
            payee: string;
            signer: string;
            amount: string;
            token?: string;
            cap?: string;
            expiry?: string;
            raw?: boolean;
          },
        ) => {
          const channels = await ctx.channels(true);
          const token = await tokenArg(ctx, flags.token);
          const unit = await ctx.unitOf(token);
          const amount = parseAmount(flags.amount, unit, flags.raw === true);
          await ensureAllowance(await ctx.signer(), token, String(channels.contract.target), amount);
          const { channelId, receipt } = await channels.open({
            payee: parseAddress(flags.payee, "--payee"),
            signer: parseAddress(flags.signer, "--signer"),
            token,
            amount,
            ...(flags.cap === undefined ? {} : { cap: parseAmount(flags.cap, unit, flags.raw === true) }),
            ...(flags.expiry === undefined ? {} : { expiry: await timeArg(ctx, flags.expiry) }),
          });
          ctx.out.result(
            { channelId: formatChannelId(channelId), deposit: amount.toString(), token, transactionHash: receipt.hash },
            [`opened channel ${formatChannelId(channelId)} with ${formatAmount(amount, unit, flags.raw === true)}`],
          );
        },
      ),
    );

  channel
    .command("pay")
    .description("sign a voucher (as the channel's signer device): the cumulative amount paid so far")
    .argument("<channel-id>", "the channel", channelIdArg)
    .requiredOption("--amount <amount>", "the total paid over the channel's life (vouchers are cumulative)")
    .requiredOption("--device <key file>", "the signer device's key file")
    .option("-o, --out <file>", "write the voucher to a file (default: standard output)")
    .option("--allow-above-deposit", "sign a voucher above the deposit (redeemable once the channel is topped up)")
    .option(...raw)
    .action(
      run(
        async (
          ctx,
          channelId: bigint,
          flags: { amount: string; device: string; out?: string; raw?: boolean; allowAboveDeposit?: boolean },
        ) => {
          const channels = await ctx.channels();
          const record = await channels.getChannel(channelId);
          const unit = await ctx.unitOf(record.token);
          const amount = parseAmount(flags.amount, unit, flags.raw === true);
          const key = await DeviceKey.load(flags.device); // channels.signVoucher checks it is the signer
          const shown = (value: bigint) => formatAmount(value, unit, flags.raw === true);
          if (amount > record.deposit && flags.allowAboveDeposit !== true) {
            throw new InvalidInputError(
              `a voucher for ${shown(amount)} exceeds the channel's deposit of ${shown(record.deposit)}: it would become redeemable as soon as anyone tops the channel up (top it up first, or pass --allow-above-deposit)`,
            );
          }
          const domain = await channels.domain();
          const voucher: VoucherFile = {
            version: 1,
            kind: "iotrail.voucher",
            chainId: domain.chainId.toString(),
            channels: domain.verifyingContract,
            channelId: formatChannelId(channelId),
            amount: amount.toString(),
            signature: await channels.signVoucher(key, channelId, amount, {
              allowAboveDeposit: flags.allowAboveDeposit === true,
            }),
          };
          if (flags.out !== undefined) await writeFile(flags.out, `${JSON.stringify(voucher, null, 2)}\n`);
          ctx.out.result(
            voucher,
            flags.out === undefined
              ? [JSON.stringify(voucher)]
              : [
                  `voucher for ${formatAmount(amount, unit, flags.raw === true)} on channel ${formatChannelId(channelId)} written to ${flags.out}`,
                ],
          );
        },
      ),
    );

  channel
    .command("redeem")
    .description("as anyone, pay the payee what a voucher adds (the channel stays open)")
    .argument("<voucher.json>", "a voucher from `channel pay`")
    .action(
      run(async (ctx, path: string) => {
        const voucher = await readVoucher(path);
        const channels = await ctx.channels(true);
        // The unit first, so that a revert's amounts print in it.
        await ctx.unitOf((await channels.getChannel(BigInt(voucher.channelId))).token);
        const receipt = await channels.redeem({
          channelId: BigInt(voucher.channelId),
          amount: BigInt(voucher.amount),
          signature: voucher.signature,
        });
        const record = await channels.getChannel(BigInt(voucher.channelId));
        const unit = await ctx.unitOf(record.token);
        ctx.out.result({ channelId: voucher.channelId, paid: record.paid.toString(), transactionHash: receipt.hash }, [
          `channel ${voucher.channelId}: ${formatAmount(record.paid, unit, false)} paid in all`,
        ]);
      }),
    );

  channel
    .command("close")
    .description("as the payee, close at once: pay the final voucher (or what was paid) and refund the rest")
    .argument("<channel-id>", "the channel", channelIdArg)
    .option("--voucher <file>", "the final voucher (default: close at what was already paid)")
    .action(
      run(async (ctx, channelId: bigint, flags: { voucher?: string }) => {
        const voucher = flags.voucher === undefined ? undefined : await readVoucher(flags.voucher);
        if (voucher !== undefined && BigInt(voucher.channelId) !== channelId) {
          throw new InvalidInputError(
            `the voucher is for channel ${voucher.channelId}, not ${formatChannelId(channelId)}`,
          );
        }
        const channels = await ctx.channels(true);
        const receipt = await channels.close({
          channelId,
          amount: voucher === undefined ? 0n : BigInt(voucher.amount),
          signature: voucher?.signature ?? "0x",
        });
        await showChannel(ctx, channelId, receipt.hash);
      }),
    );

  channel
    .command("start-close")
    .description("as the payer, start a close: the payee has the challenge period to redeem")
    .argument("<channel-id>", "the channel", channelIdArg)
    .action(
      run(async (ctx, channelId: bigint) => {
        const receipt = await (await ctx.channels(true)).startClose({ channelId });
        await showChannel(ctx, channelId, receipt.hash);
      }),
    );

  channel
    .command("finalize")
    .description("after the challenge period (or the expiry), refund the payer what was not paid")
    .argument("<channel-id>", "the channel", channelIdArg)
    .action(
      run(async (ctx, channelId: bigint) => {
        const receipt = await (await ctx.channels(true)).finalize({ channelId });
        await showChannel(ctx, channelId, receipt.hash);
      }),
    );

  channel
    .command("withdraw")
    .description("withdraw payouts credited to you (when a direct transfer could not be made)")
    .option("--token <token>", "eth, demo or an ERC-20 address", "eth")
    .option("--to <address>", "where to send (default: you)")
    .action(
      run(async (ctx, flags: { token?: string; to?: string }) => {
        const token = await tokenArg(ctx, flags.token);
        const to = flags.to === undefined ? await ctx.signerAddress() : parseAddress(flags.to, "--to");
        const receipt = await (await ctx.channels(true)).withdraw({ token, to });
        ctx.out.result({ token, to, transactionHash: receipt.hash }, [`withdrawn to ${to}`]);
      }),
    );

  channel
    .command("claim")
    .description("as anyone, pay one payee the latest vouchers of many channels in one transaction")
    .argument("<voucher.json...>", "vouchers from `channel pay`, of channels with one payee and one token")
    .action(
      run(async (ctx, paths: string[]) => {
        const channels = await ctx.channels(true);
        const vouchers = await Promise.all(paths.map(readVoucher));
        const claims = await Promise.all(
          vouchers.map(async (v) => ({
            terms: await channels.terms(BigInt(v.channelId)),
            amount: BigInt(v.amount),
            signature: v.signature,
          })),
        );
        const receipt = await channels.claimMany({ claims });
        ctx.out.result({ channels: vouchers.map((v) => v.channelId), transactionHash: receipt.hash }, [
          `claimed ${vouchers.length} channel(s) for ${claims[0]!.terms.payee} in ${receipt.hash}`,
        ]);
      }),
    );

  channel
    .command("recover")
    .description("every channel of an address, found from the chain alone (after losing local state)")
    .option("--address <address>", "whose channels (default: you)")
    .option("--payee", "the channels it is paid by (default: the channels it pays)")
    .option("--from-block <n>", "first block to search (default: the contract's deployment block)", uint)
    .option(...raw)
    .action(
      run(async (ctx, flags: { address?: string; payee?: boolean; fromBlock?: bigint; raw?: boolean }) => {
        const address =
          flags.address === undefined ? await ctx.signerAddress() : parseAddress(flags.address, "--address");
        const channels = await ctx.channels();
        const found = await channels.recover({
          ...(flags.payee === true ? { payee: address } : { payer: address }),
          fromBlock:
            flags.fromBlock === undefined
              ? (await ctx.deployment()).contracts.PaymentChannels.blockNumber
              : Number(flags.fromBlock),
        });
        const lines: string[] = [
          `${found.length} channel(s) ${flags.payee === true ? "paying" : "paid by"} ${address}`,
        ];
        for (const record of found) {
          const unit = await ctx.unitOf(record.token);
          const fmt = (v: bigint) => formatAmount(v, unit, flags.raw === true);
          lines.push(
            `${formatChannelId(record.channelId)}  ${ChannelStatus[record.status].padEnd(7)}  deposit ${fmt(record.deposit)}, paid ${fmt(record.paid)}  ${flags.payee === true ? `payer ${record.payer}` : `payee ${record.payee}`}`,
          );
        }
        ctx.out.result(
          found.map((record) => ({
            ...record,
            channelId: formatChannelId(record.channelId),
            status: ChannelStatus[record.status],
          })),
          lines,
        );
      }),
    );

  channel
    .command("show")
    .description("a channel's terms and state")
    .argument("<channel-id>", "the channel", channelIdArg)
    .option(...raw)
    .action(
      run(async (ctx, channelId: bigint, flags: { raw?: boolean }) =>
        showChannel(ctx, channelId, undefined, flags.raw === true),
      ),
    );

  return channel;
}

async function showChannel(ctx: Context, channelId: bigint, transactionHash?: string, raw = false): Promise<void> {
  const record = await (await ctx.channels()).getChannel(channelId);
  const unit = await ctx.unitOf(record.token);
  const fmt = (v: bigint) => formatAmount(v, unit, raw);
  ctx.out.result(
    {
      ...record,
      channelId: formatChannelId(channelId),
      status: ChannelStatus[record.status],
      ...(transactionHash === undefined ? {} : { transactionHash }),
    },
    [
      `channel  ${formatChannelId(channelId)} (${ChannelStatus[record.status]}${record.closesAt === 0n || record.status !== ChannelStatus.Closing ? "" : `, closes at ${new Date(Number(record.closesAt) * 1000).toISOString()}`})`,
      `payer    ${record.payer}`,
      `payee    ${record.payee}`,
      `signer   ${record.signer}`,
      `deposit  ${fmt(record.deposit)}, paid ${fmt(record.paid)}, cap ${record.cap === 0n ? "the deposit" : fmt(record.cap)}`,
      `expiry   ${record.expiry === 0n ? "none" : new Date(Number(record.expiry) * 1000).toISOString()}`,
      ...(transactionHash === undefined ? [] : [`transaction ${transactionHash}`]),
    ],
  );
}

// ------------------------------------------------------------------ escrow

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
