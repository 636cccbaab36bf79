/**
 * The compact binary ingest message (version 2, `schemas/ingest-message.v2.cddl`): its golden fixtures,
 * parity with the JSON twin through the batcher's own checks, and a well-kept CBOR library (cbor2) as the
 * reference for the hand-written encoder and decoder.
 */
import { expect } from "chai";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ethers } from "ethers";
import { checkMessage } from "../../src/batcher";
import { DeviceKey } from "../../src/device";
import { telemetryDomain } from "../../src/eip712";
import {
  CBOR_KEYS,
  ZERO_HASH,
  decodeIngestMessageCbor,
  encodeIngestMessage,
  encodeIngestMessageCbor,
  fromCompactSignature,
  metricId,
  parseReading,
  toCompactSignature,
} from "../../src/telemetry";
import type { Reading } from "../../src/telemetry";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const cbor2 = require("cbor2") as {
  decode: (bytes: Uint8Array, options?: Record<string, unknown>) => unknown;
  cdeDecodeOptions: Record<string, unknown>;
  cdeEncodeOptions: Record<string, unknown>;
  encode: (value: unknown, options?: Record<string, unknown>) => Uint8Array;
};

const FIXTURES = join(__dirname, "..", "fixtures");
const V1 = JSON.parse(readFileSync(join(FIXTURES, "ingest-message.v1.json"), "utf8")) as {
  reading: unknown;
  signature: string;
};
const V2 = new Uint8Array(readFileSync(join(FIXTURES, "ingest-message.v2.cbor")));
const V2_COMPACT = new Uint8Array(readFileSync(join(FIXTURES, "ingest-message.v2.compact.cbor")));
const DOMAIN = telemetryDomain(31337n, "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9");
const READING = parseReading(V1.reading);

/** The reading as the library decodes the message: a Map of key to value (bigints where CBOR has them). */
function libraryView(bytes: Uint8Array): Map<number, unknown> {
  return cbor2.decode(bytes, { ...cbor2.cdeDecodeOptions, boxed: false }) as Map<number, unknown>;
}

const readings = fc.record({
  sequence: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  timestamp: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  metric: fc.oneof(
    fc.stringMatching(/^[a-z][a-z0-9._]{0,30}$/).map((name) => metricId(name)),
    fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => ethers.hexlify(bytes)),
  ),
  value: fc.oneof(
    fc.bigInt({ min: -(2n ** 31n), max: 2n ** 31n - 1n }),
    fc.bigInt({ min: -(2n ** 255n), max: 2n ** 255n - 1n }),
  ),
  payloadHash: fc.oneof(
    fc.constant(ZERO_HASH),
    fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => ethers.hexlify(bytes)),
  ),
});

