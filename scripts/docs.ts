// Writes the typed-data reference (docs/typed-data.json and docs/typed-data.md) from src/eip712 and the ABIs.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import hre from "hardhat";
import { renderTypedDataDocs, TYPED_DATA_DOCS } from "../src/tooling/typed-data-docs";

async function main(): Promise<void> {
  const docs = await renderTypedDataDocs(async (contract) => (await hre.artifacts.readArtifact(contract)).abi);
  mkdirSync(dirname(TYPED_DATA_DOCS.json), { recursive: true });
  writeFileSync(TYPED_DATA_DOCS.json, docs.json);
  writeFileSync(TYPED_DATA_DOCS.markdown, docs.markdown);
  console.log(`wrote ${TYPED_DATA_DOCS.json} and ${TYPED_DATA_DOCS.markdown}`);
}

void main();
