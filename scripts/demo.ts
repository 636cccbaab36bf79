// npm run demo: the iotrail demo on the in-process Hardhat network: the device registry, then telemetry
// anchoring and verification. The proof bundle it verifies is written to demo-output/bundle.json, so that
// `iotrail verify demo-output/bundle.json` can be tried against a node that holds the same chain.
import { mkdirSync, writeFileSync } from "node:fs";
import { ethers } from "hardhat";
import { runAnchoringDemo } from "../src/demo/anchoring-demo";
import { runRegistryDemo } from "../src/demo/registry-demo";
import { formatReport } from "../src/verify";

async function main(): Promise<void> {
  const [admin, manufacturer, owner, buyer, relayer, batcher] = await ethers.getSigners();
  console.log("== device registry");
  const { registry } = await runRegistryDemo({
    admin: admin!,
    manufacturer: manufacturer!,
    owner: owner!,
    buyer: buyer!,
    relayer: relayer!,
    log: console.log,
  });
  console.log("\n== telemetry anchoring");
  const result = await runAnchoringDemo({
    registry,
    admin: admin!,
    manufacturer: manufacturer!,
    owner: owner!,
    batcher: batcher!,
    log: console.log,
  });
  mkdirSync("demo-output", { recursive: true });
  writeFileSync("demo-output/bundle.json", `${JSON.stringify(result.bundle, null, 2)}\n`);
  console.log("\nverification report of demo-output/bundle.json:\n");
  console.log(formatReport(result.report));
  if (!result.report.ok) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
