import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { DeviceKey } from "../../src/device";
import { DeviceStatus, Lot, LotStatus } from "../../src/registry";
import type { LotEntry } from "../../src/registry";
import { MerkleTree, standardLeafHex } from "../../src/merkle";
import { FAR_DEADLINE, registryFixture } from "../helpers/registry";
import type { RegistryFixture } from "../helpers/registry";

function lotOf(size: number): { keys: DeviceKey[]; lot: Lot } {
  const keys = Array.from({ length: size }, () => DeviceKey.generate());
  const lot = Lot.build(keys.map((k, i) => ({ key: k.address, metadataHash: ethers.id(`device-${i}`) })));
  return { keys, lot };
}

async function committedLot(fx: RegistryFixture, size = 4) {
  const { keys, lot } = lotOf(size);
  const { lotId } = await fx.client.commitLot({ root: lot.root, owner: fx.owner.address, deviceCount: size });
  return { keys, lot, lotId };
}

function claimProof(fx: RegistryFixture, key: DeviceKey, lotId: bigint, deadline = FAR_DEADLINE) {
  return { key: key.address, deadline, signature: key.signClaim({ domain: fx.domain, lotId, deadline }) };
}

describe("DeviceRegistry: lots", function () {
  describe("commitLot", function () {
    it("stores the lot and emits LotCommitted", async function () {
      const fx = await loadFixture(registryFixture);
      const { lot } = lotOf(3);
      await expect(fx.registry.connect(fx.manufacturer).commitLot(lot.root, fx.owner.address, 3, "ipfs://lot"))
        .to.emit(fx.registry, "LotCommitted")
        .withArgs(1n, fx.manufacturer.address, fx.owner.address, lot.root, 3, "ipfs://lot");
      const stored = await fx.client.getLot(1n);
      expect(stored).to.include({ root: lot.root, manufacturer: fx.manufacturer.address, owner: fx.owner.address });
      expect(stored.status).to.equal(LotStatus.Active);
      expect(stored.committedAt).to.equal(BigInt(await time.latest()));
      expect(await fx.registry.lotCount()).to.equal(1n);
    });

    it("reverts with RegistryInvalidLotRoot for a zero root", async function () {
      const fx = await loadFixture(registryFixture);
      await expect(fx.registry.connect(fx.manufacturer).commitLot(ethers.ZeroHash, fx.owner.address, 1, ""))
        .to.be.revertedWithCustomError(fx.registry, "RegistryInvalidLotRoot")
        .withArgs(ethers.ZeroHash);
    });

    it("reverts with RegistryInvalidOwner for a zero owner", async function () {
      const fx = await loadFixture(registryFixture);
      await expect(fx.registry.connect(fx.manufacturer).commitLot(ethers.id("root"), ethers.ZeroAddress, 1, ""))
        .to.be.revertedWithCustomError(fx.registry, "RegistryInvalidOwner")
        .withArgs(ethers.ZeroAddress);
    });

    it("reverts for an account without the manufacturer role", async function () {
      const fx = await loadFixture(registryFixture);
      await expect(
        fx.registry.connect(fx.other).commitLot(ethers.id("root"), fx.owner.address, 1, ""),
      ).to.be.revertedWithCustomError(fx.registry, "AccessControlUnauthorizedAccount");
    });

    for (const size of [1, 2, 7]) {
      it(`a lot of ${size} device(s): every entry proves membership on-chain and matches StandardMerkleTree`, async function () {
        const fx = await loadFixture(registryFixture);
        const { keys, lot, lotId } = await committedLot(fx, size);
        const reference = StandardMerkleTree.of(
          lot.entries.map((e) => [e.key, e.metadataHash]),
          ["address", "bytes32"],
        );
        expect(lot.root).to.equal(reference.root);
        const now = BigInt(await time.latest());
        for (const [i, key] of keys.entries()) {
          expect(lot.proof(key.address)).to.deep.equal(reference.getProof(i));
          expect(
            await fx.registry.lotEntryValidAt(
              lotId,
              key.address,
              lot.entries[i]!.metadataHash,
              lot.proof(key.address),
              now,
            ),
          ).to.equal(true);
        }
      });
    }

    it("a lot of 10,000 devices: root equals StandardMerkleTree's, proofs verify on-chain", async function () {
      const fx = await loadFixture(registryFixture);
      const entries: LotEntry[] = Array.from({ length: 10_000 }, (_, i) => ({
        key: ethers.getAddress(ethers.zeroPadValue(ethers.toBeHex(i + 1), 20)),
        metadataHash: ethers.id(`device-${i}`),
      }));
      const lot = Lot.build(entries);
      const reference = StandardMerkleTree.of(
        entries.map((e) => [e.key, e.metadataHash]),
        ["address", "bytes32"],
      );
      expect(lot.root).to.equal(reference.root);
      const { lotId } = await fx.client.commitLot({ root: lot.root, owner: fx.owner.address, deviceCount: 10_000 });
      const now = BigInt(await time.latest());
      // Every proof checks off-chain; a spread of 100 (first, last and every 101st) also on-chain.
      for (const [i, entry] of entries.entries()) {
        const leaf = standardLeafHex(["address", "bytes32"], [entry.key, entry.metadataHash]);
        expect(MerkleTree.verify(lot.root, leaf, lot.proof(entry.key)), `entry ${i}`).to.equal(true);
      }
      const sample = [0, 9_999, ...Array.from({ length: 98 }, (_, i) => (i + 1) * 101)];
      for (const i of sample) {
        const entry = entries[i]!;
        expect(
          await fx.registry.lotEntryValidAt(lotId, entry.key, entry.metadataHash, lot.proof(entry.key), now),
        ).to.equal(true);
      }
    });
  });

  describe("claim", function () {
    it("turns an entry into a record owned by the lot owner, registered from the claim on; the lot answers before", async function () {
      const fx = await loadFixture(registryFixture);
      const { keys, lot, lotId } = await committedLot(fx);
      const key = keys[2]!;
      const { metadataHash } = lot.entry(key.address);
      const committedAt = (await fx.client.getLot(lotId)).committedAt;
      await expect(
        fx.registry.connect(fx.relayer).claim(lotId, metadataHash, lot.proof(key.address), claimProof(fx, key, lotId)),
      )
        .to.emit(fx.registry, "DeviceClaimed")
        .withArgs(BigInt(key.address), key.address, lotId, fx.owner.address, metadataHash);
      const device = await fx.client.getDevice(BigInt(key.address));
      const claimedAt = BigInt(await time.latest());
      expect(device.owner).to.equal(fx.owner.address);
      expect(device.registeredAt).to.equal(claimedAt);
      expect(device.metadataHash).to.equal(metadataHash);
      // The claim does not rewrite the past: before it, the key had no record of its own.
      expect(await fx.registry.validAt(key.address, committedAt)).to.equal(false);
      expect(await fx.registry.validAt(key.address, claimedAt)).to.equal(true);
      const proof = lot.proof(key.address);
      expect(await fx.registry.lotEntryValidAt(lotId, key.address, metadataHash, proof, committedAt)).to.equal(true);
    });

    it("reverts with RegistryUnknownLot for a lot that does not exist", async function () {
      const fx = await loadFixture(registryFixture);
      const key = DeviceKey.generate();
      await expect(fx.registry.claim(9n, ethers.ZeroHash, [], claimProof(fx, key, 9n)))
        .to.be.revertedWithCustomError(fx.registry, "RegistryUnknownLot")
        .withArgs(9n);
    });

    it("reverts with RegistryLotNotActive once the lot is closed or revoked", async function () {
      const fx = await loadFixture(registryFixture);
      const { keys, lot, lotId } = await committedLot(fx);
      await fx.registry.connect(fx.manufacturer).closeLot(lotId);
      const key = keys[0]!;
      const args = [
        lotId,
        lot.entry(key.address).metadataHash,
        lot.proof(key.address),
        claimProof(fx, key, lotId),
      ] as const;
      await expect(fx.registry.claim(...args))
        .to.be.revertedWithCustomError(fx.registry, "RegistryLotNotActive")
        .withArgs(lotId, LotStatus.Closed);
      await fx.registry.connect(fx.manufacturer).revokeLot(lotId, 7);
      await expect(fx.registry.claim(...args))
        .to.be.revertedWithCustomError(fx.registry, "RegistryLotNotActive")
        .withArgs(lotId, LotStatus.Revoked);
    });

    it("reverts with RegistryInvalidLotProof for a key or metadata not in the lot", async function () {
      const fx = await loadFixture(registryFixture);
      const { keys, lot, lotId } = await committedLot(fx);
      const key = keys[0]!;
      const outsider = DeviceKey.generate();
      await expect(
        fx.registry.claim(
          lotId,
          lot.entry(key.address).metadataHash,
          lot.proof(key.address),
          claimProof(fx, outsider, lotId),
        ),
      )
        .to.be.revertedWithCustomError(fx.registry, "RegistryInvalidLotProof")
        .withArgs(lotId, outsider.address);
      await expect(
        fx.registry.claim(lotId, ethers.id("other metadata"), lot.proof(key.address), claimProof(fx, key, lotId)),
      ).to.be.revertedWithCustomError(fx.registry, "RegistryInvalidLotProof");
    });

    it("security: replaying a claim fails with RegistryKeyAlreadyUsed", async function () {
      const fx = await loadFixture(registryFixture);
      const { keys, lot, lotId } = await committedLot(fx);
      const key = keys[1]!;
      const args = [
        lotId,
        lot.entry(key.address).metadataHash,
        lot.proof(key.address),
        claimProof(fx, key, lotId),
      ] as const;
      await fx.registry.claim(...args);
      await expect(fx.registry.claim(...args))
        .to.be.revertedWithCustomError(fx.registry, "RegistryKeyAlreadyUsed")
        .withArgs(key.address);
    });

    it("security: a claim proof signed for another lot is rejected", async function () {
      const fx = await loadFixture(registryFixture);
      const { keys, lot, lotId } = await committedLot(fx);
      const key = keys[0]!;
      await expect(
        fx.registry.claim(
          lotId,
          lot.entry(key.address).metadataHash,
          lot.proof(key.address),
          claimProof(fx, key, lotId + 1n),
        ),
      ).to.be.revertedWithCustomError(fx.registry, "RegistryInvalidPossessionProof");
    });

    it("reverts with RegistrySignatureExpired for an expired claim proof", async function () {
      const fx = await loadFixture(registryFixture);
      const { keys, lot, lotId } = await committedLot(fx);
      const key = keys[0]!;
      const deadline = BigInt(await time.latest());
      await time.setNextBlockTimestamp(deadline + 1n);
      await expect(
        fx.registry.claim(
          lotId,
          lot.entry(key.address).metadataHash,
          lot.proof(key.address),
          claimProof(fx, key, lotId, deadline),
        ),
      )
        .to.be.revertedWithCustomError(fx.registry, "RegistrySignatureExpired")
        .withArgs(deadline, deadline + 1n);
    });
  });

  describe("closeLot", function () {
    it("ends claiming; unclaimed entries keep counting", async function () {
      const fx = await loadFixture(registryFixture);
      const { keys, lot, lotId } = await committedLot(fx);
      await expect(fx.registry.connect(fx.manufacturer).closeLot(lotId))
        .to.emit(fx.registry, "LotStatusChanged")
        .withArgs(lotId, LotStatus.Closed, 0, await time.latest().then((t) => t + 1));
      await time.increase(100);
      const key = keys[0]!;
      expect(
        await fx.registry.lotEntryValidAt(
          lotId,
          key.address,
          lot.entry(key.address).metadataHash,
          lot.proof(key.address),
          await time.latest(),
        ),
      ).to.equal(true);
    });

    it("may be called by an admin", async function () {
      const fx = await loadFixture(registryFixture);
      const { lotId } = await committedLot(fx);
      await expect(fx.registry.connect(fx.admin).closeLot(lotId)).to.emit(fx.registry, "LotStatusChanged");
    });

    it("reverts with RegistryNotLotManager for another manufacturer", async function () {
      const fx = await loadFixture(registryFixture);
      const { lotId } = await committedLot(fx);
      await expect(fx.registry.connect(fx.manufacturer2).closeLot(lotId))
        .to.be.revertedWithCustomError(fx.registry, "RegistryNotLotManager")
        .withArgs(lotId, fx.manufacturer2.address);
    });

    it("reverts with RegistryUnknownLot and RegistryLotNotActive", async function () {
      const fx = await loadFixture(registryFixture);
      await expect(fx.registry.connect(fx.manufacturer).closeLot(5n))
        .to.be.revertedWithCustomError(fx.registry, "RegistryUnknownLot")
        .withArgs(5n);
      const { lotId } = await committedLot(fx);
      await fx.registry.connect(fx.manufacturer).closeLot(lotId);
      await expect(fx.registry.connect(fx.manufacturer).closeLot(lotId))
        .to.be.revertedWithCustomError(fx.registry, "RegistryLotNotActive")
        .withArgs(lotId, LotStatus.Closed);
    });
  });

  describe("revokeLot", function () {
    it("invalidates unclaimed entries from now on, but not claimed devices", async function () {
      const fx = await loadFixture(registryFixture);
      const { keys, lot, lotId } = await committedLot(fx);
      const [claimed, unclaimed] = [keys[0]!, keys[1]!];
      await fx.registry.claim(
        lotId,
        lot.entry(claimed.address).metadataHash,
        lot.proof(claimed.address),
        claimProof(fx, claimed, lotId),
      );
      const before = await time.latest();
      await time.increase(10);
      const nextBlockTime = (await time.latest()) + 1;
      await expect(fx.registry.connect(fx.manufacturer).revokeLot(lotId, 42))
        .to.emit(fx.registry, "LotStatusChanged")
        .withArgs(lotId, LotStatus.Revoked, 42, nextBlockTime);
      const revokedAt = (await fx.client.getLot(lotId)).endedAt;
      const check = (key: DeviceKey, at: number | bigint) =>
        fx.registry.lotEntryValidAt(
          lotId,
          key.address,
          lot.entry(key.address).metadataHash,
          lot.proof(key.address),
          at,
        );
      expect(await check(unclaimed, before)).to.equal(true);
      expect(await check(unclaimed, revokedAt - 1n)).to.equal(true);
      expect(await check(unclaimed, revokedAt)).to.equal(false);
      expect(await check(claimed, revokedAt)).to.equal(true);
    });

    it("revokes a closed lot too, and is terminal", async function () {
      const fx = await loadFixture(registryFixture);
      const { lotId } = await committedLot(fx);
      await fx.registry.connect(fx.manufacturer).closeLot(lotId);
      await fx.registry.connect(fx.manufacturer).revokeLot(lotId, 1);
      await expect(fx.registry.connect(fx.manufacturer).revokeLot(lotId, 1))
        .to.be.revertedWithCustomError(fx.registry, "RegistryLotNotActive")
        .withArgs(lotId, LotStatus.Revoked);
      await expect(fx.registry.connect(fx.manufacturer).closeLot(lotId))
        .to.be.revertedWithCustomError(fx.registry, "RegistryLotNotActive")
        .withArgs(lotId, LotStatus.Revoked);
    });

    it("reverts with RegistryNotLotManager for a stranger", async function () {
      const fx = await loadFixture(registryFixture);
      const { lotId } = await committedLot(fx);
      await expect(fx.registry.connect(fx.other).revokeLot(lotId, 1))
        .to.be.revertedWithCustomError(fx.registry, "RegistryNotLotManager")
        .withArgs(lotId, fx.other.address);
    });
  });

  describe("revokeLotDevice", function () {
    it("revokes an unclaimed entry within its lot only: no device record, the key stays free, the past unchanged", async function () {
      const fx = await loadFixture(registryFixture);
      const { keys, lot, lotId } = await committedLot(fx);
      const key = keys[3]!;
      const { metadataHash } = lot.entry(key.address);
      const proof = lot.proof(key.address);
      const before = await time.latest();
      await time.increase(5);
      const nextBlockTime = (await time.latest()) + 1;
      await expect(fx.registry.connect(fx.owner).revokeLotDevice(lotId, key.address, metadataHash, proof, 9))
        .to.emit(fx.registry, "LotEntryRevoked")
        .withArgs(lotId, key.address, 9, nextBlockTime);
      const now = await time.latest();
      expect(await fx.registry.lotEntryValidAt(lotId, key.address, metadataHash, proof, before)).to.equal(true);
      expect(await fx.registry.lotEntryValidAt(lotId, key.address, metadataHash, proof, now)).to.equal(false);
      expect((await fx.client.getDevice(BigInt(key.address))).status).to.equal(DeviceStatus.None);
      expect((await fx.registry.getKey(key.address)).deviceId).to.equal(0n);
      // It can no longer be claimed from this lot, or revoked there twice.
      await expect(fx.registry.claim(lotId, metadataHash, proof, claimProof(fx, key, lotId)))
        .to.be.revertedWithCustomError(fx.registry, "RegistryLotEntryRevoked")
        .withArgs(lotId, key.address);
      await expect(fx.registry.connect(fx.owner).revokeLotDevice(lotId, key.address, metadataHash, proof, 9))
        .to.be.revertedWithCustomError(fx.registry, "RegistryLotEntryRevoked")
        .withArgs(lotId, key.address);
    });

    it("security (M-1): a rogue manufacturer's copied lot cannot burn another manufacturer's key", async function () {
      const fx = await loadFixture(registryFixture);
      const { keys, lot, lotId } = await committedLot(fx);
      const key = keys[1]!;
      const { metadataHash } = lot.entry(key.address);
      const t0 = await time.latest();
      await time.increase(10);
      // M2 copies K (with M1's metadata) into a one-leaf lot of its own and revokes it there.
      const rogue = Lot.build([{ key: key.address, metadataHash }]);
      await fx.registry.connect(fx.manufacturer2).commitLot(rogue.root, fx.manufacturer2.address, 1, "");
      const rogueId = await fx.registry.lotCount();
      const rogueCommit = await time.latest();
      await fx.registry
        .connect(fx.manufacturer2)
        .revokeLotDevice(rogueId, key.address, metadataHash, rogue.proof(key.address), 1);
      // No record for K, and M1's lot answers as before, for any past time.
      expect((await fx.registry.getKey(key.address)).deviceId).to.equal(0n);
      expect((await fx.client.getDevice(BigInt(key.address))).owner).to.equal(ethers.ZeroAddress);
      for (const t of [t0, rogueCommit - 1, rogueCommit, await time.latest()]) {
        expect(await fx.registry.lotEntryValidAt(lotId, key.address, metadataHash, lot.proof(key.address), t)).to.equal(
          true,
        );
        expect(await fx.registry.validAt(key.address, t)).to.equal(false);
      }
      // The holder of K still claims it from M1's lot, owned by M1's lot owner.
      await fx.registry.claim(lotId, metadataHash, lot.proof(key.address), claimProof(fx, key, lotId));
      expect((await fx.client.getDevice(BigInt(key.address))).owner).to.equal(fx.owner.address);
    });

    it("security (M-1): revoking a copied fresh key does not front-run its registration", async function () {
      const fx = await loadFixture(registryFixture);
      const key = DeviceKey.generate();
      const rogue = Lot.build([{ key: key.address, metadataHash: ethers.ZeroHash }]);
      await fx.registry.connect(fx.manufacturer2).commitLot(rogue.root, fx.manufacturer2.address, 1, "");
      await fx.registry
        .connect(fx.manufacturer2)
        .revokeLotDevice(1n, key.address, ethers.ZeroHash, rogue.proof(key.address), 1);
      const deadline = FAR_DEADLINE;
      const signature = key.signRegistration({
        domain: fx.domain,
        registrant: fx.manufacturer.address,
        owner: fx.buyer.address,
        deadline,
      });
      await fx.client.register({
        key: key.address,
        owner: fx.buyer.address,
        metadataHash: ethers.ZeroHash,
        metadataURI: "",
        deadline,
        signature,
      });
      expect((await fx.client.getDevice(BigInt(key.address))).owner).to.equal(fx.buyer.address);
      expect(await fx.registry.validAt(key.address, await time.latest())).to.equal(true);
      // Before the registration the rogue lot keeps its own answer (revoked there); from the registration on,
      // the key's own record decides for every lot (N-M2), so the rogue lot can neither burn nor vouch for it.
      const registered = (await fx.client.getDevice(BigInt(key.address))).registeredAt;
      expect(
        await fx.registry.lotEntryValidAt(1n, key.address, ethers.ZeroHash, rogue.proof(key.address), registered - 1n),
      ).to.equal(false);
      expect(
        await fx.registry.lotEntryValidAt(
          1n,
          key.address,
          ethers.ZeroHash,
          rogue.proof(key.address),
          await time.latest(),
        ),
      ).to.equal(await fx.registry.validAt(key.address, await time.latest()));
    });

    it("security (L-1): a revoked lot's key stays dead in that lot when some device rotates to it", async function () {
      const fx = await loadFixture(registryFixture);
      const { keys, lot, lotId } = await committedLot(fx);
      const stolen = keys[2]!;
      const { metadataHash } = lot.entry(stolen.address);
      await fx.registry.connect(fx.manufacturer).revokeLot(lotId, 5);
      // The owner of any registered device rotates it to the stolen lot key.
      const device = DeviceKey.generate();
      const deadline = FAR_DEADLINE;
      await fx.client.register({
        key: device.address,
        owner: fx.buyer.address,
        metadataHash: ethers.ZeroHash,
        metadataURI: "",
        deadline,
        signature: device.signRegistration({
          domain: fx.domain,
          registrant: fx.manufacturer.address,
          owner: fx.buyer.address,
          deadline,
        }),
      });
      const newKey = {
        key: stolen.address,
        deadline,
        signature: stolen.signKeyAcceptance({ domain: fx.domain, deviceId: BigInt(device.address), deadline }),
      };
      const beforeRotation = await time.latest();
      await time.increase(2);
      await fx.registry.connect(fx.buyer).rotateKey(BigInt(device.address), newKey);
      const now = await time.latest();
      expect(await fx.registry.validAt(stolen.address, now)).to.equal(true);
      // The revoked lot's answer about any time before the rotation stays "dead".
      expect(
        await fx.registry.lotEntryValidAt(
          lotId,
          stolen.address,
          metadataHash,
          lot.proof(stolen.address),
          beforeRotation,
        ),
      ).to.equal(false);
      // From the rotation on, the key's own record decides (N-M2), whatever the lot says: the lot no longer
      // answers for the key at all, so its revocation neither vouches nor burns.
      expect(
        await fx.registry.lotEntryValidAt(lotId, stolen.address, metadataHash, lot.proof(stolen.address), now),
      ).to.equal(await fx.registry.validAt(stolen.address, now));
    });

    it("may be called by the lot's manufacturer, also on a closed lot", async function () {
      const fx = await loadFixture(registryFixture);
      const { keys, lot, lotId } = await committedLot(fx);
      await fx.registry.connect(fx.manufacturer).closeLot(lotId);
      const key = keys[0]!;
      await expect(
        fx.registry
          .connect(fx.manufacturer)
          .revokeLotDevice(lotId, key.address, lot.entry(key.address).metadataHash, lot.proof(key.address), 1),
      ).to.emit(fx.registry, "LotEntryRevoked");
    });

    it("reverts with RegistryNotLotManager for a stranger", async function () {
      const fx = await loadFixture(registryFixture);
      const { keys, lot, lotId } = await committedLot(fx);
      const key = keys[0]!;
      await expect(
        fx.registry
          .connect(fx.other)
          .revokeLotDevice(lotId, key.address, lot.entry(key.address).metadataHash, lot.proof(key.address), 1),
      )
        .to.be.revertedWithCustomError(fx.registry, "RegistryNotLotManager")
        .withArgs(lotId, fx.other.address);
    });

    it("reverts with RegistryInvalidLotProof, RegistryKeyAlreadyUsed (claimed) and RegistryLotNotActive", async function () {
      const fx = await loadFixture(registryFixture);
      const { keys, lot, lotId } = await committedLot(fx);
      const key = keys[0]!;
      const { metadataHash } = lot.entry(key.address);
      await expect(
        fx.registry.connect(fx.owner).revokeLotDevice(lotId, key.address, ethers.id("x"), lot.proof(key.address), 1),
      )
        .to.be.revertedWithCustomError(fx.registry, "RegistryInvalidLotProof")
        .withArgs(lotId, key.address);
      await fx.registry.claim(lotId, metadataHash, lot.proof(key.address), claimProof(fx, key, lotId));
      await expect(
        fx.registry.connect(fx.owner).revokeLotDevice(lotId, key.address, metadataHash, lot.proof(key.address), 1),
      )
        .to.be.revertedWithCustomError(fx.registry, "RegistryKeyAlreadyUsed")
        .withArgs(key.address);
      await fx.registry.connect(fx.manufacturer).revokeLot(lotId, 1);
      const other = keys[1]!;
      await expect(
        fx.registry
          .connect(fx.owner)
          .revokeLotDevice(lotId, other.address, lot.entry(other.address).metadataHash, lot.proof(other.address), 1),
      )
        .to.be.revertedWithCustomError(fx.registry, "RegistryLotNotActive")
        .withArgs(lotId, LotStatus.Revoked);
    });
  });

  describe("lotEntryValidAt", function () {
    it("is false before the commit, for a wrong proof, an unknown lot, and reverts for the future", async function () {
      const fx = await loadFixture(registryFixture);
      const before = await time.latest();
      const { keys, lot, lotId } = await committedLot(fx);
      const key = keys[0]!;
      const { metadataHash } = lot.entry(key.address);
      const now = await time.latest();
      expect(
        await fx.registry.lotEntryValidAt(lotId, key.address, metadataHash, lot.proof(key.address), before),
      ).to.equal(false);
      expect(
        await fx.registry.lotEntryValidAt(lotId, key.address, metadataHash, lot.proof(keys[1]!.address), now),
      ).to.equal(false);
      expect(
        await fx.registry.lotEntryValidAt(lotId + 1n, key.address, metadataHash, lot.proof(key.address), now),
      ).to.equal(false);
      await expect(fx.registry.lotEntryValidAt(lotId, key.address, metadataHash, lot.proof(key.address), now + 1))
        .to.be.revertedWithCustomError(fx.registry, "RegistryFutureLookup")
        .withArgs(now + 1, now);
    });

    it("defers to the device record once claimed (a suspended claimed device is not valid)", async function () {
      const fx = await loadFixture(registryFixture);
      const { keys, lot, lotId } = await committedLot(fx);
      const key = keys[0]!;
      const { metadataHash } = lot.entry(key.address);
      await fx.registry.claim(lotId, metadataHash, lot.proof(key.address), claimProof(fx, key, lotId));
      await fx.registry.connect(fx.owner).suspend(BigInt(key.address), 3);
      expect(
        await fx.registry.lotEntryValidAt(
          lotId,
          key.address,
          metadataHash,
          lot.proof(key.address),
          await time.latest(),
        ),
      ).to.equal(false);
    });
  });
});
