import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { BatcherService } from "../../src/batcher";
import { DeviceKey } from "../../src/device";
import type { SimulationSummary } from "../../src/simulator";
import { ANCHORER_KEY, contractsTestConfig, startBatcher, startRpcServer, waitFor } from "../helpers/batcher";
import { iotrail, iotrailOk, tempDir } from "../helpers/cli";
import { suiteFixture } from "../helpers/suite";
import { ethers } from "hardhat";

describe("iotrail simulate / bundle / verify (CLI against a running batcher)", function () {
  let rpc: { url: string; close: () => Promise<void> };
  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });

  /** The suite deployed, the batcher's account made an anchorer through the CLI, and a batcher on it. */
  async function simulateFixture() {
    const fx = await suiteFixture();
    const on = ["--rpc", rpc.url, "--deployments", fx.dir];
    await iotrailOk([...on, "--account", "0", "roles", "grant", "anchorer", new ethers.Wallet(ANCHORER_KEY).address]);
    const fleet = join(tempDir(), "fleet");
    await iotrailOk(["devices", "keygen", "--count", "4", "--out", fleet]);
    return { ...fx, on, fleet, csv: join(fleet, "devices.csv") };
  }

  async function withBatcher<T>(
    dir: string,
    fn: (service: BatcherService) => Promise<T>,
    overrides: Record<string, unknown> = {},
  ): Promise<T> {
    const service = await startBatcher(
      contractsTestConfig(
        rpc.url,
        { chainId: 31337n, deployments: dir },
        {
          anchoring: { ...contractsTestConfig(rpc.url, { chainId: 31337n }).anchoring, confirmations: 1 },
          ...overrides,
        },
      ),
    );
    try {
      return await fn(service);
    } finally {
      await service.stop();
    }
  }

  it("devices registered by --register publish over MQTT; every reading is acknowledged, anchored, and a range bundle verifies", async function () {
    const { on, csv, dir, fleet } = await loadFixture(simulateFixture);
    await withBatcher(dir, async (service) => {
      const run = await iotrailOk([
        ...on,
        "--account",
        "0",
        "--json",
        "simulate",
        "--devices",
        csv,
        "--to",
        service.mqttUrl!,
        "--rate",
        "400",
        "--count",
        "25",
        "--first-sequence",
        "1",
        "--register",
      ]);
      const summary = run.json<SimulationSummary>();
      expect(summary).to.deep.include({
        transport: "mqtt",
        devices: 4,
        sent: 100,
        acknowledged: 100,
        duplicates: 0,
        busy: 0,
        unanswered: 0,
      });
      expect(summary.rejected).to.deep.equal({});
      expect(summary.latencyMs.p99).to.be.at.least(summary.latencyMs.p50);
      expect(summary.sequences[0]).to.deep.include({ from: "1", to: "25" });

      // Found anchored: the range bundle of each device comes from the batcher once its batches are final.
      const first = (await DeviceKey.load(join(fleet, "device-1.json"))).address;
      await waitFor(
        async () => {
          const response = await fetch(`${service.httpUrl}/v1/devices/${first}/bundle?from=1&to=25`);
          return response.status === 200 ? true : undefined;
        },
        20_000,
        "the range to be anchored",
      );
      const out = tempDir();
      const bundles: string[] = [];
      for (const line of readFileSync(csv, "utf8").trim().split("\n").slice(1)) {
        const device = line.split(",")[1]!;
        const file = join(out, `${device}.json`);
        await waitFor(
          async () =>
            (await iotrail(["bundle", "--from", service.httpUrl, "--device", device, "--range", "1..25", "-o", file]))
              .code === 0
              ? true
              : undefined,
          20_000,
          "a bundle",
        );
        bundles.push(file);
      }
      const bundle = JSON.parse(readFileSync(bundles[0]!, "utf8")) as { readings: unknown[]; range: unknown };
      expect(bundle.readings).to.have.length(25);
      expect(bundle.range).to.deep.equal({ fromSequence: "1", toSequence: "25" });

      // The partner pins its own deployment record; all four verify, one by one, in one run.
      const verified = await iotrail([...on, "verify", ...bundles]);
      expect(verified.code, verified.stdout + verified.stderr).to.equal(0);
      expect(verified.stdout).to.contain("4 verified, 0 failed, 0 not fully verified");

      // One edited value among them: that bundle fails, and the run exits 1.
      const tampered = JSON.parse(readFileSync(bundles[1]!, "utf8")) as { readings: { reading: { value: string } }[] };
      tampered.readings[3]!.reading.value = "99999";
      writeFileSync(bundles[1]!, JSON.stringify(tampered));
      const mixed = await iotrail([...on, "--json", "verify", ...bundles]);
      expect(mixed.code).to.equal(1);
      expect(mixed.json<{ file: string; report: { verdict: string } }[]>().map((r) => r.report.verdict)).to.deep.equal([
        "verified",
        "failed",
        "verified",
        "verified",
      ]);

      // A range the batcher does not hold completely is refused with what is missing, not served.
      const gap = await iotrail(["bundle", "--from", service.httpUrl, "--device", first, "--range", "20..30"]);
      expect(gap.code).to.equal(2);
      expect(gap.stderr).to.contain("answered 409");
      expect(gap.stderr).to.contain("holds 6 of the 11 readings of 20..30");
    });
  });

  it("--format cbor (version-2 messages) over MQTT (the topic names the device) and HTTP: every reading is acknowledged", async function () {
    const { on, csv, dir } = await loadFixture(simulateFixture);
    await withBatcher(dir, async (service) => {
      const common = [...on, "--account", "0", "--json", "simulate", "--devices", csv, "--format", "cbor"];
      const overMqtt = await iotrailOk([
        ...common,
        "--to",
        service.mqttUrl!,
        "--rate",
        "400",
        "--count",
        "10",
        "--first-sequence",
        "1",
        "--register",
      ]);
      const overHttp = await iotrailOk([
        ...common,
        "--to",
        service.httpUrl,
        "--rate",
        "400",
        "--count",
        "10",
        "--first-sequence",
        "11",
      ]);
      for (const [run, transport] of [
        [overMqtt, "mqtt"],
        [overHttp, "http"],
      ] as const) {
        const summary = run.json<SimulationSummary>();
        expect(summary, transport).to.deep.include({ transport, sent: 40, acknowledged: 40, unanswered: 0 });
        expect(summary.rejected, transport).to.deep.equal({});
      }
    });
  });

  it("over HTTP, and a batch's bundles in one folder; unregistered devices are counted by rejection code", async function () {
    const { on, csv, dir } = await loadFixture(simulateFixture);
    await withBatcher(dir, async (service) => {
      const run = await iotrailOk([
        ...on,
        "--account",
        "0",
        "--json",
        "simulate",
        "--devices",
        csv,
        "--to",
        service.httpUrl,
        "--rate",
        "500",
        "--count",
        "10",
        "--first-sequence",
        "100",
        "--http-batch",
        "7",
        "--register",
      ]);
      expect(run.json<SimulationSummary>()).to.deep.include({
        transport: "http",
        sent: 40,
        acknowledged: 40,
        unanswered: 0,
      });
      await waitFor(
        async () => {
          const response = await fetch(`${service.httpUrl}/v1/batches/1`);
          const view = (await response.json()) as { status?: string };
          return view.status === "final" || view.status === "anchored" ? true : undefined;
        },
        20_000,
        "batch 1 anchored",
      );
      const out = join(tempDir(), "batch-1");
      const fetched = await iotrailOk(["--json", "bundle", "--from", service.httpUrl, "--batch", "1", "-o", out]);
      expect(fetched.json<{ bundles: number }>().bundles).to.be.greaterThan(0);

      const strangers = join(tempDir(), "strangers");
      await iotrailOk(["devices", "keygen", "--count", "2", "--out", strangers]);
      const refused = await iotrail([
        ...on,
        "--json",
        "simulate",
        "--devices",
        join(strangers, "devices.csv"),
        "--to",
        service.httpUrl,
        "--count",
        "3",
        "--rate",
        "100",
      ]);
      expect(refused.code).to.equal(1);
      const summary = refused.json<SimulationSummary>();
      expect(summary.acknowledged).to.equal(0);
      expect(summary.rejected).to.deep.equal({ E_UNKNOWN_DEVICE: 6 });
    });
  });

  it("a lot's devices: --lot claims the unclaimed entries first, then they publish", async function () {
    const { on, dir } = await loadFixture(simulateFixture);
    const keys = join(tempDir(), "lot");
    await iotrailOk(["devices", "keygen", "--count", "3", "--out", keys]);
    const lotFile = join(tempDir(), "lot.json");
    await iotrailOk(["devices", "lot", "build", join(keys, "devices.csv"), "-o", lotFile]);
    const lotId = (await iotrailOk([...on, "--account", "0", "--json", "devices", "lot", "commit", lotFile])).json()
      .lotId as string;
    await withBatcher(dir, async (service) => {
      const lotRun = (count: string, firstSequence: string) =>
        iotrailOk(
          [...on, "--account", "4", "--json", "simulate", "--lot", lotFile, "--lot-id", lotId].concat([
            "--to",
            service.httpUrl,
            "--count",
            count,
            "--rate",
            "100",
            "--first-sequence",
            firstSequence,
          ]),
        );
      const run = await lotRun("5", "1");
      expect(run.json<SimulationSummary>()).to.deep.include({ sent: 15, acknowledged: 15, unanswered: 0 });
      const again = await lotRun("1", "6");
      expect(again.json<SimulationSummary>().acknowledged, "claimed once; the second run only publishes").to.equal(3);
    });
    const neither = await iotrail([...on, "simulate", "--to", "http://127.0.0.1:1"]);
    expect(neither.stderr).to.contain("--devices <file> or --lot <lot.json>");
  });

  it("a lot the batcher holds: --lot --unclaimed claims nothing, and every reading of the unclaimed entries is accepted", async function () {
    const { on, dir, record } = await loadFixture(simulateFixture);
    const registry = await ethers.getContractAt("DeviceRegistry", record.contracts.DeviceRegistry.address);
    const keys = join(tempDir(), "lot");
    await iotrailOk(["devices", "keygen", "--count", "3", "--out", keys]);
    const lotFile = join(tempDir(), "lot.json");
    const entries = join(tempDir(), "lot.csv");
    await iotrailOk(["devices", "lot", "build", join(keys, "devices.csv"), "-o", lotFile, "--entries", entries]);
    const lotId = (await iotrailOk([...on, "--account", "0", "--json", "devices", "lot", "commit", lotFile])).json()
      .lotId as string;
    const lotKeys = (JSON.parse(readFileSync(lotFile, "utf8")) as { entries: { key: string }[] }).entries;
    await withBatcher(
      dir,
      async (service) => {
        const run = await iotrailOk(
          [...on, "--account", "4", "--json", "simulate", "--lot", lotFile, "--lot-id", lotId, "--unclaimed"].concat([
            "--to",
            service.httpUrl,
            "--count",
            "4",
            "--rate",
            "100",
          ]),
        );
        expect(run.json<SimulationSummary>()).to.deep.include({ sent: 12, acknowledged: 12, unanswered: 0 });
      },
      { lots: [{ id: BigInt(lotId), entries }] },
    );
    for (const { key } of lotKeys) expect((await registry.getKey(key)).deviceId, "still unclaimed").to.equal(0n);
  });
});
