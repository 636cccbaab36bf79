/**
 * The action wrapper of every chain command: builds the {@link Context} from the global options, runs the
 * command, and closes its providers so that the process exits when the work is done.
 */
import type { Command } from "commander";
import { Context } from "./context";
import { noteErrorUnit } from "./errors";

// Commander passes the positional arguments, then the options, then the command itself.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function run<A extends any[]>(
  fn: (ctx: Context, ...args: A) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const ctx = Context.of(command);
    try {
      await fn(ctx, ...(args.slice(0, -1) as A));
    } catch (error) {
      // The unit of the command's amounts, so that a revert's amounts print in it.
      if (ctx.unit !== undefined) noteErrorUnit(error, ctx.unit, ctx.rawAmounts);
      throw error;
    } finally {
      await ctx.close();
    }
  };
}
