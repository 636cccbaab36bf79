/**
 * The Ignition module of the whole suite: DeviceRegistry, TelemetryAnchor, PaymentChannels, ConditionalEscrow
 * and, on development chains, the DemoToken. Roles come from the options: the deployer is the first admin,
 * grants MANUFACTURER_ROLE and ANCHORER_ROLE, and, when another admin is named, hands the admin role over and
 * renounces its own.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { IgnitionModule } from "@nomicfoundation/ignition-core";

export const DEFAULT_CHALLENGE_PERIOD = 86_400n;
const DEFAULT_ADMIN_ROLE = `0x${"0".repeat(64)}`;

export interface SuiteOptions {
  /** The admin after the deploy; undefined keeps the deployer. */
  admin?: string;
  manufacturers: readonly string[];
  anchorers: readonly string[];
  /** PaymentChannels' challenge period in seconds, in [1 hour, 365 days]. */
  challengePeriod: bigint;
  demoToken: boolean;
}

export function suiteModule(options: SuiteOptions): IgnitionModule<"Iotrail"> {
  return buildModule("Iotrail", (m) => {
    const deployer = m.getAccount(0);
    const registry = m.contract("DeviceRegistry", [deployer]);
    const anchor = m.contract("TelemetryAnchor", [deployer, registry]);
    const channels = m.contract("PaymentChannels", [registry, options.challengePeriod]);
    const escrow = m.contract("ConditionalEscrow", [anchor]);

    const manufacturerRole = m.staticCall(registry, "MANUFACTURER_ROLE");
    const anchorerRole = m.staticCall(anchor, "ANCHORER_ROLE");
    const grants = [
      ...options.manufacturers.map((account, i) =>
        m.call(registry, "grantRole", [manufacturerRole, account], { id: `grantManufacturer${i}` }),
      ),
      ...options.anchorers.map((account, i) =>
        m.call(anchor, "grantRole", [anchorerRole, account], { id: `grantAnchorer${i}` }),
      ),
    ];
    if (options.admin !== undefined) {
      for (const [name, contract] of [
        ["Registry", registry],
        ["Anchor", anchor],
      ] as const) {
        const handover = m.call(contract, "grantRole", [DEFAULT_ADMIN_ROLE, options.admin], {
          id: `grantAdmin${name}`,
          after: grants,
        });
        m.call(contract, "renounceRole", [DEFAULT_ADMIN_ROLE, deployer], {
          id: `renounceAdmin${name}`,
          after: [handover],
        });
      }
    }
    const contracts = { registry, anchor, channels, escrow };
    return options.demoToken ? { ...contracts, demoToken: m.contract("DemoToken", []) } : contracts;
  });
}
