import { expect } from "chai";
import { ethers } from "hardhat";
import fc from "fast-check";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { DeviceKey } from "../../src/device";
import { ChannelStatus, NO_CONDITION } from "../../src/payments";
import { eventIn } from "../../src/contract-calls";
import { channelsFixture, voucher } from "../helpers/payments";
import type { ChannelsFixture } from "../helpers/payments";

/**
 * An expected revert with one of the contracts' custom errors. Under solidity-coverage the instrumented
 * bytecode is not always matched to its artifact, and Hardhat then calls the same revert "unrecognized".
 */
const isCustomErrorRevert = (error: unknown) =>
  /reverted with (custom error|an unrecognized custom error)/.test(String(error));

type Action =
  | { kind: "open"; amount: bigint }
  | { kind: "redeem"; channel: number; delta: bigint; forged: boolean }
  | { kind: "topUp"; channel: number; amount: bigint }
  | { kind: "close"; channel: number; delta: bigint }
  | { kind: "startClose"; channel: number }
  | { kind: "wait"; seconds: number }
  | { kind: "finalize"; channel: number };

const amount = fc.bigInt({ min: 1n, max: 3_000n });
const channel = fc.nat(3);
/** A voucher's step over what the channel paid so far (0: an equal, stale voucher). */
const delta = fc.oneof(
  { arbitrary: fc.constant(0n), weight: 1 },
  { arbitrary: fc.bigInt({ min: 1n, max: 300n }), weight: 4 },
);
const open = fc.record({ kind: fc.constant("open" as const), amount });
const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: open, weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant("redeem" as const),
      channel,
      delta,
      forged: fc.constantFrom(false, false, false, true),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ kind: fc.constant("topUp" as const), channel, amount }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant("close" as const), channel, delta }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant("startClose" as const), channel }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant("wait" as const),
      seconds: fc.oneof(fc.constant(86_401), fc.integer({ min: 1, max: 3600 })),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant("finalize" as const), channel }), weight: 1 },
);
/** One to three channels first, then random actions on them. */
const scenario = fc
  .tuple(fc.array(open, { minLength: 1, maxLength: 3 }), fc.array(action, { minLength: 1, maxLength: 20 }))
  .map(([opens, rest]): Action[] => [...opens, ...rest]);

/** Runs one action; a revert with a custom error is an allowed outcome, anything else fails the test. */
async function run(fx: ChannelsFixture, ids: bigint[], signed: Map<bigint, bigint>, a: Action, intruder: DeviceKey) {
  if (a.kind === "wait") return time.increase(a.seconds);
  if (a.kind === "open") {
    const params = {
      payee: fx.buyer.address,
      signer: fx.device.address,
      token: ethers.ZeroAddress,
      amount: a.amount,
      cap: 0n,
      expiry: 0n,
      salt: ethers.toBeHex(ids.length, 32), // a new channel each time
    };
    const receipt = await (await fx.channels.connect(fx.owner).open(params, { value: a.amount })).wait();
    ids.push(eventIn(fx.channels, receipt!, "ChannelOpened").args.channelId as bigint);
    return;
  }
  if (ids.length === 0) return;
  const id = ids[a.channel % ids.length]!;
  try {
    if (a.kind === "redeem" || a.kind === "close") {
      const forged = a.kind === "redeem" && a.forged;
      // close with delta 0 closes at what was paid (amount 0); otherwise the next voucher.
      const paid = (await fx.pay.getChannel(id)).paid;
      const amount = a.kind === "close" && a.delta === 0n ? 0n : paid + a.delta;
      const v = voucher(fx, id, amount, forged ? intruder : fx.device);
      if (!forged && amount > (signed.get(id) ?? 0n)) signed.set(id, amount);
      const tx =
        a.kind === "redeem"
          ? fx.channels.connect(fx.relayer).redeem(await fx.pay.terms(id), amount, v.signature)
          : fx.channels.connect(fx.buyer).close(await fx.pay.terms(id), amount, v.signature);
      await (await tx).wait();
    } else if (a.kind === "topUp") {
      await (await fx.channels.connect(fx.other).topUp(await fx.pay.terms(id), a.amount, { value: a.amount })).wait();
    } else if (a.kind === "startClose") {
      await (await fx.channels.connect(fx.owner).startClose(await fx.pay.terms(id))).wait();
    } else {
      await (await fx.channels.connect(fx.other).finalize(await fx.pay.terms(id))).wait();
    }
  } catch (error) {
    if (!isCustomErrorRevert(error)) throw error;
  }
}

