/**
 * `iotrail devices ...` and `iotrail roles ...`: key files, registration (one, or a resumable batch from a
 * CSV or JSON file), lots, transfers, status changes, rotation and the registry's answers about a device.
 */
import { readFile, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { ZeroHash, getAddress, id, isAddress, isHexString, toBeHex } from "ethers";
import type { DeviceRegistry, TelemetryAnchor } from "../contracts";
import { callDecoded, sendDecoded } from "../contract-calls";
import { DeviceKey } from "../device";
import { InvalidInputError, IotrailError } from "../errors";
import { DeviceStatus, Lot, LotStatus, claimLotDevice } from "../registry";
import type { DeviceRegistryClient, RegisterParams } from "../registry";
import { writeLotEntries } from "../registry";
import { Context, parseAddress } from "./context";
import { plural, refuseUnignoredInGit, terminalPrompt } from "./files";
import { run } from "./run";

/** A device id as shown to people: 0x + 40 hex digits (a device's id is its first key as a number). */
export function deviceIdHex(deviceId: bigint): string {
  return toBeHex(deviceId, 20);
}

function uint(value: string): bigint {
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(value)) throw new InvalidArgumentError("expected a whole number");
  return BigInt(value);
}

function uint16(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new InvalidArgumentError("expected a reason code in [0, 65535]");
  return n;
}

/** A device given as its id (decimal or 0x hex) or one of its keys: the device id. */
export async function resolveDevice(registry: DeviceRegistryClient, ref: string): Promise<bigint> {
  if (isAddress(ref)) {
    const { deviceId } = await registry.getKey(ref);
    if (deviceId !== 0n) return deviceId;
  }
  if (!/^(0x[0-9a-fA-F]{1,64}|[0-9]+)$/.test(ref)) {
    throw new InvalidInputError(`device ${ref}: expected a device id or a device key (address)`);
  }
  const deviceId = BigInt(ref);
  const device = await registry.getDevice(deviceId);
  if (device.status === DeviceStatus.None) {
    throw new InvalidInputError(`no device ${ref} in the registry`, { details: { device: ref } });
  }
  return deviceId;
}

/** A metadata hash: 32 bytes of hex as given, or the keccak-256 of any other text (a document's content). */
function metadataHash(value: string | undefined): string {
  if (value === undefined) return ZeroHash;
  return isHexString(value, 32) ? value : id(value);
}

async function deadlineFrom(ctx: Context, seconds: number): Promise<bigint> {
  return (await ctx.chainTime()) + BigInt(seconds);
}

const DEADLINE_OPTION = [
  "--deadline <seconds>",
  "seconds the signatures stay valid",
  (v: string) => Number(uint(v)),
  3600,
] as const;

