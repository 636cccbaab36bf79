/** The whole demo: the registry flow, then telemetry anchoring on the registry it deployed. */
import type { Signer } from "ethers";
import { runAnchoringDemo } from "./anchoring-demo";
import type { AnchoringDemoResult } from "./anchoring-demo";
import { runPaymentsDemo } from "./payments-demo";
import type { PaymentsDemoResult } from "./payments-demo";
import { runRegistryDemo } from "./registry-demo";
import type { RegistryDemoResult } from "./registry-demo";

export { runAnchoringDemo, runPaymentsDemo, runRegistryDemo };
export * from "./cold-chain";
export * from "./energy";
export * from "./report";
export type { AnchoringDemoResult, PaymentsDemoResult, RegistryDemoResult };

export async function runDemo(params: {
  /** admin, manufacturer, owner, buyer, relayer, batcher (six funded accounts). */
  signers: readonly Signer[];
  devices?: number;
  readingsPerDevice?: number;
  vouchers?: number;
  log?: (line: string) => void;
}): Promise<{ registry: RegistryDemoResult; anchoring: AnchoringDemoResult; payments: PaymentsDemoResult }> {
  const [admin, manufacturer, owner, buyer, relayer, batcher] = params.signers;
  if (batcher === undefined) throw new Error("the demo needs six accounts");
  const log = params.log ?? (() => undefined);
  log("== device registry");
  const registry = await runRegistryDemo({
    admin: admin!,
    manufacturer: manufacturer!,
    owner: owner!,
    buyer: buyer!,
    relayer: relayer!,
    log,
  });
  log("\n== telemetry anchoring");
  const anchoring = await runAnchoringDemo({
    registry: registry.registry,
    admin: admin!,
    manufacturer: manufacturer!,
    owner: owner!,
    batcher,
    ...(params.devices === undefined ? {} : { devices: params.devices }),
    ...(params.readingsPerDevice === undefined ? {} : { readingsPerDevice: params.readingsPerDevice }),
    log,
  });
  log("\n== machine-to-machine payments");
  const payments = await runPaymentsDemo({
    registry: registry.registry,
    anchor: anchoring.anchor,
    admin: admin!,
    manufacturer: manufacturer!,
    owner: owner!,
    payee: buyer!,
    relayer: relayer!,
    batcher,
    ...(params.vouchers === undefined ? {} : { vouchers: params.vouchers }),
    log,
  });
  return { registry, anchoring, payments };
}
