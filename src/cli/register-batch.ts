/** `iotrail devices register-batch`: many device keys from a CSV or JSON file, in chunks; resumable, and Ctrl-C safe. */
import { dirname, resolve } from "node:path";
import { Command } from "commander";
import { DeviceKey } from "../device";
import { IotrailError } from "../errors";
import type { RegisterParams } from "../registry";
import { parseAddress } from "./context";
import { plural } from "./files";
import { run } from "./run";
import { DEADLINE_OPTION, deadlineFrom, deviceIdHex, metadataHash, readDeviceRows, uint } from "./device-args";
import type { DeviceRow } from "./device-args";

export function registerBatchCommand(): Command {
  return new Command("register-batch")
    .description("register many device keys from a CSV (keyFile,owner,metadata,metadataURI) or JSON file; resumable")
    .argument("<file>", "CSV with a header row, or a JSON array of {keyFile, owner?, metadata?, metadataURI?}")
    .option("--owner <address>", "owner of rows that name none (default: you)")
    .option("--chunk <n>", "registrations per transaction", (v) => Number(uint(v)), 50)
    .option(...DEADLINE_OPTION)
    .action(
      run(async (ctx, file: string, opts: { owner?: string; chunk: number; deadline: number }) => {
        const registry = await ctx.registry(true);
        const registrant = await ctx.signerAddress();
        const defaultOwner = opts.owner === undefined ? registrant : parseAddress(opts.owner, "--owner");
        const rows = await readDeviceRows(file);
        const keys = await Promise.all(rows.map((row) => DeviceKey.load(resolve(dirname(file), row.keyFile))));
        const ownerOf = (row: DeviceRow) =>
          row.owner === undefined ? defaultOwner : parseAddress(row.owner, `owner of ${row.keyFile}`);
        // Resumable: the chain is the ledger. A key it knows is skipped only when its record is what the row
        // asks for (P-L2): same device, owner and metadata; anything else is reported, and the run fails.
        const known = await Promise.all(
          rows.map(async (row, i) => {
            const key = keys[i]!;
            const { deviceId } = await registry.getKey(key.address);
            if (deviceId === 0n) return undefined;
            if (deviceId !== BigInt(key.address)) {
              return `${row.keyFile}: ${key.address} is a rotated key of device ${deviceIdHex(deviceId)}`;
            }
            const device = await registry.getDevice(deviceId);
            const problems: string[] = [];
            const owner = ownerOf(row);
            if (device.owner !== owner) problems.push(`owner ${device.owner}, the file says ${owner}`);
            const metadata = metadataHash(row.metadata);
            if (device.metadataHash.toLowerCase() !== metadata.toLowerCase()) {
              problems.push(`metadata ${device.metadataHash}, the file says ${metadata}`);
            }
            return problems.length === 0
              ? "same"
              : `${row.keyFile}: ${key.address} is registered with ${problems.join(" and ")}`;
          }),
        );
        const mismatches = known.filter((k): k is string => k !== undefined && k !== "same");
        const todo = rows.map((row, i) => ({ row, key: keys[i]! })).filter((_, i) => known[i] === undefined);
        const skipped = rows.length - todo.length;
        if (skipped > 0)
          ctx.out.note(
            `${skipped} of ${rows.length} keys are registered already; registering the other ${todo.length}`,
          );
        const domain = await registry.domain();
        const progress = ctx.out.progress("registering", todo.length);
        const transactions: string[] = [];
        const chunk = Math.max(1, opts.chunk);
        progress(0);
        // Ctrl-C: the transaction in flight is waited for, then the run stops and says where it is; a second
        // Ctrl-C stops at once. Either way a re-run resumes (the chain is the ledger).
        let landed = 0;
        let interrupted = false;
        const where = () =>
          `${plural(landed, "device")} of ${todo.length} registered in ${plural(transactions.length, "transaction")}`;
        const onInterrupt = () => {
          if (interrupted) {
            process.stderr.write(
              `\niotrail: stopped: ${where()}; a transaction may still land. Run the same command again to resume: registered keys are skipped\n`,
            );
            process.exit(130);
          }
          interrupted = true;
          process.stderr.write(
            "\niotrail: interrupted: waiting for the transaction in flight (Ctrl-C again to stop at once)\n",
          );
        };
        process.on("SIGINT", onInterrupt);
        try {
          for (let start = 0; start < todo.length && !interrupted; start += chunk) {
            const deadline = await deadlineFrom(ctx, opts.deadline);
            const registrations: RegisterParams[] = todo.slice(start, start + chunk).map(({ row, key }) => {
              const owner = ownerOf(row);
              return {
                key: key.address,
                owner,
                metadataHash: metadataHash(row.metadata),
                metadataURI: row.metadataURI ?? "",
                deadline,
                signature: key.signRegistration({ domain, registrant, owner, deadline }),
              };
            });
            const { receipt } = await registry.registerBatch({ registrations });
            transactions.push(receipt.hash);
            landed += registrations.length;
            progress(landed);
          }
        } finally {
          process.off("SIGINT", onInterrupt);
        }
        if (interrupted) {
          throw new IotrailError(
            "INTERRUPTED",
            `interrupted: ${where()}; run the same command again to register the other ${todo.length - landed}: registered keys are skipped`,
            { details: { registered: landed, remaining: todo.length - landed, transactions } },
          );
        }
        if (mismatches.length > 0) {
          throw new IotrailError(
            "REGISTERED_DIFFERENTLY",
            `${mismatches.length} key(s) are registered already, but not as ${file} says (registered ${todo.length} new device(s) in ${transactions.length} transaction(s)):\n  ${mismatches.join("\n  ")}\n` +
              "a registration is never redone: the owner hands a device over with `iotrail devices transfer start`",
            { details: { mismatches, registered: todo.length, transactions } },
          );
        }
        ctx.out.result({ registered: todo.length, skipped, transactions }, [
          `registered ${plural(todo.length, "device")} in ${plural(transactions.length, "transaction")} (${skipped} were registered already)`,
        ]);
      }),
    );
}
