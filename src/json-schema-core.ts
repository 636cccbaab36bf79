/** The validator shape of `./json-schema`, without a compiler (the browser build supplies precompiled ones). */
import type { ErrorObject } from "ajv";
import { ConfigError } from "./errors";

export interface SchemaValidator<T> {
  (value: unknown): value is T;
  /** The errors of the last call that failed. */
  errors: ErrorObject[] | null | undefined;
}

/** A {@link SchemaValidator} over a compiled validator obtained on first use. */
export function validatorOf<T>(
  compiled: () => ((value: unknown) => boolean) & { errors?: ErrorObject[] | null },
): SchemaValidator<T> {
  const validate = ((value: unknown): value is T => {
    const check = compiled();
    const valid = check(value);
    validate.errors = check.errors;
    return valid;
  }) as SchemaValidator<T>;
  validate.errors = undefined;
  return validate;
}

/**
 * What is wrong with JSON text that `JSON.parse` refused, and where (line and column), without quoting the
 * text itself: a file that holds secrets (a key, a token) must not see them in an error message.
 */
export function jsonSyntaxProblem(text: string, error: unknown): string {
  const message = (error as Error).message ?? "";
  const kind =
    /^(Unexpected [a-z ]+|Expected [^"']*?)(?= in JSON| \(|,|$)/.exec(message)?.[1]?.trim() ?? "a syntax error";
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position === undefined) return /end of JSON input/.test(message) ? "it ends too early" : kind;
  const before = text.slice(0, Number(position));
  const line = before.split("\n").length;
  const column = Number(position) - before.lastIndexOf("\n");
  return `${kind} at line ${line}, column ${column}`;
}

/** Parses `text` as JSON and checks it with `validate`; a {@link ConfigError} naming `source` and `what` otherwise. */
export function parseConfigJson<T>(text: string, source: string, validate: SchemaValidator<T>, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${source}: not valid JSON (${jsonSyntaxProblem(text, error)})`);
  }
  if (!validate(value)) {
    const errors = (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}`);
    throw new ConfigError(`${source}: not ${what}: ${errors.join("; ")}`, { details: { errors } });
  }
  return value;
}
