import { expect } from "chai";
import { ethers } from "hardhat";
import fc from "fast-check";
import { batchVerifyBackend, recoverPublicKey, recoverSignerBytes, SignerBatchChecker } from "../../src/crypto";
import type { SignatureClaim } from "../../src/crypto";
import { DeviceKey } from "../../src/device";
import { highS } from "../helpers/registry";

const keys = Array.from({ length: 6 }, (_, i) => DeviceKey.fromPrivateKey(ethers.id(`batch key ${i}`)));

function claim(key: DeviceKey, text: string, signer = key.address): SignatureClaim {
  const digest = ethers.getBytes(ethers.id(text));
  return { digest, signature: ethers.getBytes(key.signDigest(ethers.hexlify(digest))), signer };
}

/** What a single recovery says of each claim: the reference the batch path must equal. */
function single(claims: readonly SignatureClaim[]): boolean[] {
  return claims.map(({ digest, signature, signer }) => {
    const recovered = recoverSignerBytes(digest, signature);
    return recovered !== undefined && ethers.hexlify(recovered) === signer.toLowerCase();
  });
}

/** A checker that already knows every test key (so that its next claims go through the batch path). */
function warmChecker(): SignerBatchChecker {
  const checker = new SignerBatchChecker();
  expect(checker.check(keys.map((key) => claim(key, "warm up")))).to.deep.equal(keys.map(() => true));
  expect(checker.knownKeys).to.equal(keys.length);
  return checker;
}

/** Ways to spoil a valid claim; each makes single recovery reject it. */
const SPOILERS: Record<string, (c: SignatureClaim) => SignatureClaim> = {
  "other digest": (c) => ({ ...c, digest: ethers.getBytes(ethers.keccak256(c.digest)) }),
  "flipped v": (c) => {
    const signature = Uint8Array.from(c.signature);
    signature[64] = signature[64] === 27 ? 28 : 27;
    return { ...c, signature };
  },
  "changed r": (c) => {
    const signature = Uint8Array.from(c.signature);
    signature[20] ^= 0x01;
    return { ...c, signature };
  },
  "changed s": (c) => {
    const signature = Uint8Array.from(c.signature);
    signature[50] ^= 0x80;
    return { ...c, signature };
  },
  "high s": (c) => ({ ...c, signature: ethers.getBytes(highS(ethers.hexlify(c.signature))) }),
  "another key's signature": (c) => ({
    ...claim(keys[(keys.findIndex((k) => k.address === c.signer) + 1) % keys.length]!, "x"),
    digest: c.digest,
    signer: c.signer,
  }),
  "zero signature": (c) => ({ ...c, signature: Uint8Array.from([...new Uint8Array(64), 27]) }),
  "r >= n": (c) => ({
    ...c,
    signature: Uint8Array.from([...new Uint8Array(32).fill(0xff), ...c.signature.subarray(32)]),
  }),
  "short signature": (c) => ({ ...c, signature: c.signature.subarray(0, 64) }),
};

