/**
 * Deployment records: what `iotrail deploy` put on a chain, one versioned file per EIP-155 chain id
 * (`<dir>/<chainId>.json`, `schemas/deployments.v1.schema.json`). The SDK, the CLI, the batcher and the
 * verifier resolve addresses from it by chain id, so nobody copies an address by hand.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { isAddress } from "ethers";
import type { Provider } from "ethers";
import { lazyValidator } from "../json-schema";
import { parseConfigJson } from "../json-schema-core";
import schema from "../../schemas/deployments.v1.schema.json";
import { ConfigError } from "../errors";
import { pinTrust } from "../verify";
import type { TrustedContracts } from "../verify";

export const DEPLOYMENT_RECORD_VERSION = 1;
export const DEPLOYMENT_RECORD_KIND = "iotrail.deployments";
/** The default folder of deployment records, relative to the working directory. */
export const DEFAULT_DEPLOYMENTS_DIR = "deployments";

export const SUITE_CONTRACTS = ["DeviceRegistry", "TelemetryAnchor", "PaymentChannels", "ConditionalEscrow"] as const;
export type SuiteContract = (typeof SUITE_CONTRACTS)[number] | "DemoToken";

export interface DeployedContract {
  address: string;
  transactionHash: string;
  blockNumber: number;
  constructorArgs: string[];
}

export interface DeploymentRecord {
  version: typeof DEPLOYMENT_RECORD_VERSION;
  kind: typeof DEPLOYMENT_RECORD_KIND;
  chainId: string;
  network: string;
  deployer: string;
  deployedAt: string;
  contracts: Record<(typeof SUITE_CONTRACTS)[number], DeployedContract> & { DemoToken?: DeployedContract };
  roles: { admin: string; manufacturers: string[]; anchorers: string[] };
}

const validate = lazyValidator<DeploymentRecord>(schema);

/** The folder of deployment records: `dir`, else `IOTRAIL_DEPLOYMENTS`, else `./deployments`. */
export function deploymentsDir(dir?: string): string {
  return resolve(dir ?? (process.env.IOTRAIL_DEPLOYMENTS || DEFAULT_DEPLOYMENTS_DIR));
}

export function deploymentPath(dir: string, chainId: bigint | string): string {
  return join(dir, `${chainId.toString()}.json`);
}

/** Parses and checks a deployment record's text; `source` names it in errors. */
export function parseDeploymentRecord(text: string, source: string): DeploymentRecord {
  const value = parseConfigJson(text, source, validate, "a version-1 deployment record");
  const addresses = [
    value.deployer,
    value.roles.admin,
    ...value.roles.manufacturers,
    ...value.roles.anchorers,
    ...Object.values(value.contracts).map((c) => c.address),
  ];
  for (const address of addresses) {
    if (!isAddress(address)) throw new ConfigError(`${source}: ${address} has a wrong EIP-55 checksum`);
  }
  return value;
}

/** The record of `chainId` in `dir`, or undefined when there is none. */
export async function readDeployment(dir: string, chainId: bigint | string): Promise<DeploymentRecord | undefined> {
  const path = deploymentPath(dir, chainId);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  const record = parseDeploymentRecord(text, path);
  if (record.chainId !== chainId.toString()) {
    throw new ConfigError(`${path} records chain ${record.chainId}, not ${chainId.toString()}`);
  }
  return record;
}

/** Writes `record` to `<dir>/<chainId>.json` atomically (a crash leaves the old record or the new one). */
export async function writeDeployment(dir: string, record: DeploymentRecord): Promise<string> {
  parseDeploymentRecord(JSON.stringify(record), "the new deployment record");
  await mkdir(dir, { recursive: true });
  const path = deploymentPath(dir, record.chainId);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`);
  await rename(temporary, path);
  return path;
}

/**
 * The record for the chain `provider` is on, with every contract's code checked on that chain: a record
 * left over from a node that was restarted (a fresh node starts empty) is refused with a clear error.
 */
export async function resolveDeployment(provider: Provider, dir?: string): Promise<DeploymentRecord> {
  const folder = deploymentsDir(dir);
  const { chainId } = await provider.getNetwork();
  const record = await readDeployment(folder, chainId);
  if (record === undefined) {
    throw new ConfigError(
      `no deployment recorded for chain ${chainId} in ${folder}; run \`iotrail deploy --network <name>\` or pass --deployments <dir>`,
      { details: { chainId: chainId.toString(), dir: folder } },
    );
  }
  const codes = await Promise.all(
    Object.entries(record.contracts).map(async ([name, c]) => [name, await provider.getCode(c.address)] as const),
  );
  const missing = codes.filter(([, code]) => code === "0x").map(([name]) => name);
  if (missing.length > 0) {
    throw new ConfigError(
      `${deploymentPath(folder, chainId)} names contracts with no code on chain ${chainId} (${missing.join(", ")}): ` +
        "the node was probably restarted; deploy again",
      { details: { missing } },
    );
  }
  return record;
}

/** A deployment record as the verifier's trust configuration: its anchor and registry are pinned. */
export function trustFromDeployment(record: DeploymentRecord, source: string): TrustedContracts {
  return pinTrust(
    { anchor: record.contracts.TelemetryAnchor.address, registry: record.contracts.DeviceRegistry.address },
    { kind: "deployment-record", path: source },
    `chain ${record.chainId}, ${record.network}`,
  );
}
