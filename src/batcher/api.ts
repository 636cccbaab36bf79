/**
 * The batcher's HTTP API (fastify):
 *
 * | route | answer |
 * | --- | --- |
 * | `POST /v1/readings` | one message (JSON object), several (JSON array or NDJSON); 202 once stored |
 * | `GET /v1/readings/:device/:sequence/bundle` | the reading's proof bundle (for `iotrail verify`) |
 * | `GET /v1/batches/:id` | a batch's status and anchor |
 * | `GET /v1/batches/:id/bundles` | one proof bundle per device of the batch |
 * | `GET /v1/batches/:id/dump` | the batch's dump (what its on-chain content hash commits to) |
 * | `GET /health`, `GET /metrics` | liveness and Prometheus metrics |
 *
 * Bodies over `maxBodyBytes` are refused from their Content-Length, or as soon as a streamed body passes
 * the limit, before they are buffered. A full queue answers 429, a failure of the batcher 503, both with
 * Retry-After.
 */
import Fastify from "fastify";
import type { FastifyInstance, FastifyReply } from "fastify";
import { isAddress } from "ethers";
import type { Logger } from "pino";
import { buildProofBundle } from "../proof";
import type { ProofBundle } from "../proof";
import type { ReadingBatch } from "../telemetry";
import type { BatcherMetrics } from "./metrics";
import type { IngestOutcome, IngestPipeline } from "./pipeline";
import type { BatchRecord, ReadingStore } from "./store";
import type { IngestErrorCode } from "./validate";

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
  /** Health details of the other components. */
  health: () => Record<string, unknown>;
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

const NEWLINE = 0x0a;

/** Splits an NDJSON body into its non-empty lines, without decoding them. */
function lines(body: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= body.length; i++) {
    if (i === body.length || body[i] === NEWLINE) {
      const line = body.subarray(start, i);
      if (line.some((byte) => byte !== 0x20 && byte !== 0x0d && byte !== 0x09)) out.push(line);
      start = i + 1;
    }
  }
  return out;
}

function firstByte(body: Buffer): number | undefined {
  for (const byte of body) if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return byte;
  return undefined;
}

export function batchView(batch: BatchRecord) {
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
          },
        }),
    ...(batch.note === undefined ? {} : { note: batch.note }),
  };
}

