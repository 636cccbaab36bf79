/**
 * A payer avoiding payment. N-L2, a griefer in the payer's place: with a token that accepts any call,
 * anyone could "open by authorization" the funder's deterministic channel id with nothing deposited, and the
 * funder's own open then reverts ChannelExists. A channel opened by authorization holds exactly what was
 * authorized, more than nothing, or it does not open. N-I1: a payer whose one voucher two sellers of one payee
 * would each serve, were their charged state in two stores.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { DeviceKey } from "../../src/device";
import { ETH, PaymentChannelsClient } from "../../src/payments";
import { join } from "node:path";
import type { BatcherService } from "../../src/batcher";
import { ConfigError } from "../../src/errors";
import { postgresAvailable, testDatabase } from "../../src/tooling/postgres";
import { contractsTestConfig, startBatcher, startRpcServer, tempDatabase } from "../helpers/batcher";
import { tempDir } from "../helpers/cli";
import { channelsFixture, voucher } from "../helpers/payments";
import { suiteFixture } from "../helpers/suite";

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

describe("adversary: a payer avoiding payment on a channel whose vouchers it signs itself", function () {
  it("security: after being served, starting a close and racing to finalize never voids its own signed voucher", async function () {
    const fx = await channelsFixture();
    const payerKey = DeviceKey.generate();
    const payer = payerKey.wallet(ethers.provider);
    await (await fx.owner.sendTransaction({ to: payer.address, value: ethers.parseEther("2") })).wait();
    const client = new PaymentChannelsClient({ contract: fx.channels.connect(payer) });
    const deposit = ethers.parseEther("1");
    // The payer is its own voucher signer: no registry standing, and no owner who could revoke it.
    const { channelId } = await client.open({
      payee: fx.buyer.address,
      signer: payer.address,
      token: ETH,
      amount: deposit,
    });
    const terms = await client.terms(channelId);
    // Served for a voucher of a quarter, the payer starts a close at once and tries to finalize before the payee answers.
    const served = voucher(fx, channelId, deposit / 4n, payerKey);
    await (await fx.channels.connect(payer).startClose(terms)).wait();
    const { closesAt } = await client.getChannel(channelId);
    await expect(fx.channels.connect(payer).finalize(terms))
      .to.be.revertedWithCustomError(fx.channels, "ChannelChallengePeriod")
      .withArgs(channelId, closesAt);
    // Within the challenge period anyone (here a stranger) redeems the payee's voucher: the payee is paid.
    await expect(fx.channels.connect(fx.other).redeem(terms, served.amount, served.signature)).to.changeEtherBalance(
      fx.buyer,
      deposit / 4n,
    );
    // After the period the payer gets only the rest; the voucher it signed was honoured.
    await time.increaseTo(closesAt + 1n);
    await expect(fx.channels.connect(payer).finalize(terms)).to.changeEtherBalance(payer, deposit - deposit / 4n);
  });
});

describe("adversary: a payer who pays one seller and is served by two (N-I1)", function () {
  this.timeout(120_000);
  let rpc: { url: string; close: () => Promise<void> };
  let fx: Awaited<ReturnType<typeof suiteFixture>>;
  before(async function () {
    rpc = await startRpcServer();
    fx = await suiteFixture();
  });
  after(async function () {
    await rpc.close();
  });

  /** A selling batcher of the suite's payee on `database` with the voucher store `vouchers`. */
  const seller = (database: string, vouchers: string, extra: Record<string, unknown> = {}) => {
    const base = contractsTestConfig(rpc.url, { chainId: 31337n, deployments: fx.dir });
    return startBatcher({
      ...base,
      database,
      anchoring: { ...base.anchoring, enabled: false },
      sales: {
        pricePerReading: 1_000n,
        token: ethers.ZeroAddress,
        payee: fx.record.deployer,
        vouchers,
        watchIntervalMs: 60_000,
        claimMarginSeconds: 3_600,
        ...extra,
      },
    });
  };

  it("security (N-I1): a seller of the same payee and token on a separate voucher store refuses to start (SQLite, a restart)", async function () {
    const database = tempDatabase();
    const a = join(tempDir(), "a.vouchers.sqlite");
    const first = await seller(database, a);
    await first.stop();
    const refused = await seller(database, join(tempDir(), "b.vouchers.sqlite")).catch((error: unknown) => error);
    if (!(refused instanceof Error)) await (refused as BatcherService).stop();
    expect(refused).to.be.instanceOf(ConfigError);
    expect((refused as Error).message).to.contain("must share one voucher store");
    // The same store again is fine; a deliberate rebind moves the binding (with a warning).
    const again = await seller(database, a);
    await again.stop();
    const rebound = await seller(database, join(tempDir(), "c.vouchers.sqlite"), { rebindVoucherStore: true });
    await rebound.stop();
  });

  it("security (N-I1): two shards of one PostgreSQL database with separate voucher stores: the second refuses to start", async function () {
    if (!postgresAvailable()) {
      if (process.env.CI === "true") throw new Error("PostgreSQL is required in CI");
      this.skip();
    }
    const database = await testDatabase();
    const shared = await seller(database, database); // the default: the shards' own database
    try {
      const separate = await seller(database, join(tempDir(), "shard-b.vouchers.sqlite")).catch(
        (error: unknown) => error,
      );
      if (!(separate instanceof Error)) await (separate as BatcherService).stop();
      expect(separate).to.be.instanceOf(ConfigError);
      const alongside = await seller(database, database); // a second shard on the shared store starts
      await alongside.stop();
    } finally {
      await shared.stop();
    }
  });
});
