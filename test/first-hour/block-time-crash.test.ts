/**
 * Issue 24, defect 2: on a chain with a block time, as a testnet has, commands crashed after they succeeded:
 * `devices register-batch` printed its result, then died with ethers' unhandled "provider destroyed; cancelled
 * request (operation="eth_blockNumber")" and exit 1. The chain here is a testnet's shape: anvil with a 2-second
 * block time and Sepolia's chain id, reached as `--network sepolia` through `RPC_URL_SEPOLIA`.
 */
import { expect } from "chai";
import hre from "hardhat";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { anvilBinary, startAnvil } from "../../src/tooling/anvil";
import type { AnvilNode } from "../../src/tooling/anvil";
import { iotrail, iotrailOk, tempDir } from "../helpers/cli";
import { devAccountKey } from "../helpers/node";

const ROOT = join(__dirname, "..", "..");
/** Ignition's journal of this chain id: a testnet deploy resumes from it, so each run starts without one. */
const JOURNAL = join(ROOT, "ignition", "deployments", "iotrail-11155111");

describe("first hour (issue 24): commands end cleanly on a chain with a block time", function () {
  this.timeout(300_000);
  let node: AnvilNode;
  let env: Record<string, string>;
  let dir: string;

  before(async function () {
    if (
      anvilBinary() === undefined ||
      (hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING
    ) {
      if (process.env.CI === "true" && anvilBinary() === undefined) throw new Error("anvil is required in CI");
      this.skip();
    }
    rmSync(JOURNAL, { recursive: true, force: true });
    node = await startAnvil({ args: ["--block-time", "2", "--chain-id", "11155111"] });
    dir = tempDir();
    env = { RPC_URL_SEPOLIA: node.url, DEPLOYER_PRIVATE_KEY: devAccountKey(0), IOTRAIL_PRIVATE_KEY: devAccountKey(0) };
    await iotrailOk(["--deployments", join(dir, "deployments"), "deploy", "--network", "sepolia"], {
      env,
      cwd: ROOT,
    });
  });

  after(async function () {
    await node?.stop();
    rmSync(JOURNAL, { recursive: true, force: true });
  });

  it("register-batch and channel open exit 0 after their receipts, with no stack trace", async function () {
    const on = ["--network", "sepolia", "--deployments", join(dir, "deployments")];
    const fleet = join(dir, "fleet");
    await iotrailOk(["devices", "keygen", "--count", "3", "--out", fleet]);
    const registered = await iotrail([...on, "devices", "register-batch", join(fleet, "devices.csv")], { env });
    expect(registered.code, registered.stderr).to.equal(0);
    expect(registered.stdout).to.contain("registered 3 devices");
    expect(registered.stderr).to.not.contain("provider destroyed");
    const device = (await import("node:fs"))
      .readFileSync(join(fleet, "devices.csv"), "utf8")
      .split("\n")[1]!
      .split(",")[1]!;
    const opened = await iotrail(
      [
        ...on,
        "--json",
        "channel",
        "open",
        "--amount",
        "0.01",
        "--signer",
        device,
        "--payee",
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
      ],
      { env },
    );
    expect(opened.code, opened.stderr).to.equal(0);
    expect(opened.stderr).to.not.contain("provider destroyed");
    expect(opened.json<{ channelId: string }>().channelId).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("(14) Ctrl-C during register-batch waits for the transaction in flight, says how many landed and that a re-run resumes; the re-run does", async function () {
    const on = ["--network", "sepolia", "--deployments", join(dir, "deployments")];
    const fleet = join(dir, "fleet-interrupted");
    await iotrailOk(["devices", "keygen", "--count", "6", "--out", fleet]);
    const args = [...on, "devices", "register-batch", join(fleet, "devices.csv"), "--chunk", "1"];
    // One registration per transaction and a block every 2 s: Ctrl-C after 3 s lands mid-run.
    const interrupted = await iotrail(args, {
      env,
      onSpawn: (child) => setTimeout(() => child.kill("SIGINT"), 3_000),
    });
    expect(interrupted.code, interrupted.stderr).to.equal(130);
    expect(interrupted.stderr).to.contain("waiting for the transaction in flight");
    const landed =
      /interrupted: ([0-9]+) devices? of 6 registered in [0-9]+ transactions?; run the same command again to register the other ([0-9]+): registered keys are skipped/.exec(
        interrupted.stderr,
      );
    expect(landed, interrupted.stderr).to.not.equal(null);
    const count = Number(landed![1]);
    expect(count).to.be.within(1, 5);
    expect(Number(landed![2])).to.equal(6 - count);
    const resumed = await iotrail(args, { env });
    expect(resumed.code, resumed.stderr).to.equal(0);
    expect(resumed.stderr + resumed.stdout).to.contain(`${count} of 6 keys are registered already`);
    expect(resumed.stdout).to.contain(`registered ${6 - count} device`);
  });
});
