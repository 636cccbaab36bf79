import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROOF_BUNDLE_SCHEMA, proofBundleSchemaErrors } from "../../src/proof";
import { ReadingBatch } from "../../src/telemetry";
import { verifyBundle } from "../../src/verify";
import { expectRejected } from "../helpers/expect";

const fixture = (name: string) => readFileSync(join(__dirname, "..", "fixtures", name), "utf8");

describe("persisted formats: compatibility", function () {
  it("a version-1 proof bundle written by an earlier release validates and verifies offline", async function () {
    const text = fixture("proof-bundle.v1.json");
    expect(proofBundleSchemaErrors(JSON.parse(text))).to.deep.equal([]);
    const report = await verifyBundle(text);
    // Offline, nothing fails, and the verdict says the chain was not asked.
    expect(report.checks.filter((c) => c.status === "fail")).to.deep.equal([]);
    expect(report.verdict).to.equal("not-verified");
    expect(report.checks.filter((c) => c.status === "pass").map((c) => c.check)).to.include.members([
      "json",
      "version",
      "schema",
      "device-signature",
      "merkle-inclusion",
      "completeness",
    ]);
  });

  it("the published schema file is the one the verifier uses", function () {
    const published = JSON.parse(
      readFileSync(join(__dirname, "..", "..", "schemas", "proof-bundle.v1.schema.json"), "utf8"),
    );
    expect(PROOF_BUNDLE_SCHEMA).to.deep.equal(published);
  });

  it("a version-1 batch dump rebuilds the root recorded in it and in the bundle", async function () {
    const batch = await ReadingBatch.load(fixture("batch-dump.v1.json"));
    const bundle = JSON.parse(fixture("proof-bundle.v1.json")) as { batches: { root: string }[] };
    expect(batch.root).to.equal(bundle.batches[0]!.root);
    expect(batch.length).to.equal(3);
  });

  it("a batch dump of another version, or whose readings do not rebuild its root, is refused", async function () {
    const dump = JSON.parse(fixture("batch-dump.v1.json")) as {
      version: number;
      readings: { reading: { value: string } }[];
    };
    await expectRejected(ReadingBatch.load({ ...dump, version: 2 }), "unsupported batch dump");
    dump.readings[0]!.reading.value = "7";
    await expectRejected(ReadingBatch.load(dump), "corrupt");
    await expectRejected(ReadingBatch.load("{"), "not valid JSON");
  });
});
