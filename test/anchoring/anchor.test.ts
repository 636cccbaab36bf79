import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anchorFixture, anchoredBatch, header } from "../helpers/anchor";

describe("TelemetryAnchor: anchoring", function () {
  describe("constructor", function () {
    it("grants the admin role and records the registry and the EIP-712 domain", async function () {
      const fx = await loadFixture(anchorFixture);
      expect(await fx.anchor.hasRole(await fx.anchor.DEFAULT_ADMIN_ROLE(), fx.admin.address)).to.equal(true);
      expect(await fx.anchor.registry()).to.equal(await fx.registry.getAddress());
      const domain = await fx.anchorClient.domain();
      expect(domain).to.deep.equal(fx.telemetry);
      expect(await fx.anchor.batchCount()).to.equal(0n);
    });
  });

  describe("anchor", function () {
    it("records submitter, sequential id and block time, and emits BatchAnchored", async function () {
      const fx = await loadFixture(anchorFixture);
      const first = header({ root: ethers.id("r1") });
      await expect(fx.anchor.connect(fx.relayer).anchor(first))
        .to.emit(fx.anchor, "BatchAnchored")
        .withArgs(
          1n,
          first.root,
          fx.relayer.address,
          first.readingCount,
          first.fromTimestamp,
          first.toTimestamp,
          first.contentHash,
          first.contentURI,
        );
      const at = await time.latest();
      expect(await fx.anchorClient.getAnchor(first.root)).to.deep.equal({
        submitter: fx.relayer.address,
        batchId: 1n,
        anchoredAt: BigInt(at),
        registrySeq: 0n,
        anchoredMoment: BigInt(at) << 16n,
      });
      const second = await fx.anchorClient.anchor(header({ root: ethers.id("r2") }));
      expect(second.batchId).to.equal(2n);
      expect(second.submitter).to.equal(fx.relayer.address);
      expect(await fx.anchor.batchCount()).to.equal(2n);
    });

    it("accepts a batch whose window is a single instant", async function () {
      const fx = await loadFixture(anchorFixture);
      await expect(fx.anchor.connect(fx.relayer).anchor(header({ fromTimestamp: 5n, toTimestamp: 5n }))).to.emit(
        fx.anchor,
        "BatchAnchored",
      );
    });

    it("reverts with AccessControlUnauthorizedAccount without the ANCHORER role", async function () {
      const fx = await loadFixture(anchorFixture);
      await expect(fx.anchor.connect(fx.other).anchor(header()))
        .to.be.revertedWithCustomError(fx.anchor, "AccessControlUnauthorizedAccount")
        .withArgs(fx.other.address, await fx.anchor.ANCHORER_ROLE());
    });

    it("security: a revoked anchorer can no longer anchor", async function () {
      const fx = await loadFixture(anchorFixture);
      await fx.anchor.revokeRole(await fx.anchor.ANCHORER_ROLE(), fx.relayer.address);
      await expect(fx.anchor.connect(fx.relayer).anchor(header())).to.be.revertedWithCustomError(
        fx.anchor,
        "AccessControlUnauthorizedAccount",
      );
    });

    it("reverts with AnchorInvalidRoot for a zero root", async function () {
      const fx = await loadFixture(anchorFixture);
      await expect(
        fx.anchor.connect(fx.relayer).anchor(header({ root: ethers.ZeroHash })),
      ).to.be.revertedWithCustomError(fx.anchor, "AnchorInvalidRoot");
    });

    it("reverts with AnchorEmptyBatch for zero readings", async function () {
      const fx = await loadFixture(anchorFixture);
      const input = header({ readingCount: 0 });
      await expect(fx.anchor.connect(fx.relayer).anchor(input))
        .to.be.revertedWithCustomError(fx.anchor, "AnchorEmptyBatch")
        .withArgs(input.root);
    });

    it("reverts with AnchorInvalidWindow when the window ends before it starts", async function () {
      const fx = await loadFixture(anchorFixture);
      await expect(fx.anchor.connect(fx.relayer).anchor(header({ fromTimestamp: 10n, toTimestamp: 9n })))
        .to.be.revertedWithCustomError(fx.anchor, "AnchorInvalidWindow")
        .withArgs(10n, 9n);
    });

    it("security: a root is never overwritten (AnchorRootAlreadyAnchored)", async function () {
      const fx = await loadFixture(anchorFixture);
      const input = header();
      await fx.anchorClient.anchor(input);
      await expect(fx.anchor.connect(fx.relayer).anchor({ ...input, contentURI: "ipfs://other" }))
        .to.be.revertedWithCustomError(fx.anchor, "AnchorRootAlreadyAnchored")
        .withArgs(input.root, 1n);
      expect((await fx.anchorClient.getAnchor(input.root)).batchId).to.equal(1n);
      expect(await fx.anchor.batchCount()).to.equal(1n);
    });
  });

  describe("anchorMany", function () {
    it("anchors several roots with consecutive ids in one transaction", async function () {
      const fx = await loadFixture(anchorFixture);
      await fx.anchorClient.anchor(header({ root: ethers.id("before") }));
      const roots = [ethers.id("a"), ethers.id("b"), ethers.id("c")];
      const anchored = await fx.anchorClient.anchorMany(roots.map((root) => header({ root })));
      expect(anchored.map((a) => a.batchId)).to.deep.equal([2n, 3n, 4n]);
      expect(anchored.map((a) => a.root)).to.deep.equal(roots);
      expect(new Set(anchored.map((a) => a.transactionHash)).size).to.equal(1);
      for (const [i, root] of roots.entries()) {
        expect((await fx.anchorClient.getAnchor(root)).batchId).to.equal(BigInt(i + 2));
      }
      expect(await fx.anchor.batchCount()).to.equal(4n);
    });

    it("returns the first id", async function () {
      const fx = await loadFixture(anchorFixture);
      const roots = [ethers.id("x"), ethers.id("y")];
      expect(await fx.anchor.connect(fx.relayer).anchorMany.staticCall(roots.map((root) => header({ root })))).to.equal(
        1n,
      );
    });

    it("reverts with AnchorEmptyInput for no batches", async function () {
      const fx = await loadFixture(anchorFixture);
      await expect(fx.anchor.connect(fx.relayer).anchorMany([])).to.be.revertedWithCustomError(
        fx.anchor,
        "AnchorEmptyInput",
      );
    });

    it("is all or nothing: a duplicate root inside the list reverts the whole call", async function () {
      const fx = await loadFixture(anchorFixture);
      const root = ethers.id("dup");
      await expect(fx.anchor.connect(fx.relayer).anchorMany([header({ root }), header({ root })]))
        .to.be.revertedWithCustomError(fx.anchor, "AnchorRootAlreadyAnchored")
        .withArgs(root, 1n);
      expect(await fx.anchor.batchCount()).to.equal(0n);
    });

    it("reverts without the ANCHORER role", async function () {
      const fx = await loadFixture(anchorFixture);
      await expect(fx.anchor.connect(fx.other).anchorMany([header()])).to.be.revertedWithCustomError(
        fx.anchor,
        "AccessControlUnauthorizedAccount",
      );
    });
  });

  describe("getAnchor", function () {
    it("is all zero for a root never anchored", async function () {
      const fx = await loadFixture(anchorFixture);
      expect(await fx.anchorClient.getAnchor(ethers.id("never"))).to.deep.equal({
        submitter: ethers.ZeroAddress,
        batchId: 0n,
        anchoredAt: 0n,
        registrySeq: 0n,
        anchoredMoment: 0n,
      });
    });

    it("returns the batch of an anchored reading batch", async function () {
      const fx = await loadFixture(anchorFixture);
      const { batch, anchored } = await anchoredBatch(fx);
      expect((await fx.anchorClient.getAnchor(batch.root)).batchId).to.equal(anchored.batchId);
    });
  });
});
