import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deploySuite } from "../../src/deploy";
import { connectSuite, parseDeploymentRecord, readDeployment, resolveDeployment } from "../../src/deployments";
import { ConfigError } from "../../src/errors";
import { startRpcServer } from "../helpers/batcher";
import { expectRejected } from "../helpers/expect";
import { iotrail, iotrailOk, tempDir } from "../helpers/cli";
import { suiteFixture } from "../helpers/suite";

const FIXTURE = join(__dirname, "..", "fixtures", "deployments.v1.json");

describe("deploySuite (Ignition, whole suite)", function () {
  it("deploys registry, anchor, channels, escrow and the DemoToken, wires roles, and records it per chain id", async function () {
    const { record, dir } = await loadFixture(suiteFixture);
    const [deployer] = await ethers.getSigners();
    expect(record.chainId).to.equal("31337");
    expect(record.deployer).to.equal(deployer!.address);
    expect(await readDeployment(dir, 31337n)).to.deep.equal(record);

    const registry = await ethers.getContractAt("DeviceRegistry", record.contracts.DeviceRegistry.address);
    const anchor = await ethers.getContractAt("TelemetryAnchor", record.contracts.TelemetryAnchor.address);
    const channels = await ethers.getContractAt("PaymentChannels", record.contracts.PaymentChannels.address);
    const escrow = await ethers.getContractAt("ConditionalEscrow", record.contracts.ConditionalEscrow.address);
    const token = await ethers.getContractAt("DemoToken", record.contracts.DemoToken!.address);
    expect(await registry.hasRole(await registry.MANUFACTURER_ROLE(), deployer!.address)).to.equal(true);
    expect(await anchor.hasRole(await anchor.ANCHORER_ROLE(), deployer!.address)).to.equal(true);
    expect(await anchor.registry()).to.equal(await registry.getAddress());
    expect(await escrow.anchor()).to.equal(await anchor.getAddress());
    expect(await token.decimals()).to.equal(6n);
    void channels;
    // Each recorded transaction is the one that created the contract, in the recorded block.
    for (const entry of Object.values(record.contracts)) {
      const receipt = await ethers.provider.getTransactionReceipt(entry.transactionHash);
      expect(receipt!.contractAddress).to.equal(entry.address);
      expect(receipt!.blockNumber).to.equal(entry.blockNumber);
    }
  });

  it("hands the admin role to the named admin and renounces the deployer's", async function () {
    const [deployer, admin, manufacturer, anchorer] = await ethers.getSigners();
    const dir = tempDir();
    const { record } = await deploySuite(hre, {
      dir,
      admin: admin!.address,
      manufacturers: [manufacturer!.address],
      anchorers: [anchorer!.address],
      demoToken: false,
    });
    const registry = await ethers.getContractAt("DeviceRegistry", record.contracts.DeviceRegistry.address);
    const anchor = await ethers.getContractAt("TelemetryAnchor", record.contracts.TelemetryAnchor.address);
    const adminRole = await registry.DEFAULT_ADMIN_ROLE();
    for (const contract of [registry, anchor]) {
      expect(await contract.hasRole(adminRole, admin!.address)).to.equal(true);
      expect(await contract.hasRole(adminRole, deployer!.address)).to.equal(false);
    }
    expect(await registry.hasRole(await registry.MANUFACTURER_ROLE(), manufacturer!.address)).to.equal(true);
    expect(await registry.hasRole(await registry.MANUFACTURER_ROLE(), deployer!.address)).to.equal(false);
    expect(await anchor.hasRole(await anchor.ANCHORER_ROLE(), anchorer!.address)).to.equal(true);
    expect(record.contracts.DemoToken).to.equal(undefined);
    expect(record.roles).to.deep.equal({
      admin: admin!.address,
      manufacturers: [manufacturer!.address],
      anchorers: [anchorer!.address],
    });
  });

  it("security (P-I2): --admin alone hands every role over: the deployer keeps no manufacturer or anchorer role", async function () {
    const [deployer, , , , , , admin] = await ethers.getSigners();
    const { record } = await deploySuite(hre, { dir: tempDir(), admin: admin!.address, demoToken: false });
    const registry = await ethers.getContractAt("DeviceRegistry", record.contracts.DeviceRegistry.address);
    const anchor = await ethers.getContractAt("TelemetryAnchor", record.contracts.TelemetryAnchor.address);
    for (const [contract, role] of [
      [registry, await registry.MANUFACTURER_ROLE()],
      [anchor, await anchor.ANCHORER_ROLE()],
      [registry, await registry.DEFAULT_ADMIN_ROLE()],
      [anchor, await anchor.DEFAULT_ADMIN_ROLE()],
    ] as const) {
      expect(await contract.hasRole(role, deployer!.address), `deployer keeps ${role}`).to.equal(false);
      expect(await contract.hasRole(role, admin!.address)).to.equal(true);
    }
    expect(record.roles).to.deep.equal({
      admin: admin!.address,
      manufacturers: [admin!.address],
      anchorers: [admin!.address],
    });
  });

  it("verifies each contract's source with hardhat-verify, with the recorded constructor arguments", async function () {
    const calls: { address: string; constructorArguments: string[] }[] = [];
    const task = hre.tasks["verify:verify"]!;
    const original = task.action;
    task.setAction(async (args: { address: string; constructorArguments: string[] }) => {
      calls.push(args);
      if (calls.length === 2) throw new Error("Contract source code already verified");
    });
    try {
      const { record, verified } = await deploySuite(hre, { dir: tempDir(), verifySources: true, demoToken: false });
      expect(verified).to.deep.equal(["DeviceRegistry", "TelemetryAnchor", "PaymentChannels", "ConditionalEscrow"]);
      expect(calls.map(({ address, constructorArguments }) => ({ address, constructorArguments }))).to.deep.equal(
        Object.values(record.contracts).map((c) => ({ address: c.address, constructorArguments: c.constructorArgs })),
      );
      expect(calls[2]!.constructorArguments).to.deep.equal([record.contracts.DeviceRegistry.address, "86400"]);
    } finally {
      task.setAction(original);
    }
  });
});

