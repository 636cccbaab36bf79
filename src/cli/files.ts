/** Reading the JSON files a user hands to a command, with errors that say which file and what is wrong. */
import { readFile } from "node:fs/promises";
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
