import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { DeviceKey } from "../../src/device";
import { DeviceStatus } from "../../src/registry";
import { registryDigest } from "../../src/eip712";
import { FAR_DEADLINE, METADATA, METADATA_URI, highS, registration, registryFixture } from "../helpers/registry";

describe("DeviceRegistry: registration", function () {
  describe("register", function () {
    it("creates an active record owned by the named owner, with the key as id", async function () {
      const fx = await loadFixture(registryFixture);
      const key = DeviceKey.generate();
      const deviceId = BigInt(key.address);
      await expect(fx.registry.connect(fx.manufacturer).register(registration(fx, key)))
        .to.emit(fx.registry, "DeviceRegistered")
        .withArgs(deviceId, key.address, fx.owner.address, fx.manufacturer.address, METADATA, METADATA_URI);
      const device = await fx.client.getDevice(deviceId);
      expect(device.owner).to.equal(fx.owner.address);
      expect(device.currentKey).to.equal(key.address);
      expect(device.status).to.equal(DeviceStatus.Active);
      expect(device.metadataHash).to.equal(METADATA);
      expect(device.registeredAt).to.equal(BigInt(await time.latest()));
      // A possession proof is single-use through the key's registration, not through its nonce.
      expect(await fx.registry.nonces(key.address)).to.equal(0n);
    });

    it("accepts a device without metadata hash", async function () {
      const fx = await loadFixture(registryFixture);
      const key = DeviceKey.generate();
      const { deviceId } = await fx.client.register(registration(fx, key, { metadataHash: ethers.ZeroHash }));
      expect((await fx.client.getDevice(deviceId)).metadataHash).to.equal(ethers.ZeroHash);
    });

    it("reverts for an account without the manufacturer role", async function () {
      const fx = await loadFixture(registryFixture);
      const key = DeviceKey.generate();
      await expect(fx.registry.connect(fx.other).register(registration(fx, key, { registrant: fx.other.address })))
        .to.be.revertedWithCustomError(fx.registry, "AccessControlUnauthorizedAccount")
        .withArgs(fx.other.address, await fx.registry.MANUFACTURER_ROLE());
    });

    it("reverts with RegistryInvalidOwner for the zero owner", async function () {
      const fx = await loadFixture(registryFixture);
      const key = DeviceKey.generate();
      await expect(fx.registry.connect(fx.manufacturer).register(registration(fx, key, { owner: ethers.ZeroAddress })))
        .to.be.revertedWithCustomError(fx.registry, "RegistryInvalidOwner")
        .withArgs(ethers.ZeroAddress);
    });

    it("reverts with RegistryInvalidPossessionProof when another key signed", async function () {
      const fx = await loadFixture(registryFixture);
      const key = DeviceKey.generate();
      const impostor = DeviceKey.generate();
      // The impostor signs a proof that names the victim's key.
      const signature = impostor.signDigest(
        registryDigest(fx.domain, "RegisterDevice", {
          key: key.address,
          registrant: fx.manufacturer.address,
          owner: fx.owner.address,
          nonce: 0n,
          deadline: FAR_DEADLINE,
        }),
      );
      const forged = { ...registration(fx, key), signature };
      await expect(fx.registry.connect(fx.manufacturer).register(forged))
        .to.be.revertedWithCustomError(fx.registry, "RegistryInvalidPossessionProof")
        .withArgs(key.address, impostor.address);
    });

    it("security: a possession proof copied from the mempool cannot be used by another manufacturer", async function () {
      const fx = await loadFixture(registryFixture);
      const key = DeviceKey.generate();
      const proof = registration(fx, key); // names fx.manufacturer as registrant
      await expect(fx.registry.connect(fx.manufacturer2).register(proof)).to.be.revertedWithCustomError(
        fx.registry,
        "RegistryInvalidPossessionProof",
      );
      // ...nor with another owner substituted by the front-runner.
      const rerouted = { ...proof, owner: fx.other.address };
      await expect(fx.registry.connect(fx.manufacturer).register(rerouted)).to.be.revertedWithCustomError(
        fx.registry,
        "RegistryInvalidPossessionProof",
      );
      await expect(fx.registry.connect(fx.manufacturer).register(proof)).to.emit(fx.registry, "DeviceRegistered");
    });

    it("security: replaying a registration fails", async function () {
      const fx = await loadFixture(registryFixture);
      const key = DeviceKey.generate();
      const proof = registration(fx, key);
      await fx.registry.connect(fx.manufacturer).register(proof);
      await expect(fx.registry.connect(fx.manufacturer).register(proof))
        .to.be.revertedWithCustomError(fx.registry, "RegistryKeyAlreadyUsed")
        .withArgs(key.address);
    });

    it("security: a high-s (malleable) possession proof is rejected", async function () {
      const fx = await loadFixture(registryFixture);
      const key = DeviceKey.generate();
      const proof = registration(fx, key);
      await expect(
        fx.registry.connect(fx.manufacturer).register({ ...proof, signature: highS(proof.signature) }),
      ).to.be.revertedWithCustomError(fx.registry, "RegistryInvalidPossessionProof");
    });

    it("reverts with RegistrySignatureExpired after the deadline", async function () {
      const fx = await loadFixture(registryFixture);
      const key = DeviceKey.generate();
      const deadline = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(deadline + 1n);
      await expect(fx.registry.connect(fx.manufacturer).register(registration(fx, key, { deadline })))
        .to.be.revertedWithCustomError(fx.registry, "RegistrySignatureExpired")
        .withArgs(deadline, deadline + 1n);
    });

    it("accepts a proof at exactly its deadline", async function () {
      const fx = await loadFixture(registryFixture);
      const key = DeviceKey.generate();
      const deadline = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(deadline);
      await expect(fx.registry.connect(fx.manufacturer).register(registration(fx, key, { deadline }))).to.emit(
        fx.registry,
        "DeviceRegistered",
      );
    });

    it("reverts with RegistryKeyAlreadyUsed for a key once rotated out of another device", async function () {
      const fx = await loadFixture(registryFixture);
      const first = DeviceKey.generate();
      const { deviceId } = await fx.client.register(registration(fx, first));
      const second = DeviceKey.generate();
      const signature = second.signKeyAcceptance({ domain: fx.domain, deviceId, deadline: FAR_DEADLINE });
      await fx.registry
        .connect(fx.owner)
        .rotateKey(deviceId, { key: second.address, deadline: FAR_DEADLINE, signature });
      for (const key of [first, second]) {
        await expect(fx.registry.connect(fx.manufacturer).register(registration(fx, key)))
          .to.be.revertedWithCustomError(fx.registry, "RegistryKeyAlreadyUsed")
          .withArgs(key.address);
      }
    });
  });

  describe("registerBatch", function () {
    it("registers every device in one transaction", async function () {
      const fx = await loadFixture(registryFixture);
      const keys = Array.from({ length: 5 }, () => DeviceKey.generate());
      const { deviceIds } = await fx.client.registerBatch({ registrations: keys.map((k) => registration(fx, k)) });
      expect(deviceIds).to.deep.equal(keys.map((k) => BigInt(k.address)));
      for (const key of keys) expect(await fx.registry.validAt(key.address, await time.latest())).to.equal(true);
    });

    it("reverts with RegistryEmptyBatch for no registrations", async function () {
      const fx = await loadFixture(registryFixture);
      await expect(fx.registry.connect(fx.manufacturer).registerBatch([])).to.be.revertedWithCustomError(
        fx.registry,
        "RegistryEmptyBatch",
      );
    });

    it("is atomic: one bad proof reverts the whole batch", async function () {
      const fx = await loadFixture(registryFixture);
      const good = DeviceKey.generate();
      const bad = DeviceKey.generate();
      const batch = [registration(fx, good), { ...registration(fx, bad), owner: fx.other.address }];
      await expect(fx.registry.connect(fx.manufacturer).registerBatch(batch))
        .to.be.revertedWithCustomError(fx.registry, "RegistryInvalidPossessionProof")
        .withArgs(bad.address, (addr: string) => addr !== bad.address);
      expect((await fx.client.getKey(good.address)).deviceId).to.equal(0n);
    });

    it("reverts for an account without the manufacturer role", async function () {
      const fx = await loadFixture(registryFixture);
      await expect(
        fx.registry.connect(fx.other).registerBatch([registration(fx, DeviceKey.generate())]),
      ).to.be.revertedWithCustomError(fx.registry, "AccessControlUnauthorizedAccount");
    });
  });
});
