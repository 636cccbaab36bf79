/**
 * `iotrail bundle`: fetches proof bundles from a batcher's API: one reading, a range of one device's
 * readings, or every device's bundle of a batch (following the pages). The bundles are files for
 * `iotrail verify`; nothing fetched here is trusted until it is verified.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { getAddress, isAddress } from "ethers";
import { ChainUnreachableError, InvalidInputError, IotrailError } from "../errors";
import { verifyBundle } from "../verify";
import { run } from "./run";

interface BundleFlags {
  from: string;
  device?: string;
  sequence?: string;
  range?: string;
  batch?: string;
  out?: string;
  wait: number;
}

/** `a..b` as two sequence numbers. */
export function parseRange(text: string): { from: bigint; to: bigint } {
  const match = /^([0-9]+)\.\.([0-9]+)$/.exec(text);
  if (match === null) throw new InvalidInputError(`range ${text}: expected <from>..<to> (sequence numbers)`);
  const from = BigInt(match[1]!);
  const to = BigInt(match[2]!);
  if (to < from) throw new InvalidInputError(`range ${text}: the end is before the start`);
  return { from, to };
}

/** GETs a batcher path; a non-2xx answer or a 202 (not anchored yet) is an error that says why. */
async function fetchJson(base: string, path: string, timeoutMs: number): Promise<{ body: unknown; text: string }> {
  const url = `${base.replace(/\/$/, "")}${path}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new ChainUnreachableError(`cannot reach the batcher at ${base}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new IotrailError("BATCHER_ANSWER", `${url} answered ${response.status} with a body that is not JSON`);
  }
  if (response.status !== 200) {
    const message = (body as { message?: string }).message ?? JSON.stringify(body);
    const what = response.status === 202 ? "not ready yet" : `answered ${response.status}`;
    throw new IotrailError("BATCHER_ANSWER", `${url}: ${what}: ${message}`, {
      details: { status: response.status, body },
    });
  }
  return { body, text };
}

/** {@link fetchJson}, asking again every second while the batcher answers 202 (not anchored yet), up to `waitMs`. */
async function fetchWhenReady(
  base: string,
  path: string,
  timeoutMs: number,
  waitMs: number,
): Promise<{ body: unknown; text: string }> {
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      return await fetchJson(base, path, timeoutMs);
    } catch (error) {
      const status = ((error as IotrailError).details as { status?: number } | undefined)?.status;
      if (status !== 202 || Date.now() + 1_000 > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

export function bundleCommand(): Command {
  return new Command("bundle")
    .description("fetch proof bundles from a batcher: one reading, a device's range, or a whole batch")
    .option("--from <url>", "the batcher's HTTP API (default: IOTRAIL_BATCHER_URL, else http://127.0.0.1:8080)")
    .option("--device <address>", "the device key")
    .option("--sequence <n>", "one reading of --device")
    .option("--range <from..to>", "the readings of --device with sequences from..to, in one bundle")
    .option("--batch <id>", "every device's bundle of a batch (a folder of files with --out)")
    .option("-o, --out <path>", "where to write (a file; a folder for --batch); default: standard output")
    .option(
      "--wait <seconds>",
      "while the readings are not anchored yet (202), ask again every second for this long",
      (v) => {
        if (!/^[0-9]+$/.test(v)) throw new InvalidArgumentError(`${v}: expected a whole number of seconds`);
        return Number(v);
      },
      0,
    )
    .action(
      run(async (ctx, flags: BundleFlags) => {
        const base = flags.from ?? (process.env.IOTRAIL_BATCHER_URL || "http://127.0.0.1:8080");
        const modes = [flags.sequence, flags.range, flags.batch].filter((m) => m !== undefined).length;
        if (modes !== 1) throw new InvalidInputError("give exactly one of --sequence, --range or --batch");
        if (flags.batch !== undefined) {
          if (!/^[0-9]+$/.test(flags.batch)) throw new InvalidInputError(`--batch ${flags.batch}: expected a batch id`);
          const bundles: unknown[] = [];
          let next: string | undefined = `/v1/batches/${flags.batch}/bundles?offset=0&limit=100`;
          while (next !== undefined) {
            const { body } = await fetchWhenReady(base, next, ctx.timeoutMs, flags.wait * 1000);
            const page = body as { bundles: unknown[]; next?: string };
            bundles.push(...page.bundles);
            next = page.next;
          }
          if (flags.out === undefined) {
            ctx.out.result(
              bundles,
              bundles.map((b) => JSON.stringify(b)),
            );
            return;
          }
          await mkdir(flags.out, { recursive: true });
          const files: string[] = [];
          for (const bundle of bundles) {
            const file = join(flags.out, `${(bundle as { device: { key: string } }).device.key.toLowerCase()}.json`);
            await writeFile(file, `${JSON.stringify(bundle, null, 2)}\n`);
            files.push(resolve(file));
          }
          ctx.out.result({ batch: flags.batch, bundles: files.length, files }, [
            `${files.length} bundles of batch ${flags.batch} written to ${flags.out}`,
          ]);
          return;
        }
        if (flags.device === undefined || !isAddress(flags.device)) {
          throw new InvalidInputError("--device <address> is needed with --sequence and --range");
        }
        const device = getAddress(flags.device);
        let path: string;
        let asked: { from: bigint; to: bigint };
        if (flags.sequence !== undefined) {
          if (!/^[0-9]+$/.test(flags.sequence))
            throw new InvalidInputError(`--sequence ${flags.sequence}: expected a number`);
          path = `/v1/readings/${device}/${flags.sequence}/bundle`;
          asked = { from: BigInt(flags.sequence), to: BigInt(flags.sequence) };
        } else {
          asked = parseRange(flags.range!);
          path = `/v1/devices/${device}/bundle?from=${asked.from}&to=${asked.to}`;
        }
        const { text, body } = await fetchWhenReady(base, path, ctx.timeoutMs, flags.wait * 1000);
        // Nothing is written that is not about what was asked (N-M1): the device and exactly this range.
        const offline = await verifyBundle(text, {
          expected: { device, range: { fromSequence: asked.from, toSequence: asked.to } },
        });
        const failed = offline.checks.filter((c) => c.status === "fail");
        if (failed.length > 0) {
          throw new IotrailError(
            "BUNDLE_MISMATCH",
            `the batcher at ${base} answered with a bundle that is not what was asked (nothing written): ${failed
              .slice(0, 3)
              .map((c) => `${c.check}: ${c.message}`)
              .join("; ")}`,
            { details: { failed } },
          );
        }
        if (flags.out === undefined) {
          process.stdout.write(`${text}\n`);
          return;
        }
        await writeFile(flags.out, `${JSON.stringify(body, null, 2)}\n`);
        const readings = (body as { readings: unknown[] }).readings.length;
        ctx.out.result({ file: resolve(flags.out), readings }, [
          `bundle of ${readings} readings written to ${flags.out}`,
        ]);
      }),
    );
}
