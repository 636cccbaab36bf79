/** The bottom-floor byte helpers (src/bytes.ts), against ethers. */
import { expect } from "chai";
import { getAddress, hexlify } from "ethers";
import fc from "fast-check";
import { checksumAddress, decodeHexInto, toHex } from "../../src/bytes";
import { initKeccak } from "../../src/merkle";

/** ethers' answer: the checksummed address, or undefined where getAddress throws. */
function ethersChecksum(value: string): string | undefined {
  try {
    return getAddress(value);
  } catch {
    return undefined;
  }
}

describe("bytes", function () {
  before(async function () {
    await initKeccak();
  });

  describe("checksumAddress", function () {
    it("property: the same answer as ethers' getAddress, in any letter case (bad checksums refused)", function () {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 20, maxLength: 20 }),
          fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
          (bytes, upper) => {
            const lower = hexlify(bytes);
            const mangled = `0x${[...lower.slice(2)].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join("")}`;
            for (const value of [lower, lower.toUpperCase().replace("0X", "0x"), getAddress(lower), mangled]) {
              expect(checksumAddress(value)).to.equal(ethersChecksum(value));
            }
          },
        ),
        { numRuns: 300 },
      );
    });

    it("refuses what is not a 0x-prefixed 20-byte hex address", function () {
      for (const value of [
        "",
        "0x",
        `0x${"1".repeat(39)}`,
        `0x${"1".repeat(41)}`,
        `0X${"a".repeat(40)}`,
        `0x${"g".repeat(40)}`,
      ]) {
        expect(checksumAddress(value), value).to.equal(undefined);
      }
    });
  });

  describe("decodeHexInto", function () {
    it("property: decodes what toHex encodes, and refuses a wrong length or a non-hex digit", function () {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
          const out = new Uint8Array(bytes.length);
          expect(decodeHexInto(out, 0, toHex(bytes), bytes.length)).to.equal(true);
          expect(out).to.deep.equal(bytes);
          expect(decodeHexInto(out, 0, toHex(bytes), bytes.length + 1)).to.equal(false);
          expect(decodeHexInto(out, 0, `${toHex(bytes).slice(0, -1)}z`, bytes.length)).to.equal(false);
        }),
      );
    });
  });
});
