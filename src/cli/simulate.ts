/**
 * `iotrail simulate`: device keys (from `devices keygen --count`) publish signed readings to a batcher over
 * MQTT or HTTP, at a rate, for a count or a duration, and the run ends with a summary. `--register` first
 * registers the keys the registry does not know yet (as a manufacturer).
 */
import { dirname, resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { ZeroHash } from "ethers";
import { DeviceKey } from "../device";
import { telemetryDomain } from "../eip712";
import { InvalidInputError } from "../errors";
import { claimLotDevice, registerDeviceKeys } from "../registry";
import { readMqttPasswords } from "./broker";
import { readDeviceRows } from "./device-args";
import { readLotFile } from "./lot";
import { plural } from "./files";
import { run } from "./run";

/** Registrations per transaction. */
const REGISTER_CHUNK = 100;

function positive(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError("expected a positive number");
  return n;
}

interface SimulateFlags {
  format: "json" | "cbor";
  devices?: string;
  lot?: string;
  lotId?: string;
  unclaimed?: boolean;
  to: string;
  rate: number;
  count?: number;
  duration?: number;
  firstSequence?: string;
  metric: string;
  httpBatch: number;
  register?: boolean;
  topicRoot: string;
  mqttPasswords?: string;
}

export function simulateCommand(): Command {
  return new Command("simulate")
    .description("devices publish signed readings to a batcher (MQTT or HTTP) and the run is summarised")
    .option(
      "--devices <file>",
      "the devices' key files, listed in a CSV or JSON file (as `devices keygen --count` writes)",
    )
    .option("--lot <lot.json>", "instead of --devices: the devices of a committed lot (a file of `devices lot build`)")
    .option("--lot-id <id>", "the lot's id: its entries not claimed yet are claimed first (by you; anyone may)")
    .option("--unclaimed", "with --lot: claim nothing (the batcher holds the lot: see its `lots` config)")
    .requiredOption("--to <url>", "the batcher: mqtt://host:port (its broker) or http://host:port (its API)")
    .option("--rate <n>", "readings per second over all devices", positive, 10)
    .option("--count <n>", "readings per device", (v) => Math.floor(positive(v)))
    .option("--duration <seconds>", "stop after this many seconds", positive)
    .option("--first-sequence <n>", "first sequence number of every device (default: now in Unix milliseconds)")
    .option("--metric <name>", "metric name", "temperature.mC")
    .option("--http-batch <n>", "readings per HTTP request", (v) => Math.floor(positive(v)), 100)
    .addOption(
      new Option("--format <format>", "wire form: json (version 1) or cbor (version 2, compact)")
        .choices(["json", "cbor"])
        .default("json"),
    )
    .option("--topic-root <root>", "MQTT topic root", "iotrail/v1")
    .option(
      "--mqtt-passwords <file>",
      "log in to an external broker (Mosquitto) with these passwords (devices mqtt-passwords), not signed logins",
    )
    .option("--register", "register the keys the registry does not know yet (you need the manufacturer role)")
    .action(
      run(async (ctx, flags: SimulateFlags) => {
        if ((flags.devices === undefined) === (flags.lot === undefined)) {
          throw new InvalidInputError("give the devices with --devices <file> or --lot <lot.json> (one of them)");
        }
        let keys: DeviceKey[];
        if (flags.devices !== undefined) {
          const rows = await readDeviceRows(flags.devices);
          keys = await Promise.all(rows.map((row) => DeviceKey.load(resolve(dirname(flags.devices!), row.keyFile))));
        } else {
          if (flags.lotId === undefined || !/^[0-9]+$/.test(flags.lotId)) {
            throw new InvalidInputError("--lot needs --lot-id <id> (the committed lot's id)");
          }
          const { file, lot } = await readLotFile(flags.lot!);
          keys = await Promise.all(file.entries.map((entry) => DeviceKey.load(entry.keyFile)));
          if (flags.unclaimed !== true) {
            const registry = await ctx.registry(true);
            let claimed = 0;
            for (const key of keys) {
              if ((await registry.getKey(key.address)).deviceId !== 0n) continue;
              const deadline = (await ctx.chainTime()) + 3600n;
              await claimLotDevice({ registry, lot, lotId: BigInt(flags.lotId), key, deadline });
              claimed++;
            }
            if (claimed > 0) ctx.out.note(`claimed ${claimed} devices of lot ${flags.lotId}`);
          }
        }
        const deployment = await ctx.deployment();
        if (flags.register === true) {
          const registry = await ctx.registry(true);
          const known = await Promise.all(
            keys.map(async (key) => (await registry.getKey(key.address)).deviceId !== 0n),
          );
          const fresh = keys.filter((_, i) => !known[i]);
          const registrant = await ctx.signerAddress();
          for (let start = 0; start < fresh.length; start += REGISTER_CHUNK) {
            await registerDeviceKeys({
              registry,
              registrant,
              keys: fresh.slice(start, start + REGISTER_CHUNK),
              owner: registrant,
              metadataHash: () => ZeroHash,
              deadline: (await ctx.chainTime()) + 3600n,
            });
          }
          if (fresh.length > 0) ctx.out.note(`registered ${fresh.length} device keys`);
        }
        const domain = telemetryDomain(BigInt(deployment.chainId), deployment.contracts.TelemetryAnchor.address);
        let credentials: ((key: DeviceKey) => { username: string; password: string }) | undefined;
        if (flags.mqttPasswords !== undefined) {
          const passwords = await readMqttPasswords(flags.mqttPasswords);
          const missing = keys.filter((key) => !passwords.has(key.address.toLowerCase()));
          if (missing.length > 0) {
            throw new InvalidInputError(
              `${flags.mqttPasswords} has no password for ${plural(missing.length, "device")}: ${missing
                .slice(0, 3)
                .map((k) => k.address)
                .join(", ")}${missing.length > 3 ? ", …" : ""}`,
            );
          }
          credentials = (key) => {
            const username = key.address.toLowerCase();
            return { username, password: passwords.get(username)! };
          };
        }
        const { simulate } = await import("../simulator");
        const total = flags.count === undefined ? 0 : flags.count * keys.length;
        const progress = ctx.out.progress("answered", total);
        const summary = await simulate({
          keys,
          domain,
          url: flags.to,
          rate: flags.rate,
          format: flags.format,
          ...(flags.count === undefined ? {} : { count: flags.count }),
          ...(flags.duration === undefined && flags.count === undefined ? { durationMs: 10_000 } : {}),
          ...(flags.duration === undefined ? {} : { durationMs: flags.duration * 1000 }),
          ...(flags.firstSequence === undefined ? {} : { firstSequence: BigInt(flags.firstSequence) }),
          metric: flags.metric,
          httpBatch: flags.httpBatch,
          topicRoot: flags.topicRoot,
          ...(credentials === undefined ? {} : { credentials }),
          onProgress: (_sent, answered) => progress(answered),
        });
        const rejected = Object.entries(summary.rejected);
        ctx.out.result(summary, [
          `${summary.devices} devices over ${summary.transport}, ${(summary.durationMs / 1000).toFixed(1)} s`,
          `sent          ${summary.sent}`,
          `acknowledged  ${summary.acknowledged} (${summary.acknowledgedPerSecond}/s)`,
          `duplicates    ${summary.duplicates}`,
          `rejected      ${rejected.length === 0 ? 0 : rejected.map(([code, n]) => `${code} ${n}`).join(", ")}`,
          `busy          ${summary.busy}`,
          `unanswered    ${summary.unanswered}`,
          `latency       p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms, max ${summary.latencyMs.max} ms`,
          `sequences     ${summary.sequences.length === 0 ? "none" : `${summary.sequences[0]!.from}..${summary.sequences[0]!.to} per device`}`,
        ]);
        if (summary.unanswered > 0 || rejected.length > 0) process.exitCode = 1;
      }),
    );
}
