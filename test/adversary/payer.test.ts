/**
 * A payer avoiding payment, or a griefer in the payer's place (N-L2): with a token that accepts any call,
 * anyone could "open by authorization" the funder's deterministic channel id with nothing deposited, and the
 * funder's own open then reverts ChannelExists. A channel opened by authorization holds exactly what was
 * authorized, more than nothing, or it does not open.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { channelsFixture } from "../helpers/payments";

describe("adversary: a payer avoiding payment", function () {
  it("security (N-L2): a token whose fallback accepts any call cannot open (squat) a funder's channel id with no deposit", async function () {
    const fx = await channelsFixture();
    const token = await ethers.deployContract("FallbackToken");
    await token.mint(fx.owner.address, 1_000n);
    await token.connect(fx.owner).approve(await fx.channels.getAddress(), 1_000n);
    const params = {
      payee: fx.buyer.address,
      signer: fx.device.address,
      token: await token.getAddress(),
      amount: 0n,
      cap: 0n,
      expiry: 0n,
      salt: ethers.ZeroHash,
    };
    const authorization = { validAfter: 0n, validBefore: 2n ** 40n, v: 27, r: ethers.ZeroHash, s: ethers.ZeroHash };
    // The griefer submits for the funder (fx.owner): zero and non-zero amounts both fail, nothing arrived.
    for (const amount of [0n, 500n]) {
      await expect(
        fx.channels.connect(fx.other).openWithAuthorization(fx.owner.address, { ...params, amount }, authorization),
      )
        .to.be.revertedWithCustomError(fx.channels, "ChannelInvalidDeposit")
        .withArgs(amount, 0n);
    }
    // The funder's own open with the same terms (the same id) still works.
    await expect(fx.channels.connect(fx.owner).open({ ...params, amount: 500n })).to.emit(fx.channels, "ChannelOpened");
  });
});
