/**
 * Seals stored readings into batches: whenever a full batch (`maxReadings`) is waiting, or the oldest
 * unsealed reading is `maxAgeMs` old.
 */
import type { Logger } from "pino";
import { failpoint } from "../support";
import type { BatchRecord, ReadingStore } from "../storage";

export interface SealerOptions {
  store: ReadingStore;
  maxReadings: number;
  maxAgeMs: number;
  logger?: Logger;
  now?: () => number;
}

export class Sealer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(private readonly options: SealerOptions) {}

  /** Seals every batch that is due now; returns them. */
  async tick(): Promise<BatchRecord[]> {
    const { store, maxReadings, maxAgeMs, logger } = this.options;
    const now = (this.options.now ?? Date.now)();
    const sealed: BatchRecord[] = [];
    for (;;) {
      const { count, oldestReceivedAt } = await store.unsealed();
      const due = count >= maxReadings || (count > 0 && now - oldestReceivedAt! >= maxAgeMs);
      if (!due) return sealed;
      const batch = (await store.seal(maxReadings, now))!;
      failpoint("seal.after-seal");
      logger?.info({ localId: batch.localId, readings: batch.readingCount, root: batch.root }, "batch sealed");
      sealed.push(batch);
    }
  }

  start(intervalMs: number): void {
    if (this.timer !== undefined) return; // running already: one loop at a time
    const loop = () => {
      this.running = this.tick()
        .catch((error: unknown) => this.options.logger?.error({ err: error }, "sealing failed"))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(loop, intervalMs);
        });
    };
    this.timer = setTimeout(loop, intervalMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
