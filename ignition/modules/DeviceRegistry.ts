// Deploys the DeviceRegistry. The admin defaults to the deploying account; set it with
//   npx hardhat ignition deploy ignition/modules/DeviceRegistry.ts --network testnet --parameters params.json
// where params.json is {"DeviceRegistry": {"admin": "0x..."}}.
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

export default buildModule("DeviceRegistry", (m) => {
  const admin = m.getParameter("admin", m.getAccount(0));
  const registry = m.contract("DeviceRegistry", [admin]);
  return { registry };
});
