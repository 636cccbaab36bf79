/**
 * `iotrail deploy`: the whole suite with Ignition, recorded per chain id. It runs inside the Hardhat runtime
 * of the iotrail checkout (Hardhat, Ignition and hardhat-verify are development tools, not part of the
 * published package), on the network named by `--network`: `hardhat` (in-process), `localhost`, or any
 * network defined in `.env`.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { isAddress, getAddress } from "ethers";
import { ConfigError } from "../errors";
import { IN_PROCESS_NETWORK, deploymentsDir, networkUrl } from "../deployments";
import { run } from "./run";

/** The folder of iotrail's package.json, from this file (src/cli or dist/src/cli). */
export function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

function addressList(value: string, previous: string[] = []): string[] {
  if (!isAddress(value)) throw new InvalidArgumentError("expected an address");
  return [...previous, getAddress(value)];
}

interface DeployFlags {
  admin?: string;
  manufacturer?: string[];
  anchorer?: string[];
  challengePeriod: string;
  demoToken?: boolean;
  ui?: boolean;
  verify: boolean;
}

export function deployCommand(): Command {
  return new Command("deploy")
    .description("deploy the whole suite with Ignition and record it in <deployments>/<chainId>.json")
    .option("--admin <address>", "admin of the registry and anchor after the deploy (default: the deployer)")
    .option("--manufacturer <address>", "grant MANUFACTURER_ROLE (repeatable; default: the admin)", addressList)
    .option("--anchorer <address>", "grant ANCHORER_ROLE (repeatable; default: the admin)", addressList)
    .option("--challenge-period <seconds>", "PaymentChannels' challenge period", "86400")
    .option("--demo-token", "deploy the DemoToken (default: on development chains only)")
    .option("--no-demo-token", "never deploy the DemoToken")
    .option("--ui", "show Ignition's progress")
    .option("--no-verify", "skip source verification even when ETHERSCAN_API_KEY is set")
    .action(
      run(async (ctx, flags: DeployFlags) => {
        const root = packageRoot();
        const config = join(root, "hardhat.config.ts");
        if (!existsSync(config) || !existsSync(join(root, "node_modules", "hardhat"))) {
          throw new ConfigError(
            "deploy runs from a checkout of iotrail with its development dependencies (Hardhat, Ignition): " +
              "git clone, npm ci, then `npx iotrail deploy --network <name>`",
          );
        }
        if (ctx.options.rpc !== undefined) {
          throw new ConfigError("deploy takes --network (Hardhat networks from .env), not --rpc");
        }
        const network = ctx.options.network ?? IN_PROCESS_NETWORK;
        if (network !== IN_PROCESS_NETWORK) networkUrl(network); // an unknown network: say which variable defines it
        const dir = deploymentsDir(ctx.options.deployments);
        process.env.HARDHAT_NETWORK = network;
        process.env.HARDHAT_CONFIG = config;
        // Loaded here only: the rest of the CLI never needs Hardhat. Its TypeScript config needs ts-node.
        if (!__filename.endsWith(".ts")) {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          (require("ts-node") as typeof import("ts-node")).register({
            transpileOnly: true,
            project: join(root, "tsconfig.json"),
          });
        }
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const hre = require("hardhat") as import("hardhat/types").HardhatRuntimeEnvironment;
        const { deploySuite } = await import("../deploy");
        const { record, path, verified } = await deploySuite(hre, {
          dir,
          ...(flags.admin === undefined ? {} : { admin: flags.admin }),
          ...(flags.manufacturer === undefined ? {} : { manufacturers: flags.manufacturer }),
          ...(flags.anchorer === undefined ? {} : { anchorers: flags.anchorer }),
          challengePeriod: BigInt(flags.challengePeriod),
          ...(flags.demoToken === undefined ? {} : { demoToken: flags.demoToken }),
          displayUi: flags.ui === true,
          ...(flags.verify ? {} : { verifySources: false }),
          log: (line) => ctx.out.note(line),
        });
        ctx.out.result({ ...record, file: path, verified }, [
          `deployed to ${record.network} (chain ${record.chainId}), recorded in ${path}:`,
          ...Object.entries(record.contracts).map(
            ([name, c]) => `  ${name.padEnd(18)} ${c.address}  (block ${c.blockNumber}, tx ${c.transactionHash})`,
          ),
          `  admin ${record.roles.admin}; manufacturers ${record.roles.manufacturers.join(", ") || "none"}; anchorers ${record.roles.anchorers.join(", ") || "none"}`,
          ...(verified.length > 0 ? [`  sources verified: ${verified.join(", ")}`] : []),
        ]);
      }),
    );
}

export function deploymentCommand(): Command {
  return new Command("deployment")
    .description("the deployment recorded for the chain of --network/--rpc, its contracts checked on the chain")
    .action(
      run(async (ctx) => {
        const record = await ctx.deployment();
        ctx.out.result(record, [
          `chain ${record.chainId} (${record.network}), deployed by ${record.deployer} at ${record.deployedAt}:`,
          ...Object.entries(record.contracts).map(
            ([name, c]) => `  ${name.padEnd(18)} ${c.address}  (block ${c.blockNumber})`,
          ),
        ]);
      }),
    );
}