export function devicesCommand(): Command {
  const devices = new Command("devices").description("device keys, registration, lots, ownership and status");

  devices
    .command("keygen")
    .description("generate device keys into key files (mode 0600, never printed)")
    .requiredOption("-o, --out <path>", "the key file, or with --count a folder (keys and a devices.csv)")
    .option("-n, --count <n>", "how many keys", (v) => Number(uint(v)))
    .option("--force", "write keys inside a git work tree even where git would not ignore them")
    .option(
      "--encrypt",
      "write encrypted keystores (Web3 Secret Storage) with a password from IOTRAIL_KEY_PASSWORD, IOTRAIL_KEY_PASSWORD_FILE or a prompt",
    )
    .action(
      run(async (ctx, opts: { out: string; count?: number; force?: boolean; encrypt?: boolean }) => {
        // One `git add -A` must never commit device keys (issue 24, 13).
        const first = opts.count === undefined ? opts.out : join(opts.out, "device-1.json");
        if (opts.force !== true) refuseUnignoredInGit(first);
        const password = opts.encrypt === true ? await newKeystorePassword() : undefined;
        const save = (key: DeviceKey, path: string) =>
          password === undefined ? key.save(path) : key.saveEncrypted(path, password);
        if (opts.count === undefined) {
          const key = DeviceKey.generate();
          await save(key, opts.out);
          ctx.out.result({ address: key.address, file: resolve(opts.out) }, [`${key.address}  ${opts.out}`]);
          return;
        }
        await mkdir(opts.out, { recursive: true });
        const rows: Array<{ address: string; file: string }> = [];
        const width = String(opts.count).length;
        for (let i = 1; i <= opts.count; i++) {
          const key = DeviceKey.generate();
          const file = `device-${String(i).padStart(width, "0")}.json`;
          await save(key, join(opts.out, file));
          rows.push({ address: key.address, file });
        }
        const csv = join(opts.out, "devices.csv");
        await writeFile(csv, `keyFile,address\n${rows.map((r) => `${r.file},${r.address}`).join("\n")}\n`, {
          flag: "wx",
        });
        ctx.out.result({ count: rows.length, dir: resolve(opts.out), csv: resolve(csv), devices: rows }, [
          `${rows.length} keys in ${opts.out}, listed in ${csv}`,
        ]);
      }),
    );

  devices
    .command("register")
    .description("register a device key (as a manufacturer): the key proves possession, naming you and the owner")
    .requiredOption("--device <key file>", "the device's key file")
    .option("--owner <address>", "the device's owner (default: you)")
    .option("--metadata <hash or text>", "the device document's hash (32 bytes hex), or text to hash")
    .option("--metadata-uri <uri>", "where the device document is", "")
    .option(...DEADLINE_OPTION)
    .action(
      run(
        async (
          ctx,
          opts: { device: string; owner?: string; metadata?: string; metadataUri: string; deadline: number },
        ) => {
          const registry = await ctx.registry(true);
          const registrant = await ctx.signerAddress();
          const key = await DeviceKey.load(opts.device);
          const owner = opts.owner === undefined ? registrant : parseAddress(opts.owner, "--owner");
          const deadline = await deadlineFrom(ctx, opts.deadline);
          const domain = await registry.domain();
          const { deviceId, receipt } = await registry.register({
            key: key.address,
            owner,
            metadataHash: metadataHash(opts.metadata),
            metadataURI: opts.metadataUri,
            deadline,
            signature: key.signRegistration({ domain, registrant, owner, deadline }),
          });
          ctx.out.result({ deviceId: deviceIdHex(deviceId), key: key.address, owner, transactionHash: receipt.hash }, [
            `registered device ${deviceIdHex(deviceId)} (owner ${owner})`,
            `transaction ${receipt.hash}`,
          ]);
        },
      ),
    );

  devices
    .command("register-batch")
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

  devices.addCommand(lotCommand());

  const transfer = devices.command("transfer").description("hand a device to a new owner (two steps)");
  transfer
    .command("start")
    .description("as the owner, name the new owner")
    .argument("<device>", "device id or key")
    .requiredOption("--to <address>", "the new owner")
    .action(
      run(async (ctx, ref: string, opts: { to: string }) => {
        const registry = await ctx.registry(true);
        const deviceId = await resolveDevice(registry, ref);
        const { receipt } = await registry.startTransfer({ deviceId, newOwner: parseAddress(opts.to, "--to") });
        ctx.out.result({ deviceId: deviceIdHex(deviceId), pendingOwner: opts.to, transactionHash: receipt.hash }, [
          `transfer of ${deviceIdHex(deviceId)} to ${opts.to} started; the new owner runs \`iotrail devices transfer accept\``,
        ]);
      }),
    );
  transfer
    .command("accept")
    .description("as the new owner, accept the device")
    .argument("<device>", "device id or key")
    .action(
      run(async (ctx, ref: string) => {
        const registry = await ctx.registry(true);
        const deviceId = await resolveDevice(registry, ref);
        const { receipt } = await registry.acceptTransfer({ deviceId });
        ctx.out.result(
          { deviceId: deviceIdHex(deviceId), owner: await ctx.signerAddress(), transactionHash: receipt.hash },
          [`you own ${deviceIdHex(deviceId)} now`],
        );
      }),
    );

  for (const [name, description] of [
    ["suspend", "suspend a device (its readings stop counting until it resumes)"],
    ["resume", "resume a suspended device"],
    ["revoke", "revoke a device for good"],
  ] as const) {
    const command = devices
      .command(name)
      .description(`as the owner, ${description}`)
      .argument("<device>", "device id or key");
    if (name !== "resume") command.option("--reason <code>", "reason code (uint16)", uint16, 0);
    command.action(
      run(async (ctx, ref: string, opts: { reason?: number }) => {
        const registry = await ctx.registry(true);
        const deviceId = await resolveDevice(registry, ref);
        const reason = opts.reason ?? 0;
        const { receipt } =
          name === "resume"
            ? await registry.resume({ deviceId })
            : name === "suspend"
              ? await registry.suspend({ deviceId, reason })
              : await registry.revoke({ deviceId, reason });
        const { status } = await registry.getDevice(deviceId);
        ctx.out.result(
          { deviceId: deviceIdHex(deviceId), status: DeviceStatus[status], transactionHash: receipt.hash },
          [`${deviceIdHex(deviceId)} is ${DeviceStatus[status]!.toLowerCase()} (transaction ${receipt.hash})`],
        );
      }),
    );
  }

  devices
    .command("rotate")
    .description("as the owner, replace a device's key; the new key signs its acceptance")
    .argument("<device>", "device id or key")
    .requiredOption("--new-key <key file>", "the new key's file")
    .option(...DEADLINE_OPTION)
    .action(
      run(async (ctx, ref: string, opts: { newKey: string; deadline: number }) => {
        const registry = await ctx.registry(true);
        const deviceId = await resolveDevice(registry, ref);
        const key = await DeviceKey.load(opts.newKey);
        const deadline = await deadlineFrom(ctx, opts.deadline);
        const nonce = await registry.nonce(key.address);
        const signature = key.signKeyAcceptance({ domain: await registry.domain(), deviceId, nonce, deadline });
        const { receipt } = await registry.rotateKey({ deviceId, newKey: { key: key.address, deadline, signature } });
        ctx.out.result({ deviceId: deviceIdHex(deviceId), key: key.address, transactionHash: receipt.hash }, [
          `${deviceIdHex(deviceId)} now signs with ${key.address}`,
        ]);
      }),
    );

  devices
    .command("show")
    .description("a device's status, owner, keys with their windows, and whether a key was valid at a time")
    .argument("<device>", "device id or key")
    .option("--at <time>", "ask `validAt` for this chain time (unix seconds or ISO 8601)")
    .action(
      run(async (ctx, ref: string, opts: { at?: string }) => {
        const registry = await ctx.registry();
        const deviceId = await resolveDevice(registry, ref);
        const device = await registry.getDevice(deviceId);
        const deployment = await ctx.deployment();
        const rotations = await registry.contract.queryFilter(
          registry.contract.filters.DeviceKeyRotated(deviceId),
          deployment.contracts.DeviceRegistry.blockNumber,
        );
        const keyAddresses = [
          getAddress(deviceIdHex(deviceId)),
          ...rotations.map((log) => getAddress(log.args.newKey)),
        ];
        const keys = await Promise.all(
          [...new Set(keyAddresses)].map(async (key) => ({ key, ...(await registry.getKey(key)) })),
        );
        const at = opts.at === undefined ? undefined : parseTime(opts.at);
        const askedKey = isAddress(ref) ? getAddress(ref) : device.currentKey;
        const validAt = at === undefined ? undefined : await registry.validAt({ key: askedKey, timestamp: at });
        const result = {
          deviceId: deviceIdHex(deviceId),
          status: DeviceStatus[device.status],
          reason: device.reason,
          owner: device.owner,
          pendingOwner: device.pendingOwner === ZERO ? null : device.pendingOwner,
          currentKey: device.currentKey,
          registeredAt: Number(device.registeredAt),
          metadataHash: device.metadataHash,
          keys: keys
            .filter((k) => k.deviceId === deviceId)
            .map((k) => ({
              key: k.key,
              validFrom: Number(k.validFrom),
              validUntil: k.validUntil === 0n ? null : Number(k.validUntil),
            })),
          ...(at === undefined ? {} : { validAt: { key: askedKey, time: Number(at), valid: validAt } }),
        };
        ctx.out.result(result, [
          `device   ${result.deviceId}`,
          `status   ${result.status}${device.reason === 0 ? "" : ` (reason ${device.reason})`}`,
          `owner    ${result.owner}${result.pendingOwner === null ? "" : ` (transfer to ${result.pendingOwner} pending)`}`,
          `since    ${isoTime(device.registeredAt)}`,
          `metadata ${result.metadataHash}`,
          "keys:",
          ...result.keys.map(
            (k) =>
              `  ${k.key}  from ${isoTime(BigInt(k.validFrom))}${k.validUntil === null ? " (current)" : ` until ${isoTime(BigInt(k.validUntil))}`}`,
          ),
          ...(at === undefined ? [] : [`validAt(${askedKey}, ${isoTime(at)}): ${validAt ? "yes" : "no"}`]),
        ]);
      }),
    );

  return devices;
}

