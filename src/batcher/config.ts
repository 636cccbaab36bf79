/**
 * The batcher's configuration: a JSON file (every field optional) with environment variables on top (the
 * process environment, then `.env`), validated into {@link BatcherConfig}, which records where each value
 * came from. The anchoring key only ever comes from the environment (`BATCHER_PRIVATE_KEY`), never from the
 * file. Without `anchor`, the anchor and registry come from the deployment record of the node's chain
 * (`deployments`, `IOTRAIL_DEPLOYMENTS`, else `./deployments`; see `src/deployments`).
 *
 * | variable | field |
 * | --- | --- |
 * | `RPC_URL` | `rpcUrl` |
 * | `ANCHOR_ADDRESS` | `anchor` |
 * | `IOTRAIL_DEPLOYMENTS` | `deployments` (the folder of deployment records) |
 * | `REGISTRY_ADDRESS` | `registry` |
 * | `CHAIN_ID` | `chainId` |
 * | `BATCHER_PRIVATE_KEY` | the anchoring account's key |
 * | `BATCHER_DATABASE` | `database` |
 * | `BATCHER_HTTP_HOST`, `BATCHER_HTTP_PORT` | `http.host`, `http.port` |
 * | `BATCHER_MQTT_URL` | `mqtt.url` (an external broker; the embedded one is not started) |
 * | `BATCHER_MQTT_PORT` | `mqtt.port` (the embedded broker's port) |
 * | `BATCHER_MQTT_CLIENT_ID` | `mqtt.clientId` (this shard's client id at the external broker) |
 * | `BATCHER_MQTT_SHARE_GROUP` | `mqtt.shareGroup` (the shards' MQTT 5 shared-subscription group) |
 * | `BATCHER_COAP_PORT` | `coap.port` (the CoAP listener's UDP port, when `coap.enabled`) |
 * | `BATCHER_ADMIN_TOKEN` | bearer token for `/metrics` and `/health` details (from the environment only) |
 * | `BATCHER_MQTT_OPERATOR_TOKEN` | the embedded broker's operator password (from the environment only) |
 * | `BATCHER_CONFIRMATIONS` | `anchoring.confirmations` |
 * | `BATCHER_RECEIPT_KEY` | the payee's key, which signs receipts (`sales.receipts`; from the environment only) |
 * | `BATCHER_SETTLER_KEY` | the key that settles x402 `exact` payments (`sales.exact`; from the environment only) |
 * | `LOG_LEVEL` | `logLevel` |
 */
import { readFileSync } from "node:fs";
import { ZeroAddress, isAddress, isHexString } from "ethers";
import { isPostgresUrl } from "../database";
import { envSource } from "../env";
import { jsonSyntaxProblem } from "../json-schema-core";
import { ConfigError } from "../errors";
import type { CoapLimits, EmbeddedBrokerLimits } from "./ingest";

