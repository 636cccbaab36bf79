import { expect } from "chai";
import { ethers } from "hardhat";
import fc from "fast-check";
import { addressOfPrivateKey, recoverSigner, secp256k1Backend, signDigest } from "../../src/crypto";
import { DeviceKey } from "../../src/device";
import { highS } from "../helpers/registry";

describe("crypto (secp256k1)", function () {
  it("uses the native binding on this machine", function () {
    expect(secp256k1Backend()).to.equal("native");
  });

  describe("signDigest", function () {
    it("property: signatures equal ethers' (RFC 6979, low s) and recover to the signer", function () {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          (key, digest) => {
            const wallet = (() => {
              try {
                return new ethers.Wallet(ethers.hexlify(key));
              } catch {
                return undefined; // not a valid private key (0 or >= n)
              }
            })();
            if (wallet === undefined) return;
            const ours = signDigest(digest, key);
            expect(ethers.hexlify(ours)).to.equal(wallet.signingKey.sign(digest).serialized);
            expect(recoverSigner(digest, ours)).to.equal(wallet.address);
          },
        ),
        { numRuns: 200 },
      );
    });
  });

  describe("addressOfPrivateKey", function () {
    it("property: the address ethers derives", function () {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
          let wallet: InstanceType<typeof ethers.Wallet>;
          try {
            wallet = new ethers.Wallet(ethers.hexlify(key));
          } catch {
            return; // not a valid private key (0 or >= n)
          }
          expect(ethers.getAddress(ethers.hexlify(addressOfPrivateKey(key)))).to.equal(wallet.address);
        }),
        { numRuns: 200 },
      );
    });
  });

  describe("recoverSigner", function () {
    it("rejects high-s, a bad v, wrong lengths and an unrecoverable signature", function () {
      const key = DeviceKey.generate();
      const digest = ethers.getBytes(ethers.id("message"));
      const signature = key.signDigest(ethers.hexlify(digest));
      expect(recoverSigner(digest, ethers.getBytes(signature))).to.equal(key.address);
      expect(recoverSigner(digest, ethers.getBytes(highS(signature)))).to.equal(undefined);
      const badV = ethers.getBytes(signature);
      badV[64] = 29;
      expect(recoverSigner(digest, badV)).to.equal(undefined);
      expect(recoverSigner(digest.subarray(1), ethers.getBytes(signature))).to.equal(undefined);
      expect(recoverSigner(digest, new Uint8Array(64))).to.equal(undefined);
      const zero = new Uint8Array(65);
      zero[64] = 27;
      expect(recoverSigner(digest, zero)).to.equal(undefined);
    });
  });
});
