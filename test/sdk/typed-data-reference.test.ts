/**
 * A client written with another library signs every action from the published reference alone
 * (docs/typed-data.json: domain names and versions, primary types with their field types) and the
 * contracts accept it. viem signs; nothing here imports iotrail's EIP-712 definitions.
 */
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as prettier from "prettier";
import { hashTypedData, parseSignature } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { PrivateKeyAccount } from "viem/accounts";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Lot } from "../../src/registry";
import { ReadingBatch } from "../../src/telemetry";
import { renderTypedDataDocs, TYPED_DATA_DOCS } from "../../src/tooling/typed-data-docs";
import { brokerLoginDigest, telemetryDomain } from "../../src/eip712";
import { hardhatKey } from "../helpers/batcher";
import { suiteFixture } from "../helpers/suite";

const ROOT = join(__dirname, "..", "..");

interface Reference {
  contracts: Record<
    string,
    {
      domain: { name: string; version: string };
      types: Record<string, { fields: { name: string; type: string }[] }>;
      offChainTypes?: Record<string, { fields: { name: string; type: string }[] }>;
    }
  >;
}

const reference = JSON.parse(readFileSync(join(ROOT, TYPED_DATA_DOCS.json), "utf8")) as Reference;

describe("the typed-data reference (docs/typed-data.json)", function () {
  /** The suite, viem accounts of Hardhat's first accounts, and a signer for any contract's action. */
  async function viemFixture() {
    const fx = await suiteFixture();
    const accounts = [0, 1, 2, 3].map((i) => privateKeyToAccount(hardhatKey(i) as `0x${string}`));
    const signers = await ethers.getSigners();
    const at = {
      registry: await ethers.getContractAt("DeviceRegistry", fx.record.contracts.DeviceRegistry.address),
      anchor: await ethers.getContractAt("TelemetryAnchor", fx.record.contracts.TelemetryAnchor.address),
      channels: await ethers.getContractAt("PaymentChannels", fx.record.contracts.PaymentChannels.address),
      escrow: await ethers.getContractAt("ConditionalEscrow", fx.record.contracts.ConditionalEscrow.address),
      token: await ethers.getContractAt("DemoToken", fx.record.contracts.DemoToken!.address),
    };
    return { ...fx, accounts, signers, ...at };
  }

  /** Signs `message` as `primaryType` of `contract` with viem, from the reference only. */
  function sign(
    account: PrivateKeyAccount,
    contract: string,
    verifyingContract: string,
    primaryType: string,
    message: Record<string, unknown>,
  ): Promise<`0x${string}`> {
    const info = reference.contracts[contract]!;
    const fields = info.types[primaryType]?.fields ?? info.offChainTypes![primaryType]!.fields;
    return account.signTypedData({
      domain: { ...info.domain, chainId: 31337, verifyingContract: verifyingContract as `0x${string}` },
      types: { [primaryType]: fields },
      primaryType,
      message,
    });
  }

  /** The EIP-712 digest of `message` as `primaryType` of `contract`, by viem from the reference only. */
  function digestOf(
    contract: string,
    verifyingContract: string,
    primaryType: string,
    message: Record<string, unknown>,
  ): `0x${string}` {
    const info = reference.contracts[contract]!;
    return hashTypedData({
      domain: { ...info.domain, chainId: 31337, verifyingContract: verifyingContract as `0x${string}` },
      types: { [primaryType]: info.types[primaryType]!.fields },
      primaryType,
      message,
    });
  }

  const later = async () => BigInt(await time.latest()) + 3600n;

  it("matches what src/eip712 and the ABIs generate (npm run docs): the reference cannot drift", async function () {
    const docs = await renderTypedDataDocs(async (contract) => (await hre.artifacts.readArtifact(contract)).abi);
    for (const [file, text] of [
      [TYPED_DATA_DOCS.json, docs.json],
      [TYPED_DATA_DOCS.markdown, docs.markdown],
    ] as const) {
      const path = join(ROOT, file);
      const formatted = await prettier.format(text, { ...(await prettier.resolveConfig(path)), filepath: path });
      expect(readFileSync(path, "utf8"), `${file} is out of date: run npm run docs`).to.equal(formatted);
    }
  });

  describe("DeviceRegistry", function () {
    it("RegisterDevice, TransferDevice, AcceptTransfer, SuspendDevice, ResumeDevice, RotateKey with AcceptKey, RevokeDevice", async function () {
      const { registry, accounts, signers } = await loadFixture(viemFixture);
      const address = await registry.getAddress();
      const [manufacturer, owner, buyer] = accounts as [PrivateKeyAccount, PrivateKeyAccount, PrivateKeyAccount];
      const relayer = signers[3]!;
      const device = privateKeyToAccount(generatePrivateKey());
      const deadline = await later();
      const nonce = (account: string) => registry.nonces(account);

      const registration = await sign(device, "DeviceRegistry", address, "RegisterDevice", {
        key: device.address,
        registrant: manufacturer.address,
        owner: owner.address,
        nonce: await nonce(device.address),
        deadline,
      });
      await registry.connect(signers[0]!).register({
        key: device.address,
        owner: owner.address,
        metadataHash: ethers.ZeroHash,
        metadataURI: "",
        deadline,
        signature: registration,
      });
      const id = BigInt(device.address);
      expect((await registry.getDevice(id)).owner).to.equal(owner.address);

      const transfer = await sign(owner, "DeviceRegistry", address, "TransferDevice", {
        deviceId: id,
        newOwner: buyer.address,
        nonce: await nonce(owner.address),
        deadline,
      });
      await registry.connect(relayer).startTransferBySig(id, buyer.address, deadline, transfer);
      const accept = await sign(buyer, "DeviceRegistry", address, "AcceptTransfer", {
        deviceId: id,
        nonce: await nonce(buyer.address),
        deadline,
      });
      await registry.connect(relayer).acceptTransferBySig(id, deadline, accept);
      expect((await registry.getDevice(id)).owner).to.equal(buyer.address);

      const suspend = await sign(buyer, "DeviceRegistry", address, "SuspendDevice", {
        deviceId: id,
        reason: 3,
        nonce: await nonce(buyer.address),
        deadline,
      });
      await registry.connect(relayer).suspendBySig(id, 3, deadline, suspend);
      expect((await registry.getDevice(id)).status).to.equal(2n);
      const resume = await sign(buyer, "DeviceRegistry", address, "ResumeDevice", {
        deviceId: id,
        nonce: await nonce(buyer.address),
        deadline,
      });
      await registry.connect(relayer).resumeBySig(id, deadline, resume);

      const next = privateKeyToAccount(generatePrivateKey());
      const acceptKey = await sign(next, "DeviceRegistry", address, "AcceptKey", {
        key: next.address,
        deviceId: id,
        nonce: await nonce(next.address),
        deadline,
      });
      const rotate = await sign(buyer, "DeviceRegistry", address, "RotateKey", {
        deviceId: id,
        newKey: next.address,
        nonce: await nonce(buyer.address),
        deadline,
      });
      await registry
        .connect(relayer)
        .rotateKeyBySig(id, { key: next.address, deadline, signature: acceptKey }, deadline, rotate);
      expect((await registry.getDevice(id)).currentKey).to.equal(next.address);

      const revoke = await sign(buyer, "DeviceRegistry", address, "RevokeDevice", {
        deviceId: id,
        reason: 9,
        nonce: await nonce(buyer.address),
        deadline,
      });
      await registry.connect(relayer).revokeBySig(id, 9, deadline, revoke);
      expect((await registry.getDevice(id)).status).to.equal(3n);
    });

    it("ClaimDevice", async function () {
      const { registry, signers } = await loadFixture(viemFixture);
      const device = privateKeyToAccount(generatePrivateKey());
      const lot = Lot.build([{ key: device.address, metadataHash: ethers.ZeroHash }]);
      await registry.connect(signers[0]!).commitLot(lot.root, signers[1]!.address, 1, "");
      const deadline = await later();
      const signature = await sign(device, "DeviceRegistry", await registry.getAddress(), "ClaimDevice", {
        key: device.address,
        lotId: 1n,
        nonce: await registry.nonces(device.address),
        deadline,
      });
      await registry
        .connect(signers[5]!)
        .claim(1n, ethers.ZeroHash, lot.proof(device.address), { key: device.address, deadline, signature });
      expect((await registry.getKey(device.address)).deviceId).to.equal(BigInt(device.address));
    });
  });

  describe("TelemetryAnchor", function () {
    it("Reading: checkSignedReading accepts a viem-signed, anchored reading; BrokerLogin hashes as the broker checks it", async function () {
      const { registry, anchor, signers, record } = await loadFixture(viemFixture);
      const device = privateKeyToAccount(generatePrivateKey());
      const deadline = await later();
      const proof = await sign(device, "DeviceRegistry", await registry.getAddress(), "RegisterDevice", {
        key: device.address,
        registrant: signers[0]!.address,
        owner: signers[0]!.address,
        nonce: 0n,
        deadline,
      });
      await registry.register({
        key: device.address,
        owner: signers[0]!.address,
        metadataHash: ethers.ZeroHash,
        metadataURI: "",
        deadline,
        signature: proof,
      });
      const reading = {
        device: device.address,
        sequence: 1n,
        timestamp: BigInt(await time.latest()),
        metric: ethers.encodeBytes32String("temperature.mC"),
        value: -1_250n,
        payloadHash: ethers.ZeroHash,
      };
      const signature = await sign(device, "TelemetryAnchor", await anchor.getAddress(), "Reading", reading);
      const batch = await ReadingBatch.build([{ reading, signature }]);
      await anchor.anchor(batch.header());
      expect(await anchor.checkSignedReading(1n, reading, signature, batch.proof(0))).to.be.greaterThan(0n);

      const info = reference.contracts.TelemetryAnchor!;
      const login = { device: device.address, timestamp: 1_800_000_000n };
      const viemDigest = hashTypedData({
        domain: {
          ...info.domain,
          chainId: 31337,
          verifyingContract: record.contracts.TelemetryAnchor.address as `0x${string}`,
        },
        types: { BrokerLogin: info.offChainTypes!.BrokerLogin!.fields },
        primaryType: "BrokerLogin",
        message: login,
      });
      expect(viemDigest).to.equal(
        brokerLoginDigest(
          telemetryDomain(31337n, record.contracts.TelemetryAnchor.address),
          login.device,
          login.timestamp,
        ),
      );
    });
  });

  describe("PaymentChannels and ConditionalEscrow", function () {
    it("OpenChannel (with an EIP-2612 permit), Voucher, CloseChannel, StartClose, ReleaseEscrow", async function () {
      const { registry, channels, escrow, token, accounts, signers } = await loadFixture(viemFixture);
      const [, payer, payee] = accounts as [PrivateKeyAccount, PrivateKeyAccount, PrivateKeyAccount];
      const relayer = signers[3]!;
      const channelsAddress = await channels.getAddress();
      const deadline = await later();

      // The voucher signer: a registered device key.
      const device = privateKeyToAccount(generatePrivateKey());
      const registration = await sign(device, "DeviceRegistry", await registry.getAddress(), "RegisterDevice", {
        key: device.address,
        registrant: signers[0]!.address,
        owner: payer.address,
        nonce: 0n,
        deadline,
      });
      await registry.register({
        key: device.address,
        owner: payer.address,
        metadataHash: ethers.ZeroHash,
        metadataURI: "",
        deadline,
        signature: registration,
      });

      await token.mint(payer.address, 10_000_000n);
      const params = {
        payee: payee.address,
        signer: device.address,
        token: await token.getAddress(),
        amount: 5_000_000n,
        cap: 0n,
        expiry: 0n,
        salt: ethers.ZeroHash as `0x${string}`,
      };
      const open = await sign(payer, "PaymentChannels", channelsAddress, "OpenChannel", {
        funder: payer.address,
        ...params,
        nonce: await channels.nonces(payer.address),
        deadline,
      });
      // The permit is the token's own EIP-2612 Permit, under the token's domain (ERC-5267).
      const [, tokenName, tokenVersion] = await token.eip712Domain();
      const permitSignature = await payer.signTypedData({
        domain: {
          name: tokenName,
          version: tokenVersion,
          chainId: 31337,
          verifyingContract: (await token.getAddress()) as `0x${string}`,
        },
        types: {
          Permit: [
            { name: "owner", type: "address" },
            { name: "spender", type: "address" },
            { name: "value", type: "uint256" },
            { name: "nonce", type: "uint256" },
            { name: "deadline", type: "uint256" },
          ],
        },
        primaryType: "Permit",
        message: {
          owner: payer.address,
          spender: channelsAddress as `0x${string}`,
          value: params.amount,
          nonce: await token.nonces(payer.address),
          deadline,
        },
      });
      const { r, s, v } = parseSignature(permitSignature);
      await channels
        .connect(relayer)
        .openBySig(payer.address, params, deadline, open, { deadline, v: Number(v), r, s });
      const terms = {
        payer: payer.address,
        payee: payee.address,
        signer: device.address,
        token: params.token,
        cap: 0n,
        expiry: 0n,
        salt: params.salt,
      };
      // The channel's id: the Channel digest, computed by viem from the reference alone.
      const channelId = BigInt(digestOf("PaymentChannels", channelsAddress, "Channel", terms));
      expect(await channels.channelIdOf(terms)).to.equal(channelId);
      expect((await channels.getChannel(channelId)).deposit).to.equal(5_000_000n);

      const voucher = await sign(device, "PaymentChannels", channelsAddress, "Voucher", {
        channelId,
        amount: 1_500_000n,
      });
      await channels.connect(relayer).redeem(terms, 1_500_000n, voucher);
      expect(await token.balanceOf(payee.address)).to.equal(1_500_000n);

      const finalVoucher = await sign(device, "PaymentChannels", channelsAddress, "Voucher", {
        channelId,
        amount: 2_000_000n,
      });
      const close = await sign(payee, "PaymentChannels", channelsAddress, "CloseChannel", {
        channelId,
        amount: 2_000_000n,
        nonce: await channels.nonces(payee.address),
        deadline,
      });
      await channels.connect(relayer).closeBySig(terms, 2_000_000n, finalVoucher, deadline, close);
      expect((await channels.getChannel(channelId)).status).to.equal(3n);

      // A second channel, in ETH, closed by the payer's relayed StartClose.
      await channels.connect(signers[1]!).open(
        {
          payee: payee.address,
          signer: device.address,
          token: ethers.ZeroAddress,
          amount: 1000n,
          cap: 0n,
          expiry: 0n,
          salt: ethers.ZeroHash,
        },
        { value: 1000n },
      );
      const ethTerms = { ...terms, token: ethers.ZeroAddress };
      const ethChannelId = BigInt(digestOf("PaymentChannels", channelsAddress, "Channel", ethTerms));
      const startClose = await sign(payer, "PaymentChannels", channelsAddress, "StartClose", {
        channelId: ethChannelId,
        nonce: await channels.nonces(payer.address),
        deadline,
      });
      await channels.connect(relayer).startCloseBySig(ethTerms, deadline, startClose);
      expect((await channels.getChannel(ethChannelId)).status).to.equal(2n);

      await escrow.connect(signers[1]!).create(
        {
          payee: payee.address,
          token: ethers.ZeroAddress,
          amount: 700n,
          deadline: deadline + 3600n,
          arbiter: ethers.ZeroAddress,
          condition: {
            device: ethers.ZeroAddress,
            metric: ethers.ZeroHash,
            minValue: 0n,
            maxValue: 0n,
            fromTimestamp: 0n,
            toTimestamp: 0n,
          },
        },
        { value: 700n },
      );
      const release = await sign(payer, "ConditionalEscrow", await escrow.getAddress(), "ReleaseEscrow", {
        escrowId: 1n,
        nonce: await escrow.nonces(payer.address),
        deadline,
      });
      await escrow.connect(relayer).releaseBySig(1n, deadline, release);
      expect((await escrow.getEscrow(1n)).status).to.equal(2n);
    });
  });
});
