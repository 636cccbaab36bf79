/** `iotrail channel ...`: payment channels for the payer, the payee and the device that signs vouchers. */
import { writeFile } from "node:fs/promises";
import { Command } from "commander";
import { DeviceKey } from "../device";
import { InvalidInputError } from "../errors";
import { ChannelStatus, formatChannelId } from "../payments";
import { Context, parseAddress } from "./context";
import { readJsonFile } from "./files";
import { run } from "./run";
import { formatAmount, parseAmount } from "./units";
import { channelIdArg, ensureAllowance, timeArg, tokenArg, uint } from "./payment-args";

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
