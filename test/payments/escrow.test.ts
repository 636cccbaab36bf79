import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { DeviceKey } from "../../src/device";
import { readingDigest } from "../../src/eip712";
import { ETH, EscrowClient, EscrowStatus, NO_CONDITION, conditionHash } from "../../src/payments";
import type { EscrowCondition } from "../../src/payments";
import { ReadingBatch } from "../../src/telemetry";
import type { Reading } from "../../src/telemetry";
import { T0, TEMPERATURE, anchorFixture, sign } from "../helpers/anchor";
import { expectRejected } from "../helpers/expect";
import type { AnchorFixture } from "../helpers/anchor";
import { highS } from "../helpers/registry";

const HOUR = 3600n;

async function escrowFixture() {
  const fx = await anchorFixture();
  const escrow = await ethers.deployContract("ConditionalEscrow", [await fx.anchor.getAddress()]);
  const client = new EscrowClient({ contract: escrow.connect(fx.owner) });
  // A cold-chain condition: the fixture's thermometer reads 2.000..8.000 °C during delivery day.
  const condition: EscrowCondition = {
    device: fx.device.address,
    metric: TEMPERATURE,
    minValue: 2_000n,
    maxValue: 8_000n,
    fromTimestamp: T0,
    toTimestamp: T0 + 24n * HOUR,
  };
  return { ...fx, escrow, escrowClient: client, condition };
}

type Fx = Awaited<ReturnType<typeof escrowFixture>>;

async function ethEscrow(fx: Fx, overrides: { deadline?: bigint; arbiter?: string; condition?: EscrowCondition } = {}) {
  const deadline = overrides.deadline ?? BigInt(await time.latest()) + 7n * 24n * HOUR;
  const { escrowId } = await fx.escrowClient.create({
    payee: fx.buyer.address,
    token: ETH,
    amount: 1000n,
    deadline,
    condition: overrides.condition ?? fx.condition,
    ...(overrides.arbiter === undefined ? {} : { arbiter: overrides.arbiter }),
  });
  return { escrowId, deadline };
}

function reading(fx: AnchorFixture, overrides: Partial<Reading> = {}): Reading {
  return {
    device: fx.device.address,
    sequence: 1n,
    timestamp: T0 + HOUR,
    metric: TEMPERATURE,
    value: 4_500n,
    payloadHash: ethers.ZeroHash,
    ...overrides,
  };
}

/** Anchors `readings` (signed by the fixture's device unless `key`) and returns the proof of readings[0]. */
async function anchored(fx: Fx, readings: Reading[], key: DeviceKey = fx.device) {
  const batch = await ReadingBatch.build(sign(fx, key, readings));
  const { batchId } = await fx.anchorClient.anchor(batch.header());
  const { reading: r, signature } = batch.readings[0]!;
  return { batchId, root: batch.root, reading: r, signature, proof: batch.proof(0) };
}