const ZERO = "0x0000000000000000000000000000000000000000";

function isoTime(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString().replace(".000Z", "Z");
}

/** Unix seconds or an ISO 8601 date. */
export function parseTime(value: string): bigint {
  if (/^[0-9]+$/.test(value)) return BigInt(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidInputError(`time ${value}: expected unix seconds or an ISO 8601 date`);
  return BigInt(Math.floor(ms / 1000));
}

interface DeviceRow {
  keyFile: string;
  owner?: string;
  metadata?: string;
  metadataURI?: string;
}

/** Rows of a CSV (header row; columns keyFile, owner, metadata, metadataURI) or a JSON array. */
export async function readDeviceRows(file: string): Promise<DeviceRow[]> {
  const text = await readFile(file, "utf8");
  let rows: DeviceRow[];
  if (file.endsWith(".json")) {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) throw new InvalidInputError(`${file}: expected a JSON array of rows`);
    rows = parsed as DeviceRow[];
  } else {
    const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
    const header = (lines.shift() ?? "").split(",").map((h) => h.trim());
    if (!header.includes("keyFile")) throw new InvalidInputError(`${file}: the header row needs a keyFile column`);
    rows = lines.map((line) => {
      const cells = line.split(",").map((c) => c.trim());
      const row: Record<string, string> = {};
      header.forEach((name, i) => {
        if (cells[i] !== undefined && cells[i] !== "") row[name] = cells[i]!;
      });
      return row as unknown as DeviceRow;
    });
  }
  rows.forEach((row, i) => {
    if (typeof row.keyFile !== "string" || row.keyFile === "") {
      throw new InvalidInputError(`${file}: row ${i + 1} has no keyFile`);
    }
  });
  if (rows.length === 0) throw new InvalidInputError(`${file}: no devices`);
  return rows;
}

