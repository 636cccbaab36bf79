import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { DeviceStatus } from "../../src/registry";
import { FAR_DEADLINE, registeredDevice, registryFixture } from "../helpers/registry";

describe("DeviceRegistry: status", function () {
  describe("suspend", function () {
    it("suspends at chain time with a reason; validAt turns false from then on", async function () {
      const fx = await loadFixture(registryFixture);
      const { key, deviceId } = await registeredDevice(fx);
      await time.increase(100);
      const beforeSuspend = await time.latest();
      await expect(fx.registry.connect(fx.owner).suspend(deviceId, 17))
        .to.emit(fx.registry, "DeviceStatusChanged")
        .withArgs(deviceId, key.address, DeviceStatus.Suspended, 17, beforeSuspend + 1);
      const suspendedAt = await time.latest();
      expect(await fx.registry.validAt(key.address, beforeSuspend)).to.equal(true);
      expect(await fx.registry.validAt(key.address, suspendedAt)).to.equal(false);
      const device = await fx.client.getDevice(deviceId);
      expect(device.status).to.equal(DeviceStatus.Suspended);
      expect(device.reason).to.equal(17);
    });

    it("reverts with RegistryInvalidStatusTransition when already suspended", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await fx.registry.connect(fx.owner).suspend(deviceId, 1);
      await expect(fx.registry.connect(fx.owner).suspend(deviceId, 1))
        .to.be.revertedWithCustomError(fx.registry, "RegistryInvalidStatusTransition")
        .withArgs(deviceId, DeviceStatus.Suspended, DeviceStatus.Suspended);
    });

    it("reverts with RegistryNotDeviceOwner for anyone else", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await expect(fx.registry.connect(fx.manufacturer).suspend(deviceId, 1))
        .to.be.revertedWithCustomError(fx.registry, "RegistryNotDeviceOwner")
        .withArgs(deviceId, fx.manufacturer.address);
    });
  });

  describe("suspendBySig", function () {
    it("is relayed with the owner's signature; the signature cannot be replayed", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      const auth = await fx.client.authorize({
        signer: fx.owner,
        action: "SuspendDevice",
        message: { deviceId, reason: 5 },
        deadline: FAR_DEADLINE,
      });
      await fx.registry.connect(fx.relayer).suspendBySig(deviceId, 5, auth.deadline, auth.signature);
      expect((await fx.client.getDevice(deviceId)).status).to.equal(DeviceStatus.Suspended);
      await fx.registry.connect(fx.owner).resume(deviceId);
      await expect(fx.registry.connect(fx.relayer).suspendBySig(deviceId, 5, auth.deadline, auth.signature))
        .to.be.revertedWithCustomError(fx.registry, "RegistryInvalidSignature")
        .withArgs(fx.owner.address);
    });

    it("security: a signature for one action is not accepted for another", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      const auth = await fx.client.authorize({
        signer: fx.owner,
        action: "SuspendDevice",
        message: { deviceId, reason: 5 },
        deadline: FAR_DEADLINE,
      });
      await expect(
        fx.registry.connect(fx.relayer).revokeBySig(deviceId, 5, auth.deadline, auth.signature),
      ).to.be.revertedWithCustomError(fx.registry, "RegistryInvalidSignature");
    });

    it("reverts with RegistryUnknownDevice for an unknown id", async function () {
      const fx = await loadFixture(registryFixture);
      await expect(fx.registry.suspendBySig(77n, 1, FAR_DEADLINE, "0x"))
        .to.be.revertedWithCustomError(fx.registry, "RegistryUnknownDevice")
        .withArgs(77n);
    });
  });

  describe("resume", function () {
    it("makes a suspended device valid again from the resume time", async function () {
      const fx = await loadFixture(registryFixture);
      const { key, deviceId } = await registeredDevice(fx);
      await fx.registry.connect(fx.owner).suspend(deviceId, 1);
      const suspendedAt = await time.latest();
      await time.increase(60);
      const nextBlockTime = (await time.latest()) + 1;
      await expect(fx.registry.connect(fx.owner).resume(deviceId))
        .to.emit(fx.registry, "DeviceStatusChanged")
        .withArgs(deviceId, key.address, DeviceStatus.Active, 0, nextBlockTime);
      const resumedAt = await time.latest();
      expect(await fx.registry.validAt(key.address, suspendedAt)).to.equal(false);
      expect(await fx.registry.validAt(key.address, resumedAt - 1)).to.equal(false);
      expect(await fx.registry.validAt(key.address, resumedAt)).to.equal(true);
      expect(await fx.registry.statusAt(deviceId, suspendedAt + 30)).to.equal(DeviceStatus.Suspended);
    });

    it("reverts with RegistryInvalidStatusTransition for an active device", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await expect(fx.registry.connect(fx.owner).resume(deviceId))
        .to.be.revertedWithCustomError(fx.registry, "RegistryInvalidStatusTransition")
        .withArgs(deviceId, DeviceStatus.Active, DeviceStatus.Active);
    });
  });

  describe("resumeBySig", function () {
    it("is relayed with the owner's signature", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await fx.registry.connect(fx.owner).suspend(deviceId, 1);
      const authorization = await fx.client.authorize({
        signer: fx.owner,
        action: "ResumeDevice",
        message: { deviceId },
        deadline: FAR_DEADLINE,
      });
      await fx.client.connect(fx.relayer).resume({ deviceId, authorization });
      expect((await fx.client.getDevice(deviceId)).status).to.equal(DeviceStatus.Active);
    });

    it("reverts with RegistryInvalidSignature for a non-owner's signature", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await fx.registry.connect(fx.owner).suspend(deviceId, 1);
      const auth = await fx.client.authorize({
        signer: fx.other,
        action: "ResumeDevice",
        message: { deviceId },
        deadline: FAR_DEADLINE,
      });
      await expect(fx.registry.resumeBySig(deviceId, auth.deadline, auth.signature))
        .to.be.revertedWithCustomError(fx.registry, "RegistryInvalidSignature")
        .withArgs(fx.owner.address);
    });
  });

  describe("revoke", function () {
    it("security: a revoked device stays revoked", async function () {
      const fx = await loadFixture(registryFixture);
      const { key, deviceId } = await registeredDevice(fx);
      await fx.registry.connect(fx.owner).suspend(deviceId, 1);
      await fx.registry.connect(fx.owner).revoke(deviceId, 99);
      for (const attempt of [
        () => fx.registry.connect(fx.owner).resume(deviceId),
        () => fx.registry.connect(fx.owner).suspend(deviceId, 1),
        () => fx.registry.connect(fx.owner).revoke(deviceId, 1),
      ]) {
        await expect(attempt()).to.be.revertedWithCustomError(fx.registry, "RegistryInvalidStatusTransition");
      }
      await time.increase(3600);
      expect(await fx.registry.validAt(key.address, await time.latest())).to.equal(false);
      const device = await fx.client.getDevice(deviceId);
      expect(device.status).to.equal(DeviceStatus.Revoked);
      expect(device.reason).to.equal(99);
    });

    it("keeps the history: the key was valid before the revocation", async function () {
      const fx = await loadFixture(registryFixture);
      const { key, deviceId } = await registeredDevice(fx);
      const registeredAt = await time.latest();
      await time.increase(10);
      await fx.registry.connect(fx.owner).revoke(deviceId, 2);
      const revokedAt = await time.latest();
      expect(await fx.registry.validAt(key.address, registeredAt - 1)).to.equal(false);
      expect(await fx.registry.validAt(key.address, registeredAt)).to.equal(true);
      expect(await fx.registry.validAt(key.address, revokedAt - 1)).to.equal(true);
      expect(await fx.registry.validAt(key.address, revokedAt)).to.equal(false);
    });
  });

  describe("revokeBySig", function () {
    it("is relayed with the owner's signature", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      const authorization = await fx.client.authorize({
        signer: fx.owner,
        action: "RevokeDevice",
        message: { deviceId, reason: 4 },
        deadline: FAR_DEADLINE,
      });
      await fx.client.connect(fx.relayer).revoke({ deviceId, reason: 4, authorization });
      expect((await fx.client.getDevice(deviceId)).status).to.equal(DeviceStatus.Revoked);
    });

    it("security: a signature with a changed reason is rejected", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      const auth = await fx.client.authorize({
        signer: fx.owner,
        action: "RevokeDevice",
        message: { deviceId, reason: 4 },
        deadline: FAR_DEADLINE,
      });
      await expect(fx.registry.revokeBySig(deviceId, 5, auth.deadline, auth.signature))
        .to.be.revertedWithCustomError(fx.registry, "RegistryInvalidSignature")
        .withArgs(fx.owner.address);
    });
  });

  describe("moment", function () {
    it("orders changes within one block: suspend then resume in one block, each at its own moment", async function () {
      const fx = await loadFixture(registryFixture);
      const { key, deviceId } = await registeredDevice(fx);
      await ethers.provider.send("evm_setAutomine", [false]);
      try {
        await fx.registry.connect(fx.owner).suspend(deviceId, 1, { gasLimit: 300_000 });
        await fx.registry.connect(fx.owner).resume(deviceId, { gasLimit: 300_000 });
        await ethers.provider.send("evm_mine", []);
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
      }
      const t = BigInt(await time.latest());
      expect(await fx.registry.validAtMoment(key.address, (t << 16n) | 0n)).to.equal(true);
      expect(await fx.registry.validAtMoment(key.address, (t << 16n) | 1n)).to.equal(false);
      expect(await fx.registry.validAtMoment(key.address, (t << 16n) | 2n)).to.equal(true);
      expect(await fx.registry.validAt(key.address, t)).to.equal(true);
    });
  });
});
