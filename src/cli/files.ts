/** Reading the JSON files a user hands to a command, with errors that say which file and what is wrong. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { InvalidInputError } from "../errors";
import { jsonSyntaxProblem } from "../json-schema-core";

/** The JSON in `path`; `what` names the file in errors ("voucher file", "escrow file"). Never a raw ENOENT. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new InvalidInputError(
      code === "ENOENT" ? `no ${what} at ${path}` : `cannot read the ${what} ${path} (${code ?? "error"})`,
      {
        cause,
        details: { path },
      },
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidInputError(`${path} is not a ${what}: not valid JSON (${jsonSyntaxProblem(text, error)})`, {
      details: { path },
    });
  }
}

/** "1 transaction", "2 transactions". */
export const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? "" : "s"}`;

/**
 * Refuses to write a secret (`what`: device keys, broker passwords) where git would track it: inside a git
 * work tree and not ignored. Outside a work tree, or without git, nothing is checked.
 */
export function refuseUnignoredInGit(path: string, what = "device keys"): void {
  const target = resolve(path);
  let dir = dirname(target);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const inside = spawnSync("git", ["-C", dir, "rev-parse", "--is-inside-work-tree"], { encoding: "utf8" });
  if (inside.error !== undefined || inside.status !== 0 || inside.stdout.trim() !== "true") return;
  const ignored = spawnSync("git", ["-C", dir, "check-ignore", "-q", target]);
  if (ignored.status === 0) return;
  throw new InvalidInputError(
    `${path} is inside a git work tree and git would not ignore it: one \`git add -A\` would commit ${what}. ` +
      "Write them outside the repository, add the folder to .gitignore, or pass --force",
    { details: { path: target } },
  );
}

/**
 * Asks for a password on the terminal without echoing it; undefined where standard input is not a terminal
 * (a script must give it through the environment instead).
 */
export function terminalPrompt(question: string): (() => Promise<string>) | undefined {
  if (process.stdin.isTTY !== true || process.stderr.isTTY !== true) return undefined;
  return async () => {
    const { createInterface } = await import("node:readline");
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    // Echo nothing of what is typed: only the question is written.
    (rl as unknown as { _writeToOutput: (text: string) => void })._writeToOutput = (text: string) => {
      if (text.startsWith(question)) process.stderr.write(question);
    };
    try {
      return await new Promise<string>((resolve) => rl.question(question, resolve));
    } finally {
      process.stderr.write("\n");
      rl.close();
    }
  };
}
