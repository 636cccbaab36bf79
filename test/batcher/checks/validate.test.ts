import { expect } from "chai";
import { ethers } from "hardhat";
import { encodeIngestMessage, ReadingValidator, SqliteReadingStore, StaticDeviceDirectory } from "../../../src/batcher";
import type { IngestErrorCode, Verdict } from "../../../src/batcher";
import { DeviceKey } from "../../../src/device";
import { readingDigest, telemetryDomain } from "../../../src/eip712";
import { readingToJson } from "../../../src/telemetry";
import type { Reading } from "../../../src/telemetry";
import { highS } from "../../helpers/registry";

const ANCHOR = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const domain = telemetryDomain(31337n, ANCHOR);
const NOW = 1_767_225_600;
const device = DeviceKey.fromPrivateKey(ethers.id("validator device"));

function reading(overrides: Partial<Reading> = {}): Reading {
  return {
    device: device.address,
    sequence: 1n,
    timestamp: BigInt(NOW - 30),
    metric: ethers.encodeBytes32String("temperature.mC"),
    value: 4_200n,
    payloadHash: ethers.ZeroHash,
    ...overrides,
  };
}

function message(r: Reading = reading(), extra: Record<string, unknown> = {}, signer: DeviceKey = device): string {
  // signReading refuses another device's reading; a forger signs the digest itself.
  const wire = encodeIngestMessage({ domain, reading: r, signature: signer.signDigest(readingDigest(domain, r)) });
  return JSON.stringify({ ...(JSON.parse(wire) as object), ...extra });
}

function setup() {
  const store = new SqliteReadingStore(":memory:");
  const devices = new StaticDeviceDirectory([[device.address, "active"]]);
  const validator = new ReadingValidator({
    domain,
    devices,
    ledger: store,
    maxBytes: 2048,
    window: { pastSeconds: 3600, futureSeconds: 60 },
    now: () => NOW,
  });
  return { store, devices, validator };
}

const code = (verdict: Verdict): IngestErrorCode | undefined =>
  verdict.status === "rejected" ? verdict.code : undefined;

describe("ReadingValidator", function () {
  describe("validate", function () {
    it("accepts a well-formed, signed reading of an active device, with its digest", async function () {
      const { validator } = setup();
      const verdict = await validator.validate(message());
      expect(verdict.status).to.equal("valid");
      expect(verdict.status === "valid" && verdict.item.digest).to.equal(readingDigest(domain, reading()));
      expect((await validator.validate(Buffer.from(message()))).status).to.equal("valid");
    });

    it("acknowledges an exact repeat as a duplicate and rejects other content under the same sequence", async function () {
      const { validator, store } = setup();
      const first = await validator.validate(message());
      if (first.status !== "valid") expect.fail("expected valid");
      await store.append([first.item]);
      expect((await validator.validate(message())).status).to.equal("duplicate");
      expect(code(await validator.validate(message(reading({ value: 1n }))))).to.equal("E_SEQUENCE");
    });

    it("rejects each kind of bad input with its own code", async function () {
      const { validator, devices } = setup();
      const other = DeviceKey.generate();
      devices.set(other.address, "revoked");
      const suspended = DeviceKey.generate();
      devices.set(suspended.address, "suspended");
      const cases: [string | Uint8Array, IngestErrorCode][] = [
        ["x".repeat(2049), "E_TOO_LARGE"],
        ["{ not json", "E_MALFORMED"],
        [new Uint8Array([0xff, 0xfe, 0x7b]), "E_MALFORMED"],
        ["[]", "E_SCHEMA"],
        [message(reading(), { extra: 1 }), "E_SCHEMA"],
        [JSON.stringify({ ...JSON.parse(message()), signature: "0x12" }), "E_SCHEMA"],
        [JSON.stringify({ ...JSON.parse(message()), domain: { chainId: 31337 } }), "E_SCHEMA"],
        [
          JSON.stringify({ ...JSON.parse(message()), reading: { ...readingToJson(reading()), sequence: "-1" } }),
          "E_SCHEMA",
        ],
        [JSON.stringify({ ...JSON.parse(message()), domain: { chainId: "1", verifyingContract: ANCHOR } }), "E_DOMAIN"],
        [
          JSON.stringify({
            ...JSON.parse(message()),
            domain: { chainId: "31337", verifyingContract: ethers.ZeroAddress },
          }),
          "E_DOMAIN",
        ],
        [message(reading(), {}, DeviceKey.generate()), "E_SIGNATURE"],
        [
          JSON.stringify({ ...JSON.parse(message()), signature: highS(device.signReading(domain, reading())) }),
          "E_SIGNATURE",
        ],
        [message(reading({ device: other.address }), {}, other), "E_DEVICE_INACTIVE"],
        [message(reading({ device: suspended.address }), {}, suspended), "E_DEVICE_INACTIVE"],
        [message(reading({ timestamp: BigInt(NOW - 3601) })), "E_TIMESTAMP"],
        [message(reading({ timestamp: BigInt(NOW + 61) })), "E_TIMESTAMP"],
      ];
      for (const [input, expected] of cases) {
        expect(code(await validator.validate(input)), `${expected} for ${String(input).slice(0, 60)}`).to.equal(
          expected,
        );
      }
      const stranger = DeviceKey.generate();
      expect(code(await validator.validate(message(reading({ device: stranger.address }), {}, stranger)))).to.equal(
        "E_UNKNOWN_DEVICE",
      );
    });

    it("applies the checks in order: a message wrong in domain and signature reports the domain", async function () {
      const { validator } = setup();
      const wrong = JSON.parse(message(reading(), {}, DeviceKey.generate())) as Record<string, unknown>;
      wrong.domain = { chainId: "5", verifyingContract: ANCHOR };
      expect(code(await validator.validate(JSON.stringify(wrong)))).to.equal("E_DOMAIN");
    });

    it("accepts the window's bounds", async function () {
      const { validator } = setup();
      expect((await validator.validate(message(reading({ timestamp: BigInt(NOW - 3600) })))).status).to.equal("valid");
      expect(await validator.validate(message(reading({ sequence: 2n, timestamp: BigInt(NOW + 60) })))).to.include({
        status: "valid",
      });
    });
  });
});
