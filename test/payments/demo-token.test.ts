import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { createWalletClient, http, hashTypedData } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { authorizationTypes } from "@x402/evm";
import type { DemoToken } from "../../typechain-types";
import {
  CANCEL_AUTHORIZATION_TYPES,
  RECEIVE_WITH_AUTHORIZATION_TYPES,
  TRANSFER_WITH_AUTHORIZATION_TYPES,
} from "../../src/eip712";

describe("DemoToken", function () {
  async function tokenFixture() {
    const [holder] = await ethers.getSigners();
    return { token: await ethers.deployContract("DemoToken"), holder: holder! };
  }

  /** A payer key with tokens, a payee, a stranger who submits, and a signer of EIP-3009 authorizations. */
  async function authorizationFixture() {
    const [, payee, relayer] = await ethers.getSigners();
    const token = (await ethers.deployContract("DemoToken")) as unknown as DemoToken;
    const payer = ethers.Wallet.createRandom();
    await token.mint(payer.address, 1_000_000n);
    const domain = {
      name: "iotrail Demo USD",
      version: "1",
      chainId: (await ethers.provider.getNetwork()).chainId,
      verifyingContract: await token.getAddress(),
    };
    const now = BigInt(await time.latest());
    const authorize = async (
      kind: "TransferWithAuthorization" | "ReceiveWithAuthorization",
      overrides: Partial<Record<"to" | "validAfter" | "validBefore" | "value", unknown>> = {},
      signer: { signTypedData: typeof payer.signTypedData } = payer,
    ) => {
      const message = {
        from: payer.address,
        to: payee!.address,
        value: 250n,
        validAfter: 0n,
        validBefore: now + 3_600n,
        nonce: ethers.hexlify(ethers.randomBytes(32)),
        ...overrides,
      };
      const signature = await signer.signTypedData(domain, { [kind]: AUTHORIZATION_FIELDS }, message);
      const { v, r, s } = ethers.Signature.from(signature);
      return { message, signature, v, r, s };
    };
    return { token, payer, payee: payee!, relayer: relayer!, domain, authorize };
  }

  const AUTHORIZATION_FIELDS = [...TRANSFER_WITH_AUTHORIZATION_TYPES.TransferWithAuthorization];
  const CANCEL_TYPES = { CancelAuthorization: [...CANCEL_AUTHORIZATION_TYPES.CancelAuthorization] };

  const args = (a: { message: Record<string, unknown> }) =>
    [a.message.from, a.message.to, a.message.value, a.message.validAfter, a.message.validBefore, a.message.nonce] as [
      string,
      string,
      bigint,
      bigint,
      bigint,
      string,
    ];

  describe("EIP-3009 (transfer with authorization, as USDC)", function () {
    it("anyone may submit a holder's TransferWithAuthorization; it moves the value once and emits AuthorizationUsed", async function () {
      const { token, payer, payee, relayer, authorize } = await loadFixture(authorizationFixture);
      const a = await authorize("TransferWithAuthorization");
      await expect(
        token
          .connect(relayer)
          .getFunction(
            "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)",
          )(...args(a), a.v, a.r, a.s),
      )
        .to.emit(token, "AuthorizationUsed")
        .withArgs(payer.address, a.message.nonce);
      expect(await token.balanceOf(payee.address)).to.equal(250n);
      expect(await token.authorizationState(payer.address, a.message.nonce)).to.equal(true);
      await expect(
        token
          .connect(relayer)
          .getFunction("transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)")(
          ...args(a),
          a.signature,
        ),
      )
        .to.be.revertedWithCustomError(token, "ERC3009AuthorizationUsedOrCanceled")
        .withArgs(payer.address, a.message.nonce);
    });

    it("security: an authorization for another recipient or value, or signed by another key, is refused (ERC3009InvalidSignature)", async function () {
      const { token, payer, relayer, authorize } = await loadFixture(authorizationFixture);
      const a = await authorize("TransferWithAuthorization");
      const tampered = { message: { ...a.message, to: relayer.address } };
      const submit = (x: { message: Record<string, unknown> }, signature: string) =>
        token
          .connect(relayer)
          .getFunction("transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)")(
          ...args(x),
          signature,
        );
      await expect(submit(tampered, a.signature))
        .to.be.revertedWithCustomError(token, "ERC3009InvalidSignature")
        .withArgs(payer.address);
      await expect(submit({ message: { ...a.message, value: 251n } }, a.signature)).to.be.revertedWithCustomError(
        token,
        "ERC3009InvalidSignature",
      );
      const other = await authorize("TransferWithAuthorization", {}, ethers.Wallet.createRandom());
      await expect(submit(other, other.signature)).to.be.revertedWithCustomError(token, "ERC3009InvalidSignature");
      // The same signature with its twin s (high s) is not accepted either: OpenZeppelin's ECDSA refuses it.
      const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
      const highS = ethers.concat([a.r, ethers.toBeHex(n - BigInt(a.s), 32), a.v === 27 ? "0x1c" : "0x1b"]);
      await expect(submit(a, highS)).to.be.revertedWithCustomError(token, "ERC3009InvalidSignature");
    });

    it("holds to its window: not before validAfter, not at or after validBefore", async function () {
      const { token, relayer, authorize } = await loadFixture(authorizationFixture);
      const now = BigInt(await time.latest());
      const early = await authorize("TransferWithAuthorization", { validAfter: now + 100n });
      const submit = (x: Awaited<ReturnType<typeof authorize>>) =>
        token
          .connect(relayer)
          .getFunction("transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)")(
          ...args(x),
          x.signature,
        );
      await expect(submit(early)).to.be.revertedWithCustomError(token, "ERC3009AuthorizationNotYetValid");
      const late = await authorize("TransferWithAuthorization", { validBefore: now + 10n });
      await time.increase(20);
      await expect(submit(late)).to.be.revertedWithCustomError(token, "ERC3009AuthorizationExpired");
    });

    it("ReceiveWithAuthorization is executed only by its recipient", async function () {
      const { token, payee, relayer, authorize } = await loadFixture(authorizationFixture);
      const a = await authorize("ReceiveWithAuthorization");
      await expect(
        token
          .connect(relayer)
          .getFunction(
            "receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)",
          )(...args(a), a.v, a.r, a.s),
      )
        .to.be.revertedWithCustomError(token, "ERC3009CallerNotPayee")
        .withArgs(relayer.address, payee.address);
      await expect(
        token
          .connect(relayer)
          .getFunction("receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)")(
          ...args(a),
          a.signature,
        ),
      )
        .to.be.revertedWithCustomError(token, "ERC3009CallerNotPayee")
        .withArgs(relayer.address, payee.address);
      await token
        .connect(payee)
        .getFunction("receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)")(
        ...args(a),
        a.signature,
      );
      expect(await token.balanceOf(payee.address)).to.equal(250n);
      // The v, r, s form too, for another authorization.
      const b = await authorize("ReceiveWithAuthorization");
      await token
        .connect(payee)
        .getFunction("receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)")(
        ...args(b),
        b.v,
        b.r,
        b.s,
      );
      expect(await token.balanceOf(payee.address)).to.equal(500n);
    });

    it("a used authorization cannot be canceled afterwards (ERC3009AuthorizationUsedOrCanceled)", async function () {
      const { token, payer, relayer, domain, authorize } = await loadFixture(authorizationFixture);
      const a = await authorize("TransferWithAuthorization");
      await token
        .connect(relayer)
        .getFunction("transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)")(
        ...args(a),
        a.signature,
      );
      const cancel = ethers.Signature.from(
        await payer.signTypedData(domain, CANCEL_TYPES, { authorizer: payer.address, nonce: a.message.nonce }),
      );
      await expect(
        token
          .connect(relayer)
          .cancelAuthorization(payer.address, a.message.nonce as string, cancel.v, cancel.r, cancel.s),
      )
        .to.be.revertedWithCustomError(token, "ERC3009AuthorizationUsedOrCanceled")
        .withArgs(payer.address, a.message.nonce);
    });

    it("a canceled authorization cannot be used, and a cancel needs the authorizer's signature", async function () {
      const { token, payer, relayer, domain, authorize } = await loadFixture(authorizationFixture);
      const a = await authorize("TransferWithAuthorization");
      const forged = ethers.Signature.from(
        await relayer.signTypedData(domain, CANCEL_TYPES, { authorizer: payer.address, nonce: a.message.nonce }),
      );
      await expect(
        token
          .connect(relayer)
          .cancelAuthorization(payer.address, a.message.nonce as string, forged.v, forged.r, forged.s),
      ).to.be.revertedWithCustomError(token, "ERC3009InvalidSignature");
      const cancel = ethers.Signature.from(
        await payer.signTypedData(domain, CANCEL_TYPES, { authorizer: payer.address, nonce: a.message.nonce }),
      );
      await expect(
        token
          .connect(relayer)
          .cancelAuthorization(payer.address, a.message.nonce as string, cancel.v, cancel.r, cancel.s),
      ).to.emit(token, "AuthorizationCanceled");
      await expect(
        token
          .connect(relayer)
          .getFunction(
            "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)",
          )(...args(a), a.v, a.r, a.s),
      ).to.be.revertedWithCustomError(token, "ERC3009AuthorizationUsedOrCanceled");
    });

    it("takes an ERC-1271 wallet's signature through the bytes form", async function () {
      const { token, payee, relayer, domain } = await loadFixture(authorizationFixture);
      const owner = ethers.Wallet.createRandom();
      const wallet = await ethers.deployContract("ERC1271Wallet", [owner.address]);
      await token.mint(await wallet.getAddress(), 500n);
      const message = {
        from: await wallet.getAddress(),
        to: payee.address,
        value: 500n,
        validAfter: 0n,
        validBefore: BigInt(await time.latest()) + 600n,
        nonce: ethers.hexlify(ethers.randomBytes(32)),
      };
      const signature = await owner.signTypedData(domain, { TransferWithAuthorization: AUTHORIZATION_FIELDS }, message);
      await token
        .connect(relayer)
        .getFunction("transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)")(
        ...args({ message }),
        signature,
      );
      expect(await token.balanceOf(payee.address)).to.equal(500n);
    });

    it("parity: one source of the EIP-3009 types, equal to x402's (@x402/evm) and to the token's type hashes", async function () {
      const { token } = await loadFixture(authorizationFixture);
      expect(TRANSFER_WITH_AUTHORIZATION_TYPES.TransferWithAuthorization).to.deep.equal(
        authorizationTypes.TransferWithAuthorization,
      );
      const hash = (types: Record<string, readonly { name: string; type: string }[]>, name: string) =>
        ethers.id(ethers.TypedDataEncoder.from({ [name]: [...types[name]!] }).encodeType(name));
      expect(await token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH()).to.equal(
        hash(TRANSFER_WITH_AUTHORIZATION_TYPES, "TransferWithAuthorization"),
      );
      expect(await token.RECEIVE_WITH_AUTHORIZATION_TYPEHASH()).to.equal(
        hash(RECEIVE_WITH_AUTHORIZATION_TYPES, "ReceiveWithAuthorization"),
      );
      expect(await token.CANCEL_AUTHORIZATION_TYPEHASH()).to.equal(
        hash(CANCEL_AUTHORIZATION_TYPES, "CancelAuthorization"),
      );
    });

    it("parity: the digest the token checks is the one viem signs for x402's exact client (same domain, same type)", async function () {
      const { token, payee, relayer, domain } = await loadFixture(authorizationFixture);
      const key = ethers.hexlify(ethers.randomBytes(32)) as `0x${string}`;
      const account = privateKeyToAccount(key);
      await token.mint(account.address, 100n);
      const message = {
        from: account.address,
        to: payee.address as `0x${string}`,
        value: 100n,
        validAfter: 0n,
        validBefore: BigInt(await time.latest()) + 600n,
        nonce: ethers.hexlify(ethers.randomBytes(32)) as `0x${string}`,
      };
      const typed = {
        domain: {
          ...domain,
          chainId: Number(domain.chainId),
          verifyingContract: domain.verifyingContract as `0x${string}`,
        },
        types: { TransferWithAuthorization: AUTHORIZATION_FIELDS },
        primaryType: "TransferWithAuthorization" as const,
        message,
      };
      const client = createWalletClient({ account, transport: http("http://127.0.0.1:1") });
      const signature = await client.signTypedData(typed);
      expect(hashTypedData(typed)).to.equal(
        ethers.TypedDataEncoder.hash(domain, { TransferWithAuthorization: AUTHORIZATION_FIELDS }, message),
      );
      await token
        .connect(relayer)
        .getFunction("transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)")(
        ...args({ message }),
        signature,
      );
      expect(await token.balanceOf(payee.address)).to.equal(100n);
    });
  });

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
