/**
 * CoAP ingest (RFC 7252), for constrained devices: a device POSTs one reading, or a block of readings, to
 * `/r` (the message names its device) or `/r/<device address>` (the path names it, and a version-2 message
 * may leave it out), as a confirmable message. The answer is sent after the durable write, as MQTT's PUBACK
 * is; a CoAP server on `coap` (node-coap) sends it piggybacked on the ACK, or as a separate response when
 * the write takes longer.
 *
 * What protects the batcher (plain UDP, no DTLS):
 * - every datagram is judged before node-coap sees it (`DatagramGuard`): at most `maxMessageBytes`, no
 *   Block1 transfer (node-coap would reassemble blocks into a buffer as large as the sender's block number
 *   says), and a per-source token bucket;
 * - a source may not reuse the token of a request still in flight;
 * - an answer is never larger than the request it answers (no amplification towards a spoofed source): a
 *   one-message answer is a response code and at most the error code's name, a block's answer one short
 *   verdict per message, and the guard drops any answer that would be larger.
 *
 * Who sent a reading is proven by its signature alone, as over HTTP; the path's device is a hint the
 * signature check settles. Without DTLS or OSCORE a network attacker can read readings (they are public
 * once anchored anyway), drop or delay them (the device retries; duplicates are acknowledged as such) and
 * spoof a source address (it gets at most a small answer, and uses up only that address's budget).
 */
import { createSocket } from "node:dgram";
import type { RemoteInfo, Socket } from "node:dgram";
import { EventEmitter } from "node:events";
import type { AddressInfo } from "node:net";
import type { IncomingMessage, OutgoingMessage, Server } from "coap";
import { parse as parsePacket } from "coap-packet";
import type { Logger } from "pino";
import { RateLimiter } from "../support";
import type { BatcherMetrics } from "../support";
import { cborMessages, jsonArrayItems, withImpliedDevice } from "./framing";
import type { IngestOutcome, IngestPipeline } from "./pipeline";

/** The CoAP listener's limits. */
export interface CoapLimits {
  /** The largest datagram accepted (a CoAP message with its header and options). */
  maxMessageBytes: number;
  /** Requests per second a source address may make, and the burst it may save up. */
  perSourcePerSecond: number;
  perSourceBurst: number;
  /** Requests in flight (received, not answered) over all sources; beyond it, 5.03. */
  maxInFlight: number;
}

export interface CoapIngestOptions {
  pipeline: IngestPipeline;
  host: string;
  port: number;
  limits: CoapLimits;
  metrics?: BatcherMetrics;
  logger?: Logger;
}

export interface CoapIngest {
  /** `coap://host:port`. */
  url: string;
  close(): Promise<void>;
}

/** CoAP Content-Format numbers (RFC 7252 §12.3, RFC 8742). */
const FORMAT = { json: 50, cbor: 60, cborSeq: 63 } as const;

/** The response code of a one-message answer, by outcome. */
function codeOf(outcome: IngestOutcome): string {
  switch (outcome.status) {
    case "accepted":
      return "2.01";
    case "duplicate":
      return "2.03";
    case "busy":
      return "5.03";
    default:
      switch (outcome.code) {
        case "E_TOO_LARGE":
          return "4.13";
        case "E_MALFORMED":
        case "E_SCHEMA":
          return "4.00";
        case "E_UNKNOWN_DEVICE":
        case "E_DEVICE_INACTIVE":
          return "4.03";
        case "E_SEQUENCE":
          return "4.09";
        default:
          return "4.22";
      }
  }
}

/** The short name of an outcome: `accepted`, `duplicate`, `busy`, or the rejection's code. */
const verdictOf = (outcome: IngestOutcome): string => (outcome.status === "rejected" ? outcome.code : outcome.status);

