import { expect } from "chai";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "ethers";
import { DEVICE_KEY_FILE_VERSION, DeviceKey } from "../../src/device";
import { REGISTRY_TYPES, registryDigest, registryDomain } from "../../src/eip712";
import { InvalidInputError } from "../../src/errors";

/** The error a promise rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

describe("DeviceKey", function () {
  const domain = registryDomain(31337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3");

  describe("fromPrivateKey", function () {
    it("derives the address; accepts hex with or without 0x", function () {
      const wallet = ethers.Wallet.createRandom();
      expect(DeviceKey.fromPrivateKey(wallet.privateKey).address).to.equal(wallet.address);
      expect(DeviceKey.fromPrivateKey(wallet.privateKey.slice(2)).address).to.equal(wallet.address);
    });

    it("rejects malformed keys with InvalidInputError", function () {
      expect(() => DeviceKey.fromPrivateKey("0x1234")).to.throw(InvalidInputError);
      expect(() => DeviceKey.fromPrivateKey(`0x${"00".repeat(32)}`)).to.throw(InvalidInputError);
    });
  });

  describe("save and load", function () {
    it("round-trips through a versioned file readable by the owner only, and never overwrites", async function () {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "iotrail-key-"));
      const file = path.join(dir, "device.json");
      const key = DeviceKey.generate();
      await key.save(file);
      expect((await fs.stat(file)).mode & 0o777).to.equal(0o600);
      expect(JSON.parse(await fs.readFile(file, "utf8")).version).to.equal(DEVICE_KEY_FILE_VERSION);
      expect((await DeviceKey.load(file)).address).to.equal(key.address);
      expect(String(await rejection(DeviceKey.generate().save(file)))).to.contain(
        "exists already: a key file is never overwritten",
      );
    });

    it("rejects a wrong version, a mismatched address and unreadable files", async function () {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "iotrail-key-"));
      const wallet = ethers.Wallet.createRandom();
      const cases: [string, string][] = [
        ["v2.json", JSON.stringify({ version: 2, address: wallet.address, privateKey: wallet.privateKey })],
        ["mismatch.json", JSON.stringify({ version: 1, address: ethers.ZeroAddress, privateKey: wallet.privateKey })],
        ["garbage.json", "{not json"],
      ];
      for (const [name, body] of cases) {
        await fs.writeFile(path.join(dir, name), body);
        expect(await rejection(DeviceKey.load(path.join(dir, name))), name).to.be.instanceOf(InvalidInputError);
      }
      expect(await rejection(DeviceKey.load(path.join(dir, "missing.json")))).to.be.instanceOf(InvalidInputError);
    });
  });

  describe("signRegistration", function () {
    it("produces a signature that recovers to the device key over the shared digest", function () {
      const key = DeviceKey.generate();
      const message = {
        key: key.address,
        registrant: ethers.ZeroAddress,
        owner: ethers.ZeroAddress,
        nonce: 0n,
        deadline: 9n,
      };
      const signature = key.signRegistration({
        domain,
        registrant: message.registrant,
        owner: message.owner,
        deadline: 9n,
      });
      expect(ethers.recoverAddress(registryDigest(domain, "RegisterDevice", message), signature)).to.equal(key.address);
      // ethers' own EIP-712 implementation verifies it too.
      expect(
        ethers.verifyTypedData(domain, { RegisterDevice: [...REGISTRY_TYPES.RegisterDevice] }, message, signature),
      ).to.equal(key.address);
    });
  });
});
