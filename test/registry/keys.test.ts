import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { DeviceKey } from "../../src/device";
import { DeviceStatus } from "../../src/registry";
import { FAR_DEADLINE, highS, registeredDevice, registryFixture } from "../helpers/registry";
import type { RegistryFixture } from "../helpers/registry";

function acceptance(fx: RegistryFixture, key: DeviceKey, deviceId: bigint, deadline = FAR_DEADLINE) {
  return { key: key.address, deadline, signature: key.signKeyAcceptance({ domain: fx.domain, deviceId, deadline }) };
}

describe("DeviceRegistry: keys", function () {
  describe("rotateKey", function () {
    it("keeps id and owner; the old key is valid only inside its window", async function () {
      const fx = await loadFixture(registryFixture);
      const { key: oldKey, deviceId } = await registeredDevice(fx);
      const registeredAt = await time.latest();
      await time.increase(100);
      const newKey = DeviceKey.generate();
      const nextBlockTime = (await time.latest()) + 1;
      await expect(fx.registry.connect(fx.owner).rotateKey(deviceId, acceptance(fx, newKey, deviceId)))
        .to.emit(fx.registry, "DeviceKeyRotated")
        .withArgs(deviceId, oldKey.address, newKey.address, nextBlockTime);
      const rotatedAt = await time.latest();
      await time.increase(100);
      const now = await time.latest();

      const device = await fx.client.getDevice(deviceId);
      expect(device.owner).to.equal(fx.owner.address);
      expect(device.currentKey).to.equal(newKey.address);
      expect(device.registeredAt).to.equal(BigInt(registeredAt));

      expect(await fx.registry.validAt(oldKey.address, registeredAt)).to.equal(true);
      expect(await fx.registry.validAt(oldKey.address, rotatedAt - 1)).to.equal(true);
      expect(await fx.registry.validAt(oldKey.address, rotatedAt)).to.equal(false);
      expect(await fx.registry.validAt(newKey.address, rotatedAt - 1)).to.equal(false);
      expect(await fx.registry.validAt(newKey.address, rotatedAt)).to.equal(true);
      expect(await fx.registry.validAt(newKey.address, now)).to.equal(true);

      // Both keys stay attributable to the device.
      expect(await fx.client.getKey(oldKey.address)).to.deep.equal({
        deviceId,
        validFrom: BigInt(registeredAt),
        validUntil: BigInt(rotatedAt),
      });
      expect(await fx.client.getKey(newKey.address)).to.deep.equal({
        deviceId,
        validFrom: BigInt(rotatedAt),
        validUntil: 0n,
      });
    });

    it("rotates twice; each key has its own window", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      const second = DeviceKey.generate();
      const third = DeviceKey.generate();
      await fx.registry.connect(fx.owner).rotateKey(deviceId, acceptance(fx, second, deviceId));
      const t2 = await time.latest();
      await time.increase(50);
      await fx.registry.connect(fx.owner).rotateKey(deviceId, acceptance(fx, third, deviceId));
      const t3 = await time.latest();
      expect(await fx.client.getKey(second.address)).to.deep.equal({
        deviceId,
        validFrom: BigInt(t2),
        validUntil: BigInt(t3),
      });
      expect(await fx.registry.validAt(second.address, t3 - 1)).to.equal(true);
      expect(await fx.registry.validAt(second.address, t3)).to.equal(false);
      expect(await fx.registry.validAt(third.address, t3)).to.equal(true);
    });

    it("works on a suspended device; the new key is valid only after resume", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await fx.registry.connect(fx.owner).suspend(deviceId, 1); // key compromised
      const fresh = DeviceKey.generate();
      await fx.registry.connect(fx.owner).rotateKey(deviceId, acceptance(fx, fresh, deviceId));
      expect(await fx.registry.validAt(fresh.address, await time.latest())).to.equal(false);
      await fx.registry.connect(fx.owner).resume(deviceId);
      expect(await fx.registry.validAt(fresh.address, await time.latest())).to.equal(true);
      expect((await fx.client.getDevice(deviceId)).status).to.equal(DeviceStatus.Active);
    });

    it("reverts with RegistryDeviceRevoked for a revoked device", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await fx.registry.connect(fx.owner).revoke(deviceId, 1);
      await expect(fx.registry.connect(fx.owner).rotateKey(deviceId, acceptance(fx, DeviceKey.generate(), deviceId)))
        .to.be.revertedWithCustomError(fx.registry, "RegistryDeviceRevoked")
        .withArgs(deviceId);
    });

    it("reverts with RegistryKeyAlreadyUsed for another device's key", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      const { key: taken } = await registeredDevice(fx);
      await expect(fx.registry.connect(fx.owner).rotateKey(deviceId, acceptance(fx, taken, deviceId)))
        .to.be.revertedWithCustomError(fx.registry, "RegistryKeyAlreadyUsed")
        .withArgs(taken.address);
    });

    it("security: an acceptance signed for another device is rejected", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      const { deviceId: otherDevice } = await registeredDevice(fx);
      const fresh = DeviceKey.generate();
      await expect(fx.registry.connect(fx.owner).rotateKey(deviceId, acceptance(fx, fresh, otherDevice)))
        .to.be.revertedWithCustomError(fx.registry, "RegistryInvalidPossessionProof")
        .withArgs(fresh.address, (signer: string) => signer !== fresh.address);
    });

    it("security: a high-s acceptance signature is rejected", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      const fresh = DeviceKey.generate();
      const proof = acceptance(fx, fresh, deviceId);
      await expect(
        fx.registry.connect(fx.owner).rotateKey(deviceId, { ...proof, signature: highS(proof.signature) }),
      ).to.be.revertedWithCustomError(fx.registry, "RegistryInvalidPossessionProof");
    });

    it("reverts with RegistryNotDeviceOwner for anyone else", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await expect(fx.registry.connect(fx.other).rotateKey(deviceId, acceptance(fx, DeviceKey.generate(), deviceId)))
        .to.be.revertedWithCustomError(fx.registry, "RegistryNotDeviceOwner")
        .withArgs(deviceId, fx.other.address);
    });
  });

  describe("rotateKeyBySig", function () {
    it("is relayed with the owner's signature and the new key's acceptance", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      const fresh = DeviceKey.generate();
      const authorization = await fx.client.authorize({
        signer: fx.owner,
        action: "RotateKey",
        message: { deviceId, newKey: fresh.address },
        deadline: FAR_DEADLINE,
      });
      await fx.client
        .connect(fx.relayer)
        .rotateKey({ deviceId, newKey: acceptance(fx, fresh, deviceId), authorization });
      expect((await fx.client.getDevice(deviceId)).currentKey).to.equal(fresh.address);
    });

    it("security: the owner's signature names the new key; another key cannot be slipped in", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      const intended = DeviceKey.generate();
      const attacker = DeviceKey.generate();
      const auth = await fx.client.authorize({
        signer: fx.owner,
        action: "RotateKey",
        message: { deviceId, newKey: intended.address },
        deadline: FAR_DEADLINE,
      });
      await expect(
        fx.registry
          .connect(fx.relayer)
          .rotateKeyBySig(deviceId, acceptance(fx, attacker, deviceId), auth.deadline, auth.signature),
      )
        .to.be.revertedWithCustomError(fx.registry, "RegistryInvalidSignature")
        .withArgs(fx.owner.address);
    });
  });

  describe("getKey", function () {
    it("returns an empty record for an unknown key", async function () {
      const fx = await loadFixture(registryFixture);
      expect(await fx.client.getKey(ethers.Wallet.createRandom().address)).to.deep.equal({
        deviceId: 0n,
        validFrom: 0n,
        validUntil: 0n,
      });
    });
  });
});