// ------------------------------------------------------------------ lots

interface LotFile {
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

function lotCommand(): Command {
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

// ------------------------------------------------------------------ roles

export function rolesCommand(): Command {
  const roles = new Command("roles").description("grant and revoke the manufacturer and anchorer roles (as the admin)");
  for (const verb of ["grant", "revoke"] as const) {
    roles
      .command(verb)
      .description(`${verb} a role: manufacturer (registry) or anchorer (anchor)`)
      .argument("<role>", "manufacturer or anchorer")
      .argument("<account>", "the account")
      .action(
        run(async (ctx, roleName: string, accountText: string) => {
          if (roleName !== "manufacturer" && roleName !== "anchorer") {
            throw new InvalidInputError(`role ${roleName}: expected manufacturer or anchorer`);
          }
          const account = parseAddress(accountText, "account");
          const contract =
            roleName === "manufacturer" ? (await ctx.registry(true)).contract : (await ctx.anchor(true)).contract;
          const role = await callDecoded(contract.interface, () =>
            roleName === "manufacturer"
              ? (contract as DeviceRegistry).MANUFACTURER_ROLE()
              : (contract as TelemetryAnchor).ANCHORER_ROLE(),
          );
          const receipt = await sendDecoded(contract.interface, () =>
            verb === "grant" ? contract.grantRole(role, account) : contract.revokeRole(role, account),
          );
          const has = await contract.hasRole(role, account);
          ctx.out.result({ role: roleName, account, granted: has, transactionHash: receipt.hash }, [
            `${account} ${has ? "has" : "does not have"} the ${roleName} role`,
          ]);
        }),
      );
  }
  return roles;
}

/** The password of new keystores: IOTRAIL_KEY_PASSWORD, IOTRAIL_KEY_PASSWORD_FILE, or asked twice on a terminal. */
async function newKeystorePassword(): Promise<string> {
  if (process.env.IOTRAIL_KEY_PASSWORD) return process.env.IOTRAIL_KEY_PASSWORD;
  const file = process.env.IOTRAIL_KEY_PASSWORD_FILE;
  if (file) return (await readFile(file, "utf8")).replace(/\r?\n$/, "");
  const first = terminalPrompt("keystore password: ");
  const again = terminalPrompt("the same password again: ");
  if (first === undefined || again === undefined) {
    throw new InvalidInputError(
      "--encrypt needs a password: IOTRAIL_KEY_PASSWORD, a file named by IOTRAIL_KEY_PASSWORD_FILE, or a terminal to ask on",
    );
  }
  const password = await first();
  if ((await again()) !== password) throw new InvalidInputError("the two passwords differ: nothing was written");
  return password;
}
