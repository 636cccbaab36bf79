/**
 * `iotrail deploy`: deploys the suite with Ignition on the Hardhat network it is given, records it per chain
 * id (`src/deployments`), and verifies the sources with hardhat-verify when an explorer key is set. Needs the
 * Hardhat runtime, so it runs from a checkout of iotrail (the published package loads it only for `deploy`).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { getAddress } from "ethers";
import type { Provider, TransactionReceipt } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
// The runtime's ethers and ignition fields (types only: the plugins are loaded by hardhat.config.ts).
import type {} from "@nomicfoundation/hardhat-toolbox";
import { DEPLOYMENT_RECORD_KIND, DEPLOYMENT_RECORD_VERSION, readDeployment, writeDeployment } from "../deployments";
import type { DeployedContract, DeploymentRecord } from "../deployments";
import { ConfigError } from "../errors";
import { suiteModule } from "./module";
import type { SuiteOptions } from "./module";

/** Chains where the DemoToken is deployed unless told otherwise (Hardhat and anvil). */
export const DEVELOPMENT_CHAIN_IDS: readonly bigint[] = [31337n];

export interface DeploySuiteOptions extends Partial<SuiteOptions> {
  /** Folder of the deployment records. */
  dir: string;
  /** Show Ignition's progress UI. */
  displayUi?: boolean;
  /**
   * Verify the sources with hardhat-verify (`verify:verify`). Default: when ETHERSCAN_API_KEY is set and the
   * chain is not a development chain (which no explorer knows).
   */
  verifySources?: boolean;
  log?: (line: string) => void;
}

export interface DeploySuiteResult {
  record: DeploymentRecord;
  path: string;
  verified: string[];
}

export async function deploySuite(
  hre: HardhatRuntimeEnvironment,
  options: DeploySuiteOptions,
): Promise<DeploySuiteResult> {
  const log = options.log ?? (() => undefined);
  const provider = hre.ethers.provider;
  const [signer] = await hre.ethers.getSigners();
  if (signer === undefined) {
    throw new ConfigError(`network ${hre.network.name} has no deployer account: set DEPLOYER_PRIVATE_KEY in .env`);
  }
  const deployer = getAddress(await signer.getAddress());
  const { chainId } = await provider.getNetwork();
  const admin = options.admin === undefined ? deployer : getAddress(options.admin);
  const suite: SuiteOptions = {
    ...(admin === deployer ? {} : { admin }),
    // With another admin named, everything is handed over by default (P-I2): the deployer keeps no role
    // that nobody named; roles stay with the deployer only when it stays admin.
    manufacturers: (options.manufacturers ?? [admin]).map((a) => getAddress(a)),
    anchorers: (options.anchorers ?? [admin]).map((a) => getAddress(a)),
    challengePeriod: options.challengePeriod ?? 86_400n,
    demoToken: options.demoToken ?? DEVELOPMENT_CHAIN_IDS.includes(chainId),
  };
  const deploymentId = `iotrail-${chainId}`;
  if (DEVELOPMENT_CHAIN_IDS.includes(chainId)) {
    // A development node starts empty each time: an Ignition journal of an earlier node would make Ignition
    // skip contracts that do not exist here.
    await rm(join(hre.config.paths.ignition, "deployments", deploymentId), { recursive: true, force: true });
  }
  const fromBlock = await provider.getBlockNumber();
  log(`deploying the iotrail suite to ${hre.network.name} (chain ${chainId}) from ${deployer}`);
  const deployed = (await hre.ignition.deploy(suiteModule(suite), {
    deploymentId,
    displayUi: options.displayUi === true,
  })) as unknown as Record<string, { getAddress(): Promise<string> }>;

  const address = async (key: string) => getAddress(await deployed[key]!.getAddress());
  const registry = await address("registry");
  const anchor = await address("anchor");
  const wanted: Array<[keyof DeploymentRecord["contracts"], string, string[]]> = [
    ["DeviceRegistry", registry, [deployer]],
    ["TelemetryAnchor", anchor, [deployer, registry]],
    ["PaymentChannels", await address("channels"), [registry, suite.challengePeriod.toString()]],
    ["ConditionalEscrow", await address("escrow"), [anchor]],
  ];
  if (suite.demoToken) wanted.push(["DemoToken", await address("demoToken"), []]);

  // A resumed deploy does not send the creations again: their transactions come from the previous record.
  const previous = await readDeployment(options.dir, chainId);
  const creations = await findCreations(
    provider,
    deployer,
    fromBlock + 1,
    await provider.getBlockNumber(),
    new Set(wanted.map(([, a]) => a.toLowerCase())),
  );
  const contracts: Partial<DeploymentRecord["contracts"]> = {};
  for (const [name, contractAddress, constructorArgs] of wanted) {
    const receipt = creations.get(contractAddress.toLowerCase());
    const earlier = previous?.contracts[name];
    let entry: DeployedContract;
    if (receipt !== undefined) {
      entry = {
        address: contractAddress,
        transactionHash: receipt.hash,
        blockNumber: receipt.blockNumber,
        constructorArgs,
      };
    } else if (earlier !== undefined && earlier.address === contractAddress) {
      entry = earlier;
    } else {
      throw new ConfigError(`cannot find the transaction that created ${name} at ${contractAddress}`);
    }
    contracts[name] = entry;
  }
  const record: DeploymentRecord = {
    version: DEPLOYMENT_RECORD_VERSION,
    kind: DEPLOYMENT_RECORD_KIND,
    chainId: chainId.toString(),
    network: hre.network.name,
    deployer,
    deployedAt: new Date().toISOString(),
    contracts: contracts as DeploymentRecord["contracts"],
    roles: { admin, manufacturers: [...suite.manufacturers], anchorers: [...suite.anchorers] },
  };
  const path = await writeDeployment(options.dir, record); // the caller says where (one "recorded in" line)

  const verified: string[] = [];
  const verifySources =
    options.verifySources ?? (Boolean(process.env.ETHERSCAN_API_KEY) && !DEVELOPMENT_CHAIN_IDS.includes(chainId));
  if (verifySources) {
    for (const [name, entry] of Object.entries(record.contracts)) {
      log(`verifying the source of ${name} with hardhat-verify`);
      try {
        await hre.run("verify:verify", { address: entry.address, constructorArguments: entry.constructorArgs });
        verified.push(name);
      } catch (error) {
        const message = (error as Error).message;
        if (!/already verified/i.test(message))
          throw new ConfigError(`verifying ${name}: ${message}`, { cause: error });
        verified.push(name);
      }
    }
  }
  return { record, path, verified };
}

/** Receipts of the contract creations by `deployer` at `addresses`, mined in blocks [from, to]. */
async function findCreations(
  provider: Provider,
  deployer: string,
  from: number,
  to: number,
  addresses: ReadonlySet<string>,
): Promise<Map<string, TransactionReceipt>> {
  const found = new Map<string, TransactionReceipt>();
  for (let n = from; n <= to && found.size < addresses.size; n++) {
    const block = await provider.getBlock(n, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (tx.to !== null || tx.from !== deployer) continue;
      const receipt = await provider.getTransactionReceipt(tx.hash);
      const created = receipt?.contractAddress?.toLowerCase();
      if (receipt !== null && created !== undefined && addresses.has(created)) found.set(created, receipt);
    }
  }
  return found;
}
