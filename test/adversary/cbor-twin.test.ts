/**
 * Adversary: the sender of a CBOR message that decodes to a different reading than the JSON twin signed
 * (issue 28). A lenient CBOR reader guesses: the last of two equal keys wins, or the first; a long-form
 * integer, an indefinite length or a float still reads as a number. Two readers that guess differently see
 * two readings behind one message. The batcher refuses every such message outright (`E_MALFORMED` or
 * `E_SCHEMA`), so a version-2 message has exactly one meaning, the JSON twin's.
 */
import { expect } from "chai";
import { concat, getBytes, toBeHex } from "ethers";
import { checkMessage } from "../../src/batcher";
import { DeviceKey } from "../../src/device";
import { telemetryDomain } from "../../src/eip712";
import { encodeIngestMessageCbor, metricId, toCompactSignature, ZERO_HASH } from "../../src/telemetry";
import type { Reading } from "../../src/telemetry";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const cbor2 = require("cbor2") as { decode: (bytes: Uint8Array, options?: Record<string, unknown>) => unknown };

const DOMAIN = telemetryDomain(31337n, "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9");

/** A CBOR head in its shortest form. */
function head(major: number, n: number | bigint): Uint8Array {
  const value = BigInt(n);
  const type = major << 5;
  if (value < 24n) return new Uint8Array([type | Number(value)]);
  if (value < 0x100n) return new Uint8Array([type | 24, Number(value)]);
  if (value < 0x10000n) return getBytes(concat([new Uint8Array([type | 25]), toBeHex(value, 2)]));
  if (value < 0x100000000n) return getBytes(concat([new Uint8Array([type | 26]), toBeHex(value, 4)]));
  return getBytes(concat([new Uint8Array([type | 27]), toBeHex(value, 8)]));
}
const bytes = (data: Uint8Array) => getBytes(concat([head(2, data.length), data]));
const text = (value: string) => getBytes(concat([head(3, Buffer.byteLength(value)), Buffer.from(value)]));
const uint = (n: number | bigint) => head(0, n);

