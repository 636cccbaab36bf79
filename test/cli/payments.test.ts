import { expect } from "chai";
import { ethers } from "hardhat";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { TelemetryAnchorClient } from "../../src/anchor";
import { DeviceKey } from "../../src/device";
import { telemetryDomain } from "../../src/eip712";
import { ChannelStatus, EscrowClient, EscrowStatus, PaymentChannelsClient } from "../../src/payments";
import { buildProofBundle } from "../../src/proof";
import { DeviceRegistryClient, registerDeviceKeys } from "../../src/registry";
import { metricId, ReadingBatch, ZERO_HASH } from "../../src/telemetry";
import { startRpcServer } from "../helpers/batcher";
import { iotrail, iotrailOk, tempDir } from "../helpers/cli";
import { suiteFixture } from "../helpers/suite";

describe("iotrail channel / escrow (CLI, end to end on the in-process chain)", function () {
  let rpc: { url: string; close: () => Promise<void> };
  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });

  /** The suite, a registered signer device (its key file on disk), and the CLI's arguments. */
  async function paymentsFixture() {
    const fx = await suiteFixture();
    const [deployer, payee] = await ethers.getSigners();
    const files = tempDir();
    const device = DeviceKey.generate();
    await device.save(join(files, "device.json"));
    const registry = DeviceRegistryClient.connect({
      address: fx.record.contracts.DeviceRegistry.address,
      runner: deployer!,
    });
    await registerDeviceKeys({
      registry,
      registrant: deployer!.address,
      keys: [device],
      owner: deployer!.address,
      metadataHash: () => ZERO_HASH,
      deadline: BigInt(await time.latest()) + 3600n,
    });
    const channels = PaymentChannelsClient.connect({
      address: fx.record.contracts.PaymentChannels.address,
      runner: ethers.provider,
    });
    const escrow = EscrowClient.connect({
      address: fx.record.contracts.ConditionalEscrow.address,
      runner: ethers.provider,
    });
    const token = await ethers.getContractAt("DemoToken", fx.record.contracts.DemoToken!.address);
    await token.mint(deployer!.address, 1_000_000_000n);
    return {
      ...fx,
      device,
      files,
      channels,
      escrow,
      token,
      payee: payee!,
      on: ["--rpc", rpc.url, "--deployments", fx.dir],
    };
  }

  describe("channel", function () {
    it("open in ETH, pay (vouchers are files), redeem by anyone, close by the payee with the final voucher", async function () {
      const { on, device, files, channels, payee } = await loadFixture(paymentsFixture);
      const opened = await iotrailOk([
        ...on,
        "--account",
        "0",
        "--json",
        "channel",
        "open",
        "--payee",
        payee.address,
        "--signer",
        device.address,
        "--amount",
        "0.5",
      ]);
      const id = opened.json().channelId as string;
      expect((await channels.getChannel(BigInt(id))).deposit).to.equal(ethers.parseEther("0.5"));
      await iotrailOk([
        ...on,
        "channel",
        "pay",
        id,
        "--amount",
        "0.1",
        "--device",
        join(files, "device.json"),
        "-o",
        join(files, "v1.json"),
      ]);
      await iotrailOk([
        ...on,
        "channel",
        "pay",
        id,
        "--amount",
        "0.25",
        "--device",
        join(files, "device.json"),
        "-o",
        join(files, "v2.json"),
      ]);
      const voucher = JSON.parse(readFileSync(join(files, "v2.json"), "utf8")) as { kind: string; amount: string };
      expect(voucher.kind).to.equal("iotrail.voucher");
      expect(voucher.amount).to.equal(ethers.parseEther("0.25").toString());

      const before = await ethers.provider.getBalance(payee.address);
      await iotrailOk([...on, "--account", "5", "channel", "redeem", join(files, "v1.json")]);
      expect(await ethers.provider.getBalance(payee.address)).to.equal(before + ethers.parseEther("0.1"));
      const stale = await iotrail([...on, "--account", "5", "channel", "redeem", join(files, "v1.json")]);
      expect(stale.stderr).to.contain("ChannelStaleVoucher");
      expect(stale.stderr).to.contain("vouchers are cumulative");

      const closed = await iotrailOk([
        ...on,
        "--account",
        "1",
        "channel",
        "close",
        id,
        "--voucher",
        join(files, "v2.json"),
      ]);
      expect(closed.stdout).to.contain(`channel  ${id} (Closed)`);
      expect(closed.stdout).to.contain("paid 0.25 ETH");
      expect((await channels.getChannel(BigInt(id))).status).to.equal(ChannelStatus.Closed);
    });

    it("claim pays many channels' vouchers in one transaction; recover finds a payer's and a payee's channels with no local state", async function () {
      const { on, device, files, channels, payee } = await loadFixture(paymentsFixture);
      const open = async () =>
        (
          await iotrailOk([
            ...on,
            "--account",
            "0",
            "--json",
            "channel",
            "open",
            "--payee",
            payee.address,
            "--signer",
            device.address,
            "--amount",
            "0.01",
          ])
        ).json().channelId as string;
      const ids = [await open(), await open(), await open()];
      for (const id of ids) expect(id).to.match(/^0x[0-9a-f]{64}$/);
      expect(new Set(ids).size).to.equal(3);
      const vouchers = [];
      for (const [n, id] of ids.entries()) {
        const file = join(files, `claim-${n}.json`);
        await iotrailOk([
          ...on,
          "channel",
          "pay",
          id,
          "--amount",
          "0.002",
          "--device",
          join(files, "device.json"),
          "-o",
          file,
        ]);
        vouchers.push(file);
      }
      const before = await ethers.provider.getBalance(payee.address);
      const claimed = await iotrailOk([...on, "--account", "5", "--json", "channel", "claim", ...vouchers]);
      expect(claimed.json().channels).to.deep.equal(ids);
      expect(await ethers.provider.getBalance(payee.address)).to.equal(before + ethers.parseEther("0.006"));

      // The payer (account 0) and the payee (account 1) recover from the chain alone.
      const [deployer] = await ethers.getSigners();
      const asPayer = await iotrailOk([...on, "--account", "0", "--json", "channel", "recover"]);
      const payerIds = (asPayer.json() as { channelId: string; payer: string }[]).map((c) => c.channelId);
      expect(payerIds).to.include.members(ids);
      const asPayee = await iotrailOk([...on, "--account", "1", "channel", "recover", "--payee"]);
      expect(asPayee.stdout).to.contain(`paying ${payee.address}`);
      for (const id of ids)
        expect(asPayee.stdout).to.contain(
          `${id}  Open     deposit 0.01 ETH, paid 0.002 ETH  payer ${deployer!.address}`,
        );
      expect((await channels.getChannel(BigInt(ids[0]!))).paid).to.equal(ethers.parseEther("0.002"));
    });

    it("open in the DemoToken (approve and pull), start-close by the payer, finalize after the challenge period", async function () {
      const { on, device, channels, payee, token } = await loadFixture(paymentsFixture);
      const [deployer] = await ethers.getSigners();
      const opened = await iotrailOk([
        ...on,
        "--account",
        "0",
        "--json",
        "channel",
        "open",
        "--payee",
        payee.address,
        "--signer",
        device.address,
        "--amount",
        "12.5",
        "--token",
        "demo",
      ]);
      const id = BigInt(opened.json().channelId as string);
      expect((await channels.getChannel(id)).deposit).to.equal(12_500_000n);
      const shown = await iotrailOk([...on, "channel", "show", id.toString()]);
      expect(shown.stdout).to.contain("deposit  12.5 dUSD");
      const raw = await iotrailOk([...on, "channel", "show", id.toString(), "--raw"]);
      expect(raw.stdout).to.contain("deposit  12500000 (base units)");

      await iotrailOk([...on, "--account", "0", "channel", "start-close", id.toString()]);
      const early = await iotrail([...on, "--account", "0", "channel", "finalize", id.toString()]);
      expect(early.stderr).to.contain("ChannelChallengePeriod");
      await time.increase(86_401);
      const balance = await token.balanceOf(deployer!.address);
      await iotrailOk([...on, "--account", "0", "channel", "finalize", id.toString()]);
      expect(await token.balanceOf(deployer!.address)).to.equal(balance + 12_500_000n);
    });

    it("a voucher signed by another key is refused before anything is sent", async function () {
      const { on, channels, payee, device } = await loadFixture(paymentsFixture);
      const files = tempDir();
      const stranger = DeviceKey.generate();
      await stranger.save(join(files, "stranger.json"));
      const opened = await iotrailOk([
        ...on,
        "--account",
        "0",
        "--json",
        "channel",
        "open",
        "--payee",
        payee.address,
        "--signer",
        device.address,
        "--amount",
        "1",
      ]);
      const id = opened.json().channelId as string;
      const result = await iotrail([
        ...on,
        "channel",
        "pay",
        id,
        "--amount",
        "0.5",
        "--device",
        join(files, "stranger.json"),
      ]);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.contain(`takes vouchers from ${device.address}`);
      expect((await channels.getChannel(BigInt(id))).paid).to.equal(0n);
      const badAmount = await iotrail([
        ...on,
        "--account",
        "0",
        "channel",
        "open",
        "--payee",
        payee.address,
        "--signer",
        device.address,
        "--amount",
        "1.2.3",
      ]);
      expect(badAmount.stderr).to.contain("amount 1.2.3: expected ETH with at most 18 decimals");
    });
  });

  describe("escrow", function () {
    it("create with a reading condition, release by the proven reading from a bundle (by anyone)", async function () {
      const { on, device, escrow, record, payee } = await loadFixture(paymentsFixture);
      const files = tempDir();
      const now = BigInt(await time.latest());
      const created = await iotrailOk([
        ...on,
        "--account",
        "0",
        "--json",
        "escrow",
        "create",
        "--payee",
        payee.address,
        "--amount",
        "0.3",
        "--deadline",
        "+86400",
        "--device",
        device.address,
        "--metric",
        "temperature.mC",
        "--min",
        "2000",
        "--max",
        "8000",
        "--after",
        String(now),
        "-o",
        join(files, "escrow.json"),
      ]);
      const id = created.json().escrowId as string;

      // The carrier's logger reading, anchored by the suite's anchorer (the deployer).
      const [deployer] = await ethers.getSigners();
      const domain = telemetryDomain(31337n, record.contracts.TelemetryAnchor.address);
      const readings = [1n, 2n].map((sequence) => ({
        device: device.address,
        sequence,
        timestamp: now + sequence,
        metric: metricId("temperature.mC"),
        value: sequence === 1n ? 9_500n : 4_200n, // the first is out of range, the second meets the condition
        payloadHash: ZERO_HASH,
      }));
      const batch = await ReadingBatch.build(
        readings.map((reading) => ({ reading, signature: device.signReading(domain, reading) })),
      );
      const anchor = TelemetryAnchorClient.connect({
        address: record.contracts.TelemetryAnchor.address,
        runner: deployer!,
      });
      const anchored = await anchor.anchor(batch.header());
      const bundle = buildProofBundle({
        chainId: 31337n,
        anchor: record.contracts.TelemetryAnchor.address,
        registry: record.contracts.DeviceRegistry.address,
        sources: [{ batch, anchored, indices: [0, 1] }],
      });
      writeFileSync(join(files, "bundle.json"), JSON.stringify(bundle));

      const outOfRange = await iotrail([
        ...on,
        "--account",
        "7",
        "escrow",
        "release",
        id,
        "--bundle",
        join(files, "bundle.json"),
        "--escrow-file",
        join(files, "escrow.json"),
        "--sequence",
        "1",
      ]);
      expect(outOfRange.stderr).to.contain("EscrowValueOutOfRange");
      const before = await ethers.provider.getBalance(payee.address);
      await iotrailOk([
        ...on,
        "--account",
        "7",
        "escrow",
        "release",
        id,
        "--bundle",
        join(files, "bundle.json"),
        "--escrow-file",
        join(files, "escrow.json"),
      ]);
      expect((await escrow.getEscrow(BigInt(id))).status).to.equal(EscrowStatus.Released);
      expect(await ethers.provider.getBalance(payee.address)).to.equal(before + ethers.parseEther("0.3"));
    });

    it("release by the payer, refund after the deadline, show; a stranger cannot release", async function () {
      const { on, escrow, payee } = await loadFixture(paymentsFixture);
      const first = await iotrailOk([
        ...on,
        "--account",
        "0",
        "--json",
        "escrow",
        "create",
        "--payee",
        payee.address,
        "--amount",
        "1",
        "--deadline",
        "+3600",
        "--token",
        "demo",
      ]);
      const second = await iotrailOk([
        ...on,
        "--account",
        "0",
        "--json",
        "escrow",
        "create",
        "--payee",
        payee.address,
        "--amount",
        "2",
        "--deadline",
        "+3600",
      ]);
      await iotrailOk([...on, "--account", "0", "escrow", "release", first.json().escrowId as string]);
      expect((await escrow.getEscrow(BigInt(first.json().escrowId as string))).status).to.equal(EscrowStatus.Released);
      const id = second.json().escrowId as string;
      const early = await iotrail([...on, "--account", "0", "escrow", "refund", id]);
      expect(early.stderr).to.contain("EscrowNotExpired");
      await time.increase(3601);
      await iotrailOk([...on, "--account", "0", "escrow", "refund", id]);
      const shown = await iotrailOk([...on, "escrow", "show", id]);
      expect(shown.stdout).to.contain(`escrow    ${id} (Refunded)`);
      expect(shown.stdout).to.contain("amount    2.0 ETH");
      const stranger = await iotrail([...on, "--account", "3", "escrow", "release", first.json().escrowId as string]);
      expect(stranger.stderr).to.contain("EscrowUnauthorized");
    });
  });
});
