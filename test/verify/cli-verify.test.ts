import { expect } from "chai";
import hre from "hardhat";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";
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

  it("verifies a bundle over JSON-RPC against the pinned anchor: readable report, exit 0", async function () {
    const fx = await loadFixture(bundleFixture);
    const path = join(dir, "good.json");
    writeFileSync(path, JSON.stringify(fx.bundle));
    const result = await iotrail(["verify", path, "--rpc", rpc, "--anchor", fx.telemetry.verifyingContract]);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.contain("✔ device-valid");
    expect(result.stdout).to.contain("VERIFIED (online, against the anchor pinned by --anchor)");
  });

  it("security (M-3): an unpinned run exits 3, never 0", async function () {
    const fx = await loadFixture(bundleFixture);
    const path = join(dir, "unpinned.json");
    writeFileSync(path, JSON.stringify(fx.bundle));
    const result = await iotrail(["verify", path, "--rpc", rpc]);
    expect(result.code, result.stdout + result.stderr).to.equal(3);
    expect(result.stdout).to.contain("NOT FULLY VERIFIED: no pinned anchor");
  });

  it("a trust file pins the anchor per chain id: 0 for its anchor, 1 for another, 3 for a chain it does not pin", async function () {
    const fx = await loadFixture(bundleFixture);
    const path = join(dir, "trusted.json");
    writeFileSync(path, JSON.stringify(fx.bundle));
    const trust = (chainId: string, anchor: string) => {
      const file = join(dir, `trust-${chainId}-${anchor}.json`);
      writeFileSync(file, JSON.stringify({ version: 1, kind: "iotrail.trust", chains: { [chainId]: { anchor } } }));
      return file;
    };
    const good = await iotrail([
      "verify",
      path,
      "--rpc",
      rpc,
      "--trust",
      trust("31337", fx.telemetry.verifyingContract),
    ]);
    expect(good.code, good.stdout + good.stderr).to.equal(0);
    expect(good.stdout).to.contain("pinned by trust file");
    const other = await iotrail(["verify", path, "--rpc", rpc, "--trust", trust("31337", fx.other.address)]);
    expect(other.code).to.equal(1);
    expect(other.stdout).to.contain("✘ anchor-contract");
    const elsewhere = await iotrail([
      "verify",
      path,
      "--rpc",
      rpc,
      "--trust",
      trust("1", fx.telemetry.verifyingContract),
    ]);
    expect(elsewhere.code).to.equal(3);
  });

  it("security (M-3): a node that never answers gives a clear error and exit 3 within the timeout", async function () {
    const fx = await loadFixture(bundleFixture);
    const path = join(dir, "silent.json");
    writeFileSync(path, JSON.stringify(fx.bundle));
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const started = Date.now();
      const result = await iotrail([
        "verify",
        path,
        "--rpc",
        url,
        "--anchor",
        fx.telemetry.verifyingContract,
        "--timeout",
        "2",
      ]);
      expect(Date.now() - started).to.be.below(20_000);
      expect(result.code, result.stdout + result.stderr).to.equal(3);
      expect(result.stdout).to.contain(
        "the chain could not be reached: eth_chainId: no answer from the node within 2 s",
      );
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
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

  it("security (M-3): without --rpc it runs offline, says which checks it skipped, and exits 3", async function () {
    const fx = await loadFixture(bundleFixture);
    const path = join(dir, "offline.json");
    writeFileSync(path, JSON.stringify(fx.bundle));
    const result = await iotrail(["verify", path, "--anchor", fx.telemetry.verifyingContract]);
    expect(result.code).to.equal(3);
    expect(result.stdout).to.contain("– chain-id");
    expect(result.stdout).to.contain("NOT FULLY VERIFIED: offline");
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
