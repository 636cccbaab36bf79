// Measures DeviceRegistry and TelemetryAnchor gas and writes gas-snapshot.txt, or with GAS_SNAPSHOT_CHECK=1 fails on any change.
import { ethers, network } from "hardhat";
import { measureAnchorGas } from "../src/tooling/anchor-gas";
import { measureEscrowGas, measureExactGas, measurePaymentsGas } from "../src/tooling/payments-gas";
import { measureRegistryGas } from "../src/tooling/registry-gas";
import { formatSnapshot, saveOrCheck } from "../src/tooling/gas-snapshot";

async function main(): Promise<void> {
  if (network.name !== "hardhat") throw new Error("the gas snapshot is measured on the in-process Hardhat network");
  const signers = await ethers.getSigners();
  const measured = new Map([
    ...(await measureRegistryGas(signers)),
    ...(await measureAnchorGas(signers)),
    ...(await measurePaymentsGas(signers)),
    ...(await measureEscrowGas(signers)),
    ...(await measureExactGas(signers)),
  ]);
  const check = process.env.GAS_SNAPSHOT_CHECK === "1";
  const diffs = saveOrCheck("gas-snapshot.txt", measured, check);
  process.stdout.write(formatSnapshot(measured));
  if (diffs.length > 0) {
    console.error(
      `gas snapshot differs from gas-snapshot.txt (run npm run gas and commit it):\n  ${diffs.join("\n  ")}`,
    );
    process.exitCode = 1;
  } else {
    console.log(check ? "gas snapshot: unchanged" : "gas snapshot: written to gas-snapshot.txt");
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
