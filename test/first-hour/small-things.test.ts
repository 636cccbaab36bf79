/**
 * Issue 24, defect 14 (the smaller ones), each as a user met it: a missing voucher file gave a raw ENOENT; a
 * JSON syntax error in batcher.json hid its position unless --verbose; "1 transactions"; a doubled
 * "recorded in" line after a deploy; the sending account's missing key file was called a "device key file";
 * ethers' own "failed to detect network … retry in 1s" line before the batcher's error; JSON-only logs on a
 * terminal; the verifier page telling its user to "pin it with --anchor or --trust". (Ctrl-C during
 * register-batch is tested on a chain with a block time, in block-time-crash.test.ts.)
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import hre from "hardhat";
import { DeviceKey } from "../../src/device";
import { ConfigError } from "../../src/errors";
import { loadBatcherConfig } from "../../src/batcher";
import { chooseLogFormat } from "../../src/cli/batcher";
import { plural } from "../../src/cli/files";
import { verifyBundle } from "../../src/verify";
import { readingsOf } from "../helpers/anchor";
import { startRpcServer } from "../helpers/batcher";
import { CLI, iotrail, tempDir } from "../helpers/cli";
import { suiteBundle, suiteDevice, suiteFixture } from "../helpers/suite";

describe("first hour (issue 24): the small things", function () {
  let rpc: { url: string; close: () => Promise<void> };
  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });

  it("channel redeem of a missing file names the file, not ENOENT", async function () {
    const missing = join(tempDir(), "voucher.json");
    const result = await iotrail(["--rpc", rpc.url, "--account", "2", "channel", "redeem", missing]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain(`no voucher file at ${missing}`);
    expect(result.stderr).to.not.contain("ENOENT");
  });

  it("a JSON syntax error in batcher.json says where (line and column) without --verbose, and quotes nothing", function () {
    const file = join(tempDir(), "batcher.json");
    writeFileSync(file, '{\n  "sealing": { "maxAgeMs": 2000 }\n  "anchoring": { "confirmations": 1 }\n}\n');
    let error: unknown;
    try {
      loadBatcherConfig({ file, env: {} });
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as Error).message).to.match(/is not valid JSON: .* at line 3, column 3$/);
    expect((error as Error).message).to.not.contain("anchoring");
  });

  it("counts say 1 transaction, 2 transactions", function () {
    expect(plural(1, "transaction")).to.equal("1 transaction");
    expect(plural(3, "device")).to.equal("3 devices");
  });

  it("a missing key file is named as a key file (the sending account's --key, or a device's)", async function () {
    const missing = join(tempDir(), "nokey.json");
    const error = await DeviceKey.load(missing).catch((caught: unknown) => caught);
    expect((error as Error).message).to.equal(`no key file at ${missing}`);
  });

  it("a deploy prints where it recorded the deployment once", async function () {
    // Under solidity-coverage the child's network refuses the instrumented contracts' size (as in deploy.test.ts).
    if ((hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING === true) this.skip();
    const result = await iotrail(["--deployments", tempDir(), "deploy", "--network", "hardhat"]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout.match(/recorded in/g) ?? []).to.have.length(1);
  });

  it("a batcher whose node is down says so in its own words, with no line of ethers' own before it", async function () {
    // With a chain id configured (nothing asked the node before the first contract call) and without one
    // (ethers' detection printed its line on stdout).
    for (const chainId of ["31337", undefined]) {
      const config = join(tempDir(), "batcher.json");
      writeFileSync(
        config,
        JSON.stringify({
          rpcUrl: "http://127.0.0.1:9",
          ...(chainId === undefined ? {} : { chainId }),
          anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
          database: join(tempDir(), "b.sqlite"),
          anchoring: { enabled: false },
        }),
      );
      const result = await iotrail(["batcher", "--config", config, "--log-format", "json"]);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.contain("cannot reach the node at http://127.0.0.1:9");
      expect(result.stdout + result.stderr).to.not.contain("failed to detect network");
    }
  });

  it("the batcher's logs: readable lines on a terminal, JSON lines elsewhere, either on request", async function () {
    expect(chooseLogFormat(undefined, {}, true)).to.equal("pretty");
    expect(chooseLogFormat(undefined, {}, false)).to.equal("json");
    expect(chooseLogFormat(undefined, { LOG_FORMAT: "json" }, true)).to.equal("json");
    expect(chooseLogFormat("pretty", { LOG_FORMAT: "json" }, false)).to.equal("pretty");
    expect(() => chooseLogFormat(undefined, { LOG_FORMAT: "xml" }, false)).to.throw("expected pretty or json");
    const config = join(tempDir(), "batcher.json");
    writeFileSync(config, JSON.stringify({ rpcUrl: "http://127.0.0.1:9", anchoring: { enabled: false } }));
    const piped = await iotrail(["batcher", "--config", config]);
    expect(JSON.parse(piped.stdout.split("\n")[0]!)).to.include({ msg: "effective configuration" });
    const pretty = await iotrail(["batcher", "--config", config, "--log-format", "pretty"]);
    expect(pretty.stdout).to.match(/^\[[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\] INFO: effective configuration\n/);
    // On a real terminal (a pseudo-terminal from util-linux's `script`), with no flag: readable lines.
    if (existsSync("/usr/bin/script")) {
      const command = [process.execPath, CLI, "batcher", "--config", config].map((a) => `'${a}'`).join(" ");
      const tty = spawnSync("/usr/bin/script", ["-qec", command, "/dev/null"], {
        encoding: "utf8",
        env: { ...process.env, RPC_URL: "", LOG_FORMAT: "" },
      });
      // Colours aside (ANSI escapes: ESC, "[", parameters, "m").
      const plain = tty.stdout
        .split(String.fromCharCode(27))
        .map((part, i) => (i === 0 ? part : part.replace(/^\[[0-9;]*m/, "")))
        .join("");
      expect(plain).to.match(/\] INFO: effective configuration/);
    }
  });

  it("the verifier's note on an unpinned anchor names no CLI flag (the page shows it too)", async function () {
    const fx = await suiteFixture();
    const device = await suiteDevice(fx);
    const bundle = await suiteBundle(fx, device, readingsOf(device, 1));
    const report = await verifyBundle(JSON.stringify(bundle), { provider: hre.ethers.provider });
    const note = report.checks.find((c) => c.check === "anchor-contract")!;
    expect(note.status).to.equal("skip");
    expect(note.message).to.contain("pin the anchor you trust");
    expect(note.message).to.not.match(/--[a-z]/);
  });
});
