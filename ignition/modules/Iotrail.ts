// The whole suite and the DemoToken, with the deployer as admin (grant roles with `iotrail roles grant`):
//   npx hardhat ignition deploy ignition/modules/Iotrail.ts --network localhost
// `iotrail deploy` builds the same module with the roles you name and records the deployment per chain id.
import { suiteModule, DEFAULT_CHALLENGE_PERIOD } from "../../src/deploy/module";

export default suiteModule({
  manufacturers: [],
  anchorers: [],
  challengePeriod: DEFAULT_CHALLENGE_PERIOD,
  demoToken: true,
});
