// npm run demo: the iotrail demo on the in-process Hardhat network: the device registry, then telemetry
// anchoring and verification. The proof bundle it verifies is written to demo-output/bundle.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { ethers } from "hardhat";
import { runDemo } from "../src/demo";
import { formatReport } from "../src/verify";

async function main(): Promise<void> {
  const { anchoring } = await runDemo({ signers: await ethers.getSigners(), log: console.log });
  mkdirSync("demo-output", { recursive: true });
  writeFileSync("demo-output/bundle.json", `${JSON.stringify(anchoring.bundle, null, 2)}\n`);
  console.log("\nverification report of demo-output/bundle.json:\n");
  console.log(formatReport(anchoring.report));
  if (!anchoring.report.ok) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
