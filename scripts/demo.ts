// npm run demo: two stories on the in-process Hardhat chain (or any network: npm run demo -- --network
// localhost): cold chain (a lot of loggers, readings through the batcher over MQTT, anchoring, an escrow
// released by a proven reading, a trip verified from a range bundle) and energy trading (meters paying each
// other per kWh over channels). Files go to demo-output/: the deployment record, the trip's bundles, report.html.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import hre, { ethers } from "hardhat";
import { demoReportHtml, runColdChainStory, runEnergyStory } from "../src/demo";
import { deploySuite } from "../src/deploy";
import { serveInProcessChain } from "../src/tooling/rpc-server";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildStandaloneVerifier } = require("./verifier-standalone.js") as {
  buildStandaloneVerifier: (outFile: string) => Promise<number>;
};
import { shareFragment } from "../src/verify";

const OUT = resolve("demo-output");
// The default development mnemonic's accounts (Hardhat and anvil): account 6 runs the batcher.
const MNEMONIC = "test test test test test test test test test test test junk";

async function main(): Promise<void> {
  mkdirSync(join(OUT, "cold-chain"), { recursive: true });
  const signers = await ethers.getSigners();
  const [deployer, shipper, carrier, relayer] = signers;
  console.log(`== deploying the suite on ${hre.network.name}`);
  const { record, path } = await deploySuite(hre, { dir: join(OUT, "deployments") });
  const anchorer = ethers.HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/6");
  const anchor = await ethers.getContractAt("TelemetryAnchor", record.contracts.TelemetryAnchor.address);
  await (await anchor.grantRole(await anchor.ANCHORER_ROLE(), anchorer.address)).wait();

  // The batcher is a service of its own: it reaches the chain over JSON-RPC, as it would in production.
  const served = hre.network.name === "hardhat" ? await serveInProcessChain(hre) : undefined;
  const rpcUrl = served?.url ?? (hre.network.config as { url: string }).url;
  try {
    console.log("\n== story 1: cold chain");
    const coldChain = await runColdChainStory({
      record,
      rpcUrl,
      provider: ethers.provider,
      manufacturer: deployer!,
      shipper: shipper!,
      carrier: carrier!,
      relayer: relayer!,
      anchorerKey: anchorer.privateKey,
      log: console.log,
    });
    console.log("\n== story 2: energy trading");
    const energy = await runEnergyStory({
      record,
      manufacturer: deployer!,
      owners: signers.slice(7, 11),
      log: console.log,
    });

    const trip = join(OUT, "cold-chain", "trip.json");
    const tampered = join(OUT, "cold-chain", "tampered.json");
    writeFileSync(trip, `${JSON.stringify(coldChain.trip, null, 2)}\n`);
    writeFileSync(tampered, `${JSON.stringify(coldChain.tampered, null, 2)}\n`);
    // The verifier page as one file next to the report, so that its links work from disk (file://) after
    // exactly the Quickstart's commands. A link carries the bundle only, never what to trust: the page
    // checks against what its user pinned in it (or, with nothing pinned, says it could not fully verify).
    const page = join(OUT, "verifier.html");
    await buildStandaloneVerifier(page);
    const link = async (bundle: unknown) => `verifier.html#${(await shareFragment(JSON.stringify(bundle))) ?? ""}`;
    const verifierLinks = { trip: await link(coldChain.trip), tampered: await link(coldChain.tampered) };
    const report = join(OUT, "report.html");
    const files = [path, trip, tampered, report, page];
    writeFileSync(report, demoReportHtml({ coldChain, energy, verifierLinks, files }));

    console.log("\n== report");
    console.log(
      `cold chain: ${coldChain.simulation.acknowledged} readings, ${coldChain.batches} batches, ${coldChain.gasPerReading.toFixed(0)} gas per anchored reading`,
    );
    console.log(
      `cold chain: trip ${coldChain.tripReport.verdict}, tampered trip ${coldChain.tamperedReport.verdict}, carrier paid ${ethers.formatEther(coldChain.carrierPaid)} ETH`,
    );
    console.log(
      `energy: ${energy.vouchers} payments in ${energy.transactions} transactions, ${energy.gasPerPayment.toFixed(1)} gas per payment`,
    );
    console.log(`files:\n${files.map((f) => `  ${relative(process.cwd(), f)}`).join("\n")}`);
    if (hre.network.name !== "hardhat") {
      console.log(
        `\nverify the trip online afterwards:\n  npx iotrail --network ${hre.network.name} --deployments demo-output/deployments verify demo-output/cold-chain/trip.json`,
      );
    }
    if (coldChain.tripReport.verdict !== "verified" || coldChain.tamperedReport.verdict !== "failed")
      process.exitCode = 1;
  } finally {
    await served?.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
