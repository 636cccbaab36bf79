/**
 * The batcher's HTTP API as data: each route's method, path, parameters and answers with their JSON
 * Schemas. `createApi` serves the OpenAPI 3.1 document built from this table at `GET /openapi.json`, and a
 * test checks that the routes Fastify registers are exactly the routes described here, and that real
 * answers validate against the schemas described here.
 *
 * Why a table and not Fastify route schemas with `@fastify/swagger` (judged for issue 25, kept):
 * - `POST /v1/readings` takes its body as raw bytes: `framing.ts` splits a JSON array or NDJSON without
 *   parsing it, and each message is parsed and checked on a check thread, with its own outcome and error
 *   code (`E_TOO_LARGE`, `E_MALFORMED`, `E_SCHEMA`, ...): one bad message of 500 rejects that message, not
 *   the request. A route body schema would make Fastify parse and validate every body on the ingest thread
 *   (the batcher's hot path) before the check threads do it again, and refuse a whole batch with one
 *   generic 400.
 * - Sequences and ids are unsigned 64- and 256-bit integers carried as decimal strings. Fastify's
 *   querystring coercion turns `type: "integer"` into a JavaScript number, which loses them above 2^53; the
 *   routes parse them to `bigint` by hand, and this table publishes them as patterned strings.
 * - Bundles and dumps leave the bundle worker as finished JSON text, which Fastify sends as it is; a
 *   response schema would describe them, never check them.
 * So the route schemas would validate nothing more, and the single source stays this table: the routes
 * test keeps Fastify's routes equal to it, and the wire-format test validates real answers against it.
 */
import ingestMessage from "../../../schemas/ingest-message.v1.schema.json";
import ingestReply from "../../../schemas/ingest-reply.v1.schema.json";
import proofBundle from "../../../schemas/proof-bundle.v1.schema.json";

/** The version of the HTTP API (the `v1` of its paths is its major version). */
export const API_VERSION = "1.3.0";

type Schema = Record<string, unknown>;

const uint = { type: "string", pattern: "^(0|[1-9][0-9]*)$" };
const address = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" };
const bytes32 = { type: "string", pattern: "^0x[0-9a-f]{64}$" };