export async function createApi(options: ApiOptions): Promise<FastifyInstance> {
  const { pipeline, store, metrics } = options;
  // Fastify's own request logging stays off: the pipeline counts and logs what matters.
  const app: FastifyInstance = Fastify({ bodyLimit: options.maxBodyBytes });
  const cache = new Map<number, Promise<ReadingBatch>>();
  const loadBatch = (localId: number): Promise<ReadingBatch> => {
    let batch = cache.get(localId);
    if (batch === undefined) {
      batch = store.loadBatch(localId);
      cache.set(localId, batch);
      batch.catch(() => cache.delete(localId));
      if (cache.size > 8) cache.delete(cache.keys().next().value!);
    }
    return batch;
  };

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(["application/json", "application/x-ndjson"], { parseAs: "buffer" }, (_req, body, done) =>
    done(null, body),
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

  const busy = (reply: FastifyReply, outcome: Extract<IngestOutcome, { status: "busy" }>) =>
    reply
      .code(outcome.reason === "queue-full" ? 429 : 503)
      .header("retry-after", String(outcome.retryAfterSeconds))
      .send(outcome);

  app.post("/v1/readings", async (request, reply) => {
    const body = request.body as Buffer | undefined;
    if (body === undefined || body.length === 0) {
      return reply.code(400).send({ status: "rejected", code: "E_MALFORMED", message: "empty body" });
    }
    const ndjson = (request.headers["content-type"] ?? "").startsWith("application/x-ndjson");
    let messages: Uint8Array[];
    let many = ndjson;
    if (ndjson) messages = lines(body);
    else if (firstByte(body) === 0x5b) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString("utf8"));
      } catch {
        return reply.code(400).send({ status: "rejected", code: "E_MALFORMED", message: "the body is not valid JSON" });
      }
      messages = (parsed as unknown[]).map((item) => Buffer.from(JSON.stringify(item)));
      many = true;
    } else messages = [body];
    if (messages.length === 0) {
      return reply.code(400).send({ status: "rejected", code: "E_MALFORMED", message: "no messages in the body" });
    }
    const outcomes = await pipeline.submit(messages, "http");
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

  const bundleOf = async (batch: BatchRecord, device: string, indices: number[]): Promise<ProofBundle> => {
    const readingBatch = await loadBatch(batch.localId);
    const anchor = batch.anchor!;
    return buildProofBundle({
      chainId: options.chainId,
      anchor: options.anchor,
      registry: options.registry,
      sources: [
        {
          batch: readingBatch,
          anchored: {
            batchId: anchor.chainBatchId,
            root: batch.root,
            submitter: options.submitter,
            transactionHash: anchor.transactionHash,
            blockNumber: anchor.blockNumber,
            blockHash: anchor.blockHash,
            anchoredAt: anchor.anchoredAt,
          },
          indices,
        },
      ],
    });
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
      const reading = store.getReading(device, BigInt(sequence));
      if (reading === undefined) return reply.code(404).send({ status: "unknown", message: "no such reading" });
      if (reading.batchLocalId === undefined) {
        return reply.code(202).send({ status: "unsealed", final: false, message: "the reading is not in a batch yet" });
      }
      const batch = store.getBatch(reading.batchLocalId)!;
      if (batch.status === "pending") return reply.code(202).send({ ...batchView(batch), message: "not anchored yet" });
      if (batch.status === "failed") return reply.code(409).send(batchView(batch));
      reply.header("x-iotrail-batch-status", batch.status);
      return reply.send(await bundleOf(batch, device, [reading.leafIndex!]));
    },
  );

  const batchParam = (id: string) => (/^\d{1,15}$/.test(id) ? store.getBatch(Number(id)) : undefined);

  app.get<{ Params: { id: string } }>("/v1/batches/:id", async (request, reply) => {
    const batch = batchParam(request.params.id);
    if (batch === undefined) return reply.code(404).send({ status: "unknown", message: "no such batch" });
    return batchView(batch);
  });

  app.get<{ Params: { id: string } }>("/v1/batches/:id/bundles", async (request, reply) => {
    const batch = batchParam(request.params.id);
    if (batch === undefined) return reply.code(404).send({ status: "unknown", message: "no such batch" });
    if (batch.anchor === undefined) return reply.code(batch.status === "failed" ? 409 : 202).send(batchView(batch));
    const readingBatch = await loadBatch(batch.localId);
    const byDevice = new Map<string, number[]>();
    readingBatch.readings.forEach(({ reading }, index) => {
      const list = byDevice.get(reading.device) ?? [];
      list.push(index);
      byDevice.set(reading.device, list);
    });
    const bundles = [];
    for (const [device, indices] of byDevice) bundles.push(await bundleOf(batch, device, indices));
    return { ...batchView(batch), bundles };
  });

  app.get<{ Params: { id: string } }>("/v1/batches/:id/dump", async (request, reply) => {
    const batch = batchParam(request.params.id);
    if (batch === undefined) return reply.code(404).send({ status: "unknown", message: "no such batch" });
    return reply.header("content-type", "application/json").send((await loadBatch(batch.localId)).dumpJson());
  });

  app.get("/health", async () => ({ status: "ok", queue: pipeline.queued, ...options.health() }));

  app.get("/metrics", async (_request, reply) => {
    metrics.batches.reset();
    for (const [status, count] of Object.entries(store.batchCounts())) metrics.batches.set({ status }, count);
    metrics.unsealed.set(store.unsealed().count);
    return reply.header("content-type", metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  return app;
}
