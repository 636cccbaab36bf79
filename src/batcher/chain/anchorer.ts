/**
 * The anchoring transaction manager. One transaction is in flight at a time (anchoring up to
 * `maxBatchesPerTx` sealed batches with `anchorMany`); every signed transaction is recorded in the store
 * before it is broadcast, so a restart knows what may be on the chain. Each {@link tick}:
 *
 * 1. follows the open transaction: mined → its batches are `anchored`; reverted → `failed` with the
 *    decoded reason (not retried blindly); its nonce taken by another transaction → the roots are looked
 *    up on-chain and adopted or sent back to pending; unknown to the node (dropped) → broadcast again;
 *    not mined after `bumpAfterMs` → replaced at the same nonce with fees raised by `feeBumpPercent`;
 * 2. follows anchored batches: final at `confirmations` blocks; if a reorg removed their block (and the
 *    transaction is not mined elsewhere) they go back to `pending` and are anchored again;
 * 3. sends the next transaction when none is open, after adopting roots that are already on-chain (the
 *    contract never anchors a root twice).
 *
 * RPC failures (down, timeouts, 5xx, resets) throw out of `tick`; {@link start} retries with bounded
 * exponential backoff. Nothing is deleted: replaced and dropped transactions keep their records.
 */
import { Transaction } from "ethers";
import type { JsonRpcProvider, TransactionReceipt, Wallet } from "ethers";
import type { Logger } from "pino";
import { failpoint } from "../support";
import { decodeContractError } from "../../errors";
import { TelemetryAnchorClient } from "../../anchor";
import type { BatchHeader } from "../../anchor";
import type { BatcherMetrics } from "../support";
import type { AnchorPlacement, AnchorTxRecord, BatchRecord, ReadingStore } from "../storage";

export interface AnchorerOptions {
  store: ReadingStore;
  /** The TelemetryAnchor's address. */
  anchor: string;
  /** The anchoring account (holds ANCHORER_ROLE), connected to `provider`. */
  wallet: Wallet;
  provider: JsonRpcProvider;
  /** Blocks (including the anchoring block) after which a batch is final (default 1). */
  confirmations?: number;
  maxBatchesPerTx?: number;
  /** Replace a transaction not mined after this long (ms; default 30 s). */
  bumpAfterMs?: number;
  /** Fee increase of a replacement, in percent (default 25; nodes require at least 10). */
  feeBumpPercent?: number;
  /** Highest max fee per gas ever offered (wei); replacements stop at it. */
  maxFeePerGasCap?: bigint;
  /** The URI stored on-chain with a batch (where its dump can be fetched). */
  contentURI?: (batch: BatchRecord) => string;
  metrics?: BatcherMetrics;
  logger?: Logger;
  now?: () => number;
}

const NONCE_TOO_LOW = /nonce too low|nonce has already been used|already been used|nonce.*too low/i;
const ALREADY_KNOWN = /already known|known transaction|already imported|already in (the )?mempool/i;
const UNDERPRICED =
  /underpriced|fee too low|too low for the next block|less than (the )?block base fee|maxFeePerGas.*too low|fee cap less than/i;

function messageOf(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === "object"; depth++) {
    const { message, error: inner, info } = current as { message?: unknown; error?: unknown; info?: unknown };
    if (typeof message === "string") parts.push(message);
    current = inner ?? (info as { error?: unknown } | undefined)?.error;
  }
  return parts.join(" | ") || String(error);
}

export class Anchorer {
  /** The chain head at the last confirmation pass (for views: confirmations of anchored batches). */
  get head(): number | undefined {
    return this.lastHead;
  }

  private readonly client: TelemetryAnchorClient;
  private readonly options: Required<Omit<AnchorerOptions, "maxFeePerGasCap" | "metrics" | "logger">> &
    Pick<AnchorerOptions, "maxFeePerGasCap" | "metrics" | "logger">;
  /** Fees a new transaction must at least offer, after an underpriced send. */
  private feeFloor: Fees | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastHead: number | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;

