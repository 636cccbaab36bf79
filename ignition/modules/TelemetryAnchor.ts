// Deploys the DeviceRegistry and the TelemetryAnchor that consults it. The admin defaults to the deploying
// account; "anchorer" (the batcher's operator account, default the deployer) is granted ANCHORER_ROLE by
// the deploying account, which must therefore be the admin:
//   npx hardhat ignition deploy ignition/modules/TelemetryAnchor.ts --network testnet --parameters params.json
// where params.json is {"DeviceRegistry": {"admin": "0x..."}, "TelemetryAnchor": {"admin": "0x...", "anchorer": "0x..."}}.
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import DeviceRegistryModule from "./DeviceRegistry";

export default buildModule("TelemetryAnchor", (m) => {
  const { registry } = m.useModule(DeviceRegistryModule);
  const admin = m.getParameter("admin", m.getAccount(0));
  const anchor = m.contract("TelemetryAnchor", [admin, registry]);
  const anchorer = m.getParameter("anchorer", m.getAccount(0));
  const role = m.staticCall(anchor, "ANCHORER_ROLE");
  m.call(anchor, "grantRole", [role, anchorer]);
  return { registry, anchor };
});
