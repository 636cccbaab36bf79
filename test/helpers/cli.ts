/**
 * Runs the `iotrail` command as a user does: `bin/iotrail.js` in a child process (the compiled CLI, which
 * `npm test` builds first). Asynchronous, because the JSON-RPC server answering it lives in the test process.
 */
import { execFile } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CLI = join(__dirname, "..", "..", "bin", "iotrail.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for `--json` runs). */
  json<T = Record<string, unknown>>(): T;
}

export function iotrail(
  args: readonly string[],
  options: {
    env?: Record<string, string | undefined>;
    cwd?: string;
    timeoutMs?: number;
    /** Called with the running process (to signal it, as a user's Ctrl-C does). */
    onSpawn?: (child: ChildProcess) => void;
  } = {},
): Promise<CliResult> {
  // Nothing of the developer's environment (.env values, keys) leaks into a test run.
  const env: Record<string, string | undefined> = {
    ...process.env,
    RPC_URL: "",
    IOTRAIL_PRIVATE_KEY: "",
    IOTRAIL_DEPLOYMENTS: "",
    IOTRAIL_TRUST: "",
    ...options.env,
  };
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env, cwd: options.cwd ?? tmpdir(), timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({
          code,
          stdout,
          stderr,
          json<T>() {
            try {
              return JSON.parse(stdout) as T;
            } catch {
              throw new Error(`not JSON (exit ${code}): ${stdout}\n${stderr}`);
            }
          },
        });
      },
    );
    options.onSpawn?.(child);
  });
}

/** Runs the CLI and fails the test with its output unless it exits 0. */
export async function iotrailOk(args: readonly string[], options?: Parameters<typeof iotrail>[1]): Promise<CliResult> {
  const result = await iotrail(args, options);
  if (result.code !== 0) {
    throw new Error(`iotrail ${args.join(" ")} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

export const tempDir = (prefix = "iotrail-cli-") => mkdtempSync(join(tmpdir(), prefix));
