// Copies the ABIs and bytecode of iotrail's contracts (not the test mocks) into dist/artifacts/<Name>.json,
// which the package exports for other toolchains (`iotrail/artifacts/DeviceRegistry.json`).
"use strict";
const { mkdirSync, readdirSync, readFileSync, writeFileSync, statSync } = require("node:fs");
const { join } = require("node:path");

const root = join(__dirname, "..");
const source = join(root, "artifacts", "contracts");
const target = join(root, "dist", "artifacts");
mkdirSync(target, { recursive: true });

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== "mocks") walk(path);
    } else if (name.endsWith(".json") && !name.endsWith(".dbg.json")) {
      const artifact = JSON.parse(readFileSync(path, "utf8"));
      const { contractName, sourceName, abi, bytecode, deployedBytecode, linkReferences } = artifact;
      writeFileSync(
        join(target, `${contractName}.json`),
        `${JSON.stringify({ contractName, sourceName, abi, bytecode, deployedBytecode, linkReferences }, null, 2)}\n`,
      );
    }
  }
}
walk(source);
