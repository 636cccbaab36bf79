/**
 * The published package as a stranger gets it: `npm pack`, then an install into an empty folder. There,
 * `npx iotrail --help` lists the commands, and a short script imports the SDK (CommonJS and ESM), reads a
 * contract artifact, and verifies a proof bundle offline. Slow (the native modules build), so it runs in CI
 * as its own step (`npm run test:package`), not in `npm test`.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(__dirname, "..");
const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 600_000 });

describe("the npm package (npm pack, installed in an empty folder)", function () {
  this.timeout(900_000);
  const folder = mkdtempSync(join(tmpdir(), "iotrail-package-"));
  let files: string[] = [];

  before(function () {
    const [packed] = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", folder], ROOT)) as {
      filename: string;
      files: { path: string }[];
    }[];
    files = packed!.files.map((f) => f.path);
    run("npm", ["init", "-y"], folder);
    run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", `./${packed!.filename}`], folder);
  });

  it("holds the compiled library, the CLI, the schemas and the artifacts, and no sources or tests", function () {
    for (const file of [
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "dist/src/cli/main.js",
      "bin/iotrail.js",
      "dist/artifacts/DeviceRegistry.json",
      "schemas/proof-bundle.v1.schema.json",
      "schemas/ingest-message.v1.schema.json",
    ]) {
      expect(files, file).to.include(file);
    }
    expect(files.filter((f) => /^(src|test|contracts)\/|\.ts$/.test(f) && !f.endsWith(".d.ts"))).to.deep.equal([]);
    expect(files.filter((f) => f.includes("mocks") || f.includes("MockToken"))).to.deep.equal([]);
  });

  it("npx iotrail --help lists every command, and --version the package's", function () {
    const help = run("npx", ["iotrail", "--help"], folder);
    for (const command of [
      "deploy",
      "deployment",
      "devices",
      "roles",
      "simulate",
      "batcher",
      "bundle",
      "verify",
      "channel",
      "escrow",
    ]) {
      expect(help).to.match(new RegExp(`\\n  ${command}\\b`));
    }
    const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
    expect(run("npx", ["iotrail", "--version"], folder).trim()).to.equal(version);
  });

  it("a script imports the SDK (CommonJS and ESM) and verifies a bundle offline; a tampered one fails", function () {
    copyFileSync(join(ROOT, "test", "fixtures", "proof-bundle.v1.json"), join(folder, "bundle.json"));
    writeFileSync(
      join(folder, "check.js"),
      `const { readFileSync } = require("node:fs");
const { DeviceKey, verifyBundle } = require("iotrail");
const abi = require("iotrail/artifacts/DeviceRegistry.json").abi;
(async () => {
  const text = readFileSync("bundle.json", "utf8");
  const good = await verifyBundle(text);
  const tampered = JSON.parse(text);
  tampered.readings[0].reading.value = String(BigInt(tampered.readings[0].reading.value) + 1n);
  const bad = await verifyBundle(JSON.stringify(tampered));
  console.log(JSON.stringify({
    key: DeviceKey.generate().address.length,
    abi: abi.some((item) => item.name === "validAt"),
    good: good.verdict,
    goodFailures: good.checks.filter((c) => c.status === "fail").length,
    bad: bad.verdict,
  }));
})();
`,
    );
    const result = JSON.parse(run("node", ["check.js"], folder)) as Record<string, unknown>;
    expect(result).to.deep.equal({ key: 42, abi: true, good: "not-verified", goodFailures: 0, bad: "failed" });
    writeFileSync(
      join(folder, "check.mjs"),
      `import { DeviceKey, verifyBundle } from "iotrail";\nconsole.log(typeof DeviceKey, typeof verifyBundle);\n`,
    );
    expect(run("node", ["check.mjs"], folder).trim()).to.equal("function function");
  });
});
