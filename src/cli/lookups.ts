/**
 * Lookups that send nothing: `bundle info` (what a bundle claims, with no chain: like `ots info`), `anchor
 * show <root>` (is this root anchored, when, by whom, in which transaction) and `roles list` (who holds the
 * manufacturer, anchorer and admin roles, from the role events and checked with `hasRole`).
 */
import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { ZeroHash, getAddress, isHexString } from "ethers";
import type { BaseContract } from "ethers";
import { InvalidInputError } from "../errors";
import { parseProofBundle } from "../proof";
import { metricName } from "../telemetry";
import type { Context } from "./context";
import { plural } from "./files";
import { run } from "./run";

const iso = (seconds: bigint | number | string) => new Date(Number(seconds) * 1000).toISOString().replace(".000Z", "Z");

/** `bundle info <file>`: the bundle's claims, read offline (nothing here is verified: `iotrail verify` does that). */
export function bundleInfoCommand(): Command {
  return new Command("info")
    .description("what a bundle claims, offline: device, range, batches, roots, anchoring transactions (not verified)")
    .argument("<bundle.json>", "a proof bundle")
    .action(async (file: string, _opts: unknown, command: Command) => {
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (cause) {
        throw new InvalidInputError(`no bundle file at ${file}`, { cause });
      }
      const bundle = parseProofBundle(text, file);
      const sequences = bundle.readings.map((r) => BigInt(r.reading.sequence));
      const metrics = [...new Set(bundle.readings.map((r) => r.reading.metric))].map((id) => metricName(id) ?? id);
      const info = {
        file,
        version: bundle.version,
        chainId: bundle.chainId,
        anchor: bundle.anchor,
        registry: bundle.registry,
        device: bundle.device.key,
        ...(bundle.device.lot === undefined ? {} : { lotId: String(bundle.device.lot.lotId) }),
        ...(bundle.range === undefined ? {} : { range: bundle.range }),
        readings: bundle.readings.length,
        sequences:
          sequences.length === 0
            ? undefined
            : {
                first: sequences.reduce((a, b) => (b < a ? b : a)).toString(),
                last: sequences.reduce((a, b) => (b > a ? b : a)).toString(),
              },
        metrics,
        batches: bundle.batches.map((b) => ({
          batchId: b.batchId,
          root: b.root,
          readingCount: b.readingCount,
          transactionHash: b.transactionHash,
          blockNumber: b.blockNumber,
          anchoredAt: b.anchoredAt,
        })),
      };
      const globals = command.optsWithGlobals<{ json?: boolean }>();
      if (globals.json === true) {
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      const lines = [
        `bundle    version ${bundle.version}, chain ${bundle.chainId} (claimed, not verified: \`iotrail verify\` checks it)`,
        `anchor    ${bundle.anchor}`,
        `registry  ${bundle.registry}`,
        `device    ${bundle.device.key}${bundle.device.lot === undefined ? "" : ` (an entry of lot ${String(bundle.device.lot.lotId)})`}`,
        `readings  ${bundle.readings.length}${info.sequences === undefined ? "" : `, sequences ${info.sequences.first}..${info.sequences.last}`}${bundle.range === undefined ? "" : ` (the bundle claims the whole range ${bundle.range.fromSequence}..${bundle.range.toSequence})`}`,
        `metrics   ${metrics.join(", ")}`,
        `batches   ${bundle.batches.length}:`,
        ...bundle.batches.map(
          (b) =>
            `  batch ${b.batchId}  root ${b.root}  ${plural(Number(b.readingCount), "reading")}\n` +
            `           anchored ${b.anchoredAt === undefined ? "(time not given)" : iso(b.anchoredAt)} in block ${b.blockNumber}, transaction ${b.transactionHash}`,
        ),
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}

/** `anchor show <root>`: whether a root is anchored on the chain, by whom, when, and in which transaction. */
export function anchorCommand(): Command {
  const anchor = new Command("anchor").description("the TelemetryAnchor: look up anchored roots");
  anchor
    .command("show")
    .description("is this root anchored? its batch id, submitter, time and transaction (exit 1 when it is not)")
    .argument("<root>", "a batch root (32 bytes hex)")
    .action(
      run(async (ctx, root: string) => {
        if (!isHexString(root, 32)) throw new InvalidInputError(`${root}: expected a root of 32 bytes in hex`);
        const client = await ctx.anchor();
        const record = await client.getAnchor(root);
        if (record.batchId === 0n) {
          ctx.out.result({ root, anchored: false, anchor: await client.contract.getAddress() }, [
            `${root} is not anchored by the TelemetryAnchor ${await client.contract.getAddress()}`,
          ]);
          process.exitCode = 1;
          return;
        }
        const deployment = await ctx.deployment();
        const logs = await client.contract.queryFilter(
          client.contract.filters.BatchAnchored(record.batchId, root),
          deployment.contracts.TelemetryAnchor.blockNumber,
        );
        const log = logs[0];
        ctx.out.result(
          {
            root,
            anchored: true,
            batchId: record.batchId.toString(),
            submitter: record.submitter,
            anchoredAt: record.anchoredAt.toString(),
            registrySeq: record.registrySeq.toString(),
            ...(log === undefined ? {} : { transactionHash: log.transactionHash, blockNumber: log.blockNumber }),
          },
          [
            `root       ${root}`,
            `batch      ${record.batchId}`,
            `submitter  ${record.submitter}`,
            `anchored   ${iso(record.anchoredAt)} (registry moment ${record.anchoredMoment})`,
            ...(log === undefined ? [] : [`in         block ${log.blockNumber}, transaction ${log.transactionHash}`]),
          ],
        );
      }),
    );
  return anchor;
}

interface RoleContract extends BaseContract {
  hasRole(role: string, account: string): Promise<boolean>;
}

/** Who holds `role` on `contract`: the accounts of its RoleGranted events, each checked with `hasRole` now. */
async function holders(contract: BaseContract, role: string, fromBlock: number): Promise<string[]> {
  const granted = await contract.queryFilter(contract.filters.RoleGranted!(role), fromBlock);
  const accounts = [...new Set(granted.map((log) => getAddress(`0x${log.topics[2]!.slice(26)}`)))];
  const held = await Promise.all(accounts.map((a) => (contract as RoleContract).hasRole(role, a)));
  return accounts.filter((_, i) => held[i]);
}

/** `roles list`: the role holders of the registry and the anchor. */
export function rolesListCommand(): Command {
  return new Command("list")
    .description("who holds the manufacturer, anchorer and admin roles (from the role events, checked with hasRole)")
    .action(
      run(async (ctx: Context) => {
        const [registry, anchor, deployment] = await Promise.all([ctx.registry(), ctx.anchor(), ctx.deployment()]);
        const from = Math.min(
          deployment.contracts.DeviceRegistry.blockNumber,
          deployment.contracts.TelemetryAnchor.blockNumber,
        );
        const [manufacturerRole, anchorerRole] = await Promise.all([
          registry.contract.MANUFACTURER_ROLE(),
          anchor.contract.ANCHORER_ROLE(),
        ]);
        const roles = {
          manufacturer: await holders(registry.contract, manufacturerRole, from),
          anchorer: await holders(anchor.contract, anchorerRole, from),
          registryAdmin: await holders(registry.contract, ZeroHash, from),
          anchorAdmin: await holders(anchor.contract, ZeroHash, from),
        };
        const line = (name: string, accounts: string[]) =>
          `${name.padEnd(14)} ${accounts.length === 0 ? "nobody" : accounts.join(", ")}`;
        ctx.out.result(roles, [
          line("manufacturer", roles.manufacturer),
          line("anchorer", roles.anchorer),
          line("registry admin", roles.registryAdmin),
          line("anchor admin", roles.anchorAdmin),
        ]);
      }),
    );
}
