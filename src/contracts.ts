/**
 * The TypeChain bindings of iotrail's own contracts, imported file by file so that the compiled package
 * carries these and not the test mocks (`typechain-types/index` re-exports every contract compiled).
 */
export { DeviceRegistry__factory } from "../typechain-types/factories/contracts/registry/DeviceRegistry__factory";
export type { DeviceRegistry } from "../typechain-types/contracts/registry/DeviceRegistry";
export { TelemetryAnchor__factory } from "../typechain-types/factories/contracts/anchoring/TelemetryAnchor__factory";
export type { TelemetryAnchor } from "../typechain-types/contracts/anchoring/TelemetryAnchor";
export { PaymentChannels__factory } from "../typechain-types/factories/contracts/payments/PaymentChannels__factory";
export type { PaymentChannels } from "../typechain-types/contracts/payments/PaymentChannels";
export { ConditionalEscrow__factory } from "../typechain-types/factories/contracts/payments/ConditionalEscrow__factory";
export type { ConditionalEscrow } from "../typechain-types/contracts/payments/ConditionalEscrow";
