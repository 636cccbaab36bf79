/**
 * CoAP ingest (RFC 7252) against a real CoAP client process: libcoap's `coap-client` (another
 * implementation than the batcher's node-coap). A device POSTs version-2 messages, confirmable; the
 * response code is the verdict, sent after the durable write; what it sent is anchored and verifies.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { concat, getBytes } from "ethers";
import type { BatcherService } from "../../../src/batcher";
import { verifyBundle } from "../../../src/verify";
import { pinned } from "../../helpers/bundle";
import { batcherFixture, liveReadings, startBatcher, startRpcServer, testConfig, waitFor } from "../../helpers/batcher";
import { cbor, coapConfig, coapPost } from "../../helpers/coap";

describe("CoAP ingest (libcoap's coap-client against the batcher)", function () {
  this.timeout(120_000);
  let rpc: { url: string; close: () => Promise<void> };
  let service: BatcherService | undefined;
  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await service?.stop();
    await rpc.close();
  });

  it("one reading per confirmable POST (/r with its device, /r/<device> without), a block as a CBOR sequence; the verdict is the response code; the bundle verifies", async function () {
    const fx = await loadFixture(batcherFixture);
    service = await startBatcher({
      ...testConfig(fx, rpc.url),
      coap: coapConfig(),
    });
    const url = service.coapUrl!;
    expect(url).to.match(/^coap:\/\/127\.0\.0\.1:\d+$/);
    const device = fx.devices[2]!;
    const readings = liveReadings(device, 6);
    const first = await coapPost(`${url}/r`, cbor(fx, device, readings[0]!), 60);
    expect(first.code, first.stdout + first.stderr).to.equal("2.01");
    const compact = cbor(fx, device, readings[1]!, true);
    expect(compact.length).to.be.at.most(100);
    expect((await coapPost(`${url}/r/${device.address}`, compact, 60)).code).to.equal("2.01");
    // The same reading again: a duplicate (2.03 Valid), never stored twice.
    expect((await coapPost(`${url}/r`, cbor(fx, device, readings[0]!), 60)).code).to.equal("2.03");
    const block = getBytes(concat(readings.slice(2).map((r) => cbor(fx, device, r, true))));
    const many = await coapPost(`${url}/r/${device.address}`, block, 63);
    expect(many.code).to.equal("2.04");
    // Rejections carry their code: a torn message is 4.00, a reading of a key the registry does not know 4.03.
    expect((await coapPost(`${url}/r`, cbor(fx, device, readings[0]!).subarray(0, 30), 60)).code).to.equal("4.00");
    expect((await coapPost(`${url}/nowhere`, cbor(fx, device, readings[0]!), 60)).code).to.equal("4.04");

    const text = await waitFor(
      async () => {
        const response = await fetch(`${service!.httpUrl}/v1/devices/${device.address}/bundle?from=1&to=6`);
        return response.status === 200 ? await response.text() : undefined;
      },
      20_000,
      "the six readings anchored",
    );
    const report = await verifyBundle(
      text,
      pinned(fx, { expected: { device: device.address, range: { fromSequence: 1n, toSequence: 6n } } }),
    );
    expect(report.ok, JSON.stringify(report.checks.filter((c) => c.status === "fail"))).to.equal(true);
  });
});
