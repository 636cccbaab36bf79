/**
 * The batcher's HTTP API (fastify):
 *
 * | route | answer |
 * | --- | --- |
 * | `POST /v1/readings` | one message (JSON object, or CBOR map as `application/cbor`), several (JSON array, NDJSON, a CBOR array, `application/cbor-seq`); 202 once stored |
 * | `GET /v1/readings/:device/:sequence/bundle` | the reading's proof bundle (for `iotrail verify`) |
 * | `GET /v1/devices/:device/bundle?from=&to=` | one bundle of the device's readings from..to (sequences) |
 * | `GET /v1/batches/:id` | a batch's status and anchor |
 * | `GET /v1/batches/:id/bundles` | one proof bundle per device of the batch |
 * | `GET /v1/batches/:id/dump` | the batch's dump (what its on-chain content hash commits to) |
 * | `GET /health`, `GET /metrics` | liveness and Prometheus metrics |
 * | `GET /.well-known/x402` | with a seller: what is for sale (x402 discovery, the bazaar extension's form) |
 * | `GET /openapi.json` | the OpenAPI 3.1 description of these routes (`./openapi.ts`) |
 * | `GET /`, `GET /assets/:file` | the verifier page (`web/`, built into `dist/web`): static files |
 *
 * With a `seller` (the config's `sales`), reading and range bundles are sold over HTTP 402 (x402's wire, scheme
 * `iotrail-channel`: see `src/sales/`): without a payment the answer is 402 with the price, and the
 * bundle goes out only after the voucher is on disk. Batch bundles and dumps then need the admin token.
 *
 * Bodies over `maxBodyBytes` are refused from their Content-Length, or as soon as a streamed body passes
 * the limit, before they are buffered. A full queue answers 429, a failure of the batcher 503, both with
 * Retry-After.
 */
import Fastify from "fastify";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isAddress } from "ethers";
import type { Logger } from "pino";
import { timingSafeEqual } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { extname, join } from "node:path";
import type { BundleJob } from "./bundles";
import type { BatcherMetrics } from "../support";
import type { IngestOutcome, IngestPipeline } from "../ingest";
import { BATCH_STATUSES } from "../storage";
import type { BatchRecord, BatchStatus, CatalogEntry, ReadingStore } from "../storage";
import { openApiDocument } from "./openapi";
import { RateLimiter } from "../support";
import type { DeviceState, IngestErrorCode } from "../checks";
import { cborMessages, firstNonSpace, jsonArrayItems, ndjsonLines } from "../ingest";
import {
  PAYMENT_REQUIRED_HEADER,
  PAYMENT_RESPONSE_HEADER,
  PAYMENT_SIGNATURE_HEADER,
  paymentRequiredHeader,
  paymentResponseHeader,
} from "../../sales";
import { DISCOVERY_PATH, discoveryDocument } from "../../sales";
import type { DataSeller } from "../../sales";

export interface ApiOptions {
  pipeline: IngestPipeline;
  store: ReadingStore;
  metrics: BatcherMetrics;
  chainId: bigint;
  anchor: string;
  registry: string;
  /** The anchoring account (the submitter of every batch this service anchors). */
  submitter: string;
  maxBodyBytes: number;
  /** The ingest queue's size: a body with more messages can never be taken (413). */
  queueLimit: number;
  /** Bearer token for /metrics and /health details (`BATCHER_ADMIN_TOKEN`); open to all when absent. */
  adminToken?: string;
  /** GET requests per second per client address, with a burst of 10 seconds' worth (default 20). */
  getsPerSecond?: number;
  /** Builds bundles and dumps (off the ingest thread: see `BundleServer`). */
  bundles: (job: BundleJob) => Promise<string>;
  /** The chain head the anchorer saw last (confirmations in batch views). */
  chainHead?: () => number | undefined;
  /** The registry state the batcher has cached for a device key (the operator view). */
  deviceState?: (device: string) => DeviceState;
  /** Sells reading and range bundles over HTTP 402 (absent: they are free). */
  seller?: DataSeller;
  /** Health details of the other components. */
  health: () => Promise<Record<string, unknown>>;
  logger?: Logger;
}

const HTTP_STATUS: Record<IngestErrorCode, number> = {
  E_TOO_LARGE: 413,
  E_MALFORMED: 400,
  E_SCHEMA: 400,
  E_DOMAIN: 422,
  E_SIGNATURE: 422,
  E_UNKNOWN_DEVICE: 403,
  E_DEVICE_INACTIVE: 403,
  E_SEQUENCE: 409,
  E_TIMESTAMP: 422,
};

