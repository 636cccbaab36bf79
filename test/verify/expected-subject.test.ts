import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { verifyBundle } from "../../src/verify";
import { bundleFixture, clone, pinned } from "../helpers/bundle";
import { iotrail, tempDir } from "../helpers/cli";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DeviceKey } from "../../src/device";

const subject = (report: Awaited<ReturnType<typeof verifyBundle>>) =>
  report.checks.find((c) => c.check === "expected-subject");

describe("verifyBundle: the expected subject (N-M1)", function () {
  it("passes for exactly the device and range asked, and the verdict stays verified", async function () {
    const fx = await loadFixture(bundleFixture);
    const report = await verifyBundle(
      fx.bundle,
      pinned(fx, { expected: { device: fx.device.address, range: { fromSequence: 1n, toSequence: 12n } } }),
    );
    expect(report.verdict).to.equal("verified");
    expect(subject(report)).to.include({ status: "pass" });
  });

  it("security (N-M1): another device, a shorter or longer range, or no range fails expected-subject", async function () {
    const fx = await loadFixture(bundleFixture);
    const cases: [string, unknown, Parameters<typeof verifyBundle>[1]][] = [
      ["another device", fx.bundle, { expected: { device: DeviceKey.generate().address } }],
      [
        "a shorter range",
        fx.bundle,
        { expected: { device: fx.device.address, range: { fromSequence: 1n, toSequence: 20n } } },
      ],
      [
        "a longer range",
        fx.bundle,
        { expected: { device: fx.device.address, range: { fromSequence: 2n, toSequence: 12n } } },
      ],
      [
        "no range",
        (() => {
          const copy = clone(fx.bundle) as { range?: unknown };
          delete copy.range;
          return copy;
        })(),
        { expected: { device: fx.device.address, range: { fromSequence: 1n, toSequence: 12n } } },
      ],
    ];
    for (const [name, bundle, options] of cases) {
      const report = await verifyBundle(bundle, { ...pinned(fx), ...options });
      expect(report.verdict, name).to.equal("failed");
      expect(subject(report)?.status, name).to.equal("fail");
    }
  });

  it("without an expectation there is no expected-subject check (the bundle's own claims are checked as before)", async function () {
    const fx = await loadFixture(bundleFixture);
    expect(subject(await verifyBundle(fx.bundle, pinned(fx)))).to.equal(undefined);
  });

  it("iotrail verify --device --range: exit 0 for what was asked, 1 for another device or range", async function () {
    const fx = await loadFixture(bundleFixture);
    const file = join(tempDir(), "bundle.json");
    writeFileSync(file, JSON.stringify(fx.bundle));
    const offline = ["verify", file, "--offline", "--json", "--device"];
    const wrong = await iotrail([...offline, DeviceKey.generate().address]);
    expect(wrong.code).to.equal(1);
    const shorter = await iotrail([...offline, fx.device.address, "--range", "1..11"]);
    expect(shorter.code).to.equal(1);
    const right = await iotrail([...offline, fx.device.address, "--range", "1..12"]);
    expect(right.code, "offline: not fully verified, but nothing failed").to.equal(3);
    const usage = await iotrail(["verify", file, "--range", "1..12"]);
    expect(usage.code).to.equal(2);
  });
});
