/**
 * A real, independent JSON-RPC node for tests: anvil from the `@foundry-rs/anvil` npm package (its
 * platform package ships the binary; nothing downloads at run time). Used to check iotrail against another
 * EVM node than Hardhat's, and for reorganizations (`anvil_reorg`).
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { ConfigError } from "../errors";

export interface AnvilNode {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** The anvil binary of this platform, or undefined if its package is not installed here. */
export function anvilBinary(): string | undefined {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  try {
    return join(dirname(require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`)), "bin", "anvil");
  } catch {
    return undefined;
  }
}

/** Resolves once `child` prints `marker` (stdout or stderr); rejects with its output if it exits or times out. */
export function untilOutput(child: ChildProcess, marker: string, timeoutMs: number, name: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let output = "";
    // Only until the marker: a server's log keeps coming, and scanning all of it for every chunk is quadratic.
    // The streams keep flowing (data with no listener is dropped), so the child never blocks on a full pipe.
    const done = () => {
      clearTimeout(timer);
      child.stdout!.removeListener("data", onData);
      child.stderr!.removeListener("data", onData);
      child.removeListener("exit", onExit);
    };
    const timer = setTimeout(() => {
      done();
      child.kill();
      reject(new ConfigError(`${name} did not start within ${timeoutMs} ms`, { details: { output } }));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(marker)) {
        done();
        resolve();
      }
    };
    const onExit = (code: number | null) => {
      done();
      reject(new ConfigError(`${name} exited with code ${code}`, { details: { output } }));
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", onExit);
  });
}

/** Ends `child` (SIGTERM) and resolves once it exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** Starts anvil on a free loopback port and resolves once it accepts JSON-RPC. */
export async function startAnvil(params: { args?: string[]; timeoutMs?: number } = {}): Promise<AnvilNode> {
  const binary = anvilBinary();
  if (binary === undefined) throw new ConfigError(`no anvil binary for ${process.platform}-${process.arch}`);
  const port = await freePort();
  const child = spawn(binary, ["--host", "127.0.0.1", "--port", String(port), ...(params.args ?? [])], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = `http://127.0.0.1:${port}`;
  await untilOutput(child, "Listening on", params.timeoutMs ?? 15_000, "anvil");
  return {
    url,
    process: child,
    stop: () => stopChild(child),
  };
}
