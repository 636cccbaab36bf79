import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { DeviceKey } from "../../src/device";
import { ContractRevertError } from "../../src/errors";
import { REGISTRY_TYPES } from "../../src/eip712";
import { FAR_DEADLINE, registeredDevice, registration, registryFixture } from "../helpers/registry";

describe("DeviceRegistry: ownership", function () {
  describe("startTransfer", function () {
    it("records the pending owner; ownership does not move yet", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await expect(fx.registry.connect(fx.owner).startTransfer(deviceId, fx.buyer.address))
        .to.emit(fx.registry, "DeviceTransferStarted")
        .withArgs(deviceId, fx.owner.address, fx.buyer.address);
      const device = await fx.client.getDevice(deviceId);
      expect(device.owner).to.equal(fx.owner.address);
      expect(device.pendingOwner).to.equal(fx.buyer.address);
    });

    it("the zero address cancels a pending transfer", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await fx.registry.connect(fx.owner).startTransfer(deviceId, fx.buyer.address);
      await fx.registry.connect(fx.owner).startTransfer(deviceId, ethers.ZeroAddress);
      await expect(fx.registry.connect(fx.buyer).acceptTransfer(deviceId))
        .to.be.revertedWithCustomError(fx.registry, "RegistryNotPendingOwner")
        .withArgs(deviceId, fx.buyer.address);
    });

    it("reverts with RegistryNotDeviceOwner for anyone else", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await expect(fx.registry.connect(fx.other).startTransfer(deviceId, fx.other.address))
        .to.be.revertedWithCustomError(fx.registry, "RegistryNotDeviceOwner")
        .withArgs(deviceId, fx.other.address);
    });

    it("reverts with RegistryUnknownDevice for an unknown id", async function () {
      const fx = await loadFixture(registryFixture);
      await expect(fx.registry.connect(fx.owner).startTransfer(123n, fx.buyer.address))
        .to.be.revertedWithCustomError(fx.registry, "RegistryUnknownDevice")
        .withArgs(123n);
    });

    it("reverts with RegistryDeviceRevoked for a revoked device", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await fx.registry.connect(fx.owner).revoke(deviceId, 1);
      await expect(fx.registry.connect(fx.owner).startTransfer(deviceId, fx.buyer.address))
        .to.be.revertedWithCustomError(fx.registry, "RegistryDeviceRevoked")
        .withArgs(deviceId);
    });
  });

  describe("startTransferBySig", function () {
    it("lets a relayer submit the owner's signed transfer", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      const auth = await fx.client.authorize({
        signer: fx.owner,
        action: "TransferDevice",
        message: { deviceId, newOwner: fx.buyer.address },
        deadline: FAR_DEADLINE,
      });
      await expect(
        fx.registry.connect(fx.relayer).startTransferBySig(deviceId, fx.buyer.address, auth.deadline, auth.signature),
      )
        .to.emit(fx.registry, "DeviceTransferStarted")
        .withArgs(deviceId, fx.owner.address, fx.buyer.address);
      expect(await fx.registry.nonces(fx.owner.address)).to.equal(1n);
    });

    it("security: replaying the owner's signature fails", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      const auth = await fx.client.authorize({
        signer: fx.owner,
        action: "TransferDevice",
        message: { deviceId, newOwner: fx.buyer.address },
        deadline: FAR_DEADLINE,
      });
      await fx.registry
        .connect(fx.relayer)
        .startTransferBySig(deviceId, fx.buyer.address, auth.deadline, auth.signature);
      await expect(
        fx.registry.connect(fx.relayer).startTransferBySig(deviceId, fx.buyer.address, auth.deadline, auth.signature),
      )
        .to.be.revertedWithCustomError(fx.registry, "RegistryInvalidSignature")
        .withArgs(fx.owner.address);
    });

    it("security: a signature for one new owner cannot redirect the device to another", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      const auth = await fx.client.authorize({
        signer: fx.owner,
        action: "TransferDevice",
        message: { deviceId, newOwner: fx.buyer.address },
        deadline: FAR_DEADLINE,
      });
      await expect(
        fx.registry.connect(fx.relayer).startTransferBySig(deviceId, fx.other.address, auth.deadline, auth.signature),
      ).to.be.revertedWithCustomError(fx.registry, "RegistryInvalidSignature");
    });

    it("reverts with RegistrySignatureExpired after the deadline", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      const deadline = BigInt(await time.latest()) + 5n;
      const auth = await fx.client.authorize({
        signer: fx.owner,
        action: "TransferDevice",
        message: { deviceId, newOwner: fx.buyer.address },
        deadline,
      });
      await time.setNextBlockTimestamp(deadline + 1n);
      await expect(fx.registry.startTransferBySig(deviceId, fx.buyer.address, auth.deadline, auth.signature))
        .to.be.revertedWithCustomError(fx.registry, "RegistrySignatureExpired")
        .withArgs(deadline, deadline + 1n);
    });

    it("accepts an ERC-1271 contract owner's signature", async function () {
      const fx = await loadFixture(registryFixture);
      const wallet = await ethers.deployContract("ERC1271Wallet", [fx.owner.address]);
      const key = DeviceKey.generate();
      const { deviceId } = await fx.client.register(registration(fx, key, { owner: await wallet.getAddress() }));
      // The wallet's nonce, signed by its EOA signer.
      const signature = await fx.owner.signTypedData(
        fx.domain,
        { TransferDevice: [...REGISTRY_TYPES.TransferDevice] },
        { deviceId, newOwner: fx.buyer.address, nonce: 0n, deadline: FAR_DEADLINE },
      );
      await expect(
        fx.registry.connect(fx.relayer).startTransferBySig(deviceId, fx.buyer.address, FAR_DEADLINE, signature),
      )
        .to.emit(fx.registry, "DeviceTransferStarted")
        .withArgs(deviceId, await wallet.getAddress(), fx.buyer.address);
    });
  });

  describe("acceptTransfer", function () {
    it("moves ownership to the pending owner and clears it", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await fx.registry.connect(fx.owner).startTransfer(deviceId, fx.buyer.address);
      await expect(fx.registry.connect(fx.buyer).acceptTransfer(deviceId))
        .to.emit(fx.registry, "DeviceTransferred")
        .withArgs(deviceId, fx.owner.address, fx.buyer.address);
      const device = await fx.client.getDevice(deviceId);
      expect(device.owner).to.equal(fx.buyer.address);
      expect(device.pendingOwner).to.equal(ethers.ZeroAddress);
      // The previous owner lost control.
      await expect(fx.registry.connect(fx.owner).suspend(deviceId, 1))
        .to.be.revertedWithCustomError(fx.registry, "RegistryNotDeviceOwner")
        .withArgs(deviceId, fx.owner.address);
    });

    it("reverts with RegistryNotPendingOwner for anyone else", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await fx.registry.connect(fx.owner).startTransfer(deviceId, fx.buyer.address);
      await expect(fx.registry.connect(fx.other).acceptTransfer(deviceId))
        .to.be.revertedWithCustomError(fx.registry, "RegistryNotPendingOwner")
        .withArgs(deviceId, fx.other.address);
    });

    it("reverts with RegistryDeviceRevoked when the device was revoked meanwhile", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await fx.registry.connect(fx.owner).startTransfer(deviceId, fx.buyer.address);
      await fx.registry.connect(fx.owner).revoke(deviceId, 1);
      await expect(fx.registry.connect(fx.buyer).acceptTransfer(deviceId))
        .to.be.revertedWithCustomError(fx.registry, "RegistryDeviceRevoked")
        .withArgs(deviceId);
    });
  });

  describe("acceptTransferBySig", function () {
    it("lets a relayer submit the pending owner's acceptance", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await fx.client.connect(fx.owner).startTransfer({ deviceId, newOwner: fx.buyer.address });
      const authorization = await fx.client.authorize({
        signer: fx.buyer,
        action: "AcceptTransfer",
        message: { deviceId },
        deadline: FAR_DEADLINE,
      });
      await fx.client.connect(fx.relayer).acceptTransfer({ deviceId, authorization });
      expect((await fx.client.getDevice(deviceId)).owner).to.equal(fx.buyer.address);
    });

    it("reverts with RegistryNotPendingOwner when no transfer is pending", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await expect(fx.registry.acceptTransferBySig(deviceId, FAR_DEADLINE, "0x"))
        .to.be.revertedWithCustomError(fx.registry, "RegistryNotPendingOwner")
        .withArgs(deviceId, ethers.ZeroAddress);
    });

    it("reverts with RegistryInvalidSignature for a signature by someone else", async function () {
      const fx = await loadFixture(registryFixture);
      const { deviceId } = await registeredDevice(fx);
      await fx.registry.connect(fx.owner).startTransfer(deviceId, fx.buyer.address);
      const authorization = await fx.client.authorize({
        signer: fx.other,
        action: "AcceptTransfer",
        message: { deviceId },
        deadline: FAR_DEADLINE,
      });
      const error = await fx.client
        .connect(fx.relayer)
        .acceptTransfer({ deviceId, authorization })
        .catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ContractRevertError);
      expect((error as ContractRevertError).errorName).to.equal("RegistryInvalidSignature");
      expect((error as ContractRevertError).args.expectedSigner).to.equal(fx.buyer.address);
    });
  });
});
