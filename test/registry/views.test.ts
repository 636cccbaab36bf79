import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { DeviceStatus, LotStatus } from "../../src/registry";
import { registeredDevice, registryFixture } from "../helpers/registry";

describe("DeviceRegistry: views", function () {
  describe("validAt", function () {
    it("answers before and after suspend, resume, revoke and rotation (time travel)", async function () {
      const fx = await loadFixture(registryFixture);
      const { key, deviceId } = await registeredDevice(fx);
      const t0 = await time.latest();
      await time.increase(1000);
      await fx.registry.connect(fx.owner).suspend(deviceId, 1);
      const tSuspend = await time.latest();
      await time.increase(1000);
      await fx.registry.connect(fx.owner).resume(deviceId);
      const tResume = await time.latest();
      await time.increase(1000);
      await fx.registry.connect(fx.owner).revoke(deviceId, 2);
      const tRevoke = await time.latest();
      await time.increase(1000);
      const expectations: [number, boolean][] = [
        [t0 - 1, false],
        [t0, true],
        [tSuspend - 1, true],
        [tSuspend, false],
        [tResume - 1, false],
        [tResume, true],
        [tRevoke - 1, true],
        [tRevoke, false],
        [await time.latest(), false],
      ];
      for (const [at, valid] of expectations) {
        expect(await fx.registry.validAt(key.address, at), `at ${at}`).to.equal(valid);
      }
    });

    it("is false for an unknown key", async function () {
      const fx = await loadFixture(registryFixture);
      expect(await fx.registry.validAt(ethers.Wallet.createRandom().address, await time.latest())).to.equal(false);
    });

    it("reverts with RegistryFutureLookup for a future time", async function () {
      const fx = await loadFixture(registryFixture);
      const { key } = await registeredDevice(fx);
      const now = await time.latest();
      await expect(fx.registry.validAt(key.address, now + 1))
        .to.be.revertedWithCustomError(fx.registry, "RegistryFutureLookup")
        .withArgs(now + 1, now);
    });
  });

  describe("statusAt", function () {
    it("is None before registration and for unknown devices; reverts for the future", async function () {
      const fx = await loadFixture(registryFixture);
      const before = await time.latest();
      const { deviceId } = await registeredDevice(fx);
      const now = await time.latest();
      expect(await fx.registry.statusAt(deviceId, before)).to.equal(DeviceStatus.None);
      expect(await fx.registry.statusAt(deviceId, now)).to.equal(DeviceStatus.Active);
      expect(await fx.registry.statusAt(1n, now)).to.equal(DeviceStatus.None);
      await expect(fx.registry.statusAt(deviceId, now + 10))
        .to.be.revertedWithCustomError(fx.registry, "RegistryFutureLookup")
        .withArgs(now + 10, now);
    });
  });

  describe("getDevice", function () {
    it("returns an empty record for an unknown device", async function () {
      const fx = await loadFixture(registryFixture);
      const device = await fx.client.getDevice(5n);
      expect(device.status).to.equal(DeviceStatus.None);
      expect(device.owner).to.equal(ethers.ZeroAddress);
      expect(device.currentKey).to.equal(ethers.ZeroAddress);
    });
  });

  describe("getLot", function () {
    it("returns an empty lot for an unknown id", async function () {
      const fx = await loadFixture(registryFixture);
      const lot = await fx.client.getLot(1n);
      expect(lot.status).to.equal(LotStatus.None);
      expect(lot.root).to.equal(ethers.ZeroHash);
      expect(await fx.client.lotCount()).to.equal(0n);
    });
  });

  describe("supportsInterface", function () {
    it("reports AccessControl", async function () {
      const fx = await loadFixture(registryFixture);
      expect(await fx.registry.supportsInterface("0x7965db0b")).to.equal(true);
    });
  });
});
