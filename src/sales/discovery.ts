/**
 * What a seller sells, for x402 discovery: the document a batcher serves at `/.well-known/x402`. It has the
 * shape x402 clients and indexers read (`version`, `resources`, `instructions`) and, per resource, the
 * `bazaar` extension's description of its input (x402's `@x402/extensions/bazaar`, built by its own
 * `declareDiscoveryExtension`), the offer per reading for every scheme (`accepts`), and the catalog: each
 * device with anchored readings, its sequences and its metrics.
 *
 * Discovery is advertising, not trust: a buyer still checks each 402 against what it asked for, and each
 * bundle against its own deployment record.
 */
import { declareDiscoveryExtension } from "@x402/extensions/bazaar";
import { metricName } from "../telemetry";
import { X402_VERSION } from "./wire";
import type { DataSeller } from "./market";

export const DISCOVERY_VERSION = 1;
export const DISCOVERY_PATH = "/.well-known/x402";

/** One device's anchored readings, as the seller's store lists them. */
export interface CatalogDevice {
  device: string;
  firstSequence: bigint;
  lastSequence: bigint;
  readings: number;
  metrics: string[];
}

export interface DiscoveryDocument {
  version: typeof DISCOVERY_VERSION;
  x402Version: typeof X402_VERSION;
  resources: string[];
  instructions: string;
  offers: Array<{
    resource: string;
    description: string;
    mimeType: "application/json";
    /** What one reading costs, by scheme: a range of n readings costs n times the amount. */
    accepts: ReturnType<DataSeller["accepts"]>;
    extensions: Record<string, unknown>;
  }>;
  devices: Array<{
    device: string;
    resource: string;
    firstSequence: string;
    lastSequence: string;
    readings: number;
    metrics: Array<{ id: string; name?: string }>;
  }>;
  /** More devices are for sale than listed (the list is bounded). */
  truncated: boolean;
}

/**
 * The `bazaar` extension of a GET resource. x402's `declareDiscoveryExtension` leaves the method to its
 * resource-server hook, which fills it from the route; this seller has no such hook, so it sets GET itself.
 */
function bazaarGet(config: Parameters<typeof declareDiscoveryExtension>[0]): Record<string, unknown> {
  const extensions = declareDiscoveryExtension(config) as Record<string, { info: { input: Record<string, unknown> } }>;
  for (const extension of Object.values(extensions)) extension.info.input.method = "GET";
  return extensions;
}

/** The discovery document of `seller` at `baseUrl`, with the devices of its catalog. */
export function discoveryDocument(params: {
  baseUrl: string;
  seller: DataSeller;
  catalog: readonly CatalogDevice[];
  truncated: boolean;
}): DiscoveryDocument {
  const { baseUrl, seller } = params;
  const range = `${baseUrl}/v1/devices/{device}/bundle`;
  const reading = `${baseUrl}/v1/readings/{device}/{sequence}/bundle`;
  const address = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$", description: "the device key's address" };
  const sequence = { type: "string", pattern: "^[0-9]{1,20}$" };
  const output = {
    schema: {
      type: "object",
      description: "an iotrail proof bundle (schemas/proof-bundle): readings, signatures, Merkle proofs, anchors",
    },
  };
  return {
    version: DISCOVERY_VERSION,
    x402Version: X402_VERSION,
    resources: [range, reading],
    instructions:
      "Anchored IoT readings with their proofs, sold per reading. GET a device's range as " +
      "/v1/devices/{device}/bundle?from={sequence}&to={sequence}: the 402 prices exactly that range. " +
      "Verify what you buy against your own trusted deployment (iotrail verify), not against this document.",
    offers: [
      {
        resource: range,
        description: "a device's readings from..to (sequences), with their proofs",
        mimeType: "application/json",
        accepts: seller.accepts(1),
        extensions: bazaarGet({
          input: { from: "1", to: "100" },
          inputSchema: {
            type: "object",
            properties: { from: sequence, to: sequence },
            required: ["from", "to"],
          },
          pathParams: { device: "0x0000000000000000000000000000000000000000" },
          pathParamsSchema: { type: "object", properties: { device: address }, required: ["device"] },
          output,
        }),
      },
      {
        resource: reading,
        description: "one reading with its proof",
        mimeType: "application/json",
        accepts: seller.accepts(1),
        extensions: bazaarGet({
          pathParams: { device: "0x0000000000000000000000000000000000000000", sequence: "1" },
          pathParamsSchema: {
            type: "object",
            properties: { device: address, sequence },
            required: ["device", "sequence"],
          },
          output,
        }),
      },
    ],
    devices: params.catalog.map((entry) => ({
      device: entry.device,
      resource: `${baseUrl}/v1/devices/${entry.device}/bundle?from=${entry.firstSequence}&to=${entry.lastSequence}`,
      firstSequence: entry.firstSequence.toString(),
      lastSequence: entry.lastSequence.toString(),
      readings: entry.readings,
      metrics: entry.metrics.map((id) => {
        const name = metricName(id);
        return name === undefined ? { id } : { id, name };
      }),
    })),
    truncated: params.truncated,
  };
}