export interface BatcherConfig {
  rpcUrl: string;
  /** Read from the node at start when absent. */
  chainId?: bigint;
  /** The TelemetryAnchor; from the deployment record of the chain when absent. */
  anchor?: string;
  /** The folder of deployment records, read when `anchor` is absent. */
  deployments?: string;
  /** Read from the anchor contract at start when absent. */
  registry?: string;
  /** 0x-prefixed 32-byte key of the anchoring account (from the environment only). */
  privateKey?: string;
  database: string;
  rpcTimeoutMs: number;
  http: {
    host: string;
    port: number;
    maxMessageBytes: number;
    maxBodyBytes: number;
    /** GET requests per second per client address (bundles, dumps, status). */
    getsPerSecond: number;
    /** Bearer token guarding `/metrics` and `/health` details; open when absent. */
    adminToken?: string;
  };
  mqtt:
    | { enabled: false }
    | ({ enabled: true; embedded: true; host: string; port: number; topic: string } & EmbeddedBrokerLimits)
    | {
        enabled: true;
        embedded: false;
        url: string;
        topic: string;
        /** This shard's MQTT client id (unique per shard: a broker ends the older of two same-id sessions). */
        clientId: string;
        /** MQTT 5 shared-subscription group of the shards (`$share/<group>/<topic>`); none for one batcher. */
        shareGroup?: string;
        /** QoS 1 readings the broker may have in flight to this shard (MQTT 5 Receive Maximum). */
        receiveMaximum: number;
      };
  /** CoAP ingest (RFC 7252, UDP) for constrained devices; off unless enabled. */
  coap: { enabled: false } | ({ enabled: true; host: string; port: number } & CoapLimits);
  ingest: {
    queueLimit: number;
    threads: number;
    window: { pastSeconds: number; futureSeconds: number };
    retryAfterSeconds: number;
    /**
     * Registry lookups of unknown device keys one HTTP client (by address) may cause: per second, and burst.
     * Past it, its readings of unknown keys are answered 429 (M-6: an anonymous sender's cost to the node).
     */
    lookupsPerClient: { perSecond: number; burst: number };
  };
  sealing: { maxReadings: number; maxAgeMs: number; intervalMs: number };
  anchoring: {
    enabled: boolean;
    confirmations: number;
    maxBatchesPerTx: number;
    bumpAfterMs: number;
    feeBumpPercent: number;
    maxFeePerGasGwei?: number;
    intervalMs: number;
    /** Longest wait between anchoring passes after RPC failures (exponential backoff). */
    maxBackoffMs: number;
  };
  registryRefreshMs: number;
  /**
   * With PostgreSQL, how often a shard that does not lead asks for the leader's lock (ms); the leader seals
   * and anchors, and another shard takes over within about this long after it dies.
   */
  leaderPollMs: number;
  /** Base URL of this service's API, written on-chain as each batch's content URI. */
  publicUrl?: string;
  /**
   * Selling readings over HTTP 402 (absent: bundles are free). Range and reading bundles then need a voucher
   * over a PaymentChannels channel to `payee`; batch bundles and dumps need the admin token.
   */
  sales?: SalesConfig;
  /**
   * Lots whose unclaimed entries may report without claiming first: each lot's id and its entries (a lot
   * entries file or a JSON lot file). The batcher checks them against the committed root at start.
   */
  lots?: Array<{ id: bigint; entries: string }>;
  logLevel: string;
  /** Where each value came from, by dotted field: `file <path>`, `environment VAR`, `.env VAR` or `default`. */
  sources?: Readonly<Record<string, string>>;
}

export interface SalesConfig {
  /** The price of one reading, in the token's base units (wei for ETH). */
  pricePerReading: bigint;
  /** The token of accepted channels: the zero address for ETH. */
  token: string;
  /** Who is paid: the payee of accepted channels. */
  payee: string;
  /** The payee's voucher store: a SQLite path, or a postgres:// URL (default: next to the database). */
  vouchers: string;
  /** The PaymentChannels contract (default: the deployment record's). */
  paymentChannels?: string;
  /** How often the leader's watcher looks for vouchers to claim (ms). */
  watchIntervalMs: number;
  /** The watcher claims a channel this long before its expiry (s); a started close it claims at once. */
  claimMarginSeconds: number;
  /** Bind the payee's sales to this voucher store even though another one sold for it before (N-I1). */
  rebindVoucherStore?: boolean;
  /** Blocks a channel's deposit must be deep in before it pays for anything (default 1). */
  confirmations?: number;
  /** x402's `exact` scheme (EIP-3009) beside `iotrail-channel` (absent: channels only). */
  exact?: ExactSalesConfig;
  /** Sign a receipt for every paid answer (x402's offer-receipt) with the payee's key, `BATCHER_RECEIPT_KEY`. */
  receipts?: boolean;
  /** The payee's key (from `BATCHER_RECEIPT_KEY` only). */
  receiptKey?: string;
}

export interface ExactSalesConfig {
  /** The EIP-3009 token (default: `sales.token` if it is a token, else the deployment record's DemoToken). */
  asset?: string;
  /** Who is paid (default: `sales.payee`). */
  payTo?: string;
  /** The price of one reading in the asset's base units (default: `sales.pricePerReading`, if the asset is `sales.token`). */
  pricePerReading?: bigint;
  /** Blocks a settlement must be deep in before the answer goes out (default 1). */
  confirmations: number;
  /** Seconds an authorization must stay valid for (x402's `maxTimeoutSeconds`; default 120). */
  maxTimeoutSeconds: number;
  /** An outside x402 facilitator's URL; without it the seller settles itself with `BATCHER_SETTLER_KEY`. */
  facilitatorUrl?: string;
  /** The key that submits settlements and pays their gas (from `BATCHER_SETTLER_KEY` only). */
  settlerKey?: string;
}

