// Builds the optional batch-verification addon (native/secp256k1-batch) with node-gyp; `npm ci` runs this
// as the root package's postinstall (npm does not run install scripts of linked `file:` packages there).
// A failed build is not fatal: signatures are then recovered one by one (slower, the same verdicts).
"use strict";
const { spawnSync } = require("node:child_process");
const { existsSync } = require("node:fs");
const { dirname, join } = require("node:path");

const gyp =
  process.env.npm_config_node_gyp ??
  join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js");
const args = [gyp, "rebuild", "--loglevel=warn"];
// Build against this Node's own headers when npm did not say where they are (never download them).
const headers = join(dirname(process.execPath), "..");
if (process.env.npm_config_nodedir === undefined && existsSync(join(headers, "include", "node", "node_api.h"))) {
  args.push(`--nodedir=${headers}`);
}
const result = spawnSync(process.execPath, args, { cwd: join(__dirname, "secp256k1-batch"), stdio: "inherit" });
if (result.status !== 0) {
  console.warn("iotrail: native/secp256k1-batch did not build; signatures will be checked one by one");
}
