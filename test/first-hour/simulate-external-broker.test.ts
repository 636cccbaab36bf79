/**
 * Issue 24, defect 7: `simulate` could not feed the external Mosquitto the README ships. It made only the
 * embedded broker's signed logins, and Mosquitto's refusal came back as a bare "Not authorized". It now takes
 * broker passwords (`--mqtt-passwords`, made by `devices mqtt-passwords`), and a refusal names the likely
 * cause. (The README's Mosquitto guide itself runs in readme-guides.test.ts.)
 */
import { expect } from "chai";
import hre from "hardhat";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { mosquittoAvailable, startMosquitto } from "../../src/tooling/mosquitto";
import { startRpcServer } from "../helpers/batcher";
import { iotrail, iotrailOk, tempDir } from "../helpers/cli";
import { suiteFixture } from "../helpers/suite";

describe("first hour (issue 24): simulate against an external broker", function () {
  this.timeout(120_000);

  it("without passwords the refusal names --mqtt-passwords; with a file missing a device, the device is named; mqtt-passwords writes a 0600 file", async function () {
    if ((hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING === true) this.skip();
    if (!mosquittoAvailable()) {
      if (process.env.CI === "true") throw new Error("mosquitto is required in CI");
      this.skip();
    }
    const fx = await suiteFixture();
    const rpc = await startRpcServer();
    const dir = tempDir();
    const fleet = join(dir, "fleet");
    await iotrailOk(["devices", "keygen", "--count", "2", "--out", fleet]);
    const passwords = join(dir, "mqtt-passwords.csv");
    await iotrailOk(["devices", "mqtt-passwords", join(fleet, "devices.csv"), "-o", passwords]);
    expect(statSync(passwords).mode & 0o777).to.equal(0o600);
    const lines = readFileSync(passwords, "utf8").trim().split("\n");
    expect(lines[0]).to.equal("username,password");
    expect(lines[1]).to.match(/^iotrail-batcher,[A-Za-z0-9_-]{32}$/);
    expect(lines.slice(2).map((l) => l.split(",")[0])).to.deep.equal(
      readFileSync(join(fleet, "devices.csv"), "utf8")
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(",")[1]!.toLowerCase()),
    );
    // The broker knows the batcher only: every device's login is refused.
    const broker = await startMosquitto({ "iotrail-batcher": "batcher-password" });
    try {
      const on = ["--rpc", rpc.url, "--deployments", fx.dir, "--account", "0"];
      const simulate = (...extra: string[]) =>
        iotrail([
          ...on,
          "simulate",
          "--devices",
          join(fleet, "devices.csv"),
          "--to",
          broker.url,
          "--count",
          "1",
          "--register",
          ...extra,
        ]);
      const signed = await simulate();
      expect(signed.code).to.not.equal(0);
      expect(signed.stderr).to.match(/Not authori[sz]ed/);
      expect(signed.stderr).to.contain("refused the device's signed login");
      expect(signed.stderr).to.contain("--mqtt-passwords");
      const wrong = await simulate("--mqtt-passwords", passwords);
      expect(wrong.code).to.not.equal(0);
      expect(wrong.stderr).to.contain("refused this device's username and password");
      const partial = join(dir, "partial.csv");
      (await import("node:fs")).writeFileSync(partial, `${lines.slice(0, 3).join("\n")}\n`);
      const missing = await simulate("--mqtt-passwords", partial);
      expect(missing.code).to.equal(2);
      expect(missing.stderr).to.contain(`${partial} has no password for 1 device`);
    } finally {
      await broker.stop();
      await rpc.close();
    }
  });
});
