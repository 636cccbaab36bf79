/**
 * Issue 24, "beyond the list": what users of Hardhat, `cast`, `ots` and EAS's CLI reach for. Every command
 * that sends a transaction names it (text and --json); `bundle info` reads a bundle's claims offline;
 * `anchor show <root>` and `roles list` look things up; `--dry-run` estimates and shows the first
 * transaction and sends nothing; keys can be encrypted keystores.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { Wallet, isKeystoreJson } from "ethers";
import { join } from "node:path";
import { transactionLines } from "../../src/cli/context";
import { readingsOf } from "../helpers/anchor";
import { startRpcServer } from "../helpers/batcher";
import { iotrail, iotrailOk, tempDir } from "../helpers/cli";
import { suiteBundle, suiteDevice, suiteFixture } from "../helpers/suite";

const TX = /transaction 0x[0-9a-f]{64}/;

describe("first hour (issue 24): transaction hashes, lookups and dry runs", function () {
  this.timeout(120_000);
  let rpc: { url: string; close: () => Promise<void> };
  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });

  it("a result's transactions get a line of their own unless a line names them already", function () {
    const hash = `0x${"ab".repeat(32)}`;
    expect(transactionLines({ transactionHash: hash }, ["done"])).to.deep.equal([`transaction ${hash}`]);
    expect(transactionLines({ transactionHash: hash }, [`done in ${hash}`])).to.deep.equal([]);
    expect(transactionLines({ transactions: [hash, hash.replace("ab", "cd")] }, [])).to.deep.equal([
      `transactions ${hash}, ${hash.replace("ab", "cd")}`,
    ]);
    expect(transactionLines({ transactionHash: "not a hash" }, [])).to.deep.equal([]);
  });

  it("roles grant names its transaction; roles list shows who holds what; --dry-run shows the call, its gas, and sends nothing", async function () {
    const fx = await suiteFixture();
    const on = ["--rpc", rpc.url, "--deployments", fx.dir];
    const [deployer, , , , , granted, dry] = await ethers.getSigners();
    const grant = await iotrailOk([...on, "--account", "0", "roles", "grant", "anchorer", granted!.address]);
    expect(grant.stdout).to.match(TX);

    const dryRun = await iotrailOk([...on, "--account", "0", "--dry-run", "roles", "grant", "anchorer", dry!.address]);
    expect(dryRun.stdout).to.contain("dry run: nothing was sent");
    expect(dryRun.stdout).to.contain(`call   TelemetryAnchor.grantRole(role=`);
    expect(dryRun.stdout).to.contain(`account=${dry!.address})`);
    expect(dryRun.stdout).to.match(/gas {4}[0-9]+ \(at most [0-9.]+ ETH/);
    const asJson = await iotrailOk([
      ...on,
      "--account",
      "0",
      "--dry-run",
      "--json",
      "roles",
      "grant",
      "anchorer",
      dry!.address,
    ]);
    expect(asJson.json()).to.include({ dryRun: true, from: deployer!.address });
    // A dry run of a call that would revert shows the decoded revert, as a real run would.
    const refused = await iotrail([...on, "--account", "6", "--dry-run", "roles", "grant", "anchorer", dry!.address]);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.contain("AccessControlUnauthorizedAccount");

    const list = await iotrailOk([...on, "--json", "roles", "list"]);
    const roles = list.json<{ manufacturer: string[]; anchorer: string[]; registryAdmin: string[] }>();
    expect(roles.anchorer).to.include(granted!.address);
    expect(roles.anchorer, "the dry run sent nothing").to.not.include(dry!.address);
    expect(roles.manufacturer).to.include(deployer!.address);
    expect(roles.registryAdmin).to.deep.equal([deployer!.address]);
    const text = await iotrailOk([...on, "roles", "list"]);
    expect(text.stdout).to.match(new RegExp(`^anchorer +.*${granted!.address}`, "m"));
  });

  it("anchor show <root> names the batch, submitter and transaction of an anchored root, and exits 1 for another; bundle info reads a bundle offline", async function () {
    const fx = await suiteFixture();
    const device = await suiteDevice(fx);
    const bundle = await suiteBundle(fx, device, readingsOf(device, 3));
    const batch = bundle.batches[0]!;
    const on = ["--rpc", rpc.url, "--deployments", fx.dir];
    const shown = await iotrailOk([...on, "--json", "anchor", "show", batch.root]);
    expect(shown.json()).to.include({
      anchored: true,
      batchId: String(batch.batchId),
      transactionHash: batch.transactionHash,
    });
    const other = await iotrail([...on, "anchor", "show", `0x${"11".repeat(32)}`]);
    expect(other.code).to.equal(1);
    expect(other.stdout).to.contain("is not anchored");

    const file = join(tempDir(), "bundle.json");
    writeFileSync(file, JSON.stringify(bundle));
    const info = await iotrailOk(["bundle", "info", file]);
    expect(info.stdout).to.contain(`device    ${device.address}`);
    expect(info.stdout).to.contain("readings  3, sequences 1..3");
    expect(info.stdout).to.contain(`transaction ${batch.transactionHash}`);
    expect(info.stdout).to.contain("not verified");
    const broken = join(tempDir(), "broken.json");
    writeFileSync(broken, '{"version": 1}');
    const refused = await iotrail(["bundle", "info", broken]);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.contain("is not a version-1 proof bundle");
  });

  it("keygen --encrypt writes a Web3 Secret Storage keystore (0600) that ethers decrypts; --key reads it with the password from the environment, and says what is missing without one", async function () {
    const fx = await suiteFixture();
    const dir = tempDir();
    const file = join(dir, "account.json");
    const password = "correct horse battery staple";
    const refused = await iotrail(["devices", "keygen", "--encrypt", "-o", file]);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.contain("--encrypt needs a password");
    const made = await iotrailOk(["--json", "devices", "keygen", "--encrypt", "-o", file], {
      env: { IOTRAIL_KEY_PASSWORD: password },
    });
    const address = made.json<{ address: string }>().address;
    const text = readFileSync(file, "utf8");
    expect(isKeystoreJson(text)).to.equal(true);
    expect(text).to.not.contain("privateKey");
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    expect((await Wallet.fromEncryptedJson(text, password)).address).to.equal(address);

    const on = ["--rpc", rpc.url, "--deployments", fx.dir, "--key", file, "--dry-run"];
    const grant = ["roles", "grant", "anchorer", address];
    const noPassword = await iotrail([...on, ...grant]);
    expect(noPassword.code).to.equal(2);
    expect(noPassword.stderr).to.contain(`${file} is an encrypted keystore: give its password in IOTRAIL_KEY_PASSWORD`);
    const wrong = await iotrail([...on, ...grant], { env: { IOTRAIL_KEY_PASSWORD: "not the password" } });
    expect(wrong.stderr).to.contain("wrong password for this keystore");
    const passwordFile = join(dir, "password.txt");
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    // The keystore's account is no admin: the dry run reaches the chain as that account and shows the revert.
    const sent = await iotrail([...on, ...grant], { env: { IOTRAIL_KEY_PASSWORD_FILE: passwordFile } });
    expect(sent.stderr).to.contain(`AccessControlUnauthorizedAccount(account=${address}`);
  });
});
