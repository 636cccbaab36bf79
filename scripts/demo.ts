// npm run demo: the iotrail demo on the in-process Hardhat network (today: the device registry).
import { ethers } from "hardhat";
import { runRegistryDemo } from "../src/demo/registry-demo";

async function main(): Promise<void> {
  const [admin, manufacturer, owner, buyer, relayer] = await ethers.getSigners();
  await runRegistryDemo({
    admin: admin!,
    manufacturer: manufacturer!,
    owner: owner!,
    buyer: buyer!,
    relayer: relayer!,
    log: console.log,
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
