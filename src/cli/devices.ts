/**
 * `iotrail devices ...`: key files, registration (one, or a resumable batch from a CSV or JSON file),
 * transfers, status changes, rotation and the registry's answers about a device. Lots are in `lot.ts`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { getAddress, isAddress } from "ethers";
import { DeviceKey } from "../device";
import { DeviceStatus } from "../registry";
import { parseAddress } from "./context";
import { refuseUnignoredInGit } from "./files";
import { run } from "./run";
import {
  DEADLINE_OPTION,
  ZERO,
  deadlineFrom,
  deviceIdHex,
  isoTime,
  metadataHash,
  newKeystorePassword,
  parseTime,
  resolveDevice,
  uint,
  uint16,
} from "./device-args";
import { lotCommand } from "./lot";
import { registerBatchCommand } from "./register-batch";

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

  devices.addCommand(registerBatchCommand());

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