describe("PaymentChannels: invariants", function () {
  it("property: under random actions the balance covers every open channel and nobody gets more than owed", async function () {
    const intruder = DeviceKey.generate();
    await fc.assert(
      fc.asyncProperty(scenario, async (actions) => {
        const fx = await loadFixture(channelsFixture);
        const address = await fx.channels.getAddress();
        const ids: bigint[] = [];
        const signed = new Map<bigint, bigint>();
        for (const a of actions) {
          await run(fx, ids, signed, a, intruder);
          let owed = 0n;
          for (const id of ids) {
            const c = await fx.pay.getChannel(id);
            // The payee never gets more than the largest voucher the device signed, nor more than the deposit.
            expect(c.paid <= c.deposit && c.paid <= (signed.get(id) ?? 0n)).to.equal(true);
            if (c.status !== ChannelStatus.Closed) owed += c.deposit - c.paid;
          }
          // All recipients here accept ETH, so nothing is credited: the balance is exactly what is owed.
          expect(await ethers.provider.getBalance(address)).to.equal(owed);
        }
        // A closed channel refunded the payer exactly the deposit minus what the payee got.
        const closed = await fx.channels.queryFilter(fx.channels.filters.ChannelClosed());
        for (const event of closed) {
          const c = await fx.pay.getChannel(event.args.channelId);
          expect(event.args.paid).to.equal(c.paid);
          expect(event.args.refunded).to.equal(c.deposit - c.paid);
        }
      }),
      { numRuns: 50 },
    );
  });
});

type EscrowAction =
  | { kind: "create"; amount: bigint; hours: number }
  | { kind: "release"; escrow: number; byArbiter: boolean }
  | { kind: "refund"; escrow: number }
  | { kind: "wait"; hours: number };

const escrowAction: fc.Arbitrary<EscrowAction> = fc.oneof(
  fc.record({
    kind: fc.constant("create" as const),
    amount: fc.bigInt({ min: 1n, max: 5_000n }),
    hours: fc.integer({ min: 1, max: 48 }),
  }),
  fc.record({ kind: fc.constant("release" as const), escrow: fc.nat(5), byArbiter: fc.boolean() }),
  fc.record({ kind: fc.constant("refund" as const), escrow: fc.nat(5) }),
  fc.record({ kind: fc.constant("wait" as const), hours: fc.integer({ min: 1, max: 30 }) }),
);

async function escrowOnly() {
  const fx = await channelsFixture();
  const anchor = await ethers.deployContract("TelemetryAnchor", [fx.admin.address, await fx.registry.getAddress()]);
  const escrow = await ethers.deployContract("ConditionalEscrow", [await anchor.getAddress()]);
  return { ...fx, escrow };
}

describe("ConditionalEscrow: invariants", function () {
  it("property: the balance always equals the active escrows, and each escrow pays out exactly once", async function () {
    await fc.assert(
      fc.asyncProperty(fc.array(escrowAction, { minLength: 1, maxLength: 16 }), async (actions) => {
        const fx = await loadFixture(escrowOnly);
        const ids: bigint[] = [];
        for (const a of actions) {
          try {
            if (a.kind === "wait") {
              await time.increase(a.hours * 3600);
            } else if (a.kind === "create") {
              const deadline = BigInt(await time.latest()) + BigInt(a.hours * 3600);
              const params = {
                payee: fx.buyer.address,
                token: ethers.ZeroAddress,
                amount: a.amount,
                deadline,
                arbiter: fx.admin.address,
                condition: NO_CONDITION,
              };
              await (await fx.escrow.connect(fx.owner).create(params, { value: a.amount })).wait();
              ids.push(await fx.escrow.escrowCount());
            } else if (ids.length > 0) {
              const id = ids[a.escrow % ids.length]!;
              const tx =
                a.kind === "refund"
                  ? fx.escrow.connect(fx.relayer).refund(id)
                  : fx.escrow.connect(a.byArbiter ? fx.admin : fx.owner).release(id);
              await (await tx).wait();
            }
          } catch (error) {
            if (!isCustomErrorRevert(error)) throw error;
          }
          let active = 0n;
          for (const id of ids) {
            const e = await fx.escrow.getEscrow(id);
            if (Number(e.status) === 1) active += e.amount;
          }
          expect(await ethers.provider.getBalance(await fx.escrow.getAddress())).to.equal(active);
        }
        // Every escrow that ended has exactly one Released or Refunded event.
        const released = await fx.escrow.queryFilter(fx.escrow.filters.EscrowReleased());
        const refunded = await fx.escrow.queryFilter(fx.escrow.filters.EscrowRefunded());
        const ended = [...released, ...refunded].map((e) => e.args.escrowId);
        expect(new Set(ended).size).to.equal(ended.length);
        for (const id of ids) {
          const status = Number((await fx.escrow.getEscrow(id)).status);
          expect(ended.includes(id)).to.equal(status === 2 || status === 3);
        }
      }),
      { numRuns: 40 },
    );
  });
});