describe("SignerBatchChecker", function () {
  it("uses the batch addon on this machine", function () {
    expect(batchVerifyBackend()).to.equal("native");
  });

  describe("check", function () {
    it("accepts a batch of valid signatures from known keys", function () {
      const checker = warmChecker();
      const claims = Array.from({ length: 40 }, (_, i) => claim(keys[i % keys.length]!, `reading ${i}`));
      const before = { ...checker.stats };
      expect(checker.check(claims)).to.deep.equal(claims.map(() => true));
      // All 40 went through one batch, none through single recovery.
      expect(checker.stats).to.deep.equal({ batched: before.batched + 40, recovered: before.recovered });
    });

    for (const [name, spoil] of Object.entries(SPOILERS)) {
      it(`security: a signature with ${name} inside a batch of valid ones is rejected, the others accepted`, function () {
        const checker = warmChecker();
        const claims = Array.from({ length: 24 }, (_, i) => claim(keys[i % keys.length]!, `reading ${i}`));
        claims[13] = spoil(claims[13]!);
        const expected = claims.map((_, i) => i !== 13);
        expect(single(claims)).to.deep.equal(expected);
        const before = { ...checker.stats };
        expect(checker.check(claims)).to.deep.equal(expected);
        // A malformed signature is turned away before the batch, which then holds for the other 23; any
        // other bad signature makes the batch fail, and every signature is then checked on its own.
        const malformed = name === "high s" || name === "short signature";
        expect(checker.stats.batched - before.batched).to.equal(malformed ? 23 : 0);
      });
    }

    it("security: a key is learnt only from a signature that recovers to the claimed signer", function () {
      const checker = new SignerBatchChecker();
      const [victim, attacker] = [keys[0]!, keys[1]!];
      // The attacker claims to be the victim with its own signatures; none is accepted or learnt.
      const forged = Array.from({ length: 10 }, (_, i) => claim(attacker, `forged ${i}`, victim.address));
      expect(checker.check(forged)).to.deep.equal(forged.map(() => false));
      expect(checker.knownKeys).to.equal(0);
      // The victim's real key is learnt from its first valid signature; later forgeries still fail.
      expect(checker.check([claim(victim, "genuine")])).to.deep.equal([true]);
      expect(checker.check([...forged, claim(victim, "genuine 2")])).to.deep.equal([...forged.map(() => false), true]);
    });

    it("compares signer addresses in any case", function () {
      const checker = warmChecker();
      const claims = Array.from({ length: 8 }, (_, i) => {
        const c = claim(keys[i % keys.length]!, `case ${i}`);
        return { ...c, signer: i % 2 === 0 ? c.signer.toLowerCase() : c.signer };
      });
      expect(checker.check(claims)).to.deep.equal(claims.map(() => true));
    });

    it("forgets the oldest key beyond maxKeys", function () {
      const checker = new SignerBatchChecker({ maxKeys: 3 });
      checker.check(keys.slice(0, 5).map((key) => claim(key, "learn")));
      expect(checker.knownKeys).to.equal(3);
      expect(checker.check(keys.slice(0, 5).map((key) => claim(key, "again")))).to.deep.equal([
        true,
        true,
        true,
        true,
        true,
      ]);
    });

    it("with batch: false, checks one by one with the same verdicts and learns nothing", function () {
      const checker = new SignerBatchChecker({ batch: false });
      const claims = keys.map((key, i) => (i === 2 ? SPOILERS["flipped v"]!(claim(key, "b")) : claim(key, "b")));
      expect(checker.check(claims)).to.deep.equal(single(claims));
      expect(checker.knownKeys).to.equal(0);
    });

    it("property: verdicts equal single recovery for any mix of valid and spoilt claims", function () {
      const checker = warmChecker();
      const spoilers = Object.values(SPOILERS);
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              key: fc.nat({ max: keys.length - 1 }),
              text: fc.string(),
              spoil: fc.option(fc.nat({ max: spoilers.length - 1 }), { freq: 4 }),
            }),
            { maxLength: 40 },
          ),
          (entries) => {
            const claims = entries.map(({ key, text, spoil }) => {
              const c = claim(keys[key]!, text);
              return spoil === null ? c : spoilers[spoil]!(c);
            });
            expect(checker.check(claims)).to.deep.equal(single(claims));
          },
        ),
        { numRuns: 60 },
      );
    });
  });
});

describe("the batch-verification addon", function () {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const addon = require("@iotrail/secp256k1-batch") as {
    verify(items: Uint8Array, keys: Uint8Array, weights: Uint8Array): boolean;
  };

  it("rejects arguments of the wrong type or length with a clear error", function () {
    const item = new Uint8Array(104);
    const key = new Uint8Array(64);
    expect(() => addon.verify(item, key, "weights" as unknown as Uint8Array)).to.throw(TypeError, /three Uint8Arrays/);
    expect(() => addon.verify(item.subarray(1), key, new Uint8Array(16))).to.throw(RangeError, /104 bytes per item/);
    expect(() => addon.verify(item, key, new Uint8Array(15))).to.throw(RangeError, /16 per item/);
  });

  it("rejects a public key that is not on the curve and a key index out of range", function () {
    const c = claim(keys[0]!, "addon");
    const item = new Uint8Array(104);
    item.set(c.digest, 0);
    item.set(c.signature.subarray(0, 64), 32);
    item[96] = c.signature[64]! - 27;
    const offCurve = new Uint8Array(64).fill(1);
    expect(() => addon.verify(item, offCurve, new Uint8Array(16).fill(1))).to.throw(RangeError, /not on the curve/);
    const publicKey = recoverPublicKey(c.digest, c.signature)!;
    expect(addon.verify(item, publicKey, new Uint8Array(16).fill(1))).to.equal(true);
    new DataView(item.buffer).setUint32(100, 1, true);
    expect(() => addon.verify(item, publicKey, new Uint8Array(16).fill(1))).to.throw(RangeError, /key index/);
  });
});
