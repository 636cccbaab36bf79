/**
 * The embedded broker's guard: who may connect (a registered, active device key proving possession with a
 * fresh `BrokerLogin` signature, or an operator with the configured token), what each identity may publish
 * and subscribe to, and the resources any client can take (packet size, connections, message rate).
 *
 * Topic rules, with `<root>` the configured topic minus its `/readings/#` (default `iotrail/v1`):
 *
 * | identity | publish | subscribe |
 * | --- | --- | --- |
 * | device `0xabc…` (lower case) | `<root>/readings/0xabc…` only | `<root>/replies/0xabc…` only |
 * | operator | `<root>/readings/<any device>` (a gateway) | `<root>/replies/#` and below |
 *
 * Retained messages and `$`-topics are refused to everyone; client ids are bound to the identity (the
 * username, or the username followed by `:` and a suffix), so nobody can take over another's session.
 */
import { timingSafeEqual } from "node:crypto";
import { getBytes } from "ethers";
import { recoverSigner } from "../../crypto";
import { brokerLoginDigest, parseBrokerPassword } from "../../eip712";
import type { Eip712Domain } from "../../eip712";
import type { DeviceDirectory, DevicePreparer } from "../checks";
import { RateLimiter } from "../support";

export interface MqttGuardOptions {
  /** The readings' EIP-712 domain: logins are signed under it. */
  domain: Eip712Domain;
  /** Topic root, e.g. `iotrail/v1`. */
  root: string;
  directory: DeviceDirectory & DevicePreparer;
  /** Accepted distance between a login's timestamp and the broker's clock (seconds). */
  loginSkewSeconds: number;
  /** Operator credential: username and token (the token only from the environment). */
  operator?: { username: string; token: string };
  maxConnectionsPerIdentity: number;
  /** Sustained messages per second per identity, and the burst above it. */
  messagesPerSecond: number;
  burst: number;
  now?: () => number;
}

export type Identity = { kind: "device"; name: string } | { kind: "operator"; name: string };

/** Why a login was refused (logged; MQTT 3.1.1 only carries "not authorized"). */
export type LoginRefusal =
  | "bad-username"
  | "bad-password"
  | "stale-login"
  | "replayed-login"
  | "wrong-signer"
  | "unknown-device"
  | "device-not-active"
  | "client-id"
  | "too-many-connections";

const ADDRESS = /^0x[0-9a-f]{40}$/;

export class MqttGuard {
  private readonly connections = new Map<string, number>();
  private readonly rates: RateLimiter;
  /** Logins seen within the skew window (a login is good for one connection). */
  private readonly usedLogins = new Map<string, number>();

