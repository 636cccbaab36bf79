/**
 * Issue 24, defect 9: the `sales` configuration was undocumented (a user found its fields from errors and
 * the source), and nothing said who registers a buyer's signing key. The README now has a table of every
 * field and the buyer's key story; the example files load as configurations.
 */
import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadBatcherConfig } from "../../src/batcher";
import { KNOWN_FIELDS } from "../../src/batcher/config";
import { tempDir } from "../helpers/cli";

const ROOT = join(__dirname, "..", "..");

describe("first hour (issue 24): the sales configuration is documented", function () {
  it("batcher.sales.example.json names every sales field, loads (merged into batcher.example.json), and the README documents each field", function () {
    const base = JSON.parse(readFileSync(join(ROOT, "batcher.example.json"), "utf8")) as Record<string, unknown>;
    const sales = JSON.parse(readFileSync(join(ROOT, "batcher.sales.example.json"), "utf8")) as {
      sales: Record<string, unknown>;
    };
    const file = join(tempDir(), "batcher.json");
    writeFileSync(file, JSON.stringify({ ...base, ...sales }));
    const config = loadBatcherConfig({ file, env: { BATCHER_SETTLER_KEY: `0x${"11".repeat(32)}` } });
    expect(config.sales).to.deep.include({
      pricePerReading: 1_000_000_000_000n,
      payee: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
      watchIntervalMs: 30_000,
      claimMarginSeconds: 3_600,
    });
    // Every field the loader knows is in the example and in the README's table.
    const known = KNOWN_FIELDS.sales!;
    expect(known.length).to.be.greaterThan(5);
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    for (const field of known) {
      expect(Object.keys(sales.sales), `the example lacks ${field}`).to.include(field);
      expect(readme, `the README's sales table lacks ${field}`).to.match(new RegExp(`\\| \`${field}\` +\\|`));
    }
    // x402's exact scheme: its own fields, in its own table.
    expect(config.sales!.exact).to.deep.include({ pricePerReading: 10_000n, confirmations: 1, maxTimeoutSeconds: 120 });
    const exact = sales.sales.exact as Record<string, unknown>;
    for (const field of KNOWN_FIELDS["sales.exact"]!) {
      if (field !== "facilitatorUrl") expect(Object.keys(exact), `the example lacks exact.${field}`).to.include(field);
      expect(readme, `the README's exact table lacks ${field}`).to.match(new RegExp(`\\| \`exact.${field}\` +\\|`));
    }
    expect(readme).to.contain("**The buyer's key.**");
    expect(readme).to.contain("devices register --device fleet/buyer.json --owner");
    expect(readme).to.contain("`data buy` without\n`--signer` uses the key of `--key`");
  });
});
