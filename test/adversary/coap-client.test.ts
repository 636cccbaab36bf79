/**
 * Adversary: a hostile CoAP client (issue 28). It sends malformed CBOR, oversized datagrams and Block1
 * transfers that claim huge bodies, requests from spoofed source addresses hoping for a larger answer (an
 * amplification attack on the spoofed victim), and floods of confirmable messages. The batcher stays
 * healthy, never answers with more bytes than it was sent, and a registered device's readings keep flowing.
 */
import { expect } from "chai";
import { createSocket } from "node:dgram";
import type { Socket } from "node:dgram";
import { generate, parse } from "coap-packet";
import type { BatcherService } from "../../src/batcher";
import { liveReadings, registerFleet, startBatcher, startRpcServer, testConfig } from "../helpers/batcher";
import { anchorFixture } from "../helpers/anchor";
import type { AnchorFixture } from "../helpers/anchor";
import { cbor, coapConfig, coapPost } from "../helpers/coap";
import type { DeviceKey } from "../../src/device";

/** A raw UDP client bound to `address` that records every datagram it gets back. */
async function rawClient(address: string): Promise<{ socket: Socket; answers: Buffer[] }> {
  const socket = createSocket("udp4");
  const answers: Buffer[] = [];
  socket.on("message", (message) => answers.push(message));
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  return { socket, answers };
}

let nextId = 1;
/** A confirmable POST to /r (Content-Format `format`) with `payload`, and any extra options. */
function post(payload: Buffer, format = 60, extra: Array<{ name: string; value: Buffer }> = []): Buffer {
  const id = nextId++ & 0xffff;
  return generate({
    code: "0.02",
    confirmable: true,
    messageId: id,
    token: Buffer.from([id >> 8, id & 0xff, 0x5a]),
    options: [
      { name: "Uri-Path", value: Buffer.from("r") },
      { name: "Content-Format", value: Buffer.from([format]) },
      ...extra,
    ] as never,
    payload,
  });
}