/** Reusable schemas: `#/components/schemas/<name>`. */
export const API_SCHEMAS: Readonly<Record<string, Schema>> = {
  IngestMessage: ingestMessage,
  IngestReply: ingestReply,
  IngestReplies: {
    type: "object",
    additionalProperties: false,
    required: ["results"],
    properties: { results: { type: "array", items: { $ref: "#/components/schemas/IngestReply" } } },
  },
  ProofBundle: proofBundle,
  Batch: {
    type: "object",
    required: [
      "localId",
      "status",
      "final",
      "root",
      "readingCount",
      "fromTimestamp",
      "toTimestamp",
      "contentHash",
      "sealedAt",
    ],
    properties: {
      localId: { type: "integer", minimum: 1, description: "The batcher's id of the batch (the path's :id)." },
      status: { enum: ["pending", "anchored", "final", "failed"] },
      final: { type: "boolean" },
      root: bytes32,
      readingCount: { type: "integer", minimum: 1 },
      fromTimestamp: uint,
      toTimestamp: uint,
      contentHash: bytes32,
      sealedAt: { type: "string", format: "date-time" },
      anchor: {
        type: "object",
        additionalProperties: false,
        required: ["batchId", "transactionHash", "blockNumber", "blockHash", "anchoredAt"],
        properties: {
          batchId: { ...uint, description: "The on-chain batch id." },
          transactionHash: bytes32,
          blockNumber: { type: "integer", minimum: 0 },
          blockHash: bytes32,
          anchoredAt: uint,
          confirmations: { type: "integer", minimum: 0, description: "Blocks on top of the anchoring one, and it." },
        },
      },
      note: { type: "string", description: "Why the batch failed, or why it last went back to pending." },
      message: { type: "string", description: "Why the batch is the answer (not anchored yet, failed)." },
    },
  },
  BatchBundles: {
    description: "One page of a batch's bundles (one per device, devices in address order).",
    allOf: [{ $ref: "#/components/schemas/Batch" }],
    type: "object",
    required: ["devices", "offset", "limit", "bundles"],
    properties: {
      devices: { type: "integer", minimum: 0 },
      offset: { type: "integer", minimum: 0 },
      limit: { type: "integer", minimum: 1 },
      bundles: { type: "array", items: { $ref: "#/components/schemas/ProofBundle" } },
      next: { type: "string", description: "The path of the next page, when there is one." },
    },
  },
  BatchList: {
    type: "object",
    additionalProperties: false,
    required: ["counts", "batches"],
    properties: {
      counts: { type: "object", additionalProperties: { type: "integer" }, description: "Batches by status." },
      batches: { type: "array", items: { $ref: "#/components/schemas/Batch" } },
      next: { type: "string", description: "The path of the next (older) page, when there is one." },
    },
  },
  IngestHistory: {
    type: "object",
    additionalProperties: false,
    required: ["minutes", "queue"],
    properties: {
      queue: { type: "integer", description: "Messages received and not yet answered." },
      minutes: {
        type: "array",
        items: {
          type: "object",
          additionalProperties: false,
          required: ["minute", "accepted", "duplicate", "busy", "rejected"],
          properties: {
            minute: { type: "string", format: "date-time" },
            accepted: { type: "integer" },
            duplicate: { type: "integer" },
            busy: { type: "integer" },
            rejected: { type: "object", additionalProperties: { type: "integer" }, description: "By error code." },
          },
        },
      },
    },
  },
  DevicesSeen: {
    type: "object",
    additionalProperties: false,
    required: ["total", "devices"],
    properties: {
      total: { type: "integer" },
      next: { type: "string" },
      devices: {
        type: "array",
        items: {
          type: "object",
          additionalProperties: false,
          required: ["device", "lastSequence", "lastReceivedAt", "readings", "registry"],
          properties: {
            device: address,
            lastSequence: uint,
            lastReceivedAt: { type: "string", format: "date-time" },
            readings: { type: "integer", description: "Readings taken since the batcher started." },
            registry: {
              enum: ["active", "suspended", "revoked", "retired", "unknown"],
              description: "The cached registry state.",
            },
          },
        },
      },
    },
  },
  Pending: {
    description: "Not served yet: the reading is not sealed, or its batch is not anchored yet.",
    type: "object",
    required: ["status"],
    properties: { status: { enum: ["unsealed", "pending"] }, final: { const: false }, message: { type: "string" } },
  },
  Incomplete: {
    type: "object",
    additionalProperties: false,
    required: ["status", "missingCount", "missing", "message"],
    properties: {
      status: { enum: ["incomplete", "unknown"] },
      missingCount: { type: "integer", minimum: 1 },
      missing: { type: "array", items: uint, maxItems: 20, description: "The first missing sequences." },
      message: { type: "string" },
    },
  },
  PaymentRequired: {
    type: "object",
    description:
      "x402 version 2 PaymentRequired (also base64 in the PAYMENT-REQUIRED header). Pay by repeating the request with a PAYMENT-SIGNATURE header: a base64 x402 PaymentPayload of scheme iotrail-channel (a cumulative voucher over a PaymentChannels channel).",
    required: ["x402Version", "resource", "accepts"],
    properties: {
      x402Version: { const: 2 },
      error: { type: "string" },
      resource: { type: "object", required: ["url"], properties: { url: { type: "string" } } },
      accepts: {
        type: "array",
        minItems: 1,
        items: {
          type: "object",
          required: ["scheme", "network", "asset", "amount", "payTo", "maxTimeoutSeconds", "extra"],
          properties: {
            scheme: { const: "iotrail-channel" },
            network: { type: "string", pattern: "^eip155:[0-9]+$" },
            asset: address,
            amount: uint,
            payTo: address,
            maxTimeoutSeconds: { type: "integer", minimum: 1 },
            extra: { type: "object" },
          },
        },
      },
    },
  },
  Error: {
    type: "object",
    required: ["status", "message"],
    properties: { status: { enum: ["error", "unknown", "busy"] }, message: { type: "string" } },
  },
  Health: {
    type: "object",
    required: ["status"],
    properties: {
      status: { const: "ok" },
      queue: { type: "integer", description: "Admin only: messages in the ingest queue." },
      batches: { type: "object", description: "Admin only: batches by status." },
      store: { enum: ["sqlite", "postgres"], description: "Admin only: the store's engine." },
      leader: {
        type: "boolean",
        description: "Admin only: whether this process seals and anchors now (one shard of several on PostgreSQL).",
      },
      config: {
        type: "object",
        description: "Admin only: the effective configuration (secrets hidden) and where each value came from.",
        required: ["values", "sources"],
        properties: {
          values: { type: "object" },
          sources: { type: "object", additionalProperties: { type: "string" } },
        },
      },
    },
  },
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema, description: string) => ({ description, content: { "application/json": { schema } } });
const retry = { "Retry-After": { schema: { type: "integer" }, description: "Seconds to wait before retrying." } };