type Json = Record<string, unknown>;

function section(raw: Json, key: string): Json {
  const value = raw[key];
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`config field "${key}" must be an object`, { details: { field: key } });
  }
  return value as Json;
}

function int(raw: Json, key: string, path: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const value = raw[key] ?? fallback;
  const number = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== "number" || !Number.isInteger(number) || number < min || number > max) {
    throw new ConfigError(`config field "${path}" must be an integer in [${min}, ${max}]`, {
      details: { field: path, value },
    });
  }
  return number;
}

function str(raw: Json, key: string, path: string, fallback?: string): string {
  const value = raw[key] ?? fallback;
  if (typeof value !== "string" || value.length === 0) {
    throw new ConfigError(`config field "${path}" must be a non-empty string`, { details: { field: path, value } });
  }
  return value;
}

function address(value: unknown, path: string): string {
  if (typeof value !== "string" || !isAddress(value)) {
    throw new ConfigError(`config field "${path}" must be an address`, { details: { field: path, value } });
  }
  return value;
}

/** Every field the file may hold, by section (the secrets are refused with their own message first). */
export const KNOWN_FIELDS: Record<string, readonly string[]> = {
  "": [
    "rpcUrl",
    "chainId",
    "anchor",
    "deployments",
    "registry",
    "database",
    "rpcTimeoutMs",
    "http",
    "mqtt",
    "coap",
    "ingest",
    "sealing",
    "anchoring",
    "registryRefreshMs",
    "leaderPollMs",
    "publicUrl",
    "logLevel",
    "sales",
    "lots",
  ],
  sales: [
    "pricePerReading",
    "token",
    "payee",
    "vouchers",
    "paymentChannels",
    "watchIntervalMs",
    "claimMarginSeconds",
    "rebindVoucherStore",
    "exact",
    "receipts",
    "confirmations",
  ],
  "sales.exact": ["asset", "payTo", "pricePerReading", "confirmations", "maxTimeoutSeconds", "facilitatorUrl"],
  http: ["host", "port", "maxMessageBytes", "maxBodyBytes", "getsPerSecond"],
  mqtt: [
    "enabled",
    "url",
    "topic",
    "clientId",
    "shareGroup",
    "receiveMaximum",
    "host",
    "port",
    "maxPacketBytes",
    "maxConnections",
    "maxConnectionsPerIdentity",
    "messagesPerSecond",
    "burst",
    "loginSkewSeconds",
    "operatorUsername",
  ],
  coap: ["enabled", "host", "port", "maxMessageBytes", "perSourcePerSecond", "perSourceBurst", "maxInFlight"],
  ingest: ["queueLimit", "threads", "window", "retryAfterSeconds", "lookupsPerClient"],
  "ingest.lookupsPerClient": ["perSecond", "burst"],
  "ingest.window": ["pastSeconds", "futureSeconds"],
  sealing: ["maxReadings", "maxAgeMs", "intervalMs"],
  anchoring: [
    "enabled",
    "confirmations",
    "maxBatchesPerTx",
    "bumpAfterMs",
    "feeBumpPercent",
    "maxFeePerGasGwei",
    "intervalMs",
    "maxBackoffMs",
  ],
};

/** Edit distance between two field names (Levenshtein). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(
        row[j]! + 1,
        row[j - 1]! + 1,
        diagonal + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** A field the file names but the batcher does not know is a mistake: it names it and the nearest known field. */
function rejectUnknownFields(raw: Json): void {
  for (const [path, known] of Object.entries(KNOWN_FIELDS)) {
    let node: unknown = raw;
    for (const part of path === "" ? [] : path.split(".")) node = (node as Json | undefined)?.[part];
    if (typeof node !== "object" || node === null || Array.isArray(node)) continue;
    for (const key of Object.keys(node)) {
      if (known.includes(key)) continue;
      const field = path === "" ? key : `${path}.${key}`;
      const nearest = [...known].sort((x, y) => distance(key, x) - distance(key, y))[0]!;
      const close = distance(key, nearest) <= Math.max(2, Math.floor(nearest.length / 3));
      throw new ConfigError(
        `unknown config field "${field}"${close ? ` (did you mean "${path === "" ? nearest : `${path}.${nearest}`}"?)` : ""}`,
        { details: { field, ...(close ? { suggestion: nearest } : {}) } },
      );
    }
  }
}