  constructor(private readonly options: MqttGuardOptions) {
    const { messagesPerSecond, burst } = options;
    this.rates = new RateLimiter(messagesPerSecond, burst / messagesPerSecond, 100_000, () => this.now());
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Checks a CONNECT's credentials and client id; on success the connection counts against the identity. */
  async login(
    clientId: string,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<Identity | LoginRefusal> {
    const identity = await this.authenticate(username ?? "", password?.toString("utf8") ?? "");
    if (typeof identity === "string") return identity;
    if (clientId !== identity.name && !clientId.startsWith(`${identity.name}:`)) return "client-id";
    const open = this.connections.get(identity.name) ?? 0;
    if (open >= this.options.maxConnectionsPerIdentity) return "too-many-connections";
    this.connections.set(identity.name, open + 1);
    return identity;
  }

  /** A connection of `identity` ended. */
  logout(identity: Identity): void {
    const open = (this.connections.get(identity.name) ?? 1) - 1;
    if (open <= 0) this.connections.delete(identity.name);
    else this.connections.set(identity.name, open);
  }

  private async authenticate(username: string, password: string): Promise<Identity | LoginRefusal> {
    const operator = this.options.operator;
    if (operator !== undefined && username === operator.username) {
      const given = Buffer.from(password);
      const expected = Buffer.from(operator.token);
      return given.length === expected.length && timingSafeEqual(given, expected)
        ? { kind: "operator", name: username }
        : "bad-password";
    }
    if (!ADDRESS.test(username)) return "bad-username";
    const login = parseBrokerPassword(password);
    if (login === undefined) return "bad-password";
    const nowSeconds = Math.floor(this.now() / 1000);
    if (Math.abs(Number(login.timestamp) - nowSeconds) > this.options.loginSkewSeconds) return "stale-login";
    const digest = getBytes(brokerLoginDigest(this.options.domain, username, login.timestamp));
    const signer = recoverSigner(digest, getBytes(login.signature));
    if (signer === undefined || signer.toLowerCase() !== username) return "wrong-signer";
    this.forgetOldLogins(nowSeconds);
    const seen = `${username}.${login.timestamp}.${login.signature.toLowerCase()}`;
    if (this.usedLogins.has(seen)) return "replayed-login";
    // Recorded before the first await (N-L1): two CONNECTs racing the directory lookup with one captured
    // login get one session between them, never two. A login refused below stays used: it is single-use.
    this.usedLogins.set(seen, Number(login.timestamp));
    await this.options.directory.prepare([username]);
    const state = this.options.directory.state(username);
    if (state === "unknown") return "unknown-device";
    if (state !== "active") return "device-not-active";
    return { kind: "device", name: username };
  }

  private forgetOldLogins(nowSeconds: number): void {
    const horizon = nowSeconds - this.options.loginSkewSeconds - 1;
    for (const [login, timestamp] of this.usedLogins) if (timestamp < horizon) this.usedLogins.delete(login);
  }

  /** The topic a device publishes its readings to. */
  readingsTopic(device: string): string {
    return `${this.options.root}/readings/${device}`;
  }

  /** Why `identity` may not publish `topic` (retain flag included), or undefined when it may. */
  publishRefusal(identity: Identity, topic: string, retain: boolean): string | undefined {
    if (retain) return "retained messages are not accepted";
    if (topic.startsWith("$")) return "$-topics are reserved";
    const prefix = `${this.options.root}/readings/`;
    if (identity.kind === "device") {
      return topic === prefix + identity.name ? undefined : `a device publishes only to ${prefix}${identity.name}`;
    }
    return topic.startsWith(prefix) && ADDRESS.test(topic.slice(prefix.length))
      ? undefined
      : `an operator publishes only to ${prefix}<device address>`;
  }

  /** Whether `identity` may subscribe to `filter` (or receive a message on that topic). */
  mayRead(identity: Identity, filter: string): boolean {
    if (filter.startsWith("$")) return false;
    const replies = `${this.options.root}/replies/`;
    return identity.kind === "device" ? filter === replies + identity.name : filter.startsWith(replies);
  }

  /** Takes one message from the identity's token bucket; false when it is over its rate. */
  admit(identity: Identity): boolean {
    return this.rates.admit(identity.name);
  }
}

/**
 * Watches a connection's bytes as the MQTT parser reads them and tells when a packet header announces more
 * than `maxPacketBytes`, so that the connection ends before the packet is buffered (the parser alone would
 * accept up to 256 MiB).
 */
export class MqttPacketLimit {
  private header: number[] = [];
  private remaining = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /** Scans the next bytes; returns the size a packet announced beyond the limit, or undefined if all is well. */
  observe(chunk: Buffer): number | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - i);
        this.remaining -= take;
        i += take;
        continue;
      }
      // Fixed header: one type byte, then the remaining length in 1 to 4 bytes of 7 bits each.
      const header = this.header;
      header.push(chunk[i]!);
      i += 1;
      if (header.length < 2 || (header[header.length - 1]! & 0x80) !== 0) {
        if (header.length > 5) return Number.POSITIVE_INFINITY;
        continue;
      }
      let length = 0;
      for (let k = header.length - 1; k >= 1; k--) length = length * 128 + (header[k]! & 0x7f);
      this.header = [];
      if (length + header.length > this.maxPacketBytes) return length + header.length;
      this.remaining = length;
    }
    return undefined;
  }
}
