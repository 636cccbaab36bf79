// npm run bench: registry gas targets, measured on the in-process Hardhat network.
//   - a single registration costs at most 100k gas;
//   - committing a lot costs the same for 10 and for 1,000,000 devices (real roots of real lots), up to the
//     calldata of the device count.
import { ethers } from "hardhat";
import { DeviceRegistry__factory } from "../typechain-types";
import { initKeccak } from "../src/merkle";
import { Lot } from "../src/registry";
import { measureRegistryGas } from "../src/tooling/registry-gas";
import { QUICK, record } from "./report";

function syntheticLot(size: number): Lot {
  const entries = Array.from({ length: size }, (_, i) => ({
    key: `0x${(i + 1).toString(16).padStart(40, "0")}`,
    metadataHash: `0x${(size + i).toString(16).padStart(64, "0")}`,
  }));
  return Lot.build(entries);
}

async function main(): Promise<void> {
  await initKeccak();
  const signers = await ethers.getSigners();
  const gas = await measureRegistryGas(signers);
  const register = gas.get("DeviceRegistry.register")!;
  console.log(`register: ${register} gas (target <= 100000: ${register <= 100_000n ? "met" : "MISSED"})`);
  console.log(`registerBatch per device: ${gas.get("DeviceRegistry.registerBatch(10).perDevice")} gas`);

  const [admin, manufacturer, owner] = signers as [(typeof signers)[0], (typeof signers)[0], (typeof signers)[0]];
  const registry = await new DeviceRegistry__factory(admin).deploy(admin.address);
  await registry.grantRole(await registry.MANUFACTURER_ROLE(), manufacturer.address);
  // A first lot initializes the lot counter (a fresh slot); both measured lots come after it.
  await (await registry.connect(manufacturer).commitLot(syntheticLot(1).root, owner.address, 1, "")).wait();
  const costs: bigint[] = [];
  const sizes = [10, QUICK ? 10_000 : 1_000_000];
  for (const size of sizes) {
    const started = process.hrtime.bigint();
    const lot = syntheticLot(size);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const receipt = await (await registry.connect(manufacturer).commitLot(lot.root, owner.address, size, "")).wait();
    costs.push(receipt!.gasUsed);
    const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
    console.log(
      `commitLot(${size} devices): ${receipt!.gasUsed} gas (lot built in ${seconds.toFixed(1)} s, rss ${rss} MiB)`,
    );
  }
  const ratio = Number(costs[1]!) / Number(costs[0]!);
  record("registry", {
    register: register,
    registerBatchPerDevice: gas.get("DeviceRegistry.registerBatch(10).perDevice"),
    commitLot: sizes.map((size, i) => ({ devices: size, gas: costs[i] })),
    commitLotRatio: ratio,
  });
  // The only difference left is calldata: the device count 1,000,000 has two more non-zero bytes than 10.
  const flat = Math.abs(ratio - 1) <= 0.001;
  console.log(
    `commitLot gas ratio ${sizes[1]} / 10 devices: ${ratio.toFixed(4)} (target 1 +- 0.001: ${flat ? "met" : "MISSED"})`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
