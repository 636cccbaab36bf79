/** `iotrail devices lot ...`: production lots, one commitment for many devices (build, commit, claim, close, revoke). */
import { readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Command } from "commander";
import { DeviceKey } from "../device";
import { InvalidInputError } from "../errors";
import { Lot, LotStatus, claimLotDevice } from "../registry";
import { writeLotEntries } from "../registry";
import { parseAddress } from "./context";
import { run } from "./run";
import { DEADLINE_OPTION, deadlineFrom, deviceIdHex, metadataHash, readDeviceRows, uint, uint16 } from "./device-args";

export interface LotFile {
  version: 1;
  kind: "iotrail.lot";
  root: string;
  entries: Array<{ key: string; metadataHash: string; keyFile: string; proof: string[] }>;
}

export async function readLotFile(path: string): Promise<{ file: LotFile; lot: Lot }> {
  const file = JSON.parse(await readFile(path, "utf8")) as LotFile;
  if (file.version !== 1 || file.kind !== "iotrail.lot")
    throw new InvalidInputError(`${path}: not a version-1 lot file`);
  const lot = Lot.build(file.entries);
  if (lot.root !== file.root) throw new InvalidInputError(`${path}: its entries do not rebuild to its root`);
  return { file, lot };
}

export function lotCommand(): Command {
  const lot = new Command("lot").description("production lots: one commitment for many devices");

  lot
    .command("build")
    .description("build a lot file (root, entries, proofs) from device key files listed in a CSV or JSON file")
    .argument("<file>", "rows as for register-batch (keyFile, metadata)")
    .requiredOption("-o, --out <lot.json>", "the lot file to write")
    .option("--entries <lot.csv>", "also write the lot entries file, for the batcher's `lots` (no proofs: any size)")
    .action(
      run(async (ctx, file: string, opts: { out: string; entries?: string }) => {
        const rows = await readDeviceRows(file);
        const keys = await Promise.all(rows.map((row) => DeviceKey.load(resolve(dirname(file), row.keyFile))));
        const entries = rows.map((row, i) => ({ key: keys[i]!.address, metadataHash: metadataHash(row.metadata) }));
        const built = Lot.build(entries);
        const out: LotFile = {
          version: 1,
          kind: "iotrail.lot",
          root: built.root,
          entries: entries.map((entry, i) => ({
            ...entry,
            keyFile: resolve(dirname(file), rows[i]!.keyFile),
            proof: built.proof(entry.key),
          })),
        };
        await writeFile(opts.out, `${JSON.stringify(out, null, 2)}\n`, { flag: "wx" });
        if (opts.entries !== undefined) await writeLotEntries(opts.entries, built.entries);
        ctx.out.result(
          {
            root: built.root,
            devices: entries.length,
            file: resolve(opts.out),
            ...(opts.entries === undefined ? {} : { entries: resolve(opts.entries) }),
          },
          [
            `lot of ${entries.length} devices, root ${built.root}, written to ${opts.out}`,
            ...(opts.entries === undefined
              ? []
              : [`lot entries file (for the batcher's "lots") written to ${opts.entries}`]),
          ],
        );
      }),
    );

  lot
    .command("commit")
    .description("commit a lot's root (as a manufacturer): one transaction for every device in it")
    .argument("<lot.json>", "a file from `lot build`")
    .option("--owner <address>", "the lot's owner (default: you)")
    .option("--metadata-uri <uri>", "where the lot's document is", "")
    .action(
      run(async (ctx, path: string, opts: { owner?: string; metadataUri: string }) => {
        const { lot: built } = await readLotFile(path);
        const registry = await ctx.registry(true);
        const owner = opts.owner === undefined ? await ctx.signerAddress() : parseAddress(opts.owner, "--owner");
        const { lotId, receipt } = await registry.commitLot({
          root: built.root,
          owner,
          deviceCount: built.deviceCount,
          metadataURI: opts.metadataUri,
        });
        ctx.out.result(
          { lotId: lotId.toString(), root: built.root, devices: built.deviceCount, transactionHash: receipt.hash },
          [`committed lot ${lotId} (${built.deviceCount} devices), transaction ${receipt.hash}`],
        );
      }),
    );

  lot
    .command("claim")
    .description("register a device of a committed lot from its entry; the device key signs the claim")
    .argument("<lot.json>", "the lot file")
    .requiredOption("--lot-id <id>", "the committed lot's id", uint)
    .requiredOption("--device <key>", "the device's key (address) in the lot")
    .option(...DEADLINE_OPTION)
    .action(
      run(async (ctx, path: string, opts: { lotId: bigint; device: string; deadline: number }) => {
        const { file, lot: built } = await readLotFile(path);
        const entry = built.entry(parseAddress(opts.device, "--device"));
        const keyFile = file.entries.find((e) => e.key.toLowerCase() === entry.key.toLowerCase())!.keyFile;
        const deviceId = await claimLotDevice({
          registry: await ctx.registry(true),
          lot: built,
          lotId: opts.lotId,
          key: await DeviceKey.load(keyFile),
          deadline: await deadlineFrom(ctx, opts.deadline),
        });
        ctx.out.result({ deviceId: deviceIdHex(deviceId), lotId: opts.lotId.toString() }, [
          `claimed device ${deviceIdHex(deviceId)} from lot ${opts.lotId}`,
        ]);
      }),
    );

  lot
    .command("close")
    .description("close a lot: no more claims")
    .argument("<lot-id>", "the lot's id", uint)
    .action(
      run(async (ctx, lotId: bigint) => {
        const registry = await ctx.registry(true);
        const { receipt } = await registry.closeLot({ lotId });
        ctx.out.result({ lotId: lotId.toString(), status: "Closed", transactionHash: receipt.hash }, [
          `lot ${lotId} closed`,
        ]);
      }),
    );

  lot
    .command("revoke")
    .description("revoke a whole lot, or with --device one entry of it")
    .argument("<lot-id>", "the lot's id", uint)
    .option("--lot-file <lot.json>", "the lot file (needed with --device)")
    .option("--device <key>", "revoke only this device's entry")
    .option("--reason <code>", "reason code (uint16)", uint16, 0)
    .action(
      run(async (ctx, lotId: bigint, opts: { lotFile?: string; device?: string; reason: number }) => {
        const registry = await ctx.registry(true);
        if (opts.device === undefined) {
          const { receipt } = await registry.revokeLot({ lotId, reason: opts.reason });
          const { status } = await registry.getLot(lotId);
          ctx.out.result({ lotId: lotId.toString(), status: LotStatus[status], transactionHash: receipt.hash }, [
            `lot ${lotId} revoked`,
          ]);
          return;
        }
        if (opts.lotFile === undefined) throw new InvalidInputError("--device needs --lot-file (the entry's proof)");
        const { lot: built } = await readLotFile(opts.lotFile);
        const entry = built.entry(parseAddress(opts.device, "--device"));
        const { receipt } = await registry.revokeLotDevice({
          lotId,
          key: entry.key,
          metadataHash: entry.metadataHash,
          proof: built.proof(entry.key),
          reason: opts.reason,
        });
        ctx.out.result({ lotId: lotId.toString(), key: entry.key, revoked: true, transactionHash: receipt.hash }, [
          `entry ${entry.key} of lot ${lotId} revoked`,
        ]);
      }),
    );
  return lot;
}
