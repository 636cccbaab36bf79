/**
 * The C signer for firmware (device-sdk/c): compiled here with the system C compiler, it computes the same
 * EIP-712 digests, signatures and version-2 messages as the TypeScript SDK, byte for byte; it needs no
 * heap; and what it signs goes through a running batcher over HTTP and MQTT into bundles that verify.
 */
import { expect } from "chai";
import fc from "fast-check";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Wallet, getBytes, hexlify } from "ethers";
import { DeviceKey } from "../../src/device";
import { readingDigest } from "../../src/eip712";
import { registerDeviceKeys } from "../../src/registry";
import { encodeIngestMessageCbor, metricId, ZERO_HASH } from "../../src/telemetry";
import type { Reading } from "../../src/telemetry";
import { verifyBundle } from "../../src/verify";
import { anchorFixture } from "../helpers/anchor";
import type { AnchorFixture } from "../helpers/anchor";
import { pinned } from "../helpers/bundle";
import {
  connectDevice,
  deviceTopics,
  postReadings,
  startBatcher,
  startRpcServer,
  testConfig,
  waitFor,
} from "../helpers/batcher";
import { coapConfig, coapPost } from "../helpers/coap";
import { FAR_DEADLINE, METADATA } from "../helpers/registry";

const ROOT = join(__dirname, "..", "..");

interface Signed {
  key: string;
  fx: { chainId: bigint; contract: string };
  flags?: string[];
}

/** Runs the C command on readings ("sequence timestamp value" lines); one hex line out per reading. */
function cSign(binary: string, { key, fx, flags = [] }: Signed, readings: readonly Reading[]): string[] {
  const input = readings.map((r) => `${r.sequence} ${r.timestamp} ${r.value}\n`).join("");
  const output = execFileSync(
    binary,
    ["--key", key, "--chain-id", fx.chainId.toString(), "--contract", fx.contract, ...flags],
    { input, encoding: "utf8" },
  );
  return output.trim().split("\n");
}

