import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";

describe("DemoToken", function () {
  async function tokenFixture() {
    const [holder] = await ethers.getSigners();
    return { token: await ethers.deployContract("DemoToken"), holder: holder! };
  }

  describe("mint", function () {
    it("mints up to MAX_MINT per call to anyone who asks (a development faucet)", async function () {
      const { token, holder } = await loadFixture(tokenFixture);
      const max = await token.MAX_MINT();
      expect(max).to.equal(1_000_000n * 10n ** 6n);
      await token.mint(holder.address, max);
      expect(await token.balanceOf(holder.address)).to.equal(max);
    });

    it("reverts with DemoTokenMintTooLarge above MAX_MINT", async function () {
      const { token, holder } = await loadFixture(tokenFixture);
      const max = await token.MAX_MINT();
      await expect(token.mint(holder.address, max + 1n))
        .to.be.revertedWithCustomError(token, "DemoTokenMintTooLarge")
        .withArgs(max + 1n, max);
    });
  });

  describe("decimals", function () {
    it("is 6, like USDC", async function () {
      const { token } = await loadFixture(tokenFixture);
      expect(await token.decimals()).to.equal(6n);
      expect(await token.symbol()).to.equal("dUSD");
    });
  });
});
