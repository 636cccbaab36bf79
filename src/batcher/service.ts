/**
 * The batcher service: MQTT and HTTP ingest → checks → durable store → sealing → anchoring, plus the API
 * that serves proof bundles. `iotrail batcher` runs one; tests start it in-process.
 */
import { FetchRequest, JsonRpcProvider, Network, Wallet, parseUnits } from "ethers";
import type { FastifyInstance } from "fastify";
import type { AddressInfo } from "node:net";
import pino from "pino";
import type { Logger } from "pino";
import { TelemetryAnchor__factory } from "../../typechain-types";
import { telemetryDomain } from "../eip712";
import { ConfigError } from "../errors";
import { Anchorer } from "./anchorer";
import { createApi } from "./api";
import { CheckPool } from "./check-pool";
import type { BatcherConfig } from "./config";
import { BundleServer, batchCache, runBundleJob } from "./bundles";
import { RegistryDeviceDirectory } from "./directory";
import { BatcherMetrics } from "./metrics";
import { startEmbeddedBroker, subscribeExternal } from "./mqtt";
import type { MqttIngest } from "./mqtt";
import { IngestPipeline } from "./pipeline";
import { Sealer } from "./sealer";
import { SqliteReadingStore } from "./store";
import type { ReadingStore } from "./store";
import { ReadingValidator } from "./validate";

/** A provider with a request timeout and a fixed network (no start-up probing when the node is down). */
export function rpcProvider(url: string, chainId: bigint, timeoutMs: number): JsonRpcProvider {
  const request = new FetchRequest(url);
  request.timeout = timeoutMs;
  // No response cache: the anchorer asks the same question again (a nonce, a gas estimate) after the chain
  // moved, and must not get the answer from before.
  return new JsonRpcProvider(request, chainId, {
    staticNetwork: Network.from(chainId),
    batchMaxCount: 1,
    cacheTimeout: -1,
  });
}

export class BatcherService {
  private constructor(
    readonly config: BatcherConfig,
    readonly logger: Logger,
    readonly store: ReadingStore,
    readonly pipeline: IngestPipeline,
    readonly metrics: BatcherMetrics,
    readonly sealer: Sealer,
    readonly anchorer: Anchorer | undefined,
    readonly directory: RegistryDeviceDirectory,
    private readonly pool: CheckPool,
    private readonly api: FastifyInstance,
    readonly httpUrl: string,
    private readonly mqtt: MqttIngest | undefined,
    private readonly bundleServer: BundleServer | undefined,
  ) {}

  get mqttUrl(): string | undefined {
    return this.mqtt?.url;
  }