describe("adversary: a CBOR message that decodes to a different reading than its JSON twin", function () {
  const device = DeviceKey.generate();
  const reading: Reading = {
    device: device.address,
    sequence: 42n,
    timestamp: BigInt(Math.floor(Date.now() / 1000)),
    metric: metricId("temp"),
    value: -1250n,
    payloadHash: ZERO_HASH,
  };
  const signature = toCompactSignature(device.signReading(DOMAIN, reading));
  const check = (message: Uint8Array) => checkMessage(message, { domain: DOMAIN, maxBytes: 4096 });

  /** The message's entries, each a key and its encoded value, in the order given. */
  const entries = (): Array<[number, Uint8Array]> => [
    [0, uint(2)],
    [3, bytes(getBytes(device.address))],
    [4, uint(42)],
    [5, uint(reading.timestamp)],
    [6, text("temp")],
    [7, head(1, 1249)],
    [9, bytes(signature)],
  ];
  const message = (list: Array<[number, Uint8Array]>, mapHead?: Uint8Array) =>
    getBytes(concat([mapHead ?? head(5, list.length), ...list.flatMap(([key, value]) => [uint(key), value])]));

  it("the honest message, built entry by entry here, is the encoder's bytes and is accepted", function () {
    expect(message(entries())).to.deep.equal(
      encodeIngestMessageCbor({
        domain: DOMAIN,
        reading,
        signature: device.signReading(DOMAIN, reading),
        omit: { domain: true },
      }),
    );
    expect(check(message(entries())).status).to.equal("checked");
  });

  it("security: two equal keys (sequence 42, then 43) are refused, where a lenient reader takes one of them", function () {
    const list = entries();
    list.splice(3, 0, [4, uint(43)]);
    const twin = message(list);
    // The reference library, told nothing, lets the last one win: sequence 43, which the device never signed.
    expect((cbor2.decode(twin) as Map<number, unknown>).get(4)).to.equal(43);
    const checked = check(twin);
    expect(checked.status).to.equal("rejected");
    expect(checked.status === "rejected" && checked.code).to.equal("E_MALFORMED");
  });

  const refusals: Array<[string, () => Uint8Array, string]> = [
    [
      "an integer in a longer form than needed (sequence 42 in two bytes)",
      () => message(entries().map(([k, v]) => [k, k === 4 ? new Uint8Array([0x19, 0x00, 42]) : v])),
      "E_MALFORMED",
    ],
    ["a map length in a longer form than needed", () => message(entries(), new Uint8Array([0xb8, 7])), "E_MALFORMED"],
    [
      "an indefinite-length map",
      () => getBytes(concat([message(entries(), new Uint8Array([0xbf])), new Uint8Array([0xff])])),
      "E_MALFORMED",
    ],
    [
      "an indefinite-length signature (two chunks)",
      () =>
        message(
          entries().map(([k, v]) => [
            k,
            k === 9
              ? getBytes(
                  concat([
                    new Uint8Array([0x5f]),
                    bytes(signature.subarray(0, 32)),
                    bytes(signature.subarray(32)),
                    new Uint8Array([0xff]),
                  ]),
                )
              : v,
          ]),
        ),
      "E_MALFORMED",
    ],
    [
      "keys out of order (timestamp before sequence)",
      () => {
        const list = entries();
        [list[2], list[3]] = [list[3]!, list[2]!];
        return message(list);
      },
      "E_MALFORMED",
    ],
    ["a byte after the message", () => getBytes(concat([message(entries()), new Uint8Array([0])])), "E_MALFORMED"],
    [
      "a zero payload hash written out",
      () => {
        const list = entries();
        list.splice(6, 0, [8, bytes(new Uint8Array(32))]);
        return message(list);
      },
      "E_MALFORMED",
    ],
    [
      "a metric that is a short text written as 32 bytes",
      () => message(entries().map(([k, v]) => [k, k === 6 ? bytes(getBytes(metricId("temp"))) : v])),
      "E_MALFORMED",
    ],
    [
      "a small value written as a bignum",
      () =>
        message(
          entries().map(([k, v]) => [
            k,
            k === 7 ? getBytes(concat([head(6, 3), bytes(new Uint8Array([0x04, 0xe1]))])) : v,
          ]),
        ),
      "E_MALFORMED",
    ],
    [
      "a value as a float (-1250.0)",
      () =>
        message(
          entries().map(([k, v]) => [
            k,
            k === 7 ? getBytes(concat([new Uint8Array([0xfb]), "0xc093880000000000"])) : v,
          ]),
        ),
      "E_MALFORMED",
    ],
    [
      "a metric text with a NUL (it would pad to the same id as a shorter name)",
      () => message(entries().map(([k, v]) => [k, k === 6 ? text("temp\u0000") : v])),
      "E_SCHEMA",
    ],
    ["an unknown key", () => message([...entries(), [10, uint(1)]]), "E_SCHEMA"],
    ["the value as text", () => message(entries().map(([k, v]) => [k, k === 7 ? text("-1250") : v])), "E_SCHEMA"],
    [
      "a 65-byte signature where EIP-2098's 64 go",
      () => message(entries().map(([k, v]) => [k, k === 9 ? bytes(getBytes(device.signReading(DOMAIN, reading))) : v])),
      "E_SCHEMA",
    ],
    ["no device, over a connection that names none", () => message(entries().filter(([k]) => k !== 3)), "E_SCHEMA"],
  ];

  for (const [name, build, code] of refusals) {
    it(`security: refused, never guessed: ${name}`, function () {
      const checked = check(build());
      expect(checked.status, JSON.stringify(checked)).to.equal("rejected");
      expect(
        checked.status === "rejected" && checked.code,
        checked.status === "rejected" ? checked.message : "",
      ).to.equal(code);
    });
  }
});
