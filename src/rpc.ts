/**
 * JSON-RPC providers as iotrail's services and CLI use them: a deadline on every answer, a network fixed
 * from one probe (ethers otherwise retries a dead node forever at start), and no response cache.
 */
import { FetchRequest, JsonRpcProvider, Network } from "ethers";
import { ChainUnreachableError, withDeadline } from "./errors";

/** A provider with a request timeout and a fixed network (no start-up probing when the node is down). */
export function rpcProvider(url: string, chainId: bigint, timeoutMs: number): JsonRpcProvider {
  const request = new FetchRequest(url);
  request.timeout = timeoutMs;
  // No response cache: callers ask the same question again (a nonce, a gas estimate, a block) after the
  // chain moved, and must not get the answer from before.
  return new JsonRpcProvider(request, chainId, {
    staticNetwork: Network.from(chainId),
    batchMaxCount: 1,
    cacheTimeout: -1,
  });
}

/**
 * {@link rpcProvider} that sends concurrent requests as JSON-RPC batches (up to `batchMaxCount` calls per
 * HTTP request): for many independent reads at once, such as the batcher's device lookups.
 */
export function rpcBatchProvider(
  url: string,
  chainId: bigint,
  timeoutMs: number,
  batchMaxCount = 100,
): JsonRpcProvider {
  const request = new FetchRequest(url);
  request.timeout = timeoutMs;
  return new JsonRpcProvider(request, chainId, {
    staticNetwork: Network.from(chainId),
    batchMaxCount,
    batchStallTime: 2,
    cacheTimeout: -1,
  });
}

/** The chain id of the node at `url`, or a {@link ChainUnreachableError} within `timeoutMs` that says why. */
export async function probeChainId(url: string, timeoutMs: number): Promise<bigint> {
  const request = new FetchRequest(url);
  request.timeout = timeoutMs;
  // A placeholder network: the probe asks eth_chainId itself, and ethers' own network detection would print
  // "failed to detect network … retry in 1s" on stdout before our error (issue 24, 14).
  const probe = new JsonRpcProvider(request, undefined, { staticNetwork: new Network("probe", 0n), batchMaxCount: 1 });
  try {
    return BigInt(await withDeadline(probe.send("eth_chainId", []) as Promise<string>, timeoutMs, url));
  } catch (error) {
    if (error instanceof ChainUnreachableError) throw error;
    const e = error as { shortMessage?: string; message?: string };
    const reason = (e.shortMessage ?? e.message ?? String(error)).split("\n")[0];
    throw new ChainUnreachableError(`cannot reach the node at ${url}: ${reason}`, { cause: error });
  } finally {
    probe.destroy();
  }
}
