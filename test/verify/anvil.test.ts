import { expect } from "chai";
import hre from "hardhat";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonRpcProvider, id } from "ethers";
import type { JsonRpcSigner } from "ethers";
import { TelemetryAnchorClient } from "../../src/anchor";
import { DeviceKey } from "../../src/device";
import { buildProofBundle } from "../../src/proof";
import { DeviceRegistryClient, registerDeviceKeys } from "../../src/registry";
import { ReadingBatch, metricId, ZERO_HASH } from "../../src/telemetry";
import { anvilBinary, startAnvil } from "../../src/tooling/anvil";
import type { AnvilNode } from "../../src/tooling/anvil";
import { pinTrust, verifyBundle } from "../../src/verify";
import type { VerificationReport } from "../../src/verify";
import { deployRegistryAndAnchor } from "../helpers/node";

const CLI = join(__dirname, "..", "..", "bin", "iotrail.js");
const failed = (r: VerificationReport) => [...new Set(r.checks.filter((c) => c.status === "fail").map((c) => c.check))];

describe("verifyBundle against anvil (an independent JSON-RPC node)", function () {
  let node: AnvilNode;
  let provider: JsonRpcProvider;

  before(async function () {
    // The anvil binary ships for linux-x64 here; and under solidity-coverage the instrumented contracts exceed
    // the EIP-170 size limit that a real node enforces (the coverage run checks contracts, not nodes).
    if (
      anvilBinary() === undefined ||
      (hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING
    ) {
      this.skip();
    }
    node = await startAnvil();
    provider = new JsonRpcProvider(node.url, undefined, { pollingInterval: 50 });
  });

  after(async function () {
    provider?.destroy();
    await node?.stop();
  });

  it("anchors on anvil, verifies the bundle (library and CLI), and detects a reorganized anchor", async function () {
    const [admin, manufacturer, owner, batcher] = (await Promise.all(
      [0, 1, 2, 3].map((i) => provider.getSigner(i)),
    )) as JsonRpcSigner[];
    const { registry, anchor: anchorContract } = await deployRegistryAndAnchor(admin!, {
      manufacturer: manufacturer!.address,
      anchorer: batcher!.address,
    });
    const device = DeviceKey.generate();
    const { timestamp } = (await provider.getBlock("latest"))!;
    await registerDeviceKeys({
      registry: new DeviceRegistryClient({ contract: registry.connect(manufacturer) }),
      registrant: manufacturer!.address,
      keys: [device],
      owner: owner!.address,
      metadataHash: () => id("anvil device"),
      deadline: BigInt(timestamp) + 3600n,
    });

    const anchor = new TelemetryAnchorClient({ contract: anchorContract.connect(batcher) });
    const domain = await anchor.domain();
    const readings = [1n, 2n, 3n, 4n].map((sequence) => ({
      device: device.address,
      sequence,
      timestamp: BigInt(timestamp) + sequence,
      metric: metricId("temperature.mC"),
      value: 4_000n + sequence,
      payloadHash: ZERO_HASH,
    }));
    const batch = await ReadingBatch.build(
      readings.map((r) => ({ reading: r, signature: device.signReading(domain, r) })),
    );
    const anchored = await anchor.anchor(batch.header());
    const { anchoredAt } = await anchor.getAnchor(batch.root);
    const bundle = buildProofBundle({
      chainId: domain.chainId,
      anchor: domain.verifyingContract,
      registry: await registry.getAddress(),
      sources: [{ batch, anchored: { ...anchored, anchoredAt }, indices: [0, 1, 2, 3] }],
    });

    const trusted = pinTrust({ anchor: domain.verifyingContract }, { kind: "program", what: "test" });
    const report = await verifyBundle(JSON.stringify(bundle), { provider, trusted });
    expect(report.ok, JSON.stringify(report.checks.filter((c) => c.status !== "pass"))).to.equal(true);
    expect(report.checks.every((c) => c.status === "pass")).to.equal(true);

    const path = join(mkdtempSync(join(tmpdir(), "iotrail-anvil-")), "bundle.json");
    writeFileSync(path, JSON.stringify(bundle));
    const code = await new Promise<number>((resolve) =>
      execFile(
        process.execPath,
        [CLI, "verify", path, "--rpc", node.url, "--anchor", domain.verifyingContract],
        (error) => resolve(error === null ? 0 : Number(error.code)),
      ),
    );
    expect(code).to.equal(0);

    // Reorganize the anchoring block away: the same bundle must now fail against the chain.
    const head = await provider.getBlockNumber();
    await provider.send("anvil_reorg", [head - anchored.blockNumber + 1, []]);
    // A partner checking later (a fresh client each time: ethers caches identical requests for a moment).
    const check = async () => {
      const later = new JsonRpcProvider(node.url);
      try {
        return await verifyBundle(JSON.stringify(bundle), { provider: later, trusted });
      } finally {
        later.destroy();
      }
    };
    const reorganized = await check();
    expect(failed(reorganized)).to.deep.equal(["root-anchored"]);
    expect(reorganized.checks.find((c) => c.check === "anchor-transaction")!.status).to.equal("skip");

    // The batcher anchors the same root again: same batch id, another transaction and block. The old
    // bundle's root is anchored again, but its transaction and block are not the chain's any more.
    const again = await anchor.anchor(batch.header());
    expect(again.batchId).to.equal(anchored.batchId);
    const reanchored = await check();
    // The bundle's anchoring time is checked too: it fails when the new anchor fell in another second.
    const later = (await anchor.getAnchor(batch.root)).anchoredAt;
    const moved = later === anchoredAt ? [] : ["root-anchored"];
    expect(failed(reanchored)).to.deep.equal([...moved, "anchor-transaction", "confirmations"]);
  });
});
