/**
 * Offline compiler resolution: Hardhat is pointed at the `solc` npm package's `soljson.js`
 * instead of downloading a native compiler. The project's Solidity version and the installed
 * package must agree exactly, otherwise compilation stops with a clear message.
 */
import { createRequire } from "node:module";

export const SOLC_VERSION = "0.8.30";

const requireFromHere = createRequire(__filename);

export interface SolcBuild {
  version: string;
  longVersion: string;
  compilerPath: string;
  isSolcJs: true;
}

export function localSolcBuild(requested: string): SolcBuild {
  const installed: string = (requireFromHere("solc/package.json") as { version: string }).version;
  if (requested !== installed) {
    throw new Error(
      `iotrail compiles offline with the npm package solc@${installed}, but Solidity ${requested} was requested. ` +
        `Pin "solc": "${requested}" in package.json (and run npm install), or set the Hardhat solidity version to ${installed}.`,
    );
  }
  const solc = requireFromHere("solc") as { version(): string };
  // solc.version() looks like "0.8.30+commit.73712a01.Emscripten.clang".
  const longVersion = solc.version().replace(/\.Emscripten\.clang$/, "");
  return {
    version: requested,
    longVersion,
    compilerPath: requireFromHere.resolve("solc/soljson.js"),
    isSolcJs: true,
  };
}
