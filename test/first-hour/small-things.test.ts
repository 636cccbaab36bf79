/**
 * Issue 24, defect 14 (the smaller ones), each as a user met it: a missing voucher file gave a raw ENOENT; a
 * JSON syntax error in batcher.json hid its position unless --verbose; "1 transactions"; a doubled
 * "recorded in" line after a deploy; the sending account's missing key file was called a "device key file".
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import hre from "hardhat";
import { DeviceKey } from "../../src/device";
import { ConfigError } from "../../src/errors";
import { loadBatcherConfig } from "../../src/batcher";
import { plural } from "../../src/cli/files";
import { startRpcServer } from "../helpers/batcher";
import { iotrail, tempDir } from "../helpers/cli";

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
});
