/**
 * Issue 24, defect 12: the README's `npx hardhat node` listened on 0.0.0.0:8545, exposing the node's
 * unlocked, funded accounts to the network, while the guide said 127.0.0.1. Every command the README gives
 * that starts a node names the loopback address.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";

describe("first hour (issue 24): the README's local nodes listen on loopback only", function () {
  it("every `hardhat node` and `anvil` the README tells a user to run binds 127.0.0.1", function () {
    const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
    const starts = [...readme.matchAll(/npx hardhat node[^\n`]*/g)].map((m) => m[0]);
    expect(starts.length, "the README starts a node somewhere").to.be.greaterThan(0);
    for (const command of starts) expect(command, command).to.contain("--hostname 127.0.0.1");
    // anvil binds 127.0.0.1 by default; a README that gave it --host 0.0.0.0 would be caught here.
    expect(readme).to.not.match(/anvil[^\n]*--host 0\.0\.0\.0/);
  });
});