export interface RouteDoc {
  method: "GET" | "POST";
  /** Fastify's path syntax (`:id`). */
  path: string;
  summary: string;
  description?: string;
  parameters?: Schema[];
  requestBody?: Schema;
  responses: Record<string, Schema>;
  /** Behind the admin token when one is configured. */
  admin?: boolean;
}

const pathParam = (name: string, schema: Schema, description: string) => ({
  name,
  in: "path",
  required: true,
  schema,
  description,
});
const queryParam = (name: string, schema: Schema, description: string, required = false) => ({
  name,
  in: "query",
  required,
  schema,
  description,
});
const limited = { "429": { ...json(ref("Error"), "Too many requests from this client address"), headers: retry } };
/** With sales configured (`sales`): the price, until a payment covers it. */
const sold = {
  "402": json(ref("PaymentRequired"), "Sales configured: the price and the terms; the bundle is sold for a voucher"),
};
/** With sales configured, whole batches are for the admin only. */
const notForSale = { "403": json(ref("Error"), "Sales configured: whole batches need the admin token") };

export const API_ROUTES: readonly RouteDoc[] = [
  {
    method: "POST",
    path: "/v1/readings",
    summary: "Ingest signed readings",
    description:
      "One message (a JSON object, or a version-2 CBOR map), several (a JSON or CBOR array), or one per line (application/x-ndjson) or item (application/cbor-seq). Each message is checked (the reply codes of IngestReply, in order) and acknowledged only once stored durably.",
    requestBody: {
      required: true,
      content: {
        "application/json": {
          schema: { oneOf: [ref("IngestMessage"), { type: "array", items: ref("IngestMessage") }] },
        },
        "application/x-ndjson": { schema: { type: "string", description: "One IngestMessage per line." } },
        "application/cbor": {
          schema: {
            type: "string",
            contentMediaType: "application/cbor",
            description: "One version-2 message (a CBOR map, schemas/ingest-message.v2.cddl), or a CBOR array of them.",
          },
        },
        "application/cbor-seq": {
          schema: {
            type: "string",
            contentMediaType: "application/cbor-seq",
            description: "Version-2 messages one after another (RFC 8742).",
          },
        },
      },
    },
    responses: {
      "202": json(
        { oneOf: [ref("IngestReply"), ref("IngestReplies")] },
        "Stored (one message), or one reply per message",
      ),
      "200": json(ref("IngestReply"), "A duplicate of a stored reading (one message)"),
      "400": json(ref("IngestReply"), "E_MALFORMED or E_SCHEMA (one message), or a body that is not JSON"),
      "403": json(ref("IngestReply"), "E_UNKNOWN_DEVICE or E_DEVICE_INACTIVE (one message)"),
      "409": json(ref("IngestReply"), "E_SEQUENCE (one message)"),
      "413": json(ref("IngestReply"), "E_TOO_LARGE: the body or the message is too large"),
      "415": json(
        ref("IngestReply"),
        "Not application/json, application/x-ndjson, application/cbor or application/cbor-seq",
      ),
      "422": json(ref("IngestReply"), "E_DOMAIN, E_SIGNATURE or E_TIMESTAMP (one message)"),
      "429": { ...json(ref("IngestReply"), "busy: the ingest queue is full; nothing was stored"), headers: retry },
      "503": { ...json(ref("IngestReply"), "busy: the batcher failed; nothing was stored"), headers: retry },
    },
  },
  {
    method: "GET",
    path: "/v1/readings/:device/:sequence/bundle",
    summary: "The proof bundle of one reading",
    parameters: [pathParam("device", address, "The device key"), pathParam("sequence", uint, "The reading's sequence")],
    responses: {
      "200": { ...json(ref("ProofBundle"), "The bundle (header x-iotrail-batch-status: anchored or final)") },
      "202": json({ oneOf: [ref("Pending"), ref("Batch")] }, "Not sealed or not anchored yet"),
      "400": json(ref("Error"), "A malformed device or sequence"),
      "404": json(ref("Error"), "No such reading"),
      "409": json(ref("Batch"), "Its batch failed"),
      ...sold,
      ...limited,
      "503": { ...json(ref("Error"), "Too many bundle requests are waiting"), headers: retry },
    },
  },
  {
    method: "GET",
    path: "/v1/devices/:device/bundle",
    summary: "One proof bundle of a device's readings from..to",
    description:
      "Served only when every sequence of the range is stored and anchored: the bundle claims the range, and a verifier checks it is complete.",
    parameters: [
      pathParam("device", address, "The device key"),
      queryParam("from", uint, "First sequence", true),
      queryParam("to", uint, "Last sequence (at most 10,000 in the range)", true),
    ],
    responses: {
      "200": json(ref("ProofBundle"), "The bundle (header x-iotrail-batch-status: final when all its batches are)"),
      "202": json(
        { oneOf: [ref("Pending"), ref("Batch")] },
        "A reading of the range is not sealed or not anchored yet",
      ),
      "400": json(ref("Error"), "A malformed device or range"),
      "404": json(ref("Incomplete"), "No reading of the range is stored"),
      "409": json({ oneOf: [ref("Incomplete"), ref("Batch")] }, "Readings of the range are missing, or a batch failed"),
      ...sold,
      ...limited,
      "503": { ...json(ref("Error"), "Too many bundle requests are waiting"), headers: retry },
    },
  },
  {
    method: "GET",
    path: "/v1/batches",
    summary: "Batches, newest first (the operator view's list)",
    parameters: [
      queryParam("status", { enum: ["pending", "anchored", "final", "failed"] }, "Only batches in this status"),
      queryParam("before", { type: "integer", minimum: 0 }, "Only batches with a smaller id (paging)"),
      queryParam("limit", { type: "integer", minimum: 1, maximum: 500 }, "Batches per page (default 100)"),
    ],
    responses: {
      "200": json(ref("BatchList"), "A page of batches"),
      "400": json(ref("Error"), "A malformed parameter"),
      ...limited,
    },
  },
  {
    method: "GET",
    path: "/v1/operator/ingest",
    summary: "Ingest outcomes per minute over the last hour",
    admin: true,
    responses: {
      "200": json(ref("IngestHistory"), "The last hour"),
      "401": json(ref("Error"), "The admin token is missing or wrong"),
      ...limited,
    },
  },
  {
    method: "GET",
    path: "/v1/operator/devices",
    summary: "Devices seen since the start, most recent first, with their cached registry state",
    admin: true,
    parameters: [
      queryParam("offset", { type: "integer", minimum: 0 }, "First device of the page (default 0)"),
      queryParam("limit", { type: "integer", minimum: 1, maximum: 500 }, "Devices per page (default 100)"),
    ],
    responses: {
      "200": json(ref("DevicesSeen"), "A page of devices"),
      "400": json(ref("Error"), "A malformed parameter"),
      "401": json(ref("Error"), "The admin token is missing or wrong"),
      ...limited,
    },
  },
  {
    method: "GET",
    path: "/v1/batches/:id",
    summary: "A batch's status and anchor",
    parameters: [pathParam("id", { type: "integer", minimum: 1 }, "The batch's local id")],
    responses: { "200": json(ref("Batch"), "The batch"), "404": json(ref("Error"), "No such batch"), ...limited },
  },
  {
    method: "GET",
    path: "/v1/batches/:id/bundles",
    summary: "The proof bundles of a batch, one per device, by pages",
    parameters: [
      pathParam("id", { type: "integer", minimum: 1 }, "The batch's local id"),
      queryParam("offset", { type: "integer", minimum: 0 }, "First device of the page (default 0)"),
      queryParam("limit", { type: "integer", minimum: 1, maximum: 500 }, "Devices per page (default 100)"),
    ],
    responses: {
      "200": json(ref("BatchBundles"), "A page of bundles"),
      "202": json(ref("Batch"), "Not anchored yet"),
      "400": json(ref("Error"), "A malformed offset or limit"),
      "404": json(ref("Error"), "No such batch"),
      "409": json(ref("Batch"), "The batch failed"),
      ...notForSale,
      ...limited,
      "503": { ...json(ref("Error"), "Too many bundle requests are waiting"), headers: retry },
    },
  },
  {
    method: "GET",
    path: "/v1/batches/:id/dump",
    summary: "The batch's dump: the readings its content hash commits to",
    parameters: [pathParam("id", { type: "integer", minimum: 1 }, "The batch's local id")],
    responses: {
      "200": json(
        { type: "object", description: "iotrail.batch-dump version 1 (its keccak-256 is the anchored contentHash)" },
        "The dump",
      ),
      "404": json(ref("Error"), "No such batch"),
      ...notForSale,
      ...limited,
      "503": { ...json(ref("Error"), "Too many bundle requests are waiting"), headers: retry },
    },
  },
  {
    method: "GET",
    path: "/health",
    summary: "Liveness; details for the admin",
    admin: true,
    responses: { "200": json(ref("Health"), "Up (details only with the admin token, when one is configured)") },
  },
  {
    method: "GET",
    path: "/metrics",
    summary: "Prometheus metrics",
    admin: true,
    responses: {
      "200": {
        description: "Metrics in the Prometheus text format",
        content: { "text/plain": { schema: { type: "string" } } },
      },
      "401": json(ref("Error"), "The admin token is missing or wrong"),
    },
  },
  {
    method: "GET",
    path: "/",
    summary: "The verifier page (HTML): partners verify bundles in the browser, against the chain they name",
    responses: {
      "200": { description: "The page", content: { "text/html": { schema: { type: "string" } } } },
      "404": json(ref("Error"), "The page was not built (npm run build)"),
    },
  },
  {
    method: "GET",
    path: "/operator",
    summary: "The operator view (HTML): batches, ingest and devices, read-only; asks for the admin token",
    responses: {
      "200": { description: "The page", content: { "text/html": { schema: { type: "string" } } } },
      "404": json(ref("Error"), "The page was not built (npm run build)"),
    },
  },
  {
    method: "GET",
    path: "/assets/:file",
    summary: "The verifier page's scripts and styles",
    parameters: [
      pathParam("file", { type: "string", pattern: "^[A-Za-z0-9_][A-Za-z0-9_.-]*$" }, "A file of the built page"),
    ],
    responses: {
      "200": {
        description: "The file",
        content: { "text/javascript": { schema: { type: "string" } }, "text/css": { schema: { type: "string" } } },
      },
      "404": json(ref("Error"), "No such file"),
    },
  },
  {
    method: "GET",
    path: "/.well-known/x402",
    summary: "What is for sale (x402 discovery)",
    description:
      "With sales configured: the resources for sale, each scheme's offer per reading, the bazaar extension's description of their input, and the devices with anchored readings (at most 1,000; `truncated` says if more). Advertising, not trust: verify what you buy.",
    responses: {
      "200": json({ type: "object" }, "The discovery document"),
      "404": json(ref("Error"), "Nothing is sold here"),
    },
  },
  {
    method: "GET",
    path: "/openapi.json",
    summary: "This description",
    responses: { "200": json({ type: "object" }, "The OpenAPI 3.1 document") },
  },
];

/** The OpenAPI 3.1 document of {@link API_ROUTES}. */
export function openApiDocument(): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  for (const route of API_ROUTES) {
    const path = route.path.replace(/:([a-zA-Z]+)/g, "{$1}");
    paths[path] ??= {};
    paths[path]![route.method.toLowerCase()] = {
      summary: route.summary,
      ...(route.description === undefined ? {} : { description: route.description }),
      ...(route.parameters === undefined ? {} : { parameters: route.parameters }),
      ...(route.requestBody === undefined ? {} : { requestBody: route.requestBody }),
      ...(route.admin === true ? { security: [{}, { admin: [] }] } : {}),
      responses: route.responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "iotrail batcher API",
      version: API_VERSION,
      description:
        "Ingest of device-signed readings, and proof bundles of anchored readings. Readings also arrive over MQTT: see the README's wire format section.",
    },
    paths,
    components: {
      schemas: API_SCHEMAS,
      securitySchemes: { admin: { type: "http", scheme: "bearer", description: "BATCHER_ADMIN_TOKEN" } },
    },
  };
}
