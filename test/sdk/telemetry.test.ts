import { expect } from "chai";
import { ethers } from "hardhat";
import { DeviceKey } from "../../src/device";
import { InvalidInputError, SignatureError } from "../../src/errors";
import { encodeReading, telemetryDomain } from "../../src/eip712";
import type { Reading } from "../../src/eip712";
import { buildProofBundle } from "../../src/proof";
import {
  ReadingBatch,
  isReadingSignedByDevice,
  metricId,
  metricName,
  parseReading,
  readingToJson,
  recoverReadingSigner,
} from "../../src/telemetry";
import { readingsOf } from "../helpers/anchor";
import { expectRejected } from "../helpers/expect";

const domain = telemetryDomain(31337n, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");

describe("telemetry (SDK)", function () {
  const device = DeviceKey.fromPrivateKey(ethers.id("telemetry sdk device"));
  const [reading] = readingsOf(device, 1);

  describe("parseReading", function () {
    it("round-trips the JSON form and canonicalizes addresses and hex", function () {
      const json = readingToJson(reading!);
      expect(parseReading(json)).to.deep.equal(reading);
      const lower = {
        ...json,
        device: json.device.toLowerCase(),
        metric: json.metric.toUpperCase().replace("0X", "0x"),
      };
      expect(parseReading(lower)).to.deep.equal(reading);
      expect(parseReading({ ...reading!, value: -5 }).value).to.equal(-5n);
    });

    it("names the field of every problem", function () {
      const json = readingToJson(reading!);
      const cases: [unknown, string][] = [
        [null, "reading must be an object"],
        [[], "reading must be an object"],
        [{ ...json, device: undefined }, "reading.device is missing"],
        [{ ...json, device: "0x1234" }, "reading.device must be an address"],
        [{ ...json, sequence: "-1" }, "reading.sequence must be an integer"],
        [{ ...json, sequence: (2n ** 64n).toString() }, "reading.sequence must be an integer"],
        [{ ...json, timestamp: 1.5 }, "reading.timestamp must be an integer"],
        [{ ...json, value: "12abc" }, "reading.value must be an integer"],
        [{ ...json, value: (2n ** 255n).toString() }, "reading.value must be an integer"],
        [{ ...json, metric: "temperature" }, "reading.metric must be 32 bytes"],
        [{ ...json, payloadHash: "0x00" }, "reading.payloadHash must be 32 bytes"],
      ];
      for (const [input, message] of cases) {
        expect(() => parseReading(input)).to.throw(InvalidInputError, message);
      }
    });
  });

  describe("encodeReading", function () {
    it("refuses out-of-range integers and malformed hex with the field named", function () {
      const cases: [object, string][] = [
        [{ sequence: -1n }, "reading.sequence"],
        [{ timestamp: 2n ** 64n }, "reading.timestamp"],
        [{ value: 2n ** 255n }, "reading.value"],
        [{ device: "0x12" }, "reading.device"],
        [{ metric: "0x" + "zz".repeat(32) }, "reading.metric"],
        [{ payloadHash: 5 }, "reading.payloadHash"],
      ];
      for (const [patch, field] of cases) {
        expect(() => encodeReading({ ...reading!, ...patch } as Reading)).to.throw(InvalidInputError, field);
      }
    });
  });

  describe("metricId / metricName", function () {
    it("round-trips short names and refuses long ones", function () {
      expect(metricName(metricId("energy.Wh"))).to.equal("energy.Wh");
      expect(() => metricId("x".repeat(32))).to.throw(InvalidInputError, "longer than 31 bytes");
      expect(metricName(ethers.id("not a string"))).to.equal(undefined);
    });
  });

  describe("signatures", function () {
    it("recovers the device; rejects malformed and foreign signatures", function () {
      const signature = device.signReading(domain, reading!);
      expect(recoverReadingSigner(domain, reading!, signature)).to.equal(device.address);
      expect(isReadingSignedByDevice(domain, reading!, signature)).to.equal(true);
      expect(isReadingSignedByDevice(domain, { ...reading!, value: 1n }, signature)).to.equal(false);
      expect(isReadingSignedByDevice(domain, reading!, "0x1234")).to.equal(false);
      expect(() => recoverReadingSigner(domain, reading!, "0x1234")).to.throw(SignatureError);
    });

    it("a device key refuses to sign another device's reading", function () {
      const other = DeviceKey.generate();
      expect(() => other.signReading(domain, reading!)).to.throw(InvalidInputError, "its own readings");
    });
  });

  describe("ReadingBatch", function () {
    it("builds a header with the time window and a content hash of the dump", async function () {
      const readings = readingsOf(device, 5).reverse();
      const batch = await ReadingBatch.build(readings.map((r) => ({ reading: r, signature: "0x" })));
      const header = batch.header({ contentURI: "ipfs://x" });
      expect(header.readingCount).to.equal(5);
      expect(header.fromTimestamp).to.equal(readings[4]!.timestamp);
      expect(header.toTimestamp).to.equal(readings[0]!.timestamp);
      expect(header.contentHash).to.equal(ethers.keccak256(ethers.toUtf8Bytes(batch.dumpJson())));
      // The dump text is exactly JSON.stringify of the dump (the batcher assembles it from stored JSON).
      expect(batch.dumpJson()).to.equal(JSON.stringify(batch.dump()));
      expect(batch.indexOf(device.address, 3n)).to.equal(2);
      expect(batch.indexOf(device.address, 99n)).to.equal(undefined);
    });

    it("the same readings in the same order always give the same root", async function () {
      const signed = readingsOf(device, 9).map((r) => ({ reading: r, signature: "0x" }));
      const a = await ReadingBatch.build(signed);
      const b = await ReadingBatch.load(a.dumpJson());
      expect(b.root).to.equal(a.root);
    });

    it("refuses an empty batch and a repeated (device, sequence)", async function () {
      await expectRejected(ReadingBatch.build([]), "at least one reading");
      const [r] = readingsOf(device, 1);
      await expectRejected(
        ReadingBatch.build([
          { reading: r!, signature: "0x" },
          { reading: { ...r!, value: 2n }, signature: "0x" },
        ]),
        "repeats device",
      );
    });
  });

  describe("buildProofBundle", function () {
    it("refuses readings of two devices and a batch whose root differs from its anchor record", async function () {
      const other = DeviceKey.generate();
      const batch = await ReadingBatch.build(
        [...readingsOf(device, 1), ...readingsOf(other, 1)].map((r) => ({ reading: r, signature: "0x" })),
      );
      const anchored = {
        batchId: 1n,
        root: batch.root,
        submitter: device.address,
        transactionHash: ethers.id("t"),
        blockNumber: 1,
        blockHash: ethers.id("b"),
      };
      const params = { chainId: 1n, anchor: device.address, registry: device.address };
      expect(() => buildProofBundle({ ...params, sources: [{ batch, anchored, indices: [0, 1] }] })).to.throw(
        InvalidInputError,
        "one device",
      );
      expect(() =>
        buildProofBundle({
          ...params,
          sources: [{ batch, anchored: { ...anchored, root: ethers.id("x") }, indices: [0] }],
        }),
      ).to.throw(InvalidInputError, "different roots");
      expect(() => buildProofBundle({ ...params, sources: [{ batch, anchored, indices: [] }] })).to.throw(
        InvalidInputError,
        "at least one reading",
      );
    });
  });
});