/** A CBOR array of short texts (each under 24 bytes), written by hand: a block's verdicts. */
function verdictArray(verdicts: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  const count = verdicts.length;
  parts.push(
    count < 24
      ? Buffer.from([0x80 | count])
      : count < 256
        ? Buffer.from([0x98, count])
        : Buffer.from([0x99, count >> 8, count & 0xff]),
  );
  for (const verdict of verdicts) parts.push(Buffer.from([0x60 | verdict.length]), Buffer.from(verdict, "ascii"));
  return Buffer.concat(parts);
}

/**
 * Judges each datagram before the CoAP server sees it, and each answer before it leaves: the socket that
 * node-coap is given (it takes any emitter with `send`, `address` and `close`).
 */
class DatagramGuard extends EventEmitter {
  /** Per source: the size of the last request admitted (an answer may be at most that large). */
  private readonly lastRequestBytes = new Map<string, number>();
  private readonly limiter: RateLimiter;
  dropped = 0;

  constructor(
    private readonly socket: Socket,
    private readonly limits: CoapLimits,
    private readonly logger: Logger | undefined,
  ) {
    super();
    // The limiter's second argument is the burst in seconds of the sustained rate.
    this.limiter = new RateLimiter(limits.perSourcePerSecond, limits.perSourceBurst / limits.perSourcePerSecond);
    socket.on("message", (message, remote) => this.receive(message, remote));
    socket.on("error", (error) => this.emit("error", error));
    socket.on("close", () => this.emit("close"));
  }

  private receive(message: Buffer, remote: RemoteInfo): void {
    const source = `${remote.address}:${remote.port}`;
    if (message.length > this.limits.maxMessageBytes) return this.drop(source, "too large");
    if (!this.limiter.admit(remote.address)) return this.drop(source, "over its rate");
    let packet;
    try {
      packet = parsePacket(message);
    } catch {
      return this.drop(source, "not CoAP");
    }
    if (packet.options.some((option) => option.name === "Block1" || option.name === 27)) {
      return this.drop(source, "a Block1 transfer (send one datagram per request)");
    }
    this.lastRequestBytes.set(source, message.length);
    if (this.lastRequestBytes.size > 100_000) this.lastRequestBytes.clear();
    this.emit("message", message, remote);
  }

  /** The size of the last request admitted from `source` (host:port), 0 if none. */
  requestBytes(source: string): number {
    return this.lastRequestBytes.get(source) ?? 0;
  }

  private drop(source: string, why: string): void {
    this.dropped++;
    this.logger?.debug({ source, why }, "CoAP datagram dropped");
  }

  send(
    buffer: Buffer,
    offset: number,
    length: number,
    port: number,
    address: string,
    callback?: (error: Error | null) => void,
  ): void {
    // No amplification: an answer larger than the request it answers is never sent (an empty ACK is 4 bytes).
    const request = this.lastRequestBytes.get(`${address}:${port}`) ?? 0;
    if (length > Math.max(request, 4)) {
      this.drop(`${address}:${port}`, `an answer of ${length} bytes to a request of ${request}`);
      callback?.(null);
      return;
    }
    this.socket.send(buffer, offset, length, port, address, callback);
  }

  address(): AddressInfo {
    return this.socket.address();
  }

  close(callback?: () => void): void {
    this.socket.close(callback);
  }
}