/** The most devices the discovery document lists. */
const DISCOVERY_DEVICES = 1_000;
const DEFAULT_PAGE = 100;
const MAX_PAGE = 500;
/** The most readings one range bundle holds (a bigger range is fetched in parts). */
const MAX_RANGE = 10_000;

/** A non-negative integer query parameter, `fallback` when absent, undefined when malformed or above `max`. */
function pageParam(value: string | undefined, fallback: number, max: number): number | undefined {
  if (value === undefined) return fallback;
  if (!/^\d{1,15}$/.test(value)) return undefined;
  const n = Number(value);
  return n <= max ? n : undefined;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A batch as the API shows it; with the chain head known, an anchored batch's confirmations too. */
export function batchView(batch: BatchRecord, head?: number) {
  return {
    localId: batch.localId,
    status: batch.status,
    final: batch.status === "final",
    root: batch.root,
    readingCount: batch.readingCount,
    fromTimestamp: batch.fromTimestamp.toString(),
    toTimestamp: batch.toTimestamp.toString(),
    contentHash: batch.contentHash,
    sealedAt: new Date(batch.sealedAt).toISOString(),
    ...(batch.anchor === undefined
      ? {}
      : {
          anchor: {
            batchId: batch.anchor.chainBatchId.toString(),
            transactionHash: batch.anchor.transactionHash,
            blockNumber: batch.anchor.blockNumber,
            blockHash: batch.anchor.blockHash,
            anchoredAt: batch.anchor.anchoredAt.toString(),
            ...(head === undefined ? {} : { confirmations: Math.max(0, head - batch.anchor.blockNumber + 1) }),
          },
        }),
    ...(batch.note === undefined ? {} : { note: batch.note }),
  };
}

/** The built verifier page: dist/web beside the compiled library, or in the checkout when run from sources. */
function webRoot(): string | undefined {
  // Compiled: dist/src/batcher/serving -> dist/web. From the sources: src/batcher/serving -> dist/web (web/
  // holds the sources).
  const dir = __filename.endsWith(".ts")
    ? join(__dirname, "..", "..", "..", "dist", "web")
    : join(__dirname, "..", "..", "..", "web");
  return existsSync(join(dir, "index.html")) ? dir : undefined;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".wasm": "application/wasm",
};

/** The page talks to the chain's RPC endpoint the partner names (any origin), and to nothing else. */
const PAGE_POLICY =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src *; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** The routes each API serves (method and Fastify path), as Fastify registered them. */
const ROUTES = new WeakMap<FastifyInstance, Array<{ method: string; url: string }>>();

/** The routes `app` serves, HEAD routes aside (the OpenAPI test compares them with `API_ROUTES`). */
export function routesOf(app: FastifyInstance): Array<{ method: string; url: string }> {
  return [...(ROUTES.get(app) ?? [])];
}

export async function createApi(options: ApiOptions): Promise<FastifyInstance> {
  const { pipeline, store, metrics } = options;
  // Fastify's own request logging stays off: the pipeline counts and logs what matters.
  const app: FastifyInstance = Fastify({ bodyLimit: options.maxBodyBytes });
  const routes: Array<{ method: string; url: string }> = [];
  ROUTES.set(app, routes);
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) if (method !== "HEAD") routes.push({ method, url: route.url });
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ["application/json", "application/x-ndjson", "application/cbor", "application/cbor-seq"],
    { parseAs: "buffer" },
    (_req, body, done) => done(null, body),
  );
  app.setErrorHandler((error: { code?: string; statusCode?: number; message: string }, _request, reply) => {
    if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return reply.code(413).send({ status: "rejected", code: "E_TOO_LARGE", message: error.message });
    }
    if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
      return reply.code(415).send({ status: "rejected", code: "E_MALFORMED", message: error.message });
    }
    const status = error.statusCode !== undefined && error.statusCode < 500 ? error.statusCode : 500;
    if (status >= 500) options.logger?.error({ err: error }, "request failed");
    return reply.code(status).send({ status: "error", message: status >= 500 ? "internal error" : error.message });
  });

  // Per-client rate limit on the data reads: bundles and dumps cost CPU, and no anonymous client may take it
  // all. /health and /metrics are for monitoring (and behind the admin token when one is set).
  const limiter = new RateLimiter(options.getsPerSecond ?? 20, 10);
  app.addHook("onRequest", async (request, reply) => {
    if (request.method === "GET" && request.url.startsWith("/v1/") && !limiter.admit(request.ip)) {
      return reply.code(429).header("retry-after", "1").send({ status: "busy", message: "too many requests" });
    }
  });

  const busy = (reply: FastifyReply, outcome: Extract<IngestOutcome, { status: "busy" }>) =>
    reply
      .code(outcome.reason === "internal" ? 503 : 429)
      .header("retry-after", String(outcome.retryAfterSeconds))
      .send(outcome);

  app.post("/v1/readings", async (request, reply) => {
    const body = request.body as Buffer | undefined;
    if (body === undefined || body.length === 0) {
      return reply.code(400).send({ status: "rejected", code: "E_MALFORMED", message: "empty body" });
    }
    const contentType = request.headers["content-type"] ?? "";
    const ndjson = contentType.startsWith("application/x-ndjson");
    const cbor = contentType.startsWith("application/cbor");
    let messages: Uint8Array[];
    let many = ndjson;
    if (cbor) {
      // application/cbor: one version-2 message, or an array of them; application/cbor-seq: one after another
      const sequence = contentType.startsWith("application/cbor-seq");
      const items = cborMessages(body, sequence);
      if (items === undefined) {
        return reply
          .code(400)
          .send({ status: "rejected", code: "E_MALFORMED", message: "the body is not whole CBOR items" });
      }
      messages = items;
      many = sequence || body[0]! >> 5 === 4;
    } else if (ndjson) messages = ndjsonLines(body);
    else if (firstNonSpace(body) === 0x5b) {
      const items = jsonArrayItems(body);
      if (items === undefined) {
        return reply
          .code(400)
          .send({ status: "rejected", code: "E_MALFORMED", message: "the body is not one JSON array of messages" });
      }
      messages = items;
      many = true;
    } else messages = [body];
    if (messages.length === 0) {
      return reply.code(400).send({ status: "rejected", code: "E_MALFORMED", message: "no messages in the body" });
    }
    if (messages.length > options.queueLimit) {
      // Retrying can never help: the body holds more messages than the whole queue.
      return reply.code(413).send({
        status: "rejected",
        code: "E_TOO_LARGE",
        message: `the body holds ${messages.length} messages; at most ${options.queueLimit} fit the ingest queue`,
      });
    }
    const outcomes = await pipeline.submit(messages, "http", request.ip);
    if (!many) {
      const outcome = outcomes[0]!;
      if (outcome.status === "busy") return busy(reply, outcome);
      if (outcome.status === "rejected") return reply.code(HTTP_STATUS[outcome.code]).send(outcome);
      return reply.code(outcome.status === "accepted" ? 202 : 200).send(outcome);
    }
    const first = outcomes[0]!;
    if (outcomes.every((outcome) => outcome.status === "busy") && first.status === "busy") return busy(reply, first);
    return reply.code(202).send({ results: outcomes });
  });

  /** Runs a bundle job (off the ingest thread); a full worker queue answers 503 and yields undefined. */
  const job = async (reply: FastifyReply, bundleJob: BundleJob): Promise<string | undefined> => {
    try {
      return await options.bundles(bundleJob);
    } catch (error) {
      if ((error as { code?: string }).code !== "BUSY") throw error;
      void reply
        .code(503)
        .header("retry-after", "1")
        .send({ status: "busy", message: (error as Error).message });
      return undefined;
    }
  };
  const built = async (reply: FastifyReply, bundleJob: BundleJob) => {
    const text = await job(reply, bundleJob);
    return text === undefined ? reply : reply.header("content-type", "application/json").send(text);
  };

  const paymentRequired = (reply: FastifyReply, required: unknown) =>
    reply
      .code(402)
      .header(PAYMENT_REQUIRED_HEADER, paymentRequiredHeader(required as Parameters<typeof paymentRequiredHeader>[0]))
      .send(required);

  /**
   * A bundle of `readings` readings: free without a seller; with one, only for a payment that covers it,
   * recorded on disk after the bundle was built and before it goes out (nothing is charged for a bundle that
   * could not be built).
   */
  const sold = async (request: FastifyRequest, reply: FastifyReply, readings: number, bundleJob: BundleJob) => {
    const seller = options.seller;
    if (seller === undefined) return built(reply, bundleJob);
    const url = `${request.protocol}://${request.host}${request.url}`;
    const header = request.headers[PAYMENT_SIGNATURE_HEADER];
    const authorization = await seller.authorize(typeof header === "string" ? header : undefined, url, readings);
    if (authorization.status === "required") return paymentRequired(reply, authorization.paymentRequired);
    const text = await job(reply, bundleJob);
    if (text === undefined) return reply;
    const settled = await seller.settle(authorization.sale, url, readings);
    if (settled.status === "required") return paymentRequired(reply, settled.paymentRequired);
    const response = await seller.receipted(settled.response, url, text);
    return reply
      .header(PAYMENT_RESPONSE_HEADER, paymentResponseHeader(response))
      .header("content-type", "application/json")
      .send(text);
  };

  app.get<{ Params: { device: string; sequence: string } }>(
    "/v1/readings/:device/:sequence/bundle",
    async (request, reply) => {
      const { device, sequence } = request.params;
      if (!isAddress(device) || !/^\d{1,20}$/.test(sequence)) {
        return reply
          .code(400)
          .send({ status: "error", message: "expected /v1/readings/<device address>/<sequence>/bundle" });
      }
      const reading = await store.getReading(device, BigInt(sequence));
      if (reading === undefined) return reply.code(404).send({ status: "unknown", message: "no such reading" });
      if (reading.batchLocalId === undefined) {
        return reply.code(202).send({ status: "unsealed", final: false, message: "the reading is not in a batch yet" });
      }
      const batch = (await store.getBatch(reading.batchLocalId))!;
      if (batch.status === "pending") return reply.code(202).send({ ...batchView(batch), message: "not anchored yet" });
      if (batch.status === "failed") return reply.code(409).send(batchView(batch));
      reply.header("x-iotrail-batch-status", batch.status);
      return sold(request, reply, 1, { kind: "bundle", localId: batch.localId, device, index: reading.leafIndex! });
    },
  );

  app.get<{ Params: { device: string }; Querystring: { from?: string; to?: string } }>(
    "/v1/devices/:device/bundle",
    async (request, reply) => {
      const { device } = request.params;
      const { from, to } = request.query;
      if (!isAddress(device) || !/^\d{1,20}$/.test(from ?? "") || !/^\d{1,20}$/.test(to ?? "")) {
        return reply.code(400).send({
          status: "error",
          message: "expected /v1/devices/<device address>/bundle?from=<sequence>&to=<sequence>",
        });
      }
      const fromSequence = BigInt(from!);
      const toSequence = BigInt(to!);
      if (toSequence < fromSequence || toSequence - fromSequence >= BigInt(MAX_RANGE)) {
        return reply
          .code(400)
          .send({ status: "error", message: `expected from <= to, with at most ${MAX_RANGE} sequences in the range` });
      }
      const placements = await store.placements(device, fromSequence, toSequence, MAX_RANGE);
      const expected = Number(toSequence - fromSequence) + 1;
      if (placements.length < expected) {
        // A bundle that claims the range without all of it would fail completeness: say what is missing.
        const have = new Set(placements.map((p) => p.sequence));
        const missing: string[] = [];
        for (let s = fromSequence; s <= toSequence && missing.length < 20; s++)
          if (!have.has(s)) missing.push(s.toString());
        return reply.code(placements.length === 0 ? 404 : 409).send({
          status: placements.length === 0 ? "unknown" : "incomplete",
          missingCount: expected - placements.length,
          missing,
          message: `the batcher holds ${placements.length} of the ${expected} readings of ${fromSequence}..${toSequence}`,
        });
      }
      const bySource = new Map<number, number[]>();
      for (const placement of placements) {
        if (placement.batchLocalId === undefined) {
          return reply
            .code(202)
            .send({ status: "unsealed", final: false, message: `reading ${placement.sequence} is not in a batch yet` });
        }
        const list = bySource.get(placement.batchLocalId) ?? [];
        list.push(placement.leafIndex!);
        bySource.set(placement.batchLocalId, list);
      }
      const batches: BatchRecord[] = [];
      for (const id of bySource.keys()) batches.push((await store.getBatch(id))!);
      const failed = batches.find((batch) => batch.status === "failed");
      if (failed !== undefined) return reply.code(409).send(batchView(failed));
      const waiting = batches.find((batch) => batch.anchor === undefined);
      if (waiting !== undefined) return reply.code(202).send({ ...batchView(waiting), message: "not anchored yet" });
      reply.header("x-iotrail-batch-status", batches.every((batch) => batch.status === "final") ? "final" : "anchored");
      return sold(request, reply, expected, {
        kind: "range",
        device,
        fromSequence: fromSequence.toString(),
        toSequence: toSequence.toString(),
        sources: [...bySource].map(([localId, indices]) => ({ localId, indices })),
      });
    },
  );

  /** Whole batches are not for sale: with a seller, only the admin reads them. */
  const unsold = (authorization: string | undefined) =>
    options.seller === undefined ||
    (options.adminToken !== undefined && safeEqual(authorization ?? "", `Bearer ${options.adminToken}`));
  const forSale = (reply: FastifyReply) =>
    reply.code(403).send({
      status: "error",
      message: "readings are sold per device and range here: GET /v1/devices/<device>/bundle?from=&to= (HTTP 402)",
    });

  /** x402 discovery: the catalog is read at most every 30 s (a GROUP BY over the readings), 1,000 devices. */
  let catalog: { at: number; devices: CatalogEntry[] } | undefined;
  app.get(DISCOVERY_PATH, async (request, reply) => {
    const seller = options.seller;
    if (seller === undefined) return reply.code(404).send({ status: "error", message: "nothing is sold here" });
    if (catalog === undefined || Date.now() - catalog.at > 30_000) {
      catalog = { at: Date.now(), devices: await store.catalog(DISCOVERY_DEVICES + 1) };
    }
    return reply.header("cache-control", "public, max-age=30").send(
      discoveryDocument({
        baseUrl: `${request.protocol}://${request.host}`,
        seller,
        catalog: catalog.devices.slice(0, DISCOVERY_DEVICES),
        truncated: catalog.devices.length > DISCOVERY_DEVICES,
      }),
    );
  });

  const batchParam = async (id: string) => (/^\d{1,15}$/.test(id) ? store.getBatch(Number(id)) : undefined);

  app.get<{ Params: { id: string } }>("/v1/batches/:id", async (request, reply) => {
    const batch = await batchParam(request.params.id);
    if (batch === undefined) return reply.code(404).send({ status: "unknown", message: "no such batch" });
    return batchView(batch, options.chainHead?.());
  });

  app.get<{ Querystring: { status?: string; before?: string; limit?: string } }>(
    "/v1/batches",
    async (request, reply) => {
      const { status } = request.query;
      const before = pageParam(request.query.before, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
      const limit = pageParam(request.query.limit, DEFAULT_PAGE, MAX_PAGE);
      if (
        (status !== undefined && !(BATCH_STATUSES as readonly string[]).includes(status)) ||
        before === undefined ||
        !limit
      ) {
        return reply.code(400).send({
          status: "error",
          message: `expected status in ${BATCH_STATUSES.join(", ")}, before >= 0 and 1 <= limit <= ${MAX_PAGE}`,
        });
      }
      const head = options.chainHead?.();
      const batches = await store.listBatches({
        ...(status === undefined ? {} : { status: status as BatchStatus }),
        before,
        limit,
      });
      const last = batches.at(-1);
      const next =
        batches.length === limit && last !== undefined
          ? `/v1/batches?${new URLSearchParams({ ...(status === undefined ? {} : { status }), before: String(last.localId), limit: String(limit) })}`
          : undefined;
      return {
        counts: await store.batchCounts(),
        batches: batches.map((batch) => batchView(batch, head)),
        ...(next === undefined ? {} : { next }),
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { offset?: string; limit?: string } }>(
    "/v1/batches/:id/bundles",
    async (request, reply) => {
      if (!unsold(request.headers.authorization)) return forSale(reply);
      const batch = await batchParam(request.params.id);
      if (batch === undefined) return reply.code(404).send({ status: "unknown", message: "no such batch" });
      if (batch.anchor === undefined) return reply.code(batch.status === "failed" ? 409 : 202).send(batchView(batch));
      const offset = pageParam(request.query.offset, 0, Number.MAX_SAFE_INTEGER);
      const limit = pageParam(request.query.limit, DEFAULT_PAGE, MAX_PAGE);
      if (offset === undefined || limit === undefined || limit === 0) {
        return reply.code(400).send({ status: "error", message: `expected offset >= 0 and 1 <= limit <= ${MAX_PAGE}` });
      }
      const text = await job(reply, { kind: "bundles", localId: batch.localId, offset, limit });
      if (text === undefined) return reply;
      const page = JSON.parse(text) as { devices: number; offset: number; limit: number; bundles: unknown[] };
      const next =
        offset + limit < page.devices
          ? `/v1/batches/${batch.localId}/bundles?offset=${offset + limit}&limit=${limit}`
          : undefined;
      return { ...batchView(batch), ...page, ...(next === undefined ? {} : { next }) };
    },
  );

  app.get<{ Params: { id: string } }>("/v1/batches/:id/dump", async (request, reply) => {
    if (!unsold(request.headers.authorization)) return forSale(reply);
    const batch = await batchParam(request.params.id);
    if (batch === undefined) return reply.code(404).send({ status: "unknown", message: "no such batch" });
    return built(reply, { kind: "dump", localId: batch.localId });
  });

  const admin = (authorization: string | undefined) =>
    options.adminToken === undefined || safeEqual(authorization ?? "", `Bearer ${options.adminToken}`);

  const unauthorized = (reply: FastifyReply) =>
    reply.code(401).header("www-authenticate", "Bearer").send({ status: "error", message: "a token is required" });

  app.get("/v1/operator/ingest", async (request, reply) => {
    if (!admin(request.headers.authorization)) return unauthorized(reply);
    return { minutes: metrics.history.lastHour(), queue: pipeline.queued };
  });

  app.get<{ Querystring: { offset?: string; limit?: string } }>("/v1/operator/devices", async (request, reply) => {
    if (!admin(request.headers.authorization)) return unauthorized(reply);
    const offset = pageParam(request.query.offset, 0, Number.MAX_SAFE_INTEGER);
    const limit = pageParam(request.query.limit, DEFAULT_PAGE, MAX_PAGE);
    if (offset === undefined || !limit) {
      return reply.code(400).send({ status: "error", message: `expected offset >= 0 and 1 <= limit <= ${MAX_PAGE}` });
    }
    const total = metrics.activity.size;
    const devices = metrics.activity
      .list(offset, limit)
      .map((seen) => ({ ...seen, registry: options.deviceState?.(seen.device) ?? "unknown" }));
    const next = offset + limit < total ? `/v1/operator/devices?offset=${offset + limit}&limit=${limit}` : undefined;
    return { total, devices, ...(next === undefined ? {} : { next }) };
  });

  const web = webRoot();
  const page = (reply: FastifyReply, file: string) => {
    if (web === undefined) {
      return reply
        .code(404)
        .send({ status: "unknown", message: "the verifier page is not built here (npm run build)" });
    }
    const path = join(web, file);
    if (!existsSync(path)) return reply.code(404).send({ status: "unknown", message: "no such file" });
    return reply
      .header("content-type", CONTENT_TYPES[extname(file)] ?? "application/octet-stream")
      .header("content-security-policy", PAGE_POLICY)
      .header("x-content-type-options", "nosniff")
      .header("cache-control", file.endsWith(".html") ? "no-cache" : "public, max-age=31536000, immutable")
      .send(createReadStream(path));
  };
  app.get("/", async (_request, reply) => page(reply, "index.html"));
  app.get("/operator", async (_request, reply) => page(reply, "operator.html"));
  app.get<{ Params: { file: string } }>("/assets/:file", async (request, reply) =>
    /^[A-Za-z0-9_.-]+$/.test(request.params.file) && !request.params.file.startsWith(".")
      ? page(reply, join("assets", request.params.file))
      : reply.code(404).send({ status: "unknown", message: "no such file" }),
  );

  const openapi = JSON.stringify(openApiDocument());
  app.get("/openapi.json", async (_request, reply) => reply.header("content-type", "application/json").send(openapi));

  app.get("/health", async (request) =>
    admin(request.headers.authorization)
      ? { status: "ok", queue: pipeline.queued, ...(await options.health()) }
      : { status: "ok" },
  );

  app.get("/metrics", async (request, reply) => {
    if (!admin(request.headers.authorization)) return unauthorized(reply);
    metrics.batches.reset();
    for (const [status, count] of Object.entries(await store.batchCounts())) metrics.batches.set({ status }, count);
    metrics.unsealed.set((await store.unsealed()).count);
    return reply.header("content-type", metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  return app;
}
