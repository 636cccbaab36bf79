/**
 * Issue 24, defect 13: the guides' outputs were not ignored by git (`fleet/` with ten plaintext device keys,
 * `batcher.json`, `batcher.sqlite*`, `voucher.json`, `trip.json`), so one `git add -A` committed device keys.
 * Now `.gitignore` covers every file the guides write, and `keygen` refuses to write a key where git would
 * track it, unless forced.
 */
import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { iotrail, iotrailOk, tempDir } from "../helpers/cli";

const ROOT = join(__dirname, "..", "..");

describe("first hour (issue 24): device keys never end up in a commit by habit", function () {
  it("every file the README's guides write in the project folder is ignored by git", function () {
    const written = [
      "fleet/device-01.json",
      "fleet/devices.csv",
      "batcher.json",
      "batcher.sqlite",
      "batcher.sqlite-wal",
      "batcher.sqlite.lock",
      "batcher.vouchers.sqlite",
      "voucher.json",
      "trip.json",
      "demo-output/report.html",
      "deployments/31337.json",
    ];
    for (const path of written) {
      const checked = spawnSync("git", ["-C", ROOT, "check-ignore", "-q", path]);
      expect(checked.status, `${path} is not ignored`).to.equal(0);
    }
  });

  it("keygen refuses to write keys inside a git work tree where they would not be ignored, unless forced", async function () {
    const repo = tempDir();
    execFileSync("git", ["init", "-q", repo]);
    const refused = await iotrail(["devices", "keygen", "-o", join(repo, "device.json")]);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.contain("git would not ignore it");
    expect(existsSync(join(repo, "device.json")), "nothing written").to.equal(false);
    const fleet = await iotrail(["devices", "keygen", "--count", "2", "--out", join(repo, "fleet")]);
    expect(fleet.code).to.equal(2);
    // Ignored: written. Forced: written. Outside any work tree: written.
    writeFileSync(join(repo, ".gitignore"), "keys/\n");
    mkdirSync(join(repo, "keys"));
    await iotrailOk(["devices", "keygen", "--count", "2", "--out", join(repo, "keys", "fleet")]);
    await iotrailOk(["devices", "keygen", "-o", join(repo, "forced.json"), "--force"]);
    expect(existsSync(join(repo, "forced.json"))).to.equal(true);
    await iotrailOk(["devices", "keygen", "-o", join(tempDir(), "outside.json")]);
  });
});
