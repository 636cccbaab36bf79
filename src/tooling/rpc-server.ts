/**
 * The in-process Hardhat chain served over JSON-RPC on a free loopback port, as a node would serve it: for
 * services (the batcher) and child processes (the CLI) that reach the chain by URL.
 */
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import type { HardhatRuntimeEnvironment, JsonRpcServer } from "hardhat/types";

export async function serveInProcessChain(
  hre: HardhatRuntimeEnvironment,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = (await hre.run(TASK_NODE_CREATE_SERVER, {
    hostname: "127.0.0.1",
    port: 0,
    provider: hre.network.provider,
  })) as JsonRpcServer;
  const { address, port } = await server.listen();
  return { url: `http://${address}:${port}`, close: () => server.close() };
}
