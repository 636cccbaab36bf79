/**
 * One error hierarchy for the whole library: a short message, machine-readable `code`, structured
 * `details`, and the underlying `cause` when there is one.
 */
import type { Interface } from "ethers";

export type ErrorDetails = Readonly<Record<string, unknown>>;

export interface IotrailErrorOptions {
  details?: ErrorDetails;
  cause?: unknown;
}

export class IotrailError extends Error {
  readonly code: string;
  readonly details: ErrorDetails;

  constructor(code: string, message: string, options: IotrailErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** Input that does not have the expected shape or range (bad address, wrong length, duplicate key, ...). */
export class InvalidInputError extends IotrailError {
  constructor(message: string, options: IotrailErrorOptions = {}) {
    super("INVALID_INPUT", message, options);
  }
}

/** A signature that does not verify, or cannot be produced. */
export class SignatureError extends IotrailError {
  constructor(message: string, options: IotrailErrorOptions = {}) {
    super("INVALID_SIGNATURE", message, options);
  }
}

/** Missing or invalid configuration (environment, files). */
export class ConfigError extends IotrailError {
  constructor(message: string, options: IotrailErrorOptions = {}) {
    super("CONFIG", message, options);
  }
}

/** A JSON-RPC node that did not answer in time, or could not be reached at all. */
export class ChainUnreachableError extends IotrailError {
  constructor(message: string, options: IotrailErrorOptions = {}) {
    super("CHAIN_UNREACHABLE", message, options);
  }
}

/** Settles with `promise`, or rejects with {@link ChainUnreachableError} after `ms` milliseconds. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ChainUnreachableError(`${what}: no answer from the node within ${ms / 1000} s`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A contract call reverted with a custom error that the ABI decodes. */
export class ContractRevertError extends IotrailError {
  /** Custom error name, e.g. `RegistryKeyAlreadyUsed`. */
  readonly errorName: string;
  /** Decoded arguments by parameter name. */
  readonly args: Readonly<Record<string, unknown>>;

  constructor(errorName: string, args: Record<string, unknown>, cause: unknown) {
    const rendered = Object.entries(args)
      .map(([name, value]) => `${name}=${String(value)}`)
      .join(", ");
    super("CONTRACT_REVERT", `${errorName}(${rendered})`, { details: { errorName, args }, cause });
    this.errorName = errorName;
    this.args = args;
  }
}

/** A contract call failed for a reason the ABI cannot decode (RPC failure, out of gas, plain revert). */
export class TransactionError extends IotrailError {
  constructor(message: string, options: IotrailErrorOptions = {}) {
    super("TRANSACTION_FAILED", message, options);
  }
}

/** Finds revert data in an ethers error (it nests differently for calls, estimates and providers). */
function revertData(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const current = queue.shift();
    if (current === null || typeof current !== "object" || seen.has(current)) continue;
    seen.add(current);
    const data = (current as { data?: unknown }).data;
    if (typeof data === "string" && /^0x[0-9a-fA-F]{8}/.test(data)) return data;
    for (const key of ["error", "info", "cause", "data"]) {
      queue.push((current as Record<string, unknown>)[key]);
    }
  }
  return undefined;
}

/**
 * Turns an error thrown by a contract call into a typed error: a {@link ContractRevertError} when the
 * revert data matches a custom error of `iface`, otherwise a {@link TransactionError} carrying the cause.
 */
export function decodeContractError(error: unknown, iface: Interface): IotrailError {
  if (error instanceof IotrailError) return error;
  const data = revertData(error);
  if (data !== undefined) {
    const parsed = iface.parseError(data);
    if (parsed !== null) {
      const args: Record<string, unknown> = {};
      parsed.fragment.inputs.forEach((input, i) => {
        args[input.name || String(i)] = parsed.args[i];
      });
      return new ContractRevertError(parsed.name, args, error);
    }
  }
  // ethers' shortMessage leaves out the request dump (transaction hex, codes) that its message carries.
  const short = (error as { shortMessage?: unknown } | null)?.shortMessage;
  const message = typeof short === "string" ? short : error instanceof Error ? error.message : String(error);
  return new TransactionError(message.split("\n")[0] ?? "contract call failed", {
    cause: error,
    details: data === undefined ? {} : { data },
  });
}
