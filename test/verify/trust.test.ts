/**
 * The verifier's trust model (security review M-3, M-4 and the findings of independent implementations):
 * "verified" rests only on what the verifier itself trusts, and every schema-valid input gets a report.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { createServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import fc from "fast-check";
import { JsonRpcProvider, FetchRequest } from "ethers";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { ProofBundle } from "../../src/proof";
import { pinTrust, formatReport, parseTrustConfig, trustedFor, verifyBundle } from "../../src/verify";
import type { VerificationReport } from "../../src/verify";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bundleFixture, clone, lookAlikeBundle, pinned } from "../helpers/bundle";

const failedChecks = (report: VerificationReport) => [
  ...new Set(report.checks.filter((c) => c.status === "fail").map((c) => c.check)),
];

describe("verifyBundle: trust", function () {
  describe("verdict", function () {
    it("security (M-3): a look-alike anchor at the bundle's address never makes a verified verdict", async function () {
      const { fx, bundle } = await lookAlikeBundle();
      const unpinned = await verifyBundle(bundle, { provider: ethers.provider });
      expect(unpinned.verdict, formatReport(unpinned)).to.equal("not-verified");
      expect(unpinned.ok).to.equal(false);
      expect(unpinned.reasons.join()).to.contain("no pinned anchor");
      const pinnedReport = await verifyBundle(bundle, pinned(fx));
      expect(pinnedReport.verdict).to.equal("failed");
      expect(failedChecks(pinnedReport)).to.deep.equal(["anchor-contract"]);
    });

    it("security (M-3): pinning the look-alike's address by mistake still needs its registry to be the trusted one", async function () {
      const { fx, bundle, fakeAddress } = await lookAlikeBundle();
      const trusted = pinTrust(
        { anchor: fakeAddress, registry: String(fx.registry.target) },
        { kind: "program", what: "test" },
      );
      const report = await verifyBundle(bundle, { provider: ethers.provider, trusted });
      expect(report.verdict).to.equal("failed");
      expect(failedChecks(report)).to.deep.equal(["anchor-contract"]);
    });

    it("security (M-3): offline and unpinned runs are not verified, each with its reason", async function () {
      const fx = await loadFixture(bundleFixture);
      const offline = await verifyBundle(fx.bundle, { trusted: pinned(fx).trusted });
      expect([offline.verdict, offline.mode]).to.deep.equal(["not-verified", "offline"]);
      expect(offline.reasons.join()).to.contain("offline");
      const unpinned = await verifyBundle(fx.bundle, { provider: ethers.provider });
      expect(unpinned.verdict).to.equal("not-verified");
      expect(unpinned.checks.find((c) => c.check === "anchor-contract")!.status).to.equal("skip");
      expect(formatReport(unpinned)).to.contain("NOT FULLY VERIFIED");
      expect((await verifyBundle(fx.bundle, pinned(fx))).verdict).to.equal("verified");
    });

    it("security (M-3): a node that accepts connections but never answers gives not-verified within the timeout", async function () {
      const fx = await loadFixture(bundleFixture);
      const sockets: Socket[] = [];
      const silent = createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      const request = new FetchRequest(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`);
      const provider = new JsonRpcProvider(request, undefined, { staticNetwork: false });
      try {
        const started = Date.now();
        const report = await verifyBundle(fx.bundle, { ...pinned(fx), provider, timeoutMs: 300 });
        expect(Date.now() - started).to.be.below(5_000);
        expect(report.verdict).to.equal("not-verified");
        expect(report.reasons.join()).to.match(
          /could not be reached: eth_chainId: no answer from the node within 0.3 s/,
        );
      } finally {
        provider.destroy();
        sockets.forEach((s) => s.destroy());
        silent.close();
      }
    });
  });

  describe("trust configuration", function () {
    it("parses the golden version-1 trust file and pins per chain id", function () {
      const path = join(__dirname, "..", "fixtures", "trust.v1.json");
      const config = parseTrustConfig(readFileSync(path, "utf8"), "fixture");
      expect(trustedFor(config, 31337n, "fixture")).to.deep.equal(
        pinTrust(
          {
            anchor: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
            registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
          },
          { kind: "trust-file", path: "fixture" },
          "chain 31337, hardhat",
        ),
      );
      expect(trustedFor(config, 1n, "fixture")).to.equal(undefined);
    });

    it("rejects malformed trust files with a ConfigError naming the problem", function () {
      expect(() => parseTrustConfig("{", "t")).to.throw(/t: not valid JSON/);
      expect(() => parseTrustConfig('{"version":1,"kind":"iotrail.trust","chains":{"x":{}}}', "t")).to.throw(
        /not a version-1 trust configuration/,
      );
      const badChecksum =
        '{"version":1,"kind":"iotrail.trust","chains":{"1":{"anchor":"0xE7f1725E7734CE288F8367e1Bb143E90bb3F0512"}}}';
      expect(() => parseTrustConfig(badChecksum, "t")).to.throw(/wrong EIP-55 checksum/);
    });
  });

  describe("completeness (M-4)", function () {
    it("security (M-4): a range of 1..1,000,002 holding only #1 reports the exact 1,000,001 missing", async function () {
      const fx = await loadFixture(bundleFixture);
      const bundle = clone(fx.bundle);
      bundle.readings = [bundle.readings[0]!];
      bundle.range = { fromSequence: "1", toSequence: "1000002" };
      const report = await verifyBundle(bundle);
      const completeness = report.checks.find((c) => c.check === "completeness")!;
      expect(completeness.status).to.equal("fail");
      expect(completeness.message).to.equal("1000001 reading(s) missing from 1..1000002: 2..1000002");
    });

    it("counts exactly for a range near 2^64 and lists gaps from the sorted sequence numbers", async function () {
      const fx = await loadFixture(bundleFixture);
      const bundle = clone(fx.bundle);
      bundle.readings = [bundle.readings[4]!, bundle.readings[1]!, bundle.readings[9]!];
      bundle.range = { fromSequence: "1", toSequence: "18446744073709551615" };
      const completeness = (await verifyBundle(bundle)).checks.find((c) => c.check === "completeness")!;
      expect(completeness.message).to.equal(
        "18446744073709551612 reading(s) missing from 1..18446744073709551615: 1, 3..4, 6..9, 11..18446744073709551615",
      );
    });

    it("rejects readings outside the claimed range", async function () {
      const fx = await loadFixture(bundleFixture);
      const bundle = clone(fx.bundle);
      bundle.range = { fromSequence: "2", toSequence: "11" };
      const completeness = (await verifyBundle(bundle)).checks.find((c) => c.check === "completeness")!;
      expect(completeness.status).to.equal("fail");
      expect(completeness.message).to.equal("2 reading(s) outside the claimed range 2..11: 1, 12");
    });
  });

  describe("schema-valid bundles always get a report", function () {
    it("a wrong EIP-55 checksum fails the schema check instead of throwing", async function () {
      const fx = await loadFixture(bundleFixture);
      for (const mutate of [
        (b: ProofBundle) => (b.device.key = flipCase(b.device.key)),
        (b: ProofBundle) => (b.anchor = flipCase(b.anchor)),
        (b: ProofBundle) => (b.registry = flipCase(b.registry)),
      ]) {
        const bundle = clone(fx.bundle);
        mutate(bundle);
        const report = await verifyBundle(bundle, pinned(fx));
        expect(report.verdict).to.equal("failed");
        expect(failedChecks(report)).to.deep.equal(["schema"]);
        expect(report.checks.find((c) => c.status === "fail")!.message).to.contain("EIP-55");
      }
    });

    it("a block number of 1e20 fails the schema, and upper-case roots and a v other than 27 or 28 too", async function () {
      const fx = await loadFixture(bundleFixture);
      const huge = clone(fx.bundle);
      huge.batches[0]!.blockNumber = 1e20;
      const upper = clone(fx.bundle);
      upper.batches[0]!.root = upper.batches[0]!.root.toUpperCase().replace("0X", "0x");
      const v = clone(fx.bundle);
      v.readings[0]!.signature = v.readings[0]!.signature.slice(0, -2) + "00";
      for (const bundle of [huge, upper, v]) {
        const report = await verifyBundle(bundle, pinned(fx));
        expect(failedChecks(report)).to.deep.equal(["schema"]);
      }
    });

    it("a chain id, batch id or sequence out of its Solidity range fails the schema (found by the mutation fuzz)", async function () {
      const fx = await loadFixture(bundleFixture);
      const chain = clone(fx.bundle);
      chain.chainId = (1n << 256n).toString();
      const batch = clone(fx.bundle);
      batch.batches[0]!.batchId = (1n << 256n).toString();
      const range = clone(fx.bundle);
      range.range = { fromSequence: "1", toSequence: (1n << 64n).toString() };
      for (const bundle of [chain, batch, range]) {
        const report = await verifyBundle(bundle, pinned(fx));
        expect(failedChecks(report)).to.deep.equal(["schema"]);
        expect(report.checks.find((c) => c.status === "fail")!.message).to.contain("out of range");
      }
    });

    it("a readingCount other than the BatchAnchored event's fails anchor-transaction", async function () {
      const fx = await loadFixture(bundleFixture);
      const bundle = clone(fx.bundle);
      bundle.batches[0]!.readingCount = 1;
      const report = await verifyBundle(bundle, pinned(fx));
      expect(failedChecks(report)).to.deep.equal(["anchor-transaction"]);
      expect(report.checks.find((c) => c.status === "fail")!.message).to.contain("the anchoring event says 11");
    });

    it("the readable summary names each batch its readings lead to", async function () {
      const fx = await loadFixture(bundleFixture);
      const text = formatReport(await verifyBundle(fx.bundle, pinned(fx)));
      expect(text).to.contain("8 readings     the leaf and proof lead to the root of batch 1");
      expect(text).to.contain("4 readings     the leaf and proof lead to the root of batch 2");
    });

    it("property: any mutation of any field of a real bundle never throws and never verifies", async function () {
      this.timeout(240_000);
      const fx = await loadFixture(bundleFixture);
      const leaves = leafPaths(fx.bundle).filter((path) => path.length > 0);
      const replacement = fc.oneof(
        fc.constant(null),
        fc.boolean(),
        fc.integer(),
        fc.double(),
        fc.constant(1e20),
        fc.string({ maxLength: 80 }),
        fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), maxLength: 132 }).map((h) => `0x${h}`),
        fc.bigInt({ min: 0n, max: 2n ** 260n }).map(String),
        fc.constant([]),
        fc.constant({}),
      );
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: leaves.length - 1 }), replacement, async (index, value) => {
          const bundle = clone(fx.bundle) as unknown as Record<string, unknown>;
          const path = leaves[index]!;
          if (JSON.stringify(get(bundle, path)) === JSON.stringify(value)) return;
          set(bundle, path, value);
          const report = await verifyBundle(JSON.stringify(bundle), pinned(fx));
          expect(report.verdict, `${path.join(".")} = ${JSON.stringify(value)}`).to.not.equal("verified");
        }),
        { numRuns: 1000 },
      );
    });
  });
});

function flipCase(address: string): string {
  const i = [...address].findIndex((ch, n) => n > 1 && /[a-fA-F]/.test(ch));
  const ch = address[i]!;
  return address.slice(0, i) + (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase()) + address.slice(i + 1);
}

type Path = (string | number)[];

function leafPaths(value: unknown, path: Path = []): Path[] {
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
    return [path, ...entries.flatMap(([k, v]) => leafPaths(v, [...path, k]))];
  }
  return [path];
}

function get(root: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], root);
}

function set(root: Record<string, unknown>, path: Path, value: unknown): void {
  if (path.length === 0) return;
  const parent = get(root, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1]!] = value;
}