describe("ConditionalEscrow", function () {
  describe("create", function () {
    it("reverts with EscrowDeviceNotValid when the condition's device is not an active device key now", async function () {
      const fx = await loadFixture(escrowFixture);
      await fx.registry.connect(fx.owner).suspend(fx.deviceId, 1);
      await expectRejected(ethEscrow(fx), `EscrowDeviceNotValid(device=${fx.device.address})`);
      const stranger = { ...fx.condition, device: DeviceKey.generate().address };
      await expectRejected(ethEscrow(fx, { condition: stranger }), `EscrowDeviceNotValid(device=${stranger.device})`);
    });

    it("locks ETH and records the condition hash", async function () {
      const fx = await loadFixture(escrowFixture);
      const { escrowId, deadline } = await ethEscrow(fx);
      const e = await fx.escrowClient.getEscrow(escrowId);
      expect(e).to.deep.include({ payer: fx.owner.address, payee: fx.buyer.address, amount: 1000n, deadline });
      expect(e.conditionHash).to.equal(conditionHash(fx.condition));
      expect(e.status).to.equal(EscrowStatus.Active);
      expect(await fx.escrow.escrowCount()).to.equal(1n);
      expect(await fx.escrow.anchor()).to.equal(await fx.anchor.getAddress());
    });

    it("locks tokens (fee-on-transfer: what arrived) and stores no condition when none is given", async function () {
      const fx = await loadFixture(escrowFixture);
      const fee = await ethers.deployContract("FeeOnTransferToken");
      await fee.mint(fx.owner.address, 1000n);
      await fee.connect(fx.owner).approve(await fx.escrow.getAddress(), 1000n);
      const deadline = BigInt(await time.latest()) + HOUR;
      const { escrowId } = await fx.escrowClient.create({
        payee: fx.buyer.address,
        token: await fee.getAddress(),
        amount: 1000n,
        deadline,
      });
      const e = await fx.escrowClient.getEscrow(escrowId);
      expect(e.amount).to.equal(990n);
      expect(e.conditionHash).to.equal(ethers.ZeroHash);
    });

    it("reverts with EscrowInvalidPayee, EscrowInvalidDeadline, EscrowInvalidDeposit and EscrowInvalidCondition", async function () {
      const fx = await loadFixture(escrowFixture);
      const now = BigInt(await time.latest());
      const base = {
        payee: fx.buyer.address,
        token: ETH,
        amount: 10n,
        deadline: now + HOUR,
        arbiter: ethers.ZeroAddress,
        condition: fx.condition,
      };
      const e = fx.escrow.connect(fx.owner);
      for (const payee of [fx.owner.address, ethers.ZeroAddress]) {
        await expect(e.create({ ...base, payee }, { value: 10n }))
          .to.be.revertedWithCustomError(fx.escrow, "EscrowInvalidPayee")
          .withArgs(payee);
      }
      await expect(e.create({ ...base, deadline: now }, { value: 10n }))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowInvalidDeadline")
        .withArgs(now);
      await expect(e.create(base, { value: 9n }))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowInvalidDeposit")
        .withArgs(10n, 9n);
      await expect(e.create({ ...base, token: await fx.registry.getAddress() }, { value: 1n }))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowInvalidDeposit")
        .withArgs(0n, 1n);
      await expect(
        e.create({ ...base, condition: { ...fx.condition, minValue: 9_000n } }, { value: 10n }),
      ).to.be.revertedWithCustomError(fx.escrow, "EscrowInvalidCondition");
      await expect(
        e.create(
          { ...base, condition: { ...fx.condition, fromTimestamp: fx.condition.toTimestamp + 1n } },
          { value: 10n },
        ),
      ).to.be.revertedWithCustomError(fx.escrow, "EscrowInvalidCondition");
    });
  });

  describe("release", function () {
    it("the payer or the arbiter releases to the payee; nobody else", async function () {
      const fx = await loadFixture(escrowFixture);
      const { escrowId } = await ethEscrow(fx, { arbiter: fx.admin.address });
      await expect(fx.escrow.connect(fx.other).release(escrowId))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowUnauthorized")
        .withArgs(escrowId, fx.other.address);
      const tx = await fx.escrow.connect(fx.admin).release(escrowId);
      await expect(tx).to.emit(fx.escrow, "EscrowReleased").withArgs(escrowId, fx.admin.address, 0n);
      await expect(tx).to.changeEtherBalance(fx.buyer, 1000n);
      const second = await ethEscrow(fx);
      await expect(fx.escrow.connect(fx.owner).release(second.escrowId)).to.changeEtherBalance(fx.buyer, 1000n);
    });

    it("security: an escrow ends Released or Refunded, never both", async function () {
      const fx = await loadFixture(escrowFixture);
      const { escrowId, deadline } = await ethEscrow(fx);
      await fx.escrowClient.release({ escrowId });
      await expect(fx.escrow.connect(fx.owner).release(escrowId))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowNotActive")
        .withArgs(escrowId, EscrowStatus.Released);
      await time.increaseTo(deadline + 1n);
      await expect(fx.escrow.refund(escrowId))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowNotActive")
        .withArgs(escrowId, EscrowStatus.Released);
    });
  });

  describe("releaseBySig", function () {
    it("a relayer submits the payer's ReleaseEscrow signature, once", async function () {
      const fx = await loadFixture(escrowFixture);
      const { escrowId } = await ethEscrow(fx);
      const deadline = BigInt(await time.latest()) + HOUR;
      const authorization = await fx.escrowClient.authorizeRelease({ payer: fx.owner, escrowId, deadline });
      await expect(
        fx.escrow.connect(fx.relayer).releaseBySig(escrowId, deadline, authorization.signature),
      ).to.changeEtherBalance(fx.buyer, 1000n);
      const other = await ethEscrow(fx);
      await expect(fx.escrow.releaseBySig(other.escrowId, deadline, authorization.signature))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowInvalidSignature")
        .withArgs(fx.owner.address);
      await expect(fx.escrow.releaseBySig(99n, deadline, "0x"))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowUnknown")
        .withArgs(99n);
      await time.setNextBlockTimestamp(deadline + 1n);
      await expect(fx.escrow.releaseBySig(other.escrowId, deadline, "0x"))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowSignatureExpired")
        .withArgs(deadline, deadline + 1n);
    });
  });

  describe("releaseByReading", function () {
    it("releases on a proven, anchored reading that meets the condition; anyone may submit", async function () {
      const fx = await loadFixture(escrowFixture);
      const { escrowId } = await ethEscrow(fx);
      const proven = await anchored(fx, [reading(fx), reading(fx, { sequence: 2n })]);
      const tx = await fx.escrow
        .connect(fx.relayer)
        .releaseByReading(escrowId, fx.condition, proven.batchId, proven.reading, proven.signature, proven.proof);
      await expect(tx).to.emit(fx.escrow, "EscrowReleased").withArgs(escrowId, fx.relayer.address, proven.batchId);
      await expect(tx).to.changeEtherBalance(fx.buyer, 1000n);
    });

    it("accepts the bounds of the value range and time window", async function () {
      const fx = await loadFixture(escrowFixture);
      for (const r of [
        reading(fx, { value: fx.condition.minValue, timestamp: fx.condition.fromTimestamp }),
        reading(fx, { value: fx.condition.maxValue, timestamp: fx.condition.toTimestamp, sequence: 2n }),
      ]) {
        const { escrowId } = await ethEscrow(fx);
        const p = await anchored(fx, [r]);
        await fx.escrowClient.releaseByReading({ escrowId, condition: fx.condition, ...p });
        expect((await fx.escrowClient.getEscrow(escrowId)).status).to.equal(EscrowStatus.Released);
      }
    });

    it("reverts with EscrowValueOutOfRange, EscrowTimestampOutOfWindow and EscrowReadingMismatch", async function () {
      const fx = await loadFixture(escrowFixture);
      const { escrowId } = await ethEscrow(fx);
      const warm = await anchored(fx, [reading(fx, { value: 8_001n })]);
      const release = (p: Awaited<ReturnType<typeof anchored>>) =>
        fx.escrow.releaseByReading(escrowId, fx.condition, p.batchId, p.reading, p.signature, p.proof);
      await expect(release(warm))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowValueOutOfRange")
        .withArgs(escrowId, 8_001n, 2_000n, 8_000n);
      const late = await anchored(fx, [reading(fx, { timestamp: fx.condition.toTimestamp + 1n, sequence: 5n })]);
      await expect(release(late))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowTimestampOutOfWindow")
        .withArgs(escrowId, fx.condition.toTimestamp + 1n, fx.condition.fromTimestamp, fx.condition.toTimestamp);
      const cold = await anchored(fx, [reading(fx, { value: 1_999n, sequence: 3n })]);
      await expect(release(cold))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowValueOutOfRange")
        .withArgs(escrowId, 1_999n, 2_000n, 8_000n);
      const early = await anchored(fx, [reading(fx, { timestamp: fx.condition.fromTimestamp - 1n, sequence: 4n })]);
      await expect(release(early))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowTimestampOutOfWindow")
        .withArgs(escrowId, fx.condition.fromTimestamp - 1n, fx.condition.fromTimestamp, fx.condition.toTimestamp);
      const neighbour = DeviceKey.generate();
      const theirs = await anchored(fx, [reading(fx, { device: neighbour.address })], neighbour);
      await expect(release(theirs))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowReadingMismatch")
        .withArgs(escrowId, neighbour.address, TEMPERATURE);
      const humidity = ethers.encodeBytes32String("humidity.permille");
      const other = await anchored(fx, [reading(fx, { metric: humidity, sequence: 6n })]);
      await expect(release(other))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowReadingMismatch")
        .withArgs(escrowId, fx.device.address, humidity);
    });

    it("reverts with EscrowConditionMismatch for a changed condition or an escrow without one", async function () {
      const fx = await loadFixture(escrowFixture);
      const { escrowId } = await ethEscrow(fx);
      const p = await anchored(fx, [reading(fx)]);
      const loose = { ...fx.condition, maxValue: 99_999n };
      await expect(fx.escrow.releaseByReading(escrowId, loose, p.batchId, p.reading, p.signature, p.proof))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowConditionMismatch")
        .withArgs(escrowId, conditionHash(fx.condition), conditionHash(loose));
      const plain = await ethEscrow(fx, { condition: NO_CONDITION });
      await expect(
        fx.escrow.releaseByReading(plain.escrowId, NO_CONDITION, p.batchId, p.reading, p.signature, p.proof),
      ).to.be.revertedWithCustomError(fx.escrow, "EscrowConditionMismatch");
    });

    it("security: an unanchored reading, a forged or malleable signature cannot release", async function () {
      const fx = await loadFixture(escrowFixture);
      const { escrowId } = await ethEscrow(fx);
      const r = reading(fx);
      const batch = await ReadingBatch.build(sign(fx, fx.device, [r]));
      const signature = batch.readings[0]!.signature;
      await expect(
        fx.escrow.releaseByReading(escrowId, fx.condition, 1n, r, signature, []),
      ).to.be.revertedWithCustomError(fx.anchor, "AnchorReadingNotAnchored");
      const p = await anchored(fx, [r]);
      const forged = DeviceKey.generate().signDigest(readingDigest(fx.telemetry, r));
      await expect(
        fx.escrow.releaseByReading(escrowId, fx.condition, p.batchId, r, forged, p.proof),
      ).to.be.revertedWithCustomError(fx.anchor, "AnchorInvalidReadingSignature");
      await expect(
        fx.escrow.releaseByReading(escrowId, fx.condition, p.batchId, r, highS(p.signature), p.proof),
      ).to.be.revertedWithCustomError(fx.anchor, "AnchorInvalidReadingSignature");
    });

    it("security (M-2): a payer who owns the device cannot veto a genuine reading by suspending, revoking or rotating it", async function () {
      for (const veto of ["suspend", "revoke", "rotate", "suspend-resume"] as const) {
        const fx = await loadFixture(escrowFixture);
        const { escrowId } = await ethEscrow(fx);
        expect((await fx.client.getDevice(fx.deviceId)).owner).to.equal(fx.owner.address); // the payer
        const p = await anchored(fx, [reading(fx)]);
        const registry = fx.registry.connect(fx.owner);
        if (veto === "suspend" || veto === "suspend-resume") await registry.suspend(fx.deviceId, 1);
        if (veto === "suspend-resume") await registry.resume(fx.deviceId);
        if (veto === "revoke") await registry.revoke(fx.deviceId, 1);
        if (veto === "rotate") {
          const next = DeviceKey.generate();
          const deadline = BigInt(await time.latest()) + HOUR;
          await registry.rotateKey(fx.deviceId, {
            key: next.address,
            deadline,
            signature: next.signKeyAcceptance({ domain: fx.domain, deviceId: fx.deviceId, deadline }),
          });
        }
        const submit = fx.escrow.connect(fx.buyer);
        await expect(submit.releaseByReading(escrowId, fx.condition, p.batchId, p.reading, p.signature, p.proof))
          .to.emit(fx.escrow, "EscrowReleased")
          .withArgs(escrowId, fx.buyer.address, p.batchId);
      }
    });

    it("security (M-2): a reading anchored while the payer had the device suspended still releases", async function () {
      const fx = await loadFixture(escrowFixture);
      const { escrowId } = await ethEscrow(fx);
      await fx.registry.connect(fx.owner).suspend(fx.deviceId, 1);
      const p = await anchored(fx, [reading(fx)]);
      await fx.registry.connect(fx.owner).resume(fx.deviceId);
      await expect(
        fx.escrow
          .connect(fx.buyer)
          .releaseByReading(escrowId, fx.condition, p.batchId, p.reading, p.signature, p.proof),
      ).to.emit(fx.escrow, "EscrowReleased");
    });
  });

  describe("refund", function () {
    it("refund at deadline - 1 and at the deadline reverts; at deadline + 1 anyone refunds the payer", async function () {
      const fx = await loadFixture(escrowFixture);
      const { escrowId, deadline } = await ethEscrow(fx);
      await time.setNextBlockTimestamp(deadline - 1n);
      await expect(fx.escrow.refund(escrowId))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowNotExpired")
        .withArgs(escrowId, deadline);
      await time.setNextBlockTimestamp(deadline);
      await expect(fx.escrow.refund(escrowId))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowNotExpired")
        .withArgs(escrowId, deadline);
      await time.setNextBlockTimestamp(deadline + 1n);
      const tx = await fx.escrow.connect(fx.other).refund(escrowId);
      await expect(tx).to.emit(fx.escrow, "EscrowRefunded").withArgs(escrowId);
      await expect(tx).to.changeEtherBalance(fx.owner, 1000n);
      await expect(fx.escrow.refund(7n)).to.be.revertedWithCustomError(fx.escrow, "EscrowUnknown").withArgs(7n);
    });

    it("release works at the deadline and reverts with EscrowExpired after it", async function () {
      const fx = await loadFixture(escrowFixture);
      const first = await ethEscrow(fx);
      const second = await ethEscrow(fx, { deadline: first.deadline + 10n });
      await time.setNextBlockTimestamp(first.deadline);
      await fx.escrowClient.release({ escrowId: first.escrowId });
      await time.setNextBlockTimestamp(second.deadline + 1n);
      await expect(fx.escrow.connect(fx.owner).release(second.escrowId))
        .to.be.revertedWithCustomError(fx.escrow, "EscrowExpired")
        .withArgs(second.escrowId, second.deadline);
    });
  });

  describe("payouts", function () {
    it("security: a reentrant token cannot re-enter any state-changing function during a payout", async function () {
      const fx = await loadFixture(escrowFixture);
      const token = await ethers.deployContract("ReentrantToken");
      await token.mint(fx.owner.address, 10_000n);
      await token.connect(fx.owner).approve(await fx.escrow.getAddress(), 10_000n);
      const tokenAddress = await token.getAddress();
      const deadline = BigInt(await time.latest()) + HOUR;
      const ids: bigint[] = [];
      for (let n = 0; n < 6; n++) {
        const { escrowId } = await fx.escrowClient.create({
          payee: fx.buyer.address,
          token: tokenAddress,
          amount: 100n,
          deadline,
        });
        ids.push(escrowId);
      }
      const params = {
        payee: fx.buyer.address,
        token: tokenAddress,
        amount: 1n,
        deadline,
        arbiter: ethers.ZeroAddress,
        condition: NO_CONDITION,
      };
      const i = fx.escrow.interface;
      const victim = ids[5]!;
      const calls = [
        i.encodeFunctionData("create", [params]),
        i.encodeFunctionData("release", [victim]),
        i.encodeFunctionData("releaseBySig", [victim, deadline, "0x"]),
        i.encodeFunctionData("releaseByReading", [victim, fx.condition, 1n, reading(fx), "0x", []]),
        i.encodeFunctionData("refund", [victim]),
        i.encodeFunctionData("withdraw", [tokenAddress, fx.other.address]),
      ];
      const guard = i.getError("ReentrancyGuardReentrantCall")!.selector;
      // Five payouts by release (escrows 1-5), each re-entering one function; the sixth re-enters by a refund.
      const reenter = async (data: string, payout: () => Promise<unknown>) => {
        await token.arm(await fx.escrow.getAddress(), data);
        await payout();
        expect(await token.attempted()).to.equal(true);
        expect(await token.reentered()).to.equal(false);
        expect(await token.reason()).to.equal(guard);
      };
      for (const [n, data] of calls.slice(0, 5).entries()) {
        await reenter(data, () => fx.escrow.connect(fx.owner).release(ids[n]!));
      }
      await time.increaseTo(deadline + 1n);
      await reenter(calls[5]!, () => fx.escrow.refund(victim));
    });

    it("security: a blocklisting payee cannot lock the payer: its release is credited, and withdrawn elsewhere", async function () {
      const fx = await loadFixture(escrowFixture);
      const token = await ethers.deployContract("BlocklistToken", [false]);
      await token.mint(fx.owner.address, 1000n);
      await token.connect(fx.owner).approve(await fx.escrow.getAddress(), 1000n);
      await token.setBlocked(fx.buyer.address, true);
      const tokenAddress = await token.getAddress();
      const deadline = BigInt(await time.latest()) + HOUR;
      const { escrowId } = await fx.escrowClient.create({
        payee: fx.buyer.address,
        token: tokenAddress,
        amount: 1000n,
        deadline,
      });
      await expect(fx.escrow.connect(fx.owner).release(escrowId))
        .to.emit(fx.escrow, "PayoutCredited")
        .withArgs(fx.buyer.address, tokenAddress, 1000n);
      await fx.escrow.connect(fx.buyer).withdraw(tokenAddress, fx.other.address);
      expect(await token.balanceOf(fx.other.address)).to.equal(1000n);
    });

    it("security: a payer contract that refuses ETH still gets its refund, credited", async function () {
      const fx = await loadFixture(escrowFixture);
      const wallet = await ethers.deployContract("RevertingReceiver");
      const deadline = BigInt(await time.latest()) + HOUR;
      const params = {
        payee: fx.buyer.address,
        token: ETH,
        amount: 500n,
        deadline,
        arbiter: ethers.ZeroAddress,
        condition: NO_CONDITION,
      };
      await wallet.execute(await fx.escrow.getAddress(), fx.escrow.interface.encodeFunctionData("create", [params]), {
        value: 500n,
      });
      await time.increaseTo(deadline + 1n);
      await fx.escrow.refund(1n);
      expect(await fx.escrow.credited(await wallet.getAddress(), ETH)).to.equal(500n);
    });
  });
});
