/**
 * Amounts on the command line: accepted and shown in ETH or token units (`1.5`), or in base units with
 * `--raw`. A token's decimals and symbol come from the token itself.
 */
import { Contract, formatUnits, parseUnits } from "ethers";
import type { Provider } from "ethers";
import { InvalidInputError } from "../errors";
import { ETH } from "../payments";

export interface Unit {
  token: string;
  symbol: string;
  decimals: number;
}

export const ETH_UNIT: Unit = { token: ETH, symbol: "ETH", decimals: 18 };

/** The unit of `token` (the zero address or undefined: ETH). */
export async function unitOf(provider: Provider, token: string | undefined): Promise<Unit> {
  if (token === undefined || token === ETH) return ETH_UNIT;
  const erc20 = new Contract(
    token,
    ["function decimals() view returns (uint8)", "function symbol() view returns (string)"],
    provider,
  );
  const [decimals, symbol] = await Promise.all([
    erc20.getFunction("decimals")() as Promise<bigint>,
    (erc20.getFunction("symbol")() as Promise<string>).catch(() => "tokens"),
  ]);
  return { token, symbol, decimals: Number(decimals) };
}

export function parseAmount(value: string, unit: Unit, raw: boolean): bigint {
  try {
    if (raw) {
      if (!/^[0-9]+$/.test(value)) throw new Error("not a whole number");
      return BigInt(value);
    }
    if (!/^[0-9]+(\.[0-9]+)?$/.test(value)) throw new Error("not a decimal number");
    return parseUnits(value, unit.decimals);
  } catch (cause) {
    throw new InvalidInputError(
      raw
        ? `amount ${value}: expected a whole number of base units`
        : `amount ${value}: expected ${unit.symbol} with at most ${unit.decimals} decimals (or base units with --raw)`,
      { cause },
    );
  }
}

export function formatAmount(value: bigint, unit: Unit, raw: boolean): string {
  return raw ? `${value} (base units)` : `${formatUnits(value, unit.decimals)} ${unit.symbol}`;
}
