import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { DeviceKey } from "../../src/device";
import {
  ContractRevertError,
  InvalidInputError,
  IotrailError,
  TransactionError,
  decodeContractError,
} from "../../src/errors";
import { Lot } from "../../src/registry";
import { registration, registryFixture } from "../helpers/registry";

describe("SDK errors", function () {
  describe("decodeContractError", function () {
    it("turns a custom revert into a ContractRevertError with named arguments", async function () {
      const fx = await loadFixture(registryFixture);
      const key = DeviceKey.generate();
      await fx.client.register(registration(fx, key));
      const error = await fx.client.register(registration(fx, key)).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ContractRevertError).and.instanceOf(IotrailError);
      const revert = error as ContractRevertError;
      expect(revert.code).to.equal("CONTRACT_REVERT");
      expect(revert.errorName).to.equal("RegistryKeyAlreadyUsed");
      expect(revert.args).to.deep.equal({ key: key.address });
      expect(revert.message).to.equal(`RegistryKeyAlreadyUsed(key=${key.address})`);
      expect(revert.cause).to.not.equal(undefined);
    });

    it("wraps anything else in a TransactionError that keeps the cause", function () {
      const iface = new ethers.Interface(["error Known(uint256 x)"]);
      const cause = new Error("connect ECONNREFUSED 127.0.0.1:8545");
      const error = decodeContractError(cause, iface);
      expect(error).to.be.instanceOf(TransactionError);
      expect(error.cause).to.equal(cause);
      expect(decodeContractError({ data: "0xdeadbeef" }, iface)).to.be.instanceOf(TransactionError);
      expect(decodeContractError(error, iface)).to.equal(error);
    });
  });
});

describe("Lot", function () {
  describe("build", function () {
    it("rejects empty lots, bad keys, bad hashes and duplicate keys", function () {
      const key = DeviceKey.generate().address;
      const hash = ethers.id("m");
      expect(() => Lot.build([])).to.throw(InvalidInputError);
      expect(() => Lot.build([{ key: "0x123", metadataHash: hash }])).to.throw(
        InvalidInputError,
        "key is not an address",
      );
      expect(() => Lot.build([{ key, metadataHash: "0x12" }])).to.throw(InvalidInputError, "metadataHash");
      expect(() =>
        Lot.build([
          { key, metadataHash: hash },
          { key: key.toLowerCase(), metadataHash: hash },
        ]),
      ).to.throw(InvalidInputError, "duplicate key");
    });

    it("finds entries case-insensitively and rejects unknown keys", function () {
      const key = DeviceKey.generate().address;
      const lot = Lot.build([{ key, metadataHash: ethers.id("m") }]);
      expect(lot.entry(key.toLowerCase()).key).to.equal(key);
      expect(lot.deviceCount).to.equal(1);
      expect(() => lot.proof(DeviceKey.generate().address)).to.throw(InvalidInputError, "holds no device");
    });
  });
});
