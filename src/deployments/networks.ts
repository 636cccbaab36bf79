/**
 * Named networks, from the environment (`.env`): one definition shared by `hardhat.config.ts` (deploys)
 * and the CLI (everything else), so `--network <name>` means the same endpoint everywhere.
 *
 * | name | endpoint |
 * | --- | --- |
 * | `localhost` | `LOCALHOST_RPC_URL`, default `http://127.0.0.1:8545` (a `hardhat node` or anvil) |
 * | `testnet` | `RPC_URL` |
 * | `<name>` | `RPC_URL_<NAME>` (upper case, `-` as `_`), for example `RPC_URL_SEPOLIA` for `sepolia` |
 *
 * `hardhat`, the in-process chain, exists only inside one process: `iotrail deploy` and the demo run on it.
 */
import { ConfigError } from "../errors";

export const IN_PROCESS_NETWORK = "hardhat";

/** Every network the environment defines, by name. */
export function envNetworks(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const networks: Record<string, string> = {
    localhost: env.LOCALHOST_RPC_URL || "http://127.0.0.1:8545",
  };
  if (env.RPC_URL) networks.testnet = env.RPC_URL;
  for (const [key, value] of Object.entries(env)) {
    const match = /^RPC_URL_([A-Z0-9_]+)$/.exec(key);
    if (match !== null && value) networks[match[1]!.toLowerCase().replace(/_/g, "-")] = value;
  }
  return networks;
}

/** The JSON-RPC endpoint of network `name`, or a {@link ConfigError} that says how to define it. */
export function networkUrl(name: string, env: NodeJS.ProcessEnv = process.env): string {
  if (name === IN_PROCESS_NETWORK) {
    throw new ConfigError(
      "the in-process chain (hardhat) lives inside one process only; start a node (`npx hardhat node`) and use --network localhost",
    );
  }
  const networks = envNetworks(env);
  const url = networks[name];
  if (url === undefined) {
    const variable = `RPC_URL_${name.toUpperCase().replace(/-/g, "_")}`;
    throw new ConfigError(
      `unknown network "${name}": set ${variable} in .env (known: ${Object.keys(networks).join(", ")})`,
    );
  }
  return url;
}