describe("the version-2 (CBOR) ingest message", function () {
  this.timeout(120_000);
  const device = DeviceKey.generate();

  describe("golden fixtures", function () {
    it("the full form is the version-1 fixture's reading and signature, as encodeIngestMessageCbor writes it", function () {
      expect(
        ethers.hexlify(encodeIngestMessageCbor({ domain: DOMAIN, reading: READING, signature: V1.signature })),
      ).to.equal(ethers.hexlify(V2));
      const decoded = decodeIngestMessageCbor(V2, { domain: DOMAIN });
      expect(decoded.reading).to.deep.equal(READING);
      expect(ethers.hexlify(decoded.signature)).to.equal(V1.signature.toLowerCase());
      expect(decoded.claimedDomain).to.deep.equal({
        chainId: DOMAIN.chainId,
        verifyingContract: DOMAIN.verifyingContract,
      });
    });

    it("the compact form (domain and device known to the receiver) is at most 100 bytes, against 526 of JSON", function () {
      const compact = encodeIngestMessageCbor({
        domain: DOMAIN,
        reading: READING,
        signature: V1.signature,
        omit: { domain: true, device: true },
      });
      expect(ethers.hexlify(compact)).to.equal(ethers.hexlify(V2_COMPACT));
      expect(V2_COMPACT.length).to.be.at.most(100);
      expect(readFileSync(join(FIXTURES, "ingest-message.v1.json"), "utf8").replace(/\s/g, "").length).to.be.above(500);
      const decoded = decodeIngestMessageCbor(V2_COMPACT, { domain: DOMAIN, device: READING.device });
      expect(decoded.reading).to.deep.equal(READING);
      expect(decoded.claimedDomain).to.equal(undefined);
    });

    it("the batcher's checks accept the fixture with the same reading, digest and signature as its JSON twin", function () {
      const fromJson = checkMessage(JSON.stringify(V1), { domain: DOMAIN, maxBytes: 4096 });
      const fromCbor = checkMessage(V2, { domain: DOMAIN, maxBytes: 4096 });
      expect(fromCbor.status, fromCbor.status === "rejected" ? fromCbor.message : "").to.equal("checked");
      expect(fromJson.status).to.equal("checked");
      if (fromCbor.status !== "checked" || fromJson.status !== "checked") return;
      expect(fromCbor.item.reading).to.deep.equal(fromJson.item.reading);
      expect(fromCbor.item.digest).to.equal(fromJson.item.digest);
      expect(fromCbor.item.signature).to.equal(fromJson.item.signature);
    });
  });

  describe("parity", function () {
    it("property: a signed reading in CBOR and in JSON passes the batcher's checks as the same item", function () {
      fc.assert(
        fc.property(readings, fc.boolean(), (fields, omitDomain) => {
          const reading: Reading = { device: device.address, ...fields };
          const signature = device.signReading(DOMAIN, reading);
          const json = checkMessage(encodeIngestMessage({ domain: DOMAIN, reading, signature }), {
            domain: DOMAIN,
            maxBytes: 4096,
          });
          const bytes = encodeIngestMessageCbor({ domain: DOMAIN, reading, signature, omit: { domain: omitDomain } });
          const binary = checkMessage(bytes, { domain: DOMAIN, maxBytes: 4096 });
          expect(binary).to.deep.equal(json);
          expect(json.status).to.equal("checked");
        }),
        { numRuns: 60 },
      );
    });

    it("property: cbor2 (the reference) decodes what we write to the same fields, and writes the same bytes", function () {
      fc.assert(
        fc.property(readings, (fields) => {
          const reading: Reading = { device: device.address, ...fields };
          const signature = device.signReading(DOMAIN, reading);
          const bytes = encodeIngestMessageCbor({ domain: DOMAIN, reading, signature });
          const view = libraryView(bytes);
          expect(view.get(CBOR_KEYS.version)).to.equal(2);
          expect(BigInt(view.get(CBOR_KEYS.chainId) as number)).to.equal(DOMAIN.chainId);
          expect(ethers.getAddress(ethers.hexlify(view.get(CBOR_KEYS.device) as Uint8Array))).to.equal(device.address);
          expect(BigInt(view.get(CBOR_KEYS.sequence) as number | bigint)).to.equal(reading.sequence);
          expect(BigInt(view.get(CBOR_KEYS.timestamp) as number | bigint)).to.equal(reading.timestamp);
          expect(BigInt(view.get(CBOR_KEYS.value) as number | bigint)).to.equal(reading.value);
          const metric = view.get(CBOR_KEYS.metric);
          expect(typeof metric === "string" ? metricId(metric) : ethers.hexlify(metric as Uint8Array)).to.equal(
            reading.metric,
          );
          expect(view.has(CBOR_KEYS.payloadHash)).to.equal(reading.payloadHash !== ZERO_HASH);
          expect(ethers.hexlify(fromCompactSignature(view.get(CBOR_KEYS.signature) as Uint8Array))).to.equal(
            signature.toLowerCase(),
          );
          // The library, asked for deterministic encoding of the same map, writes the same bytes.
          expect(ethers.hexlify(cbor2.encode(view, cbor2.cdeEncodeOptions))).to.equal(ethers.hexlify(bytes));
        }),
        { numRuns: 60 },
      );
    });

    it("EIP-2098: 65 bytes to 64 and back, for both parities; a high s has no compact form", function () {
      for (let i = 0; i < 8; i++) {
        const signature = device.signReading(DOMAIN, { ...READING, device: device.address, sequence: BigInt(i) });
        const compact = toCompactSignature(signature);
        expect(compact.length).to.equal(64);
        expect(ethers.Signature.from(signature).compactSerialized).to.equal(ethers.hexlify(compact));
        expect(ethers.hexlify(fromCompactSignature(compact))).to.equal(signature.toLowerCase());
      }
      const high = ethers.getBytes(V1.signature);
      high[32] = high[32]! | 0x80;
      expect(() => toCompactSignature(high)).to.throw(/high s/);
    });
  });
});