const send = (socket: Socket, datagram: Buffer, url: string) =>
  new Promise<void>((resolve) => {
    const { hostname, port } = new URL(url.replace("coap:", "http:"));
    socket.send(datagram, Number(port), hostname, () => resolve());
  });
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("adversary: a hostile CoAP client", function () {
  this.timeout(180_000);
  let rpc: { url: string; close: () => Promise<void> };
  let service: BatcherService;
  let fx: AnchorFixture;
  let device: DeviceKey;
  let url: string;
  let sequence = 1n;

  before(async function () {
    rpc = await startRpcServer();
    fx = await anchorFixture();
    [device] = await registerFleet(fx, 1);
    service = await startBatcher({
      ...testConfig(fx, rpc.url),
      coap: coapConfig({ perSourcePerSecond: 20, perSourceBurst: 40 }),
    });
    url = service.coapUrl!;
  });
  after(async function () {
    await service?.stop();
    await rpc.close();
  });

  /** A registered device's next reading, from 127.0.0.3 with libcoap's client: its response code. */
  async function honest(): Promise<string | undefined> {
    const [reading] = liveReadings(device, 1, sequence++);
    return (await coapPost(`${url}/r`, cbor(fx, device, reading!), 60, "127.0.0.3")).code;
  }

  it("security: malformed CBOR gets 4.00 with a body smaller than the request; the batcher keeps accepting", async function () {
    const { socket, answers } = await rawClient("127.0.0.4");
    const garbage = [
      Buffer.from([0xa6, 0x00]), // a map cut short
      Buffer.from([0xbf, 0x00, 0x02, 0xff]), // indefinite length
      Buffer.from([0xa1, 0x00, 0x1b, 0, 0, 0, 0, 0, 0, 0, 2]), // a long-form integer
      Buffer.alloc(200, 0xa0),
    ];
    const sent = new Map<number, number>();
    for (const payload of garbage) {
      const request = post(payload);
      sent.set(parse(request).messageId, request.length);
      await send(socket, request, url);
    }
    await pause(500);
    socket.close();
    expect(answers).to.have.length(garbage.length);
    for (const answer of answers) {
      const packet = parse(answer);
      expect(packet.code).to.equal("4.00");
      expect(answer.length).to.be.at.most(sent.get(packet.messageId)!);
    }
    // A request large enough to carry it gets the rejection's name too.
    expect(parse(answers.find((a) => parse(a).messageId === [...sent.keys()][3])!).payload.toString()).to.equal(
      "E_MALFORMED",
    );
    expect(await honest()).to.equal("2.01");
  });

  it("security: an oversized datagram, and a Block1 transfer claiming a huge body, are dropped without buffering", async function () {
    const { socket, answers } = await rawClient("127.0.0.5");
    const rssBefore = process.memoryUsage().rss;
    // 1,500 bytes: more than coap.maxMessageBytes (1,152); the bytes after the payload marker are payload.
    await send(socket, Buffer.concat([post(Buffer.alloc(1000, 0x41)), Buffer.alloc(500, 0x41)]), url);
    // Block1: block number 2^20 - 1 of 1,024-byte blocks, "the last": a reassembler would allocate 1 GiB.
    const block1 = Buffer.from([0xff, 0xff, 0xf6]);
    for (let i = 0; i < 20; i++)
      await send(socket, post(Buffer.alloc(64, 1), 60, [{ name: "Block1", value: block1 }]), url);
    await pause(500);
    socket.close();
    expect(answers, "answers to dropped datagrams").to.have.length(0);
    expect(process.memoryUsage().rss - rssBefore, "memory grown").to.be.below(100 * 1024 * 1024);
    expect(await honest()).to.equal("2.01");
  });

  it("security: no amplification: every answer to any request is at most as large as that request", async function () {
    const { socket, answers } = await rawClient("127.0.0.6");
    const sizes = new Map<string, number>();
    const requests: Buffer[] = [
      post(Buffer.alloc(0)),
      post(Buffer.from("{}"), 50),
      post(Buffer.from([0x80]), 60), // an empty CBOR array of messages
      post(Buffer.from([0x00]), 42), // an unsupported format
      generate({ code: "0.01", confirmable: true, messageId: 7001, token: Buffer.from([1]), options: [] }), // GET /
      generate({ code: "0.02", confirmable: true, messageId: 7002, token: Buffer.from([2]), options: [] }), // POST /
      generate({ code: "0.00", confirmable: true, messageId: 7003 }), // a CoAP ping
      Buffer.from([0x40]), // a truncated header
    ];
    for (const request of requests) {
      try {
        sizes.set(parse(request).messageId.toString(), request.length);
      } catch {
        // not CoAP at all: any answer to it would be an amplification
      }
      await send(socket, request, url);
    }
    await pause(700);
    socket.close();
    expect(answers.length, "answers").to.be.at.least(3);
    for (const answer of answers) {
      const { messageId } = parse(answer);
      const request = sizes.get(messageId.toString());
      expect(request, `an answer (${answer.length} bytes) to no request of ours`).to.not.equal(undefined);
      expect(answer.length, `answer to message ${messageId}`).to.be.at.most(request!);
    }
  });

  it("security: a flood of confirmable messages from one source is cut at its budget; a device elsewhere keeps being accepted", async function () {
    const { socket, answers } = await rawClient("127.0.0.1");
    // 600 signed readings as fast as UDP goes, from one source.
    const [stranger] = liveReadings(device, 1, 1_000_000n);
    const started = Date.now();
    for (let i = 0; i < 600; i++)
      await send(socket, post(Buffer.from(cbor(fx, device, { ...stranger!, sequence: 1_000_000n + BigInt(i) }))), url);
    const seconds = (Date.now() - started) / 1000 + 1;
    // Meanwhile, and after, the device's own readings from 127.0.0.3 are accepted.
    expect(await honest()).to.equal("2.01");
    await pause(1_000);
    socket.close();
    // At most the burst plus what refilled while it ran (20 per second) got in; the rest had no answer.
    expect(answers.length, "answers to the flood").to.be.at.most(40 + Math.ceil(20 * seconds) + 1);
    expect(answers.length).to.be.at.least(1);
    expect((await fetch(`${service.httpUrl}/health`)).status).to.equal(200);
    expect(await honest()).to.equal("2.01");
  });
});
