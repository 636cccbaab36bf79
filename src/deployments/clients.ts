/** The SDK's clients of a recorded deployment: nobody copies an address by hand. */
import type { ContractRunner, Provider } from "ethers";
import { TelemetryAnchorClient } from "../anchor";
import { ConfigError } from "../errors";
import { EscrowClient, PaymentChannelsClient } from "../payments";
import { DeviceRegistryClient } from "../registry";
import { resolveDeployment } from "./record";
import type { DeploymentRecord } from "./record";

export interface SuiteClients {
  record: DeploymentRecord;
  registry: DeviceRegistryClient;
  anchor: TelemetryAnchorClient;
  channels: PaymentChannelsClient;
  escrow: EscrowClient;
}

/** Clients of the contracts of `record`, sending from (or reading with) `runner`. */
export function suiteClients(record: DeploymentRecord, runner: ContractRunner): SuiteClients {
  const { contracts } = record;
  return {
    record,
    registry: DeviceRegistryClient.connect({ address: contracts.DeviceRegistry.address, runner }),
    anchor: TelemetryAnchorClient.connect({ address: contracts.TelemetryAnchor.address, runner }),
    channels: PaymentChannelsClient.connect({ address: contracts.PaymentChannels.address, runner }),
    escrow: EscrowClient.connect({ address: contracts.ConditionalEscrow.address, runner }),
  };
}

/**
 * The clients of the deployment recorded for the chain `runner` is on (a provider, or a signer with one),
 * from `dir` (default: IOTRAIL_DEPLOYMENTS, else ./deployments), each contract checked on the chain.
 */
export async function connectSuite(runner: ContractRunner, dir?: string): Promise<SuiteClients> {
  const provider = (runner.provider ?? runner) as Provider;
  if (typeof provider.getNetwork !== "function") {
    throw new ConfigError("connectSuite needs a provider, or a signer connected to one");
  }
  return suiteClients(await resolveDeployment(provider, dir), runner);
}
