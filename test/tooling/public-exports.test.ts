/**
 * The package's public names (issue 25): a restructuring moves files, never what a user imports. The
 * committed list was taken before the rooms moved; `node scripts/public-exports.js` prints today's.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { publicExports } = require("../../scripts/public-exports.js") as {
  publicExports: () => Record<string, string[]>;
};

describe("the public exports", function () {
  this.timeout(60_000);
  it("the SDK (.) and ./batcher export exactly the committed names, values and types alike", function () {
    const committed = JSON.parse(readFileSync(join(__dirname, "../fixtures/public-exports.json"), "utf8")) as Record<
      string,
      string[]
    >;
    const now = publicExports();
    for (const entry of Object.keys(committed)) {
      const gone = committed[entry]!.filter((name) => !now[entry]!.includes(name));
      const added = now[entry]!.filter((name) => !committed[entry]!.includes(name));
      expect({ entry, gone, added }).to.deep.equal({ entry, gone: [], added: [] });
    }
    expect(Object.keys(now)).to.deep.equal(Object.keys(committed));
    expect(now["."]!.length, "the SDK's names").to.be.greaterThan(200);
  });
});