/** Starts the CoAP listener; resolves once it is bound. */
export async function startCoapIngest(options: CoapIngestOptions): Promise<CoapIngest> {
  const { pipeline, limits, logger } = options;
  const socket = createSocket({ type: "udp4", reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(options.port, options.host, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  const guard = new DatagramGuard(socket, limits, logger);
  const inFlight = new Set<string>();
  // node-coap's server module alone: its package index makes two UDP client sockets at import (its global
  // agents), which would keep a process that never serves CoAP from exiting.
  const { default: CoapServer } = await import("coap/dist/lib/server");
  const server: Server = new CoapServer({ type: "udp4", piggybackReplyMs: 50 }, (request, response) => {
    void answer(request as IncomingMessage, response as OutgoingMessage);
  });

  async function answer(request: IncomingMessage, response: OutgoingMessage): Promise<void> {
    const source = `${request.rsinfo.address}:${request.rsinfo.port}`;
    const budget = guard.requestBytes(source);
    const token = `${source}/${request._packet.token?.toString("hex") ?? ""}`;
    const path = request.url.split("?")[0]!;
    const match = /^\/r(?:\/(0x[0-9a-fA-F]{40}))?$/.exec(path);
    if (request.method !== "POST" || match === null) return end(response, budget, "4.04");
    if (inFlight.has(token)) return end(response, budget, "4.00", "token in use");
    if (inFlight.size >= limits.maxInFlight) return end(response, budget, "5.03", undefined, 1);
    const format = Number(request.headers["Content-Format"] === undefined ? NaN : formatNumber(request));
    const body = request.payload;
    let messages: Uint8Array[] | undefined;
    let many = false;
    if (format === FORMAT.cbor || format === FORMAT.cborSeq) {
      messages = cborMessages(body, format === FORMAT.cborSeq);
      many = format === FORMAT.cborSeq || body[0]! >> 5 === 4;
    } else if (format === FORMAT.json) {
      const first = body.find((byte) => byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09);
      if (first === 0x5b) {
        messages = jsonArrayItems(body);
        many = true;
      } else messages = [body];
    } else return end(response, budget, "4.15");
    if (messages === undefined || messages.length === 0) return end(response, budget, "4.00", "E_MALFORMED");
    const device = match[1] === undefined ? undefined : Buffer.from(match[1].slice(2), "hex");
    if (device !== undefined) messages = messages.map((message) => withImpliedDevice(message, device));
    inFlight.add(token);
    try {
      const outcomes = await pipeline.submit(messages, "coap", request.rsinfo.address);
      if (!many) {
        const outcome = outcomes[0]!;
        const diagnostic = outcome.status === "rejected" ? outcome.code : undefined;
        const maxAge = outcome.status === "busy" ? outcome.retryAfterSeconds : undefined;
        return end(response, budget, codeOf(outcome), diagnostic, maxAge);
      }
      response.code = "2.04";
      response.setOption("Content-Format", "application/cbor");
      response.end(verdictArray(outcomes.map(verdictOf)));
    } catch (error) {
      logger?.error({ err: error }, "CoAP ingest failed");
      end(response, budget, "5.00");
    } finally {
      inFlight.delete(token);
    }
  }

  server.on("error", (error: Error) => logger?.warn({ err: error }, "CoAP server error"));
  await new Promise<void>((resolve) => server.listen(guard as unknown as Socket, () => resolve()));
  const { address, port } = socket.address();
  logger?.info({ url: `coap://${address}:${port}` }, "CoAP ingest listening");
  return {
    url: `coap://${address}:${port}`,
    // node-coap closes only sockets it made: the guarded socket is closed here, after the server.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => socket.close(() => resolve()));
      }),
  };
}

function formatNumber(request: IncomingMessage): number {
  const value = request.headers["Content-Format"] as unknown;
  if (typeof value === "number") return value;
  const names: Record<string, number> = {
    "application/json": FORMAT.json,
    "application/cbor": FORMAT.cbor,
    "application/cbor-seq": FORMAT.cborSeq,
  };
  return typeof value === "string" ? (names[value] ?? NaN) : NaN;
}

/**
 * Ends a one-message answer: the code, a Max-Age for `busy`, and the rejection's name as a text payload
 * when the answer stays within `budget` bytes (the request's size); otherwise the code alone says it.
 */
function end(response: OutgoingMessage, budget: number, code: string, diagnostic?: string, maxAge?: number): void {
  response.code = code;
  if (maxAge !== undefined) response.setOption("Max-Age", maxAge);
  // header 4, token, Max-Age 2, then Content-Format text/plain (an empty option: 1), the marker and the text
  const base = 4 + (response._packet.token?.length ?? 0) + (maxAge === undefined ? 0 : 2);
  if (diagnostic === undefined || base + 2 + diagnostic.length > budget) response.end();
  else {
    response.setOption("Content-Format", "text/plain");
    response.end(diagnostic);
  }
}