  static async start(config: BatcherConfig, params: { logger?: Logger } = {}): Promise<BatcherService> {
    const logger = params.logger ?? pino({ level: config.logLevel, base: { service: "iotrail-batcher" } });
    if (config.anchoring.enabled && config.privateKey === undefined) {
      throw new ConfigError("anchoring needs BATCHER_PRIVATE_KEY (or set anchoring.enabled to false)");
    }
    let chainId = config.chainId;
    if (chainId === undefined) {
      try {
        chainId = (await new JsonRpcProvider(config.rpcUrl).getNetwork()).chainId;
      } catch (cause) {
        throw new ConfigError(`cannot read the chain id from ${config.rpcUrl}; set chainId to start without the node`, {
          cause,
        });
      }
    }
    const provider = rpcProvider(config.rpcUrl, chainId, config.rpcTimeoutMs);
    let registry = config.registry;
    if (registry === undefined) {
      try {
        registry = await TelemetryAnchor__factory.connect(config.anchor, provider).registry();
      } catch (cause) {
        throw new ConfigError(`cannot read the registry address from the anchor at ${config.anchor}; set registry`, {
          cause,
        });
      }
    }
    const domain = telemetryDomain(chainId, config.anchor);
    const metrics = new BatcherMetrics();
    const store = new SqliteReadingStore(config.database);
    const pool = await CheckPool.start({
      domain,
      maxBytes: config.http.maxMessageBytes,
      threads: config.ingest.threads,
    });
    logger.info(
      { crypto: pool.path },
      `crypto path: secp256k1 ${pool.path.secp256k1} (batch verification: ${pool.path.batchVerify}), keccak ${pool.path.keccak}, ${pool.path.threads} check thread(s)`,
    );
    metrics.cryptoPath.set({ ...pool.path, threads: String(pool.path.threads) }, 1);
    const directory = new RegistryDeviceDirectory({ registry, provider, logger });
    directory.start(config.registryRefreshMs);
    const validator = new ReadingValidator({
      domain,
      devices: directory,
      ledger: store,
      maxBytes: config.http.maxMessageBytes,
      window: config.ingest.window,
    });
    const pipeline = new IngestPipeline({
      store,
      validator,
      pool,
      devices: directory,
      queueLimit: config.ingest.queueLimit,
      retryAfterSeconds: config.ingest.retryAfterSeconds,
      metrics,
      logger,
    });
    const sealer = new Sealer({
      store,
      maxReadings: config.sealing.maxReadings,
      maxAgeMs: config.sealing.maxAgeMs,
      logger,
    });
    sealer.start(config.sealing.intervalMs);
    let anchorer: Anchorer | undefined;
    let submitter = "0x0000000000000000000000000000000000000000";
    if (config.anchoring.enabled) {
      const wallet = new Wallet(config.privateKey!, provider);
      submitter = wallet.address;
      const publicUrl = config.publicUrl;
      anchorer = new Anchorer({
        store,
        anchor: config.anchor,
        wallet,
        provider,
        confirmations: config.anchoring.confirmations,
        maxBatchesPerTx: config.anchoring.maxBatchesPerTx,
        bumpAfterMs: config.anchoring.bumpAfterMs,
        feeBumpPercent: config.anchoring.feeBumpPercent,
        ...(config.anchoring.maxFeePerGasGwei === undefined
          ? {}
          : { maxFeePerGasCap: parseUnits(String(config.anchoring.maxFeePerGasGwei), "gwei") }),
        contentURI: (batch) => (publicUrl === undefined ? "" : `${publicUrl}/v1/batches/${batch.localId}/dump`),
        metrics,
        logger,
      });
      anchorer.start(config.anchoring.intervalMs, config.anchoring.maxBackoffMs);
    }
    const bundleContext = { chainId, anchor: config.anchor, registry, submitter };
    // An in-memory store cannot be opened by another thread: its bundles are built inline.
    const bundleServer =
      config.database === ":memory:"
        ? undefined
        : await BundleServer.start({ database: config.database, context: bundleContext });
    const inline = batchCache(store, 4);
    const api = await createApi({
      queueLimit: config.ingest.queueLimit,
      getsPerSecond: config.http.getsPerSecond,
      ...(config.http.adminToken === undefined ? {} : { adminToken: config.http.adminToken }),
      bundles: (job) => bundleServer?.run(job) ?? runBundleJob(store, bundleContext, inline, job),
      pipeline,
      store,
      metrics,
      chainId,
      anchor: config.anchor,
      registry,
      submitter,
      maxBodyBytes: config.http.maxBodyBytes,
      health: () => ({ crypto: pool.path, batches: store.batchCounts(), unsealed: store.unsealed().count }),
      logger,
    });
    await api.listen({ host: config.http.host, port: config.http.port });
    const { address, port } = api.server.address() as AddressInfo;
    const httpUrl = `http://${address}:${port}`;
    logger.info({ url: httpUrl }, "HTTP API listening");
    let mqttIngest: MqttIngest | undefined;
    if (config.mqtt.enabled) {
      mqttIngest = config.mqtt.embedded
        ? await startEmbeddedBroker({
            pipeline,
            host: config.mqtt.host,
            port: config.mqtt.port,
            topic: config.mqtt.topic,
            limits: config.mqtt,
            domain,
            directory,
            metrics,
            logger,
          })
        : await subscribeExternal({
            pipeline,
            url: config.mqtt.url,
            topic: config.mqtt.topic,
            clientId: config.mqtt.clientId,
            logger,
          });
    }
    logger.info(
      { anchor: config.anchor, registry, chainId: chainId.toString(), database: config.database },
      "batcher started",
    );
    return new BatcherService(
      config,
      logger,
      store,
      pipeline,
      metrics,
      sealer,
      anchorer,
      directory,
      pool,
      api,
      httpUrl,
      mqttIngest,
      bundleServer,
    );
  }

  /** Stops taking messages, finishes what is in flight, and closes the store. */
  async stop(): Promise<void> {
    await this.mqtt?.close();
    await this.api.close();
    await this.bundleServer?.close();
    this.directory.stop();
    await this.sealer.stop();
    await this.anchorer?.stop();
    await this.pool.close();
    this.store.close();
    this.logger.info("batcher stopped");
  }
}