  constructor(options: AnchorerOptions) {
    this.options = {
      confirmations: 1,
      maxBatchesPerTx: 16,
      bumpAfterMs: 30_000,
      feeBumpPercent: 25,
      contentURI: () => "",
      now: Date.now,
      ...options,
    };
    this.client = TelemetryAnchorClient.connect({ address: options.anchor, runner: options.provider });
  }

  /** One pass of the state machine (see the file comment). Throws on RPC failures. */
  async tick(): Promise<void> {
    await this.followOpenTransactions();
    await this.followAnchoredBatches();
    if ((await this.options.store.openTxs()).length === 0) await this.sendNext();
  }

  /** Runs {@link tick} every `intervalMs`, backing off exponentially (up to `maxBackoffMs`) on failures. */
  start(intervalMs: number, maxBackoffMs = 30_000): void {
    if (this.timer !== undefined) return; // running already: one loop at a time
    const loop = () => {
      this.running = this.tick().then(
        () => {
          this.failures = 0;
        },
        (error: unknown) => {
          this.failures += 1;
          this.options.metrics?.rpcErrors.inc();
          this.options.logger?.warn(
            { err: messageOf(error), failures: this.failures },
            "anchoring pass failed; backing off",
          );
        },
      );
      void this.running.finally(() => {
        if (this.timer === undefined) return;
        const delay = this.failures === 0 ? intervalMs : Math.min(maxBackoffMs, intervalMs * 2 ** this.failures);
        this.timer = setTimeout(loop, delay);
      });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async followOpenTransactions(): Promise<void> {
    const { store, provider, wallet, metrics, logger } = this.options;
    const open = await store.openTxs();
    if (open.length === 0) return;
    const nonce = open[0]!.nonce;
    const group = open.filter((tx) => tx.nonce === nonce);
    let mined: { tx: AnchorTxRecord; receipt: TransactionReceipt } | undefined;
    for (const tx of group) {
      const receipt = await provider.getTransactionReceipt(tx.hash);
      if (receipt !== null) mined = { tx, receipt };
    }
    if (mined !== undefined) {
      for (const tx of group)
        if (tx !== mined.tx) await store.setTxState(tx.hash, "replaced", `replaced by ${mined.tx.hash}`);
      await this.recordMined(mined.tx, mined.receipt);
      return;
    }
    const latest = group[group.length - 1]!;
    const confirmedNonce = await provider.getTransactionCount(wallet.address, "latest");
    if (confirmedNonce > nonce) {
      // Another transaction took the nonce ("nonce too low"): our roots may be on-chain anyway.
      for (const tx of group) await store.setTxState(tx.hash, "dropped", "its nonce was used by another transaction");
      metrics?.anchorTxs.inc({ event: "dropped" });
      await this.adoptOrRequeue(latest.batchIds, "the anchoring transaction's nonce was used by another transaction");
      return;
    }
    const known = await provider.getTransaction(latest.hash);
    if (known === null) {
      logger?.warn(
        { hash: latest.hash, nonce },
        "anchoring transaction unknown to the node (dropped); broadcasting it again",
      );
      metrics?.anchorTxs.inc({ event: "dropped" });
      await this.broadcast(latest);
      return;
    }
    if (this.options.now() - latest.sentAt >= this.options.bumpAfterMs) await this.replace(latest);
  }

  private async recordMined(tx: AnchorTxRecord, receipt: TransactionReceipt): Promise<void> {
    const { store, metrics, logger } = this.options;
    if (receipt.status !== 1) {
      const reason = await this.revertReason(tx, receipt.blockNumber);
      await store.setTxState(tx.hash, "reverted", reason);
      metrics?.anchorTxs.inc({ event: "reverted" });
      const failed = await this.triage(tx.batchIds, `anchor transaction ${tx.hash} reverted: ${reason}`);
      logger?.error({ hash: tx.hash, reason, failed, batches: tx.batchIds }, "anchor transaction reverted");
      return;
    }
    const placements = await this.placementsIn(receipt);
    for (const localId of tx.batchIds) {
      const batch = (await store.getBatch(localId))!;
      const placement = placements.get(batch.root.toLowerCase());
      if (placement === undefined) {
        await store.markPending(localId, `transaction ${tx.hash} did not anchor this root`);
        continue;
      }
      await store.markAnchored(localId, placement);
    }
    await store.setTxState(tx.hash, "mined");
    metrics?.anchorTxs.inc({ event: "mined" });
    logger?.info({ hash: tx.hash, block: receipt.blockNumber, batches: tx.batchIds }, "batches anchored");
  }

  /** The `BatchAnchored` placements of a receipt, by root. */
  private async placementsIn(receipt: TransactionReceipt): Promise<Map<string, AnchorPlacement>> {
    const block = await this.options.provider.getBlock(receipt.blockHash);
    const anchoredAt = BigInt(block?.timestamp ?? 0);
    return new Map(
      this.client.anchored(receipt).map((event) => [
        event.root.toLowerCase(),
        {
          chainBatchId: event.batchId,
          transactionHash: event.transactionHash,
          blockNumber: event.blockNumber,
          blockHash: event.blockHash,
          anchoredAt,
        },
      ]),
    );
  }

  /**
   * After `anchorMany` reverted for a set of batches: roots already on-chain (anchored by another account in
   * between) are adopted; each other root is tried alone, and only those that would revert alone fail (with
   * `note` and their own reason); the rest go back to pending and are anchored by the next pass. A reason
   * shared by every root (the role was revoked) fails them all, as before. Returns the failed batches.
   */
  private async triage(localIds: readonly number[], note: string): Promise<number[]> {
    const { store, provider, wallet } = this.options;
    const left = await this.adoptOrRequeue(localIds, `${note}; each root is checked on its own`);
    const failed: number[] = [];
    for (const localId of left) {
      const batch = (await store.getBatch(localId))!;
      const data = this.client.contract.interface.encodeFunctionData("anchorMany", [[this.header(batch)]]);
      try {
        await provider.estimateGas({ from: wallet.address, to: this.options.anchor, data });
      } catch (error) {
        const decoded = decodeContractError(error, this.client.contract.interface);
        if (decoded.code !== "CONTRACT_REVERT") throw error;
        await store.markFailed(localId, `${note}; alone it would revert: ${decoded.message}`);
        failed.push(localId);
      }
    }
    return failed;
  }

  private header(batch: BatchRecord): BatchHeader {
    return {
      root: batch.root,
      readingCount: batch.readingCount,
      fromTimestamp: batch.fromTimestamp,
      toTimestamp: batch.toTimestamp,
      contentHash: batch.contentHash,
      contentURI: this.options.contentURI(batch),
    };
  }

  /** Roots already on-chain are adopted from their `BatchAnchored` log; the others go back to pending. */
  private async adoptOrRequeue(localIds: readonly number[], note: string): Promise<number[]> {
    const { store, provider } = this.options;
    const left: number[] = [];
    for (const localId of localIds) {
      const batch = (await store.getBatch(localId))!;
      const record = await this.client.getAnchor(batch.root);
      if (record.batchId === 0n) {
        if (batch.status !== "pending") await store.markPending(localId, note);
        left.push(localId);
        continue;
      }
      const logs = await provider.getLogs({
        address: this.options.anchor,
        topics: [this.client.contract.interface.getEvent("BatchAnchored").topicHash, null, batch.root],
        fromBlock: 0,
      });
      const log = logs[logs.length - 1];
      const receipt = log === undefined ? null : await provider.getTransactionReceipt(log.transactionHash);
      const placement = receipt === null ? undefined : (await this.placementsIn(receipt)).get(batch.root.toLowerCase());
      if (placement === undefined) {
        left.push(localId);
        continue;
      }
      await store.markAnchored(localId, placement);
      this.options.logger?.info({ localId, hash: placement.transactionHash }, "root already on-chain; anchor adopted");
    }
    return left;
  }

  private async followAnchoredBatches(): Promise<void> {
    const { store, provider, confirmations, metrics, logger } = this.options;
    // The head is read on every pass, batches to follow or not: the views' confirmations keep counting after
    // the last batch turned final (issue 24, 14: they froze at finality).
    const head = await provider.getBlockNumber();
    this.lastHead = head;
    const anchored = await store.batchesWith("anchored");
    if (anchored.length === 0) return;
    const canonical = new Map<number, string | undefined>();
    for (const batch of anchored) {
      const placement = batch.anchor!;
      if (!canonical.has(placement.blockNumber)) {
        canonical.set(placement.blockNumber, (await provider.getBlock(placement.blockNumber))?.hash ?? undefined);
      }
      if (canonical.get(placement.blockNumber) !== placement.blockHash) {
        const receipt = await provider.getTransactionReceipt(placement.transactionHash);
        const moved =
          receipt?.status === 1 ? (await this.placementsIn(receipt)).get(batch.root.toLowerCase()) : undefined;
        if (moved !== undefined) {
          await store.markAnchored(batch.localId, moved);
          continue;
        }
        await store.markPending(batch.localId, `a reorg removed the anchor in block ${placement.blockNumber}`);
        metrics?.anchorTxs.inc({ event: "reorged" });
        logger?.warn(
          { localId: batch.localId, block: placement.blockNumber },
          "reorg removed an anchor; batch back to pending",
        );
        continue;
      }
      if (head - placement.blockNumber + 1 >= confirmations) {
        await store.markFinal(batch.localId);
        this.options.logger?.info(
          {
            localId: batch.localId,
            batchId: placement.chainBatchId.toString(),
            hash: placement.transactionHash,
            confirmations,
          },
          "batch final",
        );
      } else failpoint("anchor.confirming");
    }
  }

  private async sendNext(): Promise<void> {
    const { store, provider, wallet, maxBatchesPerTx } = this.options;
    const pending = await store.batchesWith("pending", maxBatchesPerTx);
    if (pending.length === 0) return;
    const ids = await this.adoptOrRequeue(
      pending.map((batch) => batch.localId),
      "waiting to be anchored",
    );
    if (ids.length === 0) return;
    const headers: BatchHeader[] = [];
    for (const localId of ids) headers.push(this.header((await store.getBatch(localId))!));
    const data = this.client.contract.interface.encodeFunctionData("anchorMany", [headers]);
    let gasLimit: bigint;
    try {
      gasLimit = await provider.estimateGas({ from: wallet.address, to: this.options.anchor, data });
    } catch (error) {
      const decoded = decodeContractError(error, this.client.contract.interface);
      if (decoded.code !== "CONTRACT_REVERT") throw error;
      // The contract refuses the anchor: each root is judged on its own, so one bad root fails alone.
      const failed = await this.triage(ids, `the anchor would revert: ${decoded.message}`);
      this.options.metrics?.anchorTxs.inc({ event: "reverted" });
      this.options.logger?.error(
        { reason: decoded.message, failed, batches: ids },
        "anchoring refused by the contract",
      );
      return;
    }
    const nonce = await provider.getTransactionCount(wallet.address, "pending");
    const fees = await this.currentFees();
    await this.signAndSend({ nonce, data, gasLimit: (gasLimit * 12n) / 10n, batchIds: ids, ...fees });
  }

  private async currentFees(): Promise<Fees> {
    const data = await this.options.provider.getFeeData();
    const block = await this.options.provider.getBlock("latest");
    const priority = data.maxPriorityFeePerGas ?? 1_000_000_000n;
    const base = block?.baseFeePerGas ?? data.gasPrice ?? 0n;
    const fees = { maxFeePerGas: base * 2n + priority, maxPriorityFeePerGas: priority };
    return this.capped(this.feeFloor === undefined ? fees : higherFees(fees, this.feeFloor));
  }

  private capped(fees: Fees): Fees {
    const cap = this.options.maxFeePerGasCap;
    if (cap === undefined || fees.maxFeePerGas <= cap) return fees;
    return { maxFeePerGas: cap, maxPriorityFeePerGas: min(fees.maxPriorityFeePerGas, cap) };
  }

  private bumped(fees: Fees): Fees {
    const factor = BigInt(100 + this.options.feeBumpPercent);
    return this.capped({
      maxFeePerGas: (fees.maxFeePerGas * factor) / 100n + 1n,
      maxPriorityFeePerGas: (fees.maxPriorityFeePerGas * factor) / 100n + 1n,
    });
  }

  /** Same nonce, same call, higher fees. */
  private async replace(tx: AnchorTxRecord): Promise<void> {
    const previous = Transaction.from(tx.raw);
    const fees = higherFees(this.bumped(tx), await this.currentFees());
    if (fees.maxFeePerGas <= tx.maxFeePerGas) {
      this.options.logger?.warn({ hash: tx.hash, cap: this.options.maxFeePerGasCap }, "fee cap reached; not replacing");
      return;
    }
    this.options.logger?.info(
      { hash: tx.hash, nonce: tx.nonce, ...stringify(fees) },
      "replacing a stuck anchoring transaction",
    );
    this.options.metrics?.anchorTxs.inc({ event: "replaced" });
    await this.signAndSend({
      nonce: tx.nonce,
      data: previous.data,
      gasLimit: previous.gasLimit,
      batchIds: tx.batchIds,
      ...fees,
    });
  }

  private async signAndSend(params: {
    nonce: number;
    data: string;
    gasLimit: bigint;
    batchIds: number[];
    maxFeePerGas: bigint;
    maxPriorityFeePerGas: bigint;
  }): Promise<void> {
    const { wallet, provider, store } = this.options;
    const network = await provider.getNetwork();
    const raw = await wallet.signTransaction({
      type: 2,
      chainId: network.chainId,
      to: this.options.anchor,
      data: params.data,
      nonce: params.nonce,
      gasLimit: params.gasLimit,
      maxFeePerGas: params.maxFeePerGas,
      maxPriorityFeePerGas: params.maxPriorityFeePerGas,
    });
    const record = {
      hash: Transaction.from(raw).hash!,
      nonce: params.nonce,
      raw,
      maxFeePerGas: params.maxFeePerGas,
      maxPriorityFeePerGas: params.maxPriorityFeePerGas,
      batchIds: params.batchIds,
      sentAt: this.options.now(),
    };
    await store.recordTx(record); // durable before it can reach the network
    this.options.metrics?.anchorTxs.inc({ event: "sent" });
    this.options.logger?.info(
      { hash: record.hash, nonce: record.nonce, batches: record.batchIds },
      "anchoring transaction sent",
    );
    await this.broadcast({ ...record, state: "sent" });
  }

  /** Broadcasts a recorded transaction; node refusals update the record, network failures throw. */
  private async broadcast(tx: AnchorTxRecord): Promise<void> {
    try {
      await this.options.provider.broadcastTransaction(tx.raw);
      failpoint("anchor.after-broadcast");
    } catch (error) {
      const message = messageOf(error);
      if (ALREADY_KNOWN.test(message)) return;
      if (NONCE_TOO_LOW.test(message)) {
        // The next pass compares the account's nonce and adopts or requeues the roots.
        this.options.logger?.warn({ hash: tx.hash, nonce: tx.nonce }, "nonce too low; reconciling on the next pass");
        return;
      }
      if (UNDERPRICED.test(message)) {
        await this.options.store.setTxState(tx.hash, "dropped", `underpriced: ${message.slice(0, 200)}`);
        this.feeFloor = this.bumped(tx);
        this.options.logger?.warn({ hash: tx.hash }, "underpriced send; will send again with higher fees");
        return;
      }
      throw error;
    }
  }

  private async revertReason(tx: AnchorTxRecord, blockNumber: number): Promise<string> {
    const parsed = Transaction.from(tx.raw);
    try {
      await this.options.provider.call({
        from: this.options.wallet.address,
        to: parsed.to,
        data: parsed.data,
        blockTag: blockNumber,
      });
      return "reverted (the call succeeds when replayed)";
    } catch (error) {
      return decodeContractError(error, this.client.contract.interface).message;
    }
  }
}

interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

/** Each fee at the higher of the two. */
function higherFees(a: Fees, b: Fees): Fees {
  return {
    maxFeePerGas: max(a.maxFeePerGas, b.maxFeePerGas),
    maxPriorityFeePerGas: max(a.maxPriorityFeePerGas, b.maxPriorityFeePerGas),
  };
}

function stringify(fees: Fees) {
  return { maxFeePerGas: fees.maxFeePerGas.toString(), maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString() };
}