/** The embedded broker's topic filter must be `<root>/readings/#`: its topic rules are built on that root. */
function readingsTopicFilter(topic: string): string {
  if (!/^[^#+$][^#+]*\/readings\/#$/.test(topic)) {
    throw new ConfigError('config field "mqtt.topic" must have the form <root>/readings/# for the embedded broker', {
      details: { field: "mqtt.topic", value: topic },
    });
  }
  return topic;
}

/** Reads the config file (if any) and the environment into a validated configuration. */
export function loadBatcherConfig(params: { file?: string; env?: NodeJS.ProcessEnv } = {}): BatcherConfig {
  const env = params.env ?? process.env;
  let raw: Json = {};
  if (params.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(params.file, "utf8");
    } catch (cause) {
      throw new ConfigError(`cannot read config file ${params.file}`, { cause, details: { file: params.file } });
    }
    try {
      raw = JSON.parse(text) as Json;
    } catch (cause) {
      // Where, without --verbose (issue 24, 14); the text itself is not quoted.
      throw new ConfigError(`config file ${params.file} is not valid JSON: ${jsonSyntaxProblem(text, cause)}`, {
        details: { file: params.file },
      });
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new ConfigError(`config file ${params.file} must hold a JSON object`);
    }
  }
  const http = { ...section(raw, "http") };
  const mqtt = { ...section(raw, "mqtt") };
  const coap = { ...section(raw, "coap") };
  const ingest = section(raw, "ingest");
  const sealing = section(raw, "sealing");
  const anchoring = { ...section(raw, "anchoring") };
  const sales = raw.sales === undefined ? undefined : section(raw, "sales");
  const top: Json = { ...raw };
  const overridden = new Map<string, string>();
  const override = (target: Json, path: string, variable: string) => {
    if (env[variable] === undefined || env[variable] === "") return;
    target[path.split(".").pop()!] = env[variable];
    overridden.set(path, variable);
  };
  override(top, "rpcUrl", "RPC_URL");
  override(top, "anchor", "ANCHOR_ADDRESS");
  override(top, "deployments", "IOTRAIL_DEPLOYMENTS");
  override(top, "registry", "REGISTRY_ADDRESS");
  override(top, "chainId", "CHAIN_ID");
  override(top, "database", "BATCHER_DATABASE");
  override(top, "logLevel", "LOG_LEVEL");
  override(http, "http.host", "BATCHER_HTTP_HOST");
  override(http, "http.port", "BATCHER_HTTP_PORT");
  override(mqtt, "mqtt.url", "BATCHER_MQTT_URL");
  override(mqtt, "mqtt.port", "BATCHER_MQTT_PORT");
  override(mqtt, "mqtt.clientId", "BATCHER_MQTT_CLIENT_ID");
  override(mqtt, "mqtt.shareGroup", "BATCHER_MQTT_SHARE_GROUP");
  override(coap, "coap.port", "BATCHER_COAP_PORT");
  override(anchoring, "anchoring.confirmations", "BATCHER_CONFIRMATIONS");
  if ("privateKey" in raw) {
    throw new ConfigError("the anchoring key is read from BATCHER_PRIVATE_KEY only, never from the config file");
  }
  const privateKey = env.BATCHER_PRIVATE_KEY;
  if (privateKey !== undefined && privateKey !== "" && !isHexString(privateKey, 32)) {
    throw new ConfigError("BATCHER_PRIVATE_KEY must be a 0x-prefixed 32-byte hex key");
  }
  if ("operatorToken" in mqtt) {
    throw new ConfigError("the MQTT operator token is read from BATCHER_MQTT_OPERATOR_TOKEN only, never from the file");
  }
  const operatorToken = env.BATCHER_MQTT_OPERATOR_TOKEN;
  if (operatorToken !== undefined && operatorToken !== "" && operatorToken.length < 16) {
    throw new ConfigError("BATCHER_MQTT_OPERATOR_TOKEN must be at least 16 characters");
  }
  if ("adminToken" in http) {
    throw new ConfigError("the admin token is read from BATCHER_ADMIN_TOKEN only, never from the config file");
  }
  const adminToken = env.BATCHER_ADMIN_TOKEN;
  if (adminToken !== undefined && adminToken !== "" && adminToken.length < 16) {
    throw new ConfigError("BATCHER_ADMIN_TOKEN must be at least 16 characters");
  }
  const window = section(ingest, "window");
  const lookups = section(ingest, "lookupsPerClient");
  rejectUnknownFields(raw);
  const topic = str(mqtt, "topic", "mqtt.topic", "iotrail/v1/readings/#");
  const chainId = top.chainId === undefined ? undefined : BigInt(int(top, "chainId", "chainId", 0, 1));
  const maxFee = anchoring.maxFeePerGasGwei;
  if (maxFee !== undefined && (typeof maxFee !== "number" || !(maxFee > 0))) {
    throw new ConfigError('config field "anchoring.maxFeePerGasGwei" must be a positive number');
  }
  const config: BatcherConfig = {
    rpcUrl: str(top, "rpcUrl", "rpcUrl", "http://127.0.0.1:8545"),
    ...(chainId === undefined ? {} : { chainId }),
    ...(top.anchor === undefined ? {} : { anchor: address(top.anchor, "anchor") }),
    ...(top.deployments === undefined ? {} : { deployments: str(top, "deployments", "deployments") }),
    ...(top.registry === undefined ? {} : { registry: address(top.registry, "registry") }),
    ...(privateKey === undefined || privateKey === "" ? {} : { privateKey }),
    database: str(top, "database", "database", "batcher.sqlite"),
    rpcTimeoutMs: int(top, "rpcTimeoutMs", "rpcTimeoutMs", 10_000, 100),
    http: {
      host: str(http, "host", "http.host", "127.0.0.1"),
      port: int(http, "port", "http.port", 8080, 0, 65_535),
      maxMessageBytes: int(http, "maxMessageBytes", "http.maxMessageBytes", 4096, 256),
      maxBodyBytes: int(http, "maxBodyBytes", "http.maxBodyBytes", 1 << 20, 256),
      getsPerSecond: int(http, "getsPerSecond", "http.getsPerSecond", 20, 1),
      ...(adminToken === undefined || adminToken === "" ? {} : { adminToken }),
    },
    mqtt:
      mqtt.enabled === false
        ? { enabled: false }
        : mqtt.url !== undefined
          ? {
              enabled: true,
              embedded: false,
              url: str(mqtt, "url", "mqtt.url"),
              topic,
              clientId: str(mqtt, "clientId", "mqtt.clientId", "iotrail-batcher"),
              ...(mqtt.shareGroup === undefined ? {} : { shareGroup: str(mqtt, "shareGroup", "mqtt.shareGroup") }),
              receiveMaximum: int(mqtt, "receiveMaximum", "mqtt.receiveMaximum", 1_024, 1, 65_535),
            }
          : {
              enabled: true,
              embedded: true,
              host: str(mqtt, "host", "mqtt.host", "127.0.0.1"),
              port: int(mqtt, "port", "mqtt.port", 1883, 0, 65_535),
              topic: readingsTopicFilter(topic),
              maxPacketBytes: int(mqtt, "maxPacketBytes", "mqtt.maxPacketBytes", 8192, 256),
              maxConnections: int(mqtt, "maxConnections", "mqtt.maxConnections", 10_000, 1),
              maxConnectionsPerIdentity: int(mqtt, "maxConnectionsPerIdentity", "mqtt.maxConnectionsPerIdentity", 2, 1),
              messagesPerSecond: int(mqtt, "messagesPerSecond", "mqtt.messagesPerSecond", 50, 1),
              burst: int(mqtt, "burst", "mqtt.burst", 500, 1),
              loginSkewSeconds: int(mqtt, "loginSkewSeconds", "mqtt.loginSkewSeconds", 300, 1, 86_400),
              ...(operatorToken === undefined || operatorToken === ""
                ? {}
                : {
                    operator: {
                      username: str(mqtt, "operatorUsername", "mqtt.operatorUsername", "operator"),
                      token: operatorToken,
                    },
                  }),
            },
    coap:
      coap.enabled === true
        ? {
            enabled: true,
            host: str(coap, "host", "coap.host", "127.0.0.1"),
            port: int(coap, "port", "coap.port", 5683, 0, 65_535),
            maxMessageBytes: int(coap, "maxMessageBytes", "coap.maxMessageBytes", 1152, 64, 65_507),
            perSourcePerSecond: int(coap, "perSourcePerSecond", "coap.perSourcePerSecond", 50, 1),
            perSourceBurst: int(coap, "perSourceBurst", "coap.perSourceBurst", 500, 1),
            maxInFlight: int(coap, "maxInFlight", "coap.maxInFlight", 1_024, 1),
          }
        : { enabled: false },
    ingest: {
      queueLimit: int(ingest, "queueLimit", "ingest.queueLimit", 20_000, 1),
      threads: int(ingest, "threads", "ingest.threads", 2, 0, 64),
      window: {
        pastSeconds: int(window, "pastSeconds", "ingest.window.pastSeconds", 7 * 24 * 3600),
        futureSeconds: int(window, "futureSeconds", "ingest.window.futureSeconds", 300),
      },
      retryAfterSeconds: int(ingest, "retryAfterSeconds", "ingest.retryAfterSeconds", 1, 1),
      lookupsPerClient: {
        perSecond: int(lookups, "perSecond", "ingest.lookupsPerClient.perSecond", 50, 1),
        burst: int(lookups, "burst", "ingest.lookupsPerClient.burst", 500, 1),
      },
    },
    sealing: {
      maxReadings: int(sealing, "maxReadings", "sealing.maxReadings", 10_000, 1),
      maxAgeMs: int(sealing, "maxAgeMs", "sealing.maxAgeMs", 60_000, 1),
      intervalMs: int(sealing, "intervalMs", "sealing.intervalMs", 250, 1),
    },
    anchoring: {
      enabled: anchoring.enabled !== false,
      confirmations: int(anchoring, "confirmations", "anchoring.confirmations", 12, 1),
      maxBatchesPerTx: int(anchoring, "maxBatchesPerTx", "anchoring.maxBatchesPerTx", 16, 1, 256),
      bumpAfterMs: int(anchoring, "bumpAfterMs", "anchoring.bumpAfterMs", 30_000, 1),
      feeBumpPercent: int(anchoring, "feeBumpPercent", "anchoring.feeBumpPercent", 25, 10, 1000),
      ...(maxFee === undefined ? {} : { maxFeePerGasGwei: maxFee as number }),
      intervalMs: int(anchoring, "intervalMs", "anchoring.intervalMs", 2_000, 1),
      maxBackoffMs: int(anchoring, "maxBackoffMs", "anchoring.maxBackoffMs", 30_000, 1),
    },
    registryRefreshMs: int(top, "registryRefreshMs", "registryRefreshMs", 5_000, 1),
    leaderPollMs: int(top, "leaderPollMs", "leaderPollMs", 1_000, 10, 60_000),
    ...(top.publicUrl === undefined ? {} : { publicUrl: str(top, "publicUrl", "publicUrl") }),
    logLevel: str(top, "logLevel", "logLevel", "info"),
  };
  if (config.mqtt.enabled && !config.mqtt.embedded && config.mqtt.receiveMaximum > config.ingest.queueLimit) {
    // The broker may have this many QoS 1 messages in flight: all of them must fit the queue at once (P-H1).
    throw new ConfigError(
      `mqtt.receiveMaximum (${config.mqtt.receiveMaximum}) must be at most ingest.queueLimit (${config.ingest.queueLimit})`,
      { details: { field: "mqtt.receiveMaximum" } },
    );
  }
  if (sales !== undefined) {
    config.sales = salesConfig(sales, config.database, env.BATCHER_SETTLER_KEY, env.BATCHER_RECEIPT_KEY);
  }
  if (raw.lots !== undefined) config.lots = lotsConfig(raw.lots);
  const secrets: Record<string, string> = {
    privateKey: "BATCHER_PRIVATE_KEY",
    "http.adminToken": "BATCHER_ADMIN_TOKEN",
    "mqtt.operator.token": "BATCHER_MQTT_OPERATOR_TOKEN",
    "sales.exact.settlerKey": "BATCHER_SETTLER_KEY",
    "sales.receiptKey": "BATCHER_RECEIPT_KEY",
  };
  const inFile = new Set(leafPaths(raw));
  const sources: Record<string, string> = {};
  for (const path of leafPaths(config as unknown as Json)) {
    const variable = overridden.get(path) ?? secrets[path];
    sources[path] =
      variable !== undefined
        ? `${envSource(variable)} ${variable}`
        : inFile.has(path)
          ? `file ${params.file!}`
          : "default";
  }
  return { ...config, sources };
}

