import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import fc from "fast-check";
import {
  REGISTRY_TYPES,
  domainSeparator,
  registryDigest,
  registryDomain,
  structHash,
  typeHash,
} from "../../src/eip712";
import type { RegistryAction } from "../../src/eip712";
import { lotLeaf } from "../../src/registry";

async function harnessFixture() {
  const [admin] = await ethers.getSigners();
  const harness = await ethers.deployContract("DeviceRegistryHarness", [admin!.address]);
  const { chainId } = await ethers.provider.getNetwork();
  return { harness, domain: registryDomain(chainId, await harness.getAddress()) };
}

const ORDER: RegistryAction[] = [
  "RegisterDevice",
  "ClaimDevice",
  "AcceptKey",
  "TransferDevice",
  "AcceptTransfer",
  "SuspendDevice",
  "ResumeDevice",
  "RevokeDevice",
  "RotateKey",
];

describe("Parity: TypeScript EIP-712 and lot leaves == DeviceRegistry", function () {
  it("every type hash in src/eip712 equals the contract's", async function () {
    const { harness } = await loadFixture(harnessFixture);
    expect(Object.keys(REGISTRY_TYPES).sort()).to.deep.equal([...ORDER].sort());
    const onChain = await harness.typeHashes();
    ORDER.forEach((action, i) => expect(typeHash(REGISTRY_TYPES, action), action).to.equal(onChain[i]));
  });

  it("the domain (ERC-5267) and its separator match", async function () {
    const { harness, domain } = await loadFixture(harnessFixture);
    const [, name, version, chainId, verifyingContract] = await harness.eip712Domain();
    expect({ name, version, chainId, verifyingContract }).to.deep.equal(domain);
    expect(domainSeparator(domain)).to.equal(await harness.domainSeparator());
  });

  it("digests of random messages match _hashTypedDataV4", async function () {
    const { harness, domain } = await loadFixture(harnessFixture);
    const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => ethers.getAddress(ethers.hexlify(b)));
    const uint = fc.bigInt({ min: 0n, max: 2n ** 256n - 1n });
    await fc.assert(
      fc.asyncProperty(
        address,
        address,
        address,
        uint,
        uint,
        fc.integer({ min: 0, max: 65535 }),
        async (a, b, c, x, y, reason) => {
          const messages = {
            RegisterDevice: { key: a, registrant: b, owner: c, nonce: x, deadline: y },
            ClaimDevice: { key: a, lotId: x, nonce: y, deadline: x },
            AcceptKey: { key: a, deviceId: x, nonce: y, deadline: y },
            TransferDevice: { deviceId: x, newOwner: b, nonce: y, deadline: x },
            AcceptTransfer: { deviceId: x, nonce: y, deadline: y },
            SuspendDevice: { deviceId: x, reason, nonce: y, deadline: x },
            ResumeDevice: { deviceId: y, nonce: x, deadline: y },
            RevokeDevice: { deviceId: x, reason, nonce: x, deadline: y },
            RotateKey: { deviceId: y, newKey: c, nonce: x, deadline: x },
          } as const;
          for (const action of ORDER) {
            const message = messages[action];
            const expected = await harness.hashTypedData(structHash(REGISTRY_TYPES, action, { ...message }));
            expect(registryDigest(domain, action, message as never), action).to.equal(expected);
          }
        },
      ),
      { numRuns: 10 },
    );
  });

  it("lot leaves equal Lots.leaf for random entries", async function () {
    const { harness } = await loadFixture(harnessFixture);
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        async (keyBytes, hashBytes) => {
          const entry = { key: ethers.getAddress(ethers.hexlify(keyBytes)), metadataHash: ethers.hexlify(hashBytes) };
          expect(lotLeaf(entry)).to.equal(await harness.lotLeaf(entry.key, entry.metadataHash));
        },
      ),
      { numRuns: 25 },
    );
  });
});
