/**
 * Key files (P-L3): no error path prints key material, and a key file others can read is warned about.
 * A known key is put where a user might put it by mistake (a bare hex file, the environment, a file with a
 * wrong address, a loose file), and every output of every failing command is searched for it.
 */
import { expect } from "chai";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Wallet } from "ethers";
import { DeviceKey } from "../../src/device";
import { startRpcServer } from "../helpers/batcher";
import { iotrail, tempDir } from "../helpers/cli";
import { suiteFixture } from "../helpers/suite";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";

describe("key files: nothing leaks, loose files are named (P-L3)", function () {
  this.timeout(120_000);
  let rpc: { url: string; close: () => Promise<void> };
  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });

  it("security (P-L3): no error path of the CLI prints any part of a known private key, even with --verbose", async function () {
    // A key whose hex starts with a letter: JSON.parse's message quotes such a file's first characters.
    let wallet = Wallet.createRandom();
    while (!/^0x[a-f]/.test(wallet.privateKey)) wallet = Wallet.createRandom();
    const secret = wallet.privateKey.slice(2).toLowerCase();
    const dir = tempDir();
    const raw = join(dir, "raw.hex");
    writeFileSync(raw, `${wallet.privateKey}\n`, { mode: 0o600 });
    const bare = join(dir, "bare.hex");
    writeFileSync(bare, `${secret}\n`, { mode: 0o600 });
    const mismatched = join(dir, "mismatched.json");
    writeFileSync(
      mismatched,
      JSON.stringify({ version: 1, address: DeviceKey.generate().address, privateKey: wallet.privateKey }),
      { mode: 0o600 },
    );
    const channel = `0x${"11".repeat(32)}`;
    const fx = await loadFixture(suiteFixture);
    const on = ["--rpc", rpc.url, "--deployments", fx.dir, "--verbose"];
    const runs = [
      await iotrail([...on, "--key", raw, "roles", "grant", "anchorer", wallet.address]),
      await iotrail([...on, "--key", mismatched, "roles", "grant", "anchorer", wallet.address]),
      await iotrail([...on, "--key", bare, "roles", "grant", "anchorer", wallet.address]),
      await iotrail([...on, "channel", "pay", channel, "--amount", "1", "--device", raw]),
      await iotrail([...on, "channel", "pay", channel, "--amount", "1", "--device", mismatched]),
      await iotrail([...on, "roles", "grant", "anchorer", wallet.address], {
        env: { IOTRAIL_PRIVATE_KEY: `${wallet.privateKey}zz` },
      }),
      await iotrail([...on, "roles", "grant", "anchorer", wallet.address], {
        env: { IOTRAIL_PRIVATE_KEY: wallet.privateKey.slice(0, 40) },
      }),
    ];
    for (const [i, run] of runs.entries()) {
      expect(run.code, `run ${i} fails`).to.not.equal(0);
      const printed = `${run.stdout}\n${run.stderr}`.toLowerCase();
      for (let at = 0; at + 10 <= secret.length; at += 6) {
        expect(printed, `run ${i} printed key material: ${run.stderr}`).to.not.contain(secret.slice(at, at + 10));
      }
    }
    expect(runs[0]!.stderr).to.contain("holds a bare private key");
    expect(runs[1]!.stderr).to.contain("address does not match");
    expect(runs[2]!.stderr).to.contain("holds a bare private key");
    expect(runs[5]!.stderr).to.contain("32 bytes of hex");
  });

  it("security (P-L3): a key file that its group or anyone can read is named with the fix", async function () {
    const path = join(tempDir(), "device.json");
    await DeviceKey.generate().save(path);
    chmodSync(path, 0o644);
    const warnings: string[] = [];
    const listener = (warning: Error & { code?: string }) => {
      if (warning.code === "IOTRAIL_LOOSE_KEY_FILE") warnings.push(warning.message);
    };
    process.on("warning", listener);
    try {
      await DeviceKey.load(path);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", listener);
    }
    expect(warnings).to.deep.equal([`the key file ${path} can be read by anyone (mode 644); run chmod 600 ${path}`]);
    chmodSync(path, 0o600);
    const quiet: string[] = [];
    const none = (warning: Error & { code?: string }) => quiet.push(String(warning.code));
    process.on("warning", none);
    await DeviceKey.load(path);
    await new Promise((resolve) => setImmediate(resolve));
    process.off("warning", none);
    expect(quiet).to.not.include("IOTRAIL_LOOSE_KEY_FILE");
  });
});
