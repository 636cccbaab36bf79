import { expect } from "chai";
import { ethers } from "hardhat";
import fc from "fast-check";
import { checkMessages, encodeIngestMessage } from "../../../src/batcher";
import {
  packChecked,
  packMessages,
  transferList,
  unpackChecked,
  unpackMessages,
} from "../../../src/batcher/checks/check-wire";
import { DeviceKey } from "../../../src/device";
import { telemetryDomain } from "../../../src/eip712";
import { metricId } from "../../../src/telemetry";

const domain = telemetryDomain(31337n, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
const device = DeviceKey.fromPrivateKey(ethers.id("wire test device"));
const options = { domain, maxBytes: 4096 };

/** Through a real MessageChannel, with the transfer list, as between a check thread and the ingest thread. */
async function acrossThreads<T>(value: T, transfer: ArrayBuffer[]): Promise<T> {
  const { port1, port2 } = new MessageChannel();
  const received = new Promise<T>((resolve) => port2.once("message", (message: T) => resolve(message)));
  port1.postMessage(value, transfer);
  const result = await received;
  port1.close();
  return result;
}

describe("check-wire", function () {
  describe("packChecked / unpackChecked", function () {
    it("property: the ingest thread gets exactly the results the check thread made, in order", async function () {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              fc.record({
                sequence: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
                timestamp: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
                value: fc.bigInt({ min: -(2n ** 255n), max: 2n ** 255n - 1n }),
              }),
              fc.constantFrom("{bad", '{"nope":1}', "x".repeat(5000)),
            ),
            { maxLength: 12 },
          ),
          async (entries) => {
            const messages = entries.map((entry) => {
              if (typeof entry === "string") return Buffer.from(entry);
              const reading = {
                device: device.address,
                ...entry,
                metric: metricId("wire"),
                payloadHash: ethers.id(String(entry.value)),
              };
              return Buffer.from(
                encodeIngestMessage({ domain, reading, signature: device.signReading(domain, reading) }),
              );
            });
            const results = checkMessages(messages, options);
            const packed = packChecked(results);
            expect(unpackChecked(await acrossThreads(packed, transferList(packed)))).to.deep.equal(results);
          },
        ),
        { numRuns: 40 },
      );
    });

    it("moves the typed arrays instead of copying them", async function () {
      const packed = packChecked(checkMessages([Buffer.from("{bad")], options));
      await acrossThreads(packed, transferList(packed));
      expect(packed.codes.byteLength).to.equal(0); // detached: the buffer moved to the other side
    });
  });

  describe("packMessages / unpackMessages", function () {
    it("gives back each message, including empty ones and views into larger buffers", async function () {
      const big = Buffer.from("0123456789abcdef");
      const messages = [big.subarray(2, 5), Buffer.alloc(0), Buffer.from("{}"), big.subarray(10)];
      const packed = packMessages(messages);
      const unpacked = unpackMessages(await acrossThreads(packed, transferList(packed)));
      expect(unpacked.map((m) => Buffer.from(m).toString())).to.deep.equal(["234", "", "{}", "abcdef"]);
      expect(packed.data.byteLength).to.equal(0); // moved
    });
  });
});
