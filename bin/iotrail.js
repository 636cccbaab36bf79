#!/usr/bin/env node
// Runs the TypeScript CLI in place (the repository is not published as compiled JavaScript yet).
require("ts-node").register({
  transpileOnly: true,
  project: require("node:path").join(__dirname, "..", "tsconfig.json"),
});
require("../src/cli/main.ts").main(process.argv);