describe("the C signer (device-sdk/c)", function () {
  this.timeout(300_000);
  let binary: string;
  let out: string;

  before(function () {
    if (spawnSync("cc", ["--version"]).status !== 0) throw new Error("the C tests need cc (Debian: build-essential)");
    out = mkdtempSync(join(tmpdir(), "iotrail-c-"));
    binary = execFileSync("sh", [join(ROOT, "device-sdk", "c", "build.sh"), out], { encoding: "utf8" }).trim();
  });

  const readingsOf = (device: string, values: Array<{ sequence: bigint; timestamp: bigint; value: bigint }>) =>
    values.map((v): Reading => ({ device, metric: metricId("temperature.mC"), payloadHash: ZERO_HASH, ...v }));

  it("property: the digest, the signature and the message are the TypeScript SDK's, byte for byte", function () {
    const chainId = 31337n;
    const contract = "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9";
    const domain = { name: "iotrail TelemetryAnchor", version: "1", chainId, verifyingContract: contract };
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            sequence: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
            timestamp: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
            value: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.boolean(),
        (values, compact) => {
          const secret = Wallet.createRandom().privateKey;
          const key = DeviceKey.fromPrivateKey(secret);
          const readings = readingsOf(key.address, values);
          const [address] = cSign(binary, { key: secret, fx: { chainId, contract }, flags: ["--address"] }, []);
          expect(address).to.equal(key.address.toLowerCase());
          const digests = cSign(binary, { key: secret, fx: { chainId, contract }, flags: ["--digest"] }, readings);
          expect(digests).to.deep.equal(readings.map((r) => readingDigest(domain, r)));
          const flags = compact ? ["--no-domain", "--no-device"] : [];
          const messages = cSign(binary, { key: secret, fx: { chainId, contract }, flags }, readings);
          expect(messages).to.deep.equal(
            readings.map((reading) =>
              hexlify(
                encodeIngestMessageCbor({
                  domain,
                  reading,
                  signature: key.signReading(domain, reading),
                  omit: { domain: compact, device: compact },
                }),
              ),
            ),
          );
        },
      ),
      { numRuns: 25 },
    );
  });

  it("uses no heap, and reports its footprint (object sizes and the stack of one sign-and-encode)", function () {
    const undefinedSymbols = execFileSync("nm", ["-u", join(out, "iotrail.o")], { encoding: "utf8" });
    for (const allocator of ["malloc", "calloc", "realloc", "free"]) {
      expect(undefinedSymbols, allocator).to.not.match(new RegExp(`\\b${allocator}\\b`));
    }
    const secret = Wallet.createRandom().privateKey;
    const lines = cSign(
      binary,
      { key: secret, fx: { chainId: 1n, contract: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9" }, flags: ["--stack"] },
      readingsOf(DeviceKey.fromPrivateKey(secret).address, [{ sequence: 1n, timestamp: 1n, value: -1n }]),
    );
    const stack = Number(/^stack (\d+)$/.exec(lines.at(-1)!)?.[1]);
    expect(stack).to.be.above(0).and.below(65_536);
    const sizes = execFileSync("size", [join(out, "iotrail.o"), join(out, "secp256k1.o")], { encoding: "utf8" });
    console.log(`      ${sizes.trim().split("\n").join("\n      ")}\n      stack high-water mark: ${stack} bytes`);
  });

  it("what it signs is accepted over HTTP (with its device), MQTT and CoAP (without: the topic or path names it), and the bundle verifies", async function () {
    const fx: AnchorFixture = await loadFixture(anchorFixture);
    const secret = Wallet.createRandom().privateKey;
    const key = DeviceKey.fromPrivateKey(secret);
    await registerDeviceKeys({
      registry: fx.client,
      registrant: fx.manufacturer.address,
      keys: [key],
      owner: fx.owner.address,
      metadataHash: () => METADATA,
      deadline: FAR_DEADLINE,
    });
    const rpc = await startRpcServer();
    const service = await startBatcher({ ...testConfig(fx, rpc.url), coap: coapConfig() });
    try {
      const now = BigInt(Math.floor(Date.now() / 1000));
      const readings = readingsOf(
        key.address,
        [1n, 2n, 3n, 4n, 5n].map((sequence) => ({ sequence, timestamp: now - 6n + sequence, value: -200n * sequence })),
      );
      const signer = {
        key: secret,
        fx: { chainId: fx.telemetry.chainId, contract: fx.telemetry.verifyingContract },
      };
      const overHttp = cSign(binary, { ...signer, flags: ["--no-domain"] }, readings.slice(0, 2));
      for (const message of overHttp) {
        const answer = await postReadings(service.httpUrl, getBytes(message), "application/cbor");
        expect(answer.body.status, JSON.stringify(answer.body)).to.equal("accepted");
      }
      const overMqtt = cSign(binary, { ...signer, flags: ["--no-domain", "--no-device"] }, readings.slice(2, 4));
      expect(getBytes(overMqtt[0]!).length).to.be.at.most(100);
      const client = await connectDevice(service.mqttUrl!, fx, key);
      const topics = deviceTopics(key);
      const replies: string[] = [];
      client.on("message", (_topic, payload) =>
        replies.push((JSON.parse(payload.toString()) as { status: string }).status),
      );
      await client.subscribeAsync(topics.replies, { qos: 1 });
      for (const message of overMqtt)
        await client.publishAsync(topics.readings, Buffer.from(getBytes(message)), { qos: 1 });
      await waitFor(() => (replies.length >= 2 ? true : undefined), 10_000, "two MQTT replies");
      await client.endAsync();
      expect(replies).to.deep.equal(["accepted", "accepted"]);
      // Over CoAP, with libcoap's client: the path names the device, so the message leaves it out.
      const [overCoap] = cSign(binary, { ...signer, flags: ["--no-domain", "--no-device"] }, readings.slice(4));
      const coap = await coapPost(`${service.coapUrl!}/r/${key.address}`, getBytes(overCoap!), 60);
      expect(coap.code, coap.stdout + coap.stderr).to.equal("2.01");
      const bundle = await waitFor(
        async () => {
          const response = await fetch(`${service.httpUrl}/v1/devices/${key.address}/bundle?from=1&to=5`);
          return response.status === 200 ? await response.text() : undefined;
        },
        20_000,
        "the anchored bundle of the five readings",
      );
      const report = await verifyBundle(
        bundle,
        pinned(fx, { expected: { device: key.address, range: { fromSequence: 1n, toSequence: 5n } } }),
      );
      expect(report.ok, JSON.stringify(report.checks.filter((c) => c.status === "fail"))).to.equal(true);
    } finally {
      await service.stop();
      await rpc.close();
    }
  });
});
