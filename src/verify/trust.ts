/**
 * The verifier's trust configuration: which anchor (and registry) a partner trusts on which chain. It comes
 * from the partner's side (a flag or a trust file, `schemas/trust.v1.schema.json`), never from the bundle.
 */
import { isAddress } from "ethers";
import { lazyValidator } from "../json-schema";
import { parseConfigJson } from "../json-schema-core";
import schema from "../../schemas/trust.v1.schema.json";
import { ConfigError } from "../errors";
import { pinTrust } from "./verify";
import type { TrustedContracts } from "./verify";

export const TRUST_CONFIG_VERSION = 1;
export const TRUST_CONFIG_KIND = "iotrail.trust";

export interface TrustConfig {
  version: typeof TRUST_CONFIG_VERSION;
  kind: typeof TRUST_CONFIG_KIND;
  chains: Record<string, { name?: string; anchor: string; registry?: string }>;
}

const validate = lazyValidator<TrustConfig>(schema);

/** Parses and checks a trust file's text; `source` names it in errors and reports. */
export function parseTrustConfig(text: string, source: string): TrustConfig {
  const value = parseConfigJson(text, source, validate, "a version-1 trust configuration");
  for (const [chainId, entry] of Object.entries(value.chains)) {
    for (const address of [entry.anchor, entry.registry]) {
      if (address !== undefined && !isAddress(address)) {
        throw new ConfigError(`${source}: chain ${chainId}: ${address} has a wrong EIP-55 checksum`);
      }
    }
  }
  return value;
}

/**
 * The pinned contracts of `chainId`, or undefined when the configuration trusts nothing on that chain; `path`
 * names the trust file in the report.
 */
export function trustedFor(config: TrustConfig, chainId: bigint | string, path: string): TrustedContracts | undefined {
  const entry = config.chains[chainId.toString()];
  if (entry === undefined) return undefined;
  return pinTrust(
    { anchor: entry.anchor, registry: entry.registry },
    { kind: "trust-file", path },
    `chain ${chainId}${entry.name === undefined ? "" : `, ${entry.name}`}`,
  );
}

/**
 * The chain id a bundle's text claims, when it has a readable one: where to look for the pin. Only the
 * choice of pin depends on it; the verifier checks the claim against the chain.
 */
export function bundleChainId(text: string): string | undefined {
  try {
    const chainId = (JSON.parse(text) as { chainId?: unknown }).chainId;
    return typeof chainId === "string" && /^(0|[1-9][0-9]*)$/.test(chainId) ? chainId : undefined;
  } catch {
    return undefined;
  }
}
