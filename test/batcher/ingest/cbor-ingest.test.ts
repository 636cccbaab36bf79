/**
 * Version-2 (CBOR) messages through the batcher: over HTTP as `application/cbor` (one message or an array)
 * and `application/cbor-seq`, and over the embedded MQTT broker, next to JSON; what they anchor verifies
 * as a JSON reading's bundle does.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Wallet, concat, getBytes } from "ethers";
import { readingDigest } from "../../../src/eip712";
import { encodeIngestMessageCbor } from "../../../src/telemetry";
import type { Reading } from "../../../src/telemetry";
import type { DeviceKey } from "../../../src/device";
import { verifyBundle } from "../../../src/verify";
import type { AnchorFixture } from "../../helpers/anchor";
import { pinned } from "../../helpers/bundle";
import {
  batcherFixture,
  connectDevice,
  deviceTopics,
  liveReadings,
  postReadings,
  startBatcher,
  startRpcServer,
  testConfig,
  waitFor,
} from "../../helpers/batcher";

const cborMessage = (fx: AnchorFixture, device: DeviceKey, reading: Reading, omitDomain = true, omitDevice = false) =>
  encodeIngestMessageCbor({
    domain: fx.telemetry,
    reading,
    signature: device.signReading(fx.telemetry, reading),
    omit: { domain: omitDomain, device: omitDevice },
  });

/** A CBOR array head for `count` items (fewer than 24 here). */
const arrayOf = (items: Uint8Array[]) => getBytes(concat([new Uint8Array([0x80 | items.length]), ...items]));

describe("CBOR ingest (version-2 messages)", function () {
  this.timeout(120_000);

  it("over HTTP (application/cbor, one or an array; application/cbor-seq) and MQTT, stored and anchored; the bundles verify", async function () {
    const fx = await loadFixture(batcherFixture);
    const rpc = await startRpcServer();
    const service = await startBatcher(testConfig(fx, rpc.url));
    try {
      const device = fx.devices[0]!;
      const readings = liveReadings(device, 8);
      const one = await postReadings(service.httpUrl, cborMessage(fx, device, readings[0]!), "application/cbor");
      expect(one.status, JSON.stringify(one.body)).to.equal(202);
      expect(one.body.status).to.equal("accepted");
      const array = await postReadings(
        service.httpUrl,
        arrayOf(readings.slice(1, 3).map((r) => cborMessage(fx, device, r, false))),
        "application/cbor",
      );
      expect(
        (array.body.results as { status: string }[] | undefined)?.map((r) => r.status),
        JSON.stringify(array.body),
      ).to.deep.equal(["accepted", "accepted"]);
      const sequence = await postReadings(
        service.httpUrl,
        getBytes(concat(readings.slice(3, 6).map((r) => cborMessage(fx, device, r)))),
        "application/cbor-seq",
      );
      expect((sequence.body.results as { status: string }[]).map((r) => r.status)).to.deep.equal([
        "accepted",
        "accepted",
        "accepted",
      ]);
      // The same reading again in JSON's twin is a duplicate: one reading, whatever its wire form.
      const again = await postReadings(service.httpUrl, cborMessage(fx, device, readings[0]!), "application/cbor");
      expect(again.body.status).to.equal("duplicate");

      const client = await connectDevice(service.mqttUrl!, fx, device);
      const topics = deviceTopics(device);
      const replies: { status: string }[] = [];
      client.on("message", (_topic, payload) => replies.push(JSON.parse(payload.toString()) as { status: string }));
      await client.subscribeAsync(topics.replies, { qos: 1 });
      // One carries its device; one leaves it out (99 bytes): the readings topic names it.
      const [seventh, eighth] = readings.slice(6);
      await client.publishAsync(topics.readings, Buffer.from(cborMessage(fx, device, seventh!)), { qos: 1 });
      const compact = cborMessage(fx, device, eighth!, true, true);
      expect(compact.length).to.be.at.most(100);
      await client.publishAsync(topics.readings, Buffer.from(compact), { qos: 1 });
      // Security: a message that leaves its device out is judged as the topic's device, so another key's
      // signature of the same reading fails; the topic never makes a signature count for someone else.
      const stranger = Wallet.createRandom().signingKey;
      const [forged] = liveReadings(device, 1, 100n);
      const forgedMessage = encodeIngestMessageCbor({
        domain: fx.telemetry,
        reading: forged!,
        signature: stranger.sign(readingDigest(fx.telemetry, forged!)).serialized,
        omit: { domain: true, device: true },
      });
      await client.publishAsync(topics.readings, Buffer.from(forgedMessage), { qos: 1 });
      await waitFor(() => (replies.length >= 3 ? true : undefined), 10_000, "three MQTT replies");
      await client.endAsync();
      expect(replies.map((r) => (r as { status: string; code?: string }).code ?? r.status)).to.deep.equal([
        "accepted",
        "accepted",
        "E_SIGNATURE",
      ]);

      // A body that is not whole CBOR items is refused as a whole.
      const torn = await postReadings(
        service.httpUrl,
        cborMessage(fx, device, readings[0]!).subarray(0, 40),
        "application/cbor",
      );
      expect([torn.status, torn.body.code]).to.deep.equal([400, "E_MALFORMED"]);

      await waitFor(
        async () => {
          const response = await fetch(`${service.httpUrl}/v1/devices/${device.address}/bundle?from=1&to=8`);
          return response.status === 200 ? await response.text() : undefined;
        },
        20_000,
        "an anchored range bundle of the eight readings",
      ).then(async (text) => {
        const report = await verifyBundle(text, pinned(fx));
        expect(report.ok, JSON.stringify(report.checks.filter((c) => c.status === "fail"))).to.equal(true);
      });
    } finally {
      await service.stop();
      await rpc.close();
    }
  });
});
