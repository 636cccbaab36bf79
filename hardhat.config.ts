import "@nomicfoundation/hardhat-toolbox";
import "dotenv/config";
import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import { envNetworks } from "./src/deployments/networks";
import { localSolcBuild, SOLC_VERSION } from "./src/tooling/solc";

// Compile offline with the npm `solc` package: Hardhat never downloads a compiler here.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }) =>
  localSolcBuild(args.solcVersion),
);

const accounts = process.env.DEPLOYER_PRIVATE_KEY ? [process.env.DEPLOYER_PRIVATE_KEY] : [];
// localhost, testnet (RPC_URL) and every RPC_URL_<NAME> of the environment; see src/deployments/networks.ts.
const { localhost, ...remote } = envNetworks();

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 10_000 },
    },
  },
  networks: {
    hardhat: {
      // Pinned so that gas figures in the snapshot do not move with Hardhat's default.
      hardfork: "cancun",
    },
    // A local node's unlocked accounts unless a deployer key is set.
    localhost: { url: localhost!, ...(accounts.length > 0 ? { accounts } : {}) },
    ...Object.fromEntries(Object.entries(remote).map(([name, url]) => [name, { url, accounts }])),
  },
  etherscan: {
    apiKey: process.env.ETHERSCAN_API_KEY ?? "",
  },
  sourcify: { enabled: false },
  typechain: {
    outDir: "typechain-types",
    target: "ethers-v6",
  },
  gasReporter: {
    enabled: process.env.REPORT_GAS === "true",
    offline: true,
  },
  mocha: {
    timeout: 120_000,
  },
};

export default config;