function lotsConfig(value: unknown): Array<{ id: bigint; entries: string }> {
  if (!Array.isArray(value)) {
    throw new ConfigError('config field "lots" must be an array of { "id": <lot id>, "entries": <file> }');
  }
  const seen = new Set<bigint>();
  return value.map((item: unknown, i) => {
    const path = `lots[${i}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      throw new ConfigError(`config field "${path}" must be an object { "id", "entries" }`, {
        details: { field: path },
      });
    }
    const lot = item as Json;
    for (const key of Object.keys(lot)) {
      if (key !== "id" && key !== "entries") {
        throw new ConfigError(`unknown config field "${path}.${key}"`, { details: { field: `${path}.${key}` } });
      }
    }
    const id = lot.id;
    if (!(
      (typeof id === "string" && /^[1-9][0-9]{0,76}$/.test(id)) ||
      (typeof id === "number" && Number.isSafeInteger(id) && id > 0)
    )) {
      throw new ConfigError(`config field "${path}.id" must be a lot id (a positive whole number)`, {
        details: { field: `${path}.id`, value: id },
      });
    }
    const lotId = BigInt(id);
    if (seen.has(lotId)) throw new ConfigError(`lot ${lotId} is listed twice in "lots"`);
    seen.add(lotId);
    return { id: lotId, entries: str(lot, "entries", `${path}.entries`) };
  });
}

function basePrice(price: unknown, field: string): bigint {
  const wellFormed =
    (typeof price === "string" && /^[0-9]{1,30}$/.test(price)) ||
    (typeof price === "number" && Number.isSafeInteger(price));
  if (!wellFormed || BigInt(price as string | number) <= 0n) {
    throw new ConfigError(`config field "${field}" must be a positive whole number of base units`, {
      details: { field, value: price },
    });
  }
  return BigInt(price as string | number);
}

function salesConfig(
  sales: Json,
  database: string,
  settlerKey: string | undefined,
  receiptKey: string | undefined,
): SalesConfig {
  if ("receiptKey" in sales) {
    throw new ConfigError("the receipt key is read from BATCHER_RECEIPT_KEY only, never from the config file");
  }
  if (sales.receipts !== undefined && typeof sales.receipts !== "boolean") {
    throw new ConfigError('config field "sales.receipts" must be true or false', {
      details: { field: "sales.receipts" },
    });
  }
  const receipts = sales.receipts === true;
  if (receipts && (receiptKey === undefined || !isHexString(receiptKey, 32))) {
    throw new ConfigError(
      "sales.receipts needs the payee's key to sign them: set BATCHER_RECEIPT_KEY (a 0x-prefixed 32-byte hex key of sales.payee)",
    );
  }
  const price = basePrice(sales.pricePerReading, "sales.pricePerReading");
  const token = str(sales, "token", "sales.token", "eth");
  const defaultVouchers = isPostgresUrl(database)
    ? database
    : database === ":memory:"
      ? ":memory:"
      : `${database.replace(/\.sqlite$/, "")}.vouchers.sqlite`;
  return {
    pricePerReading: price,
    token: token.toLowerCase() === "eth" ? ZeroAddress : address(token, "sales.token"),
    payee: address(sales.payee, "sales.payee"),
    vouchers: str(sales, "vouchers", "sales.vouchers", defaultVouchers),
    ...(sales.paymentChannels === undefined
      ? {}
      : { paymentChannels: address(sales.paymentChannels, "sales.paymentChannels") }),
    watchIntervalMs: int(sales, "watchIntervalMs", "sales.watchIntervalMs", 30_000, 100),
    ...(sales.rebindVoucherStore === true ? { rebindVoucherStore: true } : {}),
    claimMarginSeconds: int(sales, "claimMarginSeconds", "sales.claimMarginSeconds", 3_600, 0),
    confirmations: int(sales, "confirmations", "sales.confirmations", 1, 1, 64),
    ...(sales.exact === undefined ? {} : { exact: exactConfig(section(sales, "exact"), settlerKey) }),
    ...(receipts ? { receipts, receiptKey: receiptKey! } : {}),
  };
}

function exactConfig(exact: Json, settlerKey: string | undefined): ExactSalesConfig {
  if ("settlerKey" in exact) {
    throw new ConfigError("the settlement key is read from BATCHER_SETTLER_KEY only, never from the config file");
  }
  if (settlerKey !== undefined && settlerKey !== "" && !isHexString(settlerKey, 32)) {
    throw new ConfigError("BATCHER_SETTLER_KEY must be a 0x-prefixed 32-byte hex key");
  }
  const facilitatorUrl =
    exact.facilitatorUrl === undefined ? undefined : str(exact, "facilitatorUrl", "sales.exact.facilitatorUrl");
  if (facilitatorUrl !== undefined && !/^https?:\/\//.test(facilitatorUrl)) {
    throw new ConfigError('config field "sales.exact.facilitatorUrl" must be an http(s) URL', {
      details: { field: "sales.exact.facilitatorUrl", value: facilitatorUrl },
    });
  }
  if (facilitatorUrl === undefined && (settlerKey === undefined || settlerKey === "")) {
    throw new ConfigError(
      'sales.exact needs a key to settle payments with: set BATCHER_SETTLER_KEY (an account with ETH for gas, not the anchoring key), or "sales.exact.facilitatorUrl" for an outside facilitator',
    );
  }
  return {
    ...(exact.asset === undefined ? {} : { asset: address(exact.asset, "sales.exact.asset") }),
    ...(exact.payTo === undefined ? {} : { payTo: address(exact.payTo, "sales.exact.payTo") }),
    ...(exact.pricePerReading === undefined
      ? {}
      : { pricePerReading: basePrice(exact.pricePerReading, "sales.exact.pricePerReading") }),
    confirmations: int(exact, "confirmations", "sales.exact.confirmations", 1, 1, 64),
    maxTimeoutSeconds: int(exact, "maxTimeoutSeconds", "sales.exact.maxTimeoutSeconds", 120, 10, 86_400),
    ...(facilitatorUrl === undefined ? {} : { facilitatorUrl }),
    ...(settlerKey === undefined || settlerKey === "" ? {} : { settlerKey }),
  };
}

/** The dotted paths of every leaf value of `value`. */
function leafPaths(value: Json, prefix = ""): string[] {
  return Object.entries(value).flatMap(([key, child]) =>
    typeof child === "object" && child !== null && !Array.isArray(child) && typeof child !== "bigint"
      ? leafPaths(child as Json, `${prefix}${key}.`)
      : [`${prefix}${key}`],
  );
}

/**
 * The configuration as it may be shown (start-up log, `/health` for the admin): secrets replaced by
 * `(set)`, and the RPC URL cut to its origin (providers put API keys in the path).
 */
export function effectiveConfig(config: BatcherConfig): Record<string, unknown> {
  const rest: Partial<BatcherConfig> = { ...config };
  delete rest.sources;
  delete rest.privateKey;
  const privateKey = config.privateKey;
  const shown = JSON.parse(
    JSON.stringify(rest, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)),
  ) as Json;
  if (privateKey !== undefined) shown.privateKey = "(set)";
  const http = shown.http as Json;
  if (http.adminToken !== undefined) http.adminToken = "(set)";
  const operator = (shown.mqtt as Json).operator as Json | undefined;
  if (operator !== undefined) operator.token = "(set)";
  const exact = (shown.sales as Json | undefined)?.exact as Json | undefined;
  if (exact?.settlerKey !== undefined) exact.settlerKey = "(set)";
  const shownSales = shown.sales as Json | undefined;
  if (shownSales?.receiptKey !== undefined) shownSales.receiptKey = "(set)";
  if (typeof exact?.facilitatorUrl === "string") exact.facilitatorUrl = redactUrl(exact.facilitatorUrl);
  shown.rpcUrl = redactUrl(config.rpcUrl);
  if (typeof (shown.mqtt as Json).url === "string")
    (shown.mqtt as Json).url = redactUrl((shown.mqtt as Json).url as string);
  return shown;
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const hidden =
      parsed.pathname.length > 1 || parsed.search !== "" || parsed.username !== "" || parsed.password !== "";
    return `${parsed.protocol}//${parsed.host}${hidden ? "/…" : ""}`;
  } catch {
    return "(not a URL)";
  }
}
