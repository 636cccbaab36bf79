// Writes web/verifier/known-deployments.json: the anchor and registry of each deployment recorded in
// deployments/ (development chains aside: their addresses mean nothing outside one machine), which the
// verifier page offers as the pin for bundles of those chains.
"use strict";
const { existsSync, readdirSync, readFileSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");

const root = join(__dirname, "..");
const dir = join(root, "deployments");
const known = {};
if (existsSync(dir)) {
  for (const name of readdirSync(dir).filter((n) => /^[0-9]+\.json$/.test(n))) {
    const record = JSON.parse(readFileSync(join(dir, name), "utf8"));
    if (record.kind !== "iotrail.deployments" || record.chainId === "31337") continue;
    known[record.chainId] = {
      network: record.network,
      anchor: record.contracts.TelemetryAnchor.address,
      registry: record.contracts.DeviceRegistry.address,
    };
  }
}
writeFileSync(join(root, "web", "verifier", "known-deployments.json"), `${JSON.stringify(known, null, 2)}\n`);
