/** `iotrail batcher`: runs the batcher service until SIGINT or SIGTERM (a thin caller of `BatcherService`). */
import { Command } from "commander";

export function batcherCommand(): Command {
  return new Command("batcher")
    .description("run the batcher: MQTT and HTTP ingest, durable store, sealing, anchoring, proof API")
    .option("-c, --config <file>", "JSON config file (environment variables override it; see the README)")
    .action(async (opts: { config?: string }) => {
      // Loaded here: the broker, the HTTP server and SQLite are not needed by any other command.
      const { BatcherService, loadBatcherConfig } = await import("../batcher");
      const config = loadBatcherConfig(opts.config === undefined ? {} : { file: opts.config });
      const service = await BatcherService.start(config);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          service.logger.info({ signal }, "stopping");
          resolve();
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await service.stop();
    });
}
