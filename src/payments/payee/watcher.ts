/**
 * The payee's watcher: it claims the best stored vouchers before they stop counting. A payer's started close
 * ends vouchers at `closesAt`, and a channel's expiry ends them too; the watcher claims every channel that is
 * closing, or whose expiry is within `marginSeconds`, in one `claimMany` per payee and token, and waits for
 * the transaction to be mined. Anyone may submit a claim; the money goes to the payee.
 */
import type { Logger } from "pino";
import { ChannelStatus, formatChannelId } from "../clients";
import type { PaymentChannelsClient, VoucherClaimInput } from "../clients";
import type { StoredVoucher, VoucherStore } from "./voucher-store";

export interface WatcherOptions {
  store: VoucherStore;
  /** The PaymentChannels client, connected to the account that submits claims. */
  channels: PaymentChannelsClient;
  /** Claim this long before an expiry (seconds; default 1 hour). A started close is claimed at once. */
  marginSeconds?: bigint;
  /** Also claim any channel whose unclaimed amount reaches this (default: never for that reason). */
  claimAbove?: bigint;
  /** Chain time in seconds (default: the latest block's). */
  now?: () => Promise<bigint>;
  logger?: Logger;
}

export interface WatchResult {
  /** Channels claimed, with the transaction that claimed them. */
  claimed: { channelIds: bigint[]; transactionHash: string; blockNumber: number }[];
}

export class PayeeWatcher {
  private readonly options: WatcherOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<WatchResult> | undefined;

  constructor(options: WatcherOptions) {
    this.options = options;
  }

  /** One pass: finds the channels at risk and claims them; resolves once the claims are mined. */
  async tick(): Promise<WatchResult> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Runs `tick` every `intervalMs` until `stop`; a failed pass is logged and retried on the next. */
  start(intervalMs: number): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.tick().catch((error: unknown) =>
        this.options.logger?.warn({ err: (error as Error).message }, "voucher watcher pass failed"),
      );
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  private async pass(): Promise<WatchResult> {
    const { store, channels } = this.options;
    const margin = this.options.marginSeconds ?? 3_600n;
    const now = await (this.options.now?.() ?? this.latestBlockTime());
    const due = new Map<string, { stored: StoredVoucher; claim: VoucherClaimInput }[]>();
    for (const stored of await store.list()) {
      const state = await channels.contract.getChannel(stored.channelId);
      const status = Number(state.status) as ChannelStatus;
      if (status === ChannelStatus.None || status === ChannelStatus.Closed || stored.amount <= state.paid) continue;
      const closing = status === ChannelStatus.Closing && now <= state.closesAt;
      const expiring = stored.terms.expiry !== 0n && now <= stored.terms.expiry && stored.terms.expiry - now <= margin;
      const large = this.options.claimAbove !== undefined && stored.amount - state.paid >= this.options.claimAbove;
      if (!closing && !expiring && !large) continue;
      const key = `${stored.terms.payee.toLowerCase()}:${stored.terms.token.toLowerCase()}`;
      const list = due.get(key) ?? [];
      list.push({ stored, claim: { terms: stored.terms, amount: stored.amount, signature: stored.signature } });
      due.set(key, list);
    }
    const claimed: WatchResult["claimed"] = [];
    for (const group of due.values()) {
      const channelIds = group.map(({ stored }) => stored.channelId);
      const receipt = await channels.claimMany({ claims: group.map(({ claim }) => claim) });
      this.options.logger?.info(
        { channels: channelIds.map(formatChannelId), transaction: receipt.hash, block: receipt.blockNumber },
        "claimed vouchers before their channels stop counting them",
      );
      claimed.push({ channelIds, transactionHash: receipt.hash, blockNumber: receipt.blockNumber });
    }
    return { claimed };
  }

  private async latestBlockTime(): Promise<bigint> {
    const block = await this.options.channels.contract.runner?.provider?.getBlock("latest");
    return BigInt(block?.timestamp ?? Math.floor(Date.now() / 1000));
  }
}
