/** `iotrail batcher`: runs the batcher service until SIGINT or SIGTERM (a thin caller of `BatcherService`). */
import { Command, Option } from "commander";
import pino from "pino";
import type { Logger } from "pino";
import PinoPretty from "pino-pretty";

export type LogFormat = "pretty" | "json";

/**
 * How the batcher logs: `--log-format`, else `LOG_FORMAT`, else readable lines on a terminal and JSON lines
 * (one object per line, for a log collector) anywhere else.
 */
export function chooseLogFormat(flag: string | undefined, env: NodeJS.ProcessEnv, isTTY: boolean): LogFormat {
  const asked = flag ?? (env.LOG_FORMAT === "" ? undefined : env.LOG_FORMAT);
  if (asked === undefined) return isTTY ? "pretty" : "json";
  if (asked !== "pretty" && asked !== "json") throw new Error(`log format ${asked}: expected pretty or json`);
  return asked;
}

/** The service's logger in `format` (pretty: pino-pretty in this thread, so no line is lost at exit). */
export function batcherLogger(level: string, format: LogFormat): Logger {
  const base = { service: "iotrail-batcher" };
  if (format === "json") return pino({ level, base });
  return pino(
    { level, base },
    PinoPretty({
      colorize: process.stdout.isTTY === true,
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname,service",
      sync: true,
    }),
  );
}

export function batcherCommand(): Command {
  return new Command("batcher")
    .description("run the batcher: MQTT and HTTP ingest, durable store, sealing, anchoring, proof API")
    .option("-c, --config <file>", "JSON config file (environment variables override it; see the README)")
    .addOption(
      new Option(
        "--log-format <format>",
        "pretty (readable lines) or json (one object per line); default: pretty on a terminal, else json (LOG_FORMAT)",
      ).choices(["pretty", "json"]),
    )
    .action(async (opts: { config?: string; logFormat?: string }) => {
      // Loaded here: the broker, the HTTP server and SQLite are not needed by any other command.
      const { BatcherService, loadBatcherConfig } = await import("../batcher");
      const config = loadBatcherConfig(opts.config === undefined ? {} : { file: opts.config });
      const format = chooseLogFormat(opts.logFormat, process.env, process.stdout.isTTY === true);
      const service = await BatcherService.start(config, { logger: batcherLogger(config.logLevel, format) });
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
