import { expect } from "chai";
import { ethers } from "hardhat";
import { statSync, writeFileSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo, Server } from "node:net";
import { join } from "node:path";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { DeviceKey } from "../../src/device";
import { DeviceRegistryClient, DeviceStatus } from "../../src/registry";
import { loadLotIndex } from "../../src/registry/lot-entries";
import { startRpcServer } from "../helpers/batcher";
import { iotrail, iotrailOk, tempDir } from "../helpers/cli";
import { devAccountKey } from "../helpers/node";
import { suiteFixture } from "../helpers/suite";

describe("iotrail devices / roles (CLI, end to end on the in-process chain)", function () {
  let rpc: { url: string; close: () => Promise<void> };
  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });

  /** The suite deployed, and the CLI's arguments to reach it. */
  async function cliFixture() {
    const fx = await suiteFixture();
    const registry = DeviceRegistryClient.connect({
      address: fx.record.contracts.DeviceRegistry.address,
      runner: ethers.provider,
    });
    const on = ["--rpc", rpc.url, "--deployments", fx.dir];
    return { ...fx, registry, on };
  }

  describe("keygen", function () {
    it("writes a versioned key file readable by its owner only, and never prints the private key", async function () {
      const dir = tempDir();
      const file = join(dir, "k.json");
      const result = await iotrailOk(["devices", "keygen", "--out", file]);
      expect(statSync(file).mode & 0o777).to.equal(0o600);
      const saved = JSON.parse(readFileSync(file, "utf8")) as { version: number; address: string; privateKey: string };
      expect(saved.version).to.equal(1);
      expect(result.stdout).to.contain(saved.address);
      expect(result.stdout + result.stderr).not.to.contain(saved.privateKey.slice(2));
      const again = await iotrail(["devices", "keygen", "--out", file]);
      expect(again.code, "an existing key file is never overwritten").to.equal(2);
    });
  });

  describe("register and show", function () {
    it("registers a key as the manufacturer; show reports status, owner, keys and validAt", async function () {
      const { on, registry } = await loadFixture(cliFixture);
      const dir = tempDir();
      const file = join(dir, "device.json");
      await iotrailOk(["devices", "keygen", "-o", file]);
      const key = await DeviceKey.load(file);
      const registered = await iotrailOk([
        ...on,
        "--account",
        "0",
        "--json",
        "devices",
        "register",
        "--device",
        file,
        "--metadata",
        "logger #1",
      ]);
      expect(registered.json().deviceId).to.equal(key.address.toLowerCase());
      expect((await registry.getKey(key.address)).deviceId).to.equal(BigInt(key.address));

      const now = (await ethers.provider.getBlock("latest"))!.timestamp;
      const shown = await iotrailOk([...on, "--json", "devices", "show", key.address, "--at", String(now)]);
      const view = shown.json<{
        status: string;
        owner: string;
        keys: { key: string }[];
        validAt: { valid: boolean };
      }>();
      expect(view.status).to.equal("Active");
      expect(view.owner).to.equal((await ethers.getSigners())[0]!.address);
      expect(view.keys.map((k) => k.key)).to.deep.equal([key.address]);
      expect(view.validAt.valid).to.equal(true);
      const before = await iotrailOk([...on, "--json", "devices", "show", key.address, "--at", String(now - 3600)]);
      expect(before.json<{ validAt: { valid: boolean } }>().validAt.valid).to.equal(false);
    });

    it("a second registration of the key exits 2 with the decoded error and a hint, without internals", async function () {
      const { on } = await loadFixture(cliFixture);
      const dir = tempDir();
      const file = join(dir, "device.json");
      await iotrailOk(["devices", "keygen", "-o", file]);
      await iotrailOk([...on, "--account", "0", "devices", "register", "--device", file]);
      const again = await iotrail([...on, "--account", "0", "devices", "register", "--device", file]);
      expect(again.code).to.equal(2);
      expect(again.stderr).to.contain("RegistryKeyAlreadyUsed(key=");
      expect(again.stderr).to.contain("hint: this key is already registered; `iotrail devices show <key>`");
      expect(again.stderr).not.to.match(/\n\s+at |code=|0x[0-9a-f]{200}/);
      const verbose = await iotrail([...on, "--account", "0", "--verbose", "devices", "register", "--device", file]);
      expect(verbose.stderr).to.match(/\n\s+at /);
    });

    it("a non-manufacturer is told which role it lacks and how to get it", async function () {
      const { on } = await loadFixture(cliFixture);
      const dir = tempDir();
      const file = join(dir, "device.json");
      await iotrailOk(["devices", "keygen", "-o", file]);
      const result = await iotrail([...on, "--account", "3", "devices", "register", "--device", file]);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.contain("AccessControlUnauthorizedAccount");
      expect(result.stderr).to.contain("iotrail roles grant");
    });
  });

  describe("register-batch", function () {
    it("registers keys from a CSV in chunks and resumes after an interruption without registering twice", async function () {
      const { on, registry } = await loadFixture(cliFixture);
      const dir = tempDir();
      const fleet = join(dir, "fleet");
      await iotrailOk(["devices", "keygen", "--count", "12", "--out", fleet]);
      const csv = join(fleet, "devices.csv");
      // An interrupted run: the first 5 rows were registered before it stopped.
      const lines = readFileSync(csv, "utf8").trim().split("\n");
      const partial = join(fleet, "partial.csv");
      writeFileSync(partial, `${lines.slice(0, 6).join("\n")}\n`);
      await iotrailOk([...on, "--account", "0", "devices", "register-batch", partial]);
      const resumed = await iotrailOk([
        ...on,
        "--account",
        "0",
        "--json",
        "devices",
        "register-batch",
        csv,
        "--chunk",
        "4",
      ]);
      expect(resumed.json()).to.include({ registered: 7, skipped: 5 });
      expect((resumed.json().transactions as string[]).length).to.equal(2);
      for (const line of lines.slice(1)) {
        const address = line.split(",")[1]!;
        expect((await registry.getKey(address)).deviceId).to.equal(BigInt(address));
      }
    });

    it("security (P-L2): a re-run whose rows name another owner or metadata reports each mismatch and exits non-zero", async function () {
      const { on, registry } = await loadFixture(cliFixture);
      const dir = tempDir();
      const [, , , , , wrong, right] = await ethers.getSigners();
      for (const name of ["a", "b", "c"]) await iotrailOk(["devices", "keygen", "-o", join(dir, `${name}.json`)]);
      // The first run registered a and b with the wrong owner (a typo in the file).
      writeFileSync(
        join(dir, "first.json"),
        JSON.stringify([
          { keyFile: "a.json", owner: wrong!.address, metadata: "doc" },
          { keyFile: "b.json", owner: wrong!.address, metadata: "doc" },
        ]),
      );
      await iotrailOk([...on, "--account", "0", "devices", "register-batch", join(dir, "first.json")]);
      // The corrected file: a's owner fixed, b's metadata changed too, and a new row c.
      writeFileSync(
        join(dir, "fixed.json"),
        JSON.stringify([
          { keyFile: "a.json", owner: right!.address, metadata: "doc" },
          { keyFile: "b.json", owner: wrong!.address, metadata: "other doc" },
          { keyFile: "c.json", owner: right!.address, metadata: "doc" },
        ]),
      );
      const rerun = await iotrail([...on, "--account", "0", "devices", "register-batch", join(dir, "fixed.json")]);
      expect(rerun.code, rerun.stdout).to.not.equal(0);
      expect(rerun.stderr).to.contain("2 key(s) are registered already, but not as");
      expect(rerun.stderr).to.contain(
        `a.json: ${(await DeviceKey.load(join(dir, "a.json"))).address} is registered with owner ${wrong!.address}, the file says ${right!.address}`,
      );
      expect(rerun.stderr).to.contain("b.json");
      expect(rerun.stderr).to.contain("metadata");
      expect(rerun.stderr).to.contain("iotrail devices transfer start");
      // The new row was registered all the same; the same file again is only the mismatches.
      const c = await DeviceKey.load(join(dir, "c.json"));
      expect((await registry.getDevice(BigInt(c.address))).owner).to.equal(right!.address);
      const same = await iotrailOk([
        ...on,
        "--account",
        "0",
        "--json",
        "devices",
        "register-batch",
        join(dir, "first.json"),
      ]);
      expect(same.json()).to.include({ registered: 0, skipped: 2 });
    });

    it("reads a JSON file with per-row owners, and reports a row without a key file", async function () {
      const { on, registry } = await loadFixture(cliFixture);
      const dir = tempDir();
      const owner = (await ethers.getSigners())[5]!.address;
      await iotrailOk(["devices", "keygen", "-o", join(dir, "a.json")]);
      writeFileSync(join(dir, "rows.json"), JSON.stringify([{ keyFile: "a.json", owner, metadata: "doc" }]));
      await iotrailOk([...on, "--account", "0", "devices", "register-batch", join(dir, "rows.json")]);
      const key = await DeviceKey.load(join(dir, "a.json"));
      expect((await registry.getDevice(BigInt(key.address))).owner).to.equal(owner);
      writeFileSync(join(dir, "bad.json"), JSON.stringify([{ owner }]));
      const bad = await iotrail([...on, "--account", "0", "devices", "register-batch", join(dir, "bad.json")]);
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.contain("row 1 has no keyFile");
    });
  });

  describe("owner actions", function () {
    it("suspend, resume, rotate, transfer start/accept and revoke, each checked on the chain", async function () {
      const { on, registry } = await loadFixture(cliFixture);
      const dir = tempDir();
      const [, newOwner] = await ethers.getSigners();
      await iotrailOk(["devices", "keygen", "-o", join(dir, "d.json")]);
      await iotrailOk(["devices", "keygen", "-o", join(dir, "d2.json")]);
      const key = await DeviceKey.load(join(dir, "d.json"));
      const next = await DeviceKey.load(join(dir, "d2.json"));
      const id = BigInt(key.address);
      await iotrailOk([...on, "--account", "0", "devices", "register", "--device", join(dir, "d.json")]);
      await iotrailOk([...on, "--account", "0", "devices", "suspend", key.address, "--reason", "7"]);
      expect((await registry.getDevice(id)).status).to.equal(DeviceStatus.Suspended);
      expect((await registry.getDevice(id)).reason).to.equal(7);
      await iotrailOk([...on, "--account", "0", "devices", "resume", key.address]);
      expect((await registry.getDevice(id)).status).to.equal(DeviceStatus.Active);
      await iotrailOk([...on, "--account", "0", "devices", "rotate", key.address, "--new-key", join(dir, "d2.json")]);
      expect((await registry.getDevice(id)).currentKey).to.equal(next.address);
      // The device is found by its new key, and by its id in decimal.
      await iotrailOk([
        ...on,
        "--account",
        "0",
        "devices",
        "transfer",
        "start",
        next.address,
        "--to",
        newOwner!.address,
      ]);
      await iotrailOk([...on, "--account", "1", "devices", "transfer", "accept", id.toString()]);
      expect((await registry.getDevice(id)).owner).to.equal(newOwner!.address);
      const notOwner = await iotrail([...on, "--account", "0", "devices", "revoke", key.address]);
      expect(notOwner.stderr).to.contain("RegistryNotDeviceOwner");
      expect(notOwner.stderr, "device ids are shown as hex").to.contain(`deviceId=${key.address.toLowerCase()}`);
      await iotrailOk([...on, "--account", "1", "devices", "revoke", key.address]);
      const shown = await iotrailOk([...on, "--json", "devices", "show", key.address]);
      const view = shown.json<{ status: string; keys: { key: string; validUntil: number | null }[] }>();
      expect(view.status).to.equal("Revoked");
      expect(view.keys.map((k) => k.key)).to.deep.equal([key.address, next.address]);
      expect(view.keys[0]!.validUntil).to.be.a("number");
    });
  });

  describe("lot", function () {
    it("build, commit (one transaction), claim, revoke an entry, close", async function () {
      const { on, registry } = await loadFixture(cliFixture);
      const dir = tempDir();
      const keys = join(dir, "lot");
      await iotrailOk(["devices", "keygen", "--count", "4", "--out", keys]);
      const lotFile = join(dir, "lot.json");
      const entriesFile = join(dir, "lot.csv");
      await iotrailOk(["devices", "lot", "build", join(keys, "devices.csv"), "-o", lotFile, "--entries", entriesFile]);
      // The entries file (for the batcher's lots) rebuilds to the lot file's root.
      const lotRoot = (JSON.parse(readFileSync(lotFile, "utf8")) as { root: string }).root;
      expect((await loadLotIndex(entriesFile, 1n)).root).to.equal(lotRoot);
      const committed = await iotrailOk([...on, "--account", "0", "--json", "devices", "lot", "commit", lotFile]);
      const lotId = committed.json().lotId as string;
      expect((await registry.getLot(BigInt(lotId))).deviceCount).to.equal(4n);
      const [first, second] = readFileSync(join(keys, "devices.csv"), "utf8")
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(",")[1]!);
      await iotrailOk([
        ...on,
        "--account",
        "0",
        "devices",
        "lot",
        "claim",
        lotFile,
        "--lot-id",
        lotId,
        "--device",
        first!,
      ]);
      expect((await registry.getKey(first!)).deviceId).to.equal(BigInt(first!));
      await iotrailOk([
        ...on,
        "--account",
        "0",
        "devices",
        "lot",
        "revoke",
        lotId,
        "--lot-file",
        lotFile,
        "--device",
        second!,
      ]);
      const refused = await iotrail([
        ...on,
        "--account",
        "0",
        "devices",
        "lot",
        "claim",
        lotFile,
        "--lot-id",
        lotId,
        "--device",
        second!,
      ]);
      expect(refused.stderr).to.contain("RegistryLotEntryRevoked");
      await iotrailOk([...on, "--account", "0", "devices", "lot", "close", lotId]);
      expect((await registry.getLot(BigInt(lotId))).status).to.equal(2);
    });
  });

  describe("roles", function () {
    it("the admin grants and revokes manufacturer and anchorer; others cannot", async function () {
      const { on, record } = await loadFixture(cliFixture);
      const account = (await ethers.getSigners())[4]!.address;
      const registry = await ethers.getContractAt("DeviceRegistry", record.contracts.DeviceRegistry.address);
      const anchor = await ethers.getContractAt("TelemetryAnchor", record.contracts.TelemetryAnchor.address);
      await iotrailOk([...on, "--account", "0", "roles", "grant", "manufacturer", account]);
      await iotrailOk([...on, "--account", "0", "roles", "grant", "anchorer", account]);
      expect(await registry.hasRole(await registry.MANUFACTURER_ROLE(), account)).to.equal(true);
      expect(await anchor.hasRole(await anchor.ANCHORER_ROLE(), account)).to.equal(true);
      await iotrailOk([...on, "--account", "0", "roles", "revoke", "anchorer", account]);
      expect(await anchor.hasRole(await anchor.ANCHORER_ROLE(), account)).to.equal(false);
      const outsider = await iotrail([...on, "--account", "4", "roles", "grant", "anchorer", account]);
      expect(outsider.code).to.equal(2);
      expect(outsider.stderr).to.contain("AccessControlUnauthorizedAccount");
      const typo = await iotrail([...on, "--account", "0", "roles", "grant", "admin", account]);
      expect(typo.stderr).to.contain("expected manufacturer or anchorer");
    });
  });

  describe("conventions", function () {
    it("keys come from a key file or IOTRAIL_PRIVATE_KEY; without one the command says how to give one", async function () {
      const { on } = await loadFixture(cliFixture);
      const dir = tempDir();
      await iotrailOk(["devices", "keygen", "-o", join(dir, "d.json")]);
      const none = await iotrail([...on, "devices", "register", "--device", join(dir, "d.json")]);
      expect(none.code).to.equal(2);
      expect(none.stderr).to.contain("no account to send from: pass --key <key file>, set IOTRAIL_PRIVATE_KEY");
      const manufacturer = new ethers.Wallet(devAccountKey(0));
      const viaEnv = await iotrail([...on, "devices", "register", "--device", join(dir, "d.json")], {
        env: { IOTRAIL_PRIVATE_KEY: manufacturer.privateKey },
      });
      expect(viaEnv.code, viaEnv.stderr).to.equal(0);
      expect(viaEnv.stdout + viaEnv.stderr).not.to.contain(manufacturer.privateKey.slice(2));
    });

    it("--quiet prints nothing on success and the error on failure; --json prints one JSON value", async function () {
      const { on } = await loadFixture(cliFixture);
      const dir = tempDir();
      const quiet = await iotrailOk(["--quiet", "devices", "keygen", "-o", join(dir, "d.json")]);
      expect(quiet.stdout + quiet.stderr).to.equal("");
      const register = ["--account", "0", "--quiet", "devices", "register", "--device", join(dir, "d.json")];
      const registered = await iotrailOk([...on, ...register]);
      expect(registered.stdout + registered.stderr).to.equal("");
      const failed = await iotrail([...on, ...register]);
      expect(failed.code).to.equal(2);
      expect(failed.stdout).to.equal("");
      expect(failed.stderr).to.contain("RegistryKeyAlreadyUsed");
      const key = await DeviceKey.load(join(dir, "d.json"));
      const shown = await iotrailOk([...on, "--json", "devices", "show", key.address]);
      expect(shown.json().currentKey).to.equal(key.address);
      expect(shown.stderr).to.equal("");
    });

    it("a node that does not answer gives a clear error within the timeout", async function () {
      // A server that accepts connections and never answers.
      const silent: Server = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      const { port } = silent.address() as AddressInfo;
      try {
        const started = Date.now();
        const result = await iotrail([
          "--rpc",
          `http://127.0.0.1:${port}`,
          "--timeout",
          "2",
          "devices",
          "show",
          "0x" + "11".repeat(20),
        ]);
        expect(result.code).to.equal(2);
        expect(result.stderr).to.contain(`http://127.0.0.1:${port}: no answer from the node within 2 s`);
        expect(Date.now() - started).to.be.below(15_000);
      } finally {
        silent.close();
      }
    });

    it("--version, --help and an unknown command", async function () {
      const version = await iotrailOk(["--version"]);
      expect(version.stdout.trim()).to.equal(
        (JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as { version: string }).version,
      );
      const help = await iotrailOk(["--help"]);
      for (const command of [
        "deploy",
        "deployment",
        "devices",
        "roles",
        "simulate",
        "batcher",
        "bundle",
        "verify",
        "channel",
        "escrow",
      ]) {
        expect(help.stdout).to.match(new RegExp(`\\n  ${command}\\b`));
      }
      const devicesHelp = await iotrailOk(["devices", "--help"]);
      for (const command of [
        "keygen",
        "register",
        "register-batch",
        "lot",
        "transfer",
        "suspend",
        "resume",
        "revoke",
        "rotate",
        "show",
      ]) {
        expect(devicesHelp.stdout).to.match(new RegExp(`\\n  ${command}\\b`));
      }
      const unknown = await iotrail(["frobnicate"]);
      expect(unknown.code).to.equal(2);
      expect(unknown.stderr).to.contain("unknown command 'frobnicate'");
    });
  });
});
