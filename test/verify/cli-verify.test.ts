import { expect } from "chai";
import hre from "hardhat";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import type { JsonRpcServer } from "hardhat/types";
import { bundleFixture, clone } from "../helpers/bundle";

const CLI = join(__dirname, "..", "..", "bin", "iotrail.js");

/** Runs the CLI asynchronously (the JSON-RPC server answering it lives in this process). */
function iotrail(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, RPC_URL: "" } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr });
    });
  });
}

describe("iotrail verify (CLI)", function () {
  let server: JsonRpcServer;
  let rpc: string;
  const dir = mkdtempSync(join(tmpdir(), "iotrail-verify-"));

  before(async function () {
    server = (await hre.run(TASK_NODE_CREATE_SERVER, {
      hostname: "127.0.0.1",
      port: 0,
      provider: hre.network.provider,
    })) as JsonRpcServer;
    const { address, port } = await server.listen();
    rpc = `http://${address}:${port}`;
  });

  after(async function () {
    await server.close();
  });

  it("verifies a bundle over JSON-RPC: readable report, exit 0", async function () {
    const fx = await loadFixture(bundleFixture);
    const path = join(dir, "good.json");
    writeFileSync(path, JSON.stringify(fx.bundle));
    const result = await iotrail(["verify", path, "--rpc", rpc]);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.contain("✔ device-valid");
    expect(result.stdout).to.contain("VERIFIED (online)");
  });

  it("--json prints the structured report; a failed check exits 1", async function () {
    const fx = await loadFixture(bundleFixture);
    const bundle = clone(fx.bundle);
    bundle.readings[0]!.reading.value = "1";
    const path = join(dir, "tampered.json");
    writeFileSync(path, JSON.stringify(bundle));
    const result = await iotrail(["verify", path, "--rpc", rpc, "--json"]);
    expect(result.code).to.equal(1);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: { check: string; status: string }[] };
    expect(report.ok).to.equal(false);
    expect(report.checks.filter((c) => c.status === "fail").map((c) => c.check)).to.deep.equal([
      "device-signature",
      "merkle-inclusion",
    ]);
  });

  it("without --rpc it runs offline and says which checks it skipped", async function () {
    const fx = await loadFixture(bundleFixture);
    const path = join(dir, "offline.json");
    writeFileSync(path, JSON.stringify(fx.bundle));
    const result = await iotrail(["verify", path]);
    expect(result.code).to.equal(0);
    expect(result.stdout).to.contain("– chain-id");
    expect(result.stdout).to.contain("VERIFIED (offline, 6 check(s) skipped)");
  });

  it("malformed JSON exits 1 with a failed json check; a missing file exits 2", async function () {
    const path = join(dir, "broken.json");
    writeFileSync(path, "{ not json");
    const broken = await iotrail(["verify", path]);
    expect(broken.code).to.equal(1);
    expect(broken.stdout).to.contain("✘ json");
    const missing = await iotrail(["verify", join(dir, "nope.json")]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/^iotrail: ENOENT/);
  });

  it("rejects a bad --confirmations value with exit 2", async function () {
    const result = await iotrail(["verify", "x.json", "--confirmations", "-3"]);
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.contain("non-negative integer");
  });
});