describe("connectSuite (SDK)", function () {
  it("gives the clients of the deployment recorded for the runner's chain", async function () {
    const { record, dir } = await loadFixture(suiteFixture);
    const [signer] = await ethers.getSigners();
    const suite = await connectSuite(signer!, dir);
    expect(suite.record).to.deep.equal(record);
    expect(await suite.anchor.contract.getAddress()).to.equal(record.contracts.TelemetryAnchor.address);
    expect(await suite.registry.lotCount()).to.equal(0n);
    expect((await suite.channels.domain()).verifyingContract).to.equal(record.contracts.PaymentChannels.address);
  });
});

describe("deployment records (deployments.v1)", function () {
  it("the golden fixture parses; a changed field or an unknown one is refused with the path named", function () {
    const text = readFileSync(FIXTURE, "utf8");
    const record = parseDeploymentRecord(text, "fixture");
    expect(record.contracts.TelemetryAnchor.address).to.match(/^0x/);
    const wrongVersion = { ...JSON.parse(text), version: 2 };
    expect(() => parseDeploymentRecord(JSON.stringify(wrongVersion), "x")).to.throw(ConfigError, "/version");
    const extra = { ...JSON.parse(text), extra: 1 };
    expect(() => parseDeploymentRecord(JSON.stringify(extra), "x")).to.throw(ConfigError, "additional properties");
    const badChecksum = JSON.parse(text);
    badChecksum.contracts.TelemetryAnchor.address = badChecksum.contracts.TelemetryAnchor.address.replace(
      /[a-f]/,
      (c: string) => c.toUpperCase(),
    );
    expect(() => parseDeploymentRecord(JSON.stringify(badChecksum), "x")).to.throw(ConfigError, "EIP-55");
  });

  it("a record whose contracts have no code on the chain (a restarted node) is refused, not used", async function () {
    const dir = tempDir();
    const record = JSON.parse(readFileSync(FIXTURE, "utf8"));
    // Addresses nothing was ever deployed to here (the fixture's are Hardhat's first deployment addresses).
    for (const entry of Object.values(record.contracts) as { address: string }[]) {
      entry.address = ethers.Wallet.createRandom().address;
    }
    writeFileSync(join(dir, "31337.json"), JSON.stringify(record));
    await expectRejected(resolveDeployment(ethers.provider, dir), "no code on chain 31337");
  });

  it("a chain without a record names the folder and how to deploy", async function () {
    await expectRejected(resolveDeployment(ethers.provider, tempDir()), "no deployment recorded for chain 31337");
  });
});

describe("iotrail deploy / iotrail deployment (CLI)", function () {
  it("deploys to a node with --network localhost, then `iotrail deployment` reads the recorded addresses", async function () {
    const rpc = await startRpcServer();
    try {
      const dir = tempDir();
      const env = { LOCALHOST_RPC_URL: rpc.url };
      const deployed = await iotrailOk(["--deployments", dir, "--json", "deploy", "--network", "localhost"], { env });
      const record = deployed.json<{ chainId: string; contracts: Record<string, { address: string }> }>();
      expect(record.chainId).to.equal("31337");
      const shown = await iotrailOk(["--deployments", dir, "--rpc", rpc.url, "--json", "deployment"]);
      expect(shown.json<{ contracts: unknown }>().contracts).to.deep.equal(record.contracts);
      const text = await iotrailOk(["--deployments", dir, "--rpc", rpc.url, "deployment"]);
      expect(text.stdout).to.contain(record.contracts.TelemetryAnchor!.address);
      const registry = await ethers.getContractAt("DeviceRegistry", record.contracts.DeviceRegistry!.address);
      expect(await registry.lotCount()).to.equal(0n);
    } finally {
      await rpc.close();
    }
  });

  it("deploys to the in-process chain (--network hardhat) and exits", async function () {
    // Under solidity-coverage the artifacts are instrumented and too large for a plain in-process chain
    // (coverage's own network allows them; the child process's does not). npm test runs this test.
    if ((hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING === true) this.skip();
    const dir = tempDir();
    const result = await iotrailOk(["--deployments", dir, "deploy", "--network", "hardhat"]);
    expect(result.stdout).to.contain("deployed to hardhat (chain 31337)");
    expect(parseDeploymentRecord(readFileSync(join(dir, "31337.json"), "utf8"), "record").network).to.equal("hardhat");
  });

  it("an unknown network names the variable that defines it", async function () {
    const result = await iotrail(["deploy", "--network", "sepolia"]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain("RPC_URL_SEPOLIA");
  });
});
