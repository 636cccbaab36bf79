/** What the channel and escrow commands share: ids, whole numbers, times, tokens and allowances. */
import { InvalidArgumentError } from "commander";
import { Contract } from "ethers";
import type { Signer } from "ethers";
import { InvalidInputError } from "../errors";
import { ETH } from "../payments";
import { Context, parseAddress } from "./context";
import { parseTime } from "./device-args";

/** A channel id: 0x and 64 hex digits (as shown), or its decimal value. */
export function channelIdArg(value: string): bigint {
  if (/^0x[0-9a-fA-F]{1,64}$/.test(value) || /^[0-9]+$/.test(value)) return BigInt(value);
  throw new InvalidArgumentError("expected a channel id (0x and 64 hex digits)");
}

export function uint(value: string): bigint {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError("expected a whole number");
  return BigInt(value);
}

/** A chain time: unix seconds, an ISO date, or `+<seconds>` from now. */
export async function timeArg(ctx: Context, value: string): Promise<bigint> {
  if (value.startsWith("+")) return (await ctx.chainTime()) + uint(value.slice(1));
  return parseTime(value);
}

/** The token option: `eth` (default), `demo` (the recorded DemoToken), or an ERC-20 address. */
export async function tokenArg(ctx: Context, value: string | undefined): Promise<string> {
  if (value === undefined || value.toLowerCase() === "eth") return ETH;
  if (value.toLowerCase() === "demo") {
    const demo = (await ctx.deployment()).contracts.DemoToken;
    if (demo === undefined) throw new InvalidInputError("this chain's deployment has no DemoToken");
    return demo.address;
  }
  return parseAddress(value, "--token");
}

/** Approves `spender` for `amount` of `token` when the allowance is short (ERC-20 deposits are pulled). */
export async function ensureAllowance(signer: Signer, token: string, spender: string, amount: bigint): Promise<void> {
  if (token === ETH) return;
  const erc20 = new Contract(
    token,
    [
      "function allowance(address owner, address spender) view returns (uint256)",
      "function approve(address spender, uint256 value) returns (bool)",
    ],
    signer,
  );
  const owner = await signer.getAddress();
  if (((await erc20.getFunction("allowance")(owner, spender)) as bigint) >= amount) return;
  await ((await erc20.getFunction("approve")(spender, amount)) as { wait(): Promise<unknown> }).wait();
}
