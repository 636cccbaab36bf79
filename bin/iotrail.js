#!/usr/bin/env node
// The `iotrail` command: the compiled CLI (`npm run build` writes dist/). In a checkout that was never
// built, it falls back to running the TypeScript sources through ts-node (a development dependency).
"use strict";
const { existsSync } = require("node:fs");
const { join } = require("node:path");

const compiled = join(__dirname, "..", "dist", "src", "cli", "main.js");
if (existsSync(compiled)) {
  require(compiled).main(process.argv);
} else {
  require("ts-node").register({ transpileOnly: true, project: join(__dirname, "..", "tsconfig.json") });
  require("../src/cli/main.ts").main(process.argv);
}
