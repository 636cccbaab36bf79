import { expect } from "chai";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { MAX_SHARE_CHARS, bundleFromFragment, readingSeries, shareFragment } from "../../src/verify";
import { bundleFixture, clone } from "../helpers/bundle";
import { expectRejected } from "../helpers/expect";

describe("share links", function () {
  describe("shareFragment / bundleFromFragment", function () {
    it("property: any text up to the limit comes back unchanged through a link", async function () {
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 2_000, unit: "binary" }), async (text) => {
          const fragment = await shareFragment(text);
          expect(fragment).to.match(/^bundle=[A-Za-z0-9_-]*$/);
          expect(await bundleFromFragment(`#${fragment!}`)).to.equal(text);
        }),
        { numRuns: 100 },
      );
    });

    it("a real bundle fits; a bundle too large for a URL gives no link; a fragment without a bundle gives none", async function () {
      const fx = await loadFixture(bundleFixture);
      const fragment = await shareFragment(JSON.stringify(fx.bundle));
      expect(fragment!.length).to.be.below(MAX_SHARE_CHARS);
      const random = Array.from({ length: 60_000 }, () => Math.floor(Math.random() * 36).toString(36)).join("");
      expect(await shareFragment(random)).to.equal(undefined);
      expect(await bundleFromFragment("#other=1")).to.equal(undefined);
    });

    it("a forged fragment is a clear InvalidInputError, not a crash", async function () {
      await expectRejected(bundleFromFragment("#bundle=%%%"), "not base64url");
      await expectRejected(bundleFromFragment("#bundle=AAAA"), "does not decompress");
    });

    it("security: a small link that would expand into a huge bundle (a deflate bomb) is refused while decompressing", async function () {
      const bomb = await shareFragment("0".repeat(20 * 1024 * 1024));
      expect(bomb!.length, "20 MiB of zeros deflate into a short link").to.be.below(MAX_SHARE_CHARS);
      await expectRejected(bundleFromFragment(`#${bomb!}`), "expands beyond");
    });
  });
});

describe("readingSeries", function () {
  it("orders readings by sequence, marks gaps between sequences and values outside the range", async function () {
    const fx = await loadFixture(bundleFixture);
    const bundle = clone(fx.bundle);
    bundle.readings = bundle.readings.filter((r) => !["4", "5", "9"].includes(r.reading.sequence)).reverse();
    const [series] = readingSeries(bundle, { min: 3_700, max: 3_950 });
    expect(series!.metric).to.equal("temperature.mC");
    expect(series!.sequences.map(Number)).to.deep.equal([1, 2, 3, 6, 7, 8, 10, 11, 12]);
    expect(series!.gaps.map((g) => [Number(g.afterSequence), Number(g.missing)])).to.deep.equal([
      [3, 2],
      [8, 1],
    ]);
    expect(series!.outOfRange.map((i) => series!.values[i])).to.deep.equal(
      series!.values.filter((v) => v < 3_700 || v > 3_950),
    );
    expect(series!.outOfRange.length).to.be.greaterThan(0);
  });
});
