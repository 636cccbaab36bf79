/**
 * The batcher service: MQTT and HTTP ingest → checks → durable store → sealing → anchoring, plus the API
 * that serves proof bundles. `iotrail batcher` runs one; tests start it in-process.
 */
import { Contract, Wallet, ZeroAddress, getAddress, parseUnits } from "ethers";
import type { JsonRpcProvider } from "ethers";
import type { FastifyInstance } from "fastify";
import type { AddressInfo } from "node:net";
import pino from "pino";
import type { Logger } from "pino";
import { TelemetryAnchor__factory } from "../contracts";
import { telemetryDomain } from "../eip712";
import { resolveDeployment } from "../deployments";
import { ConfigError, withDeadline } from "../errors";
import { probeChainId, rpcBatchProvider, rpcProvider } from "../rpc";
import { PayeeWatcher, PaymentChannelsClient, openVoucherStore } from "../payments";
import {
  ChannelSeller,
  DataSeller,
  ExactSeller,
  ReceiptSigner,
  localExactFacilitator,
  remoteExactFacilitator,
} from "../sales";
import { Anchorer, PostgresLeader, SoleLeader, Sealer } from "./chain";
import { createApi, routesOf, BundleServer, batchCache, runBundleJob } from "./serving";
import { CheckPool, RegistryDeviceDirectory, ReadingValidator } from "./checks";
import { effectiveConfig } from "./config";
import type { BatcherConfig } from "./config";
import { loadLotIndex } from "../registry";
import { BatcherMetrics } from "./support";
import { startCoapIngest, startEmbeddedBroker, subscribeExternal, IngestPipeline } from "./ingest";
import type { CoapIngest, MqttIngest } from "./ingest";
import type { Leadership } from "./chain";
import { openStore } from "./storage";
import type { ReadingStore } from "./storage";

/** Providers with deadlines (defined with the other JSON-RPC plumbing, in `src/rpc.ts`). */
export { rpcProvider } from "../rpc";

/** The longest the start waits for the node (the chain id, the deployment's contracts, the registry). */
const MAX_START_WAIT_MS = 30_000;

/** Awaits a listener's start; a port in use becomes a {@link ConfigError} that names the field to change. */
async function listening<T>(
  start: Promise<T>,
  section: "http" | "mqtt" | "coap",
  where: { host: string; port: number },
): Promise<T> {
  try {
    return await start;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    throw new ConfigError(
      `${where.host}:${where.port} is in use: another process listens there; change ${section}.port (BATCHER_${section.toUpperCase()}_PORT)`,
      { cause: error, details: { field: `${section}.port`, port: where.port } },
    );
  }
}

/**
 * The seller of readings over HTTP 402 and the watcher that claims its vouchers (the anchoring account submits
 * the claims; the money goes to the payee).
 */
async function openSales(
  config: BatcherConfig,
  readings: ReadingStore,
  provider: JsonRpcProvider,
  chainId: bigint,
  startTimeoutMs: number,
  logger: Logger,
): Promise<{ seller: DataSeller; watcher?: PayeeWatcher; close(): Promise<void> }> {
  const sales = config.sales!;
  let recorded: ReturnType<typeof resolveDeployment> | undefined;
  const record = (missing: string) =>
    withDeadline(
      (recorded ??= resolveDeployment(provider, config.deployments)),
      startTimeoutMs,
      "reading the deployment record's contracts",
    ).catch((cause: unknown) => {
      throw new ConfigError(`no ${missing} configured, and ${(cause as Error).message}`, { cause });
    });
  const address =
    sales.paymentChannels ??
    (await record('PaymentChannels ("sales.paymentChannels")')).contracts.PaymentChannels.address;
  const exact =
    sales.exact === undefined
      ? undefined
      : await openExactSales(config, sales.exact, provider, chainId, async () => {
          const demo = (await record('EIP-3009 token ("sales.exact.asset")')).contracts.DemoToken;
          if (demo === undefined) {
            throw new ConfigError(
              'no EIP-3009 token configured ("sales.exact.asset"), and the deployment record has no DemoToken (it is deployed on development chains only)',
            );
          }
          return demo.address;
        });
  const store = await openVoucherStore(sales.vouchers);
  // One payee and token, one voucher store (N-I1): charged state lives in the store, so two sellers of one payee
  // on separate stores would each serve the same cumulative voucher. The batcher's own database (the one every
  // shard shares) binds the payee to the first store that sold for it; a seller on another store refuses.
  const storeId = await store.identity();
  const bindingKey = `sales:${chainId}:${getAddress(address)}:${sales.payee}:${sales.token}`;
  const bound = await readings.binding(bindingKey, storeId, sales.rebindVoucherStore);
  if (bound !== storeId) {
    await store.close();
    throw new ConfigError(
      `payee ${sales.payee} already sells ${sales.token === ZeroAddress ? "for ETH" : `for token ${sales.token}`} from another voucher store (id ${bound}); this one (${sales.vouchers}) is ${storeId}. ` +
        "Sellers of one payee must share one voucher store, or each seller could serve the same voucher again: " +
        'point "sales.vouchers" at the store the others use. If that store is gone for good, set "sales.rebindVoucherStore": true once (what it charged is lost).',
      { details: { payee: sales.payee, token: sales.token, bound, storeId } },
    );
  }
  if (sales.rebindVoucherStore === true)
    logger.warn({ storeId }, "the payee's sales are bound to this voucher store now");
  const channels = PaymentChannelsClient.connect({ address, runner: provider });
  const channelSeller = new ChannelSeller({
    chainId,
    channels,
    payee: sales.payee,
    token: sales.token,
    pricePerReading: sales.pricePerReading,
    store,
    expiryMarginSeconds: BigInt(sales.claimMarginSeconds),
    confirmations: sales.confirmations ?? 1,
  });
  let receipts: ReceiptSigner | undefined;
  if (sales.receipts === true) {
    receipts = new ReceiptSigner(sales.receiptKey!);
    // Receipts are the payee's word: the key must be the payee's, for every scheme.
    const payees = new Set([sales.payee, ...(sales.exact?.payTo === undefined ? [] : [sales.exact.payTo])]);
    for (const payee of payees) {
      if (getAddress(payee) !== receipts.address) {
        throw new ConfigError(
          `BATCHER_RECEIPT_KEY is the key of ${receipts.address}, but receipts are signed by the payee ${payee}: set the payee's key`,
          { details: { field: "sales.receipts" } },
        );
      }
    }
  }
  const seller = new DataSeller(channelSeller, exact?.seller, receipts);
  const watcher =
    config.privateKey === undefined
      ? undefined
      : new PayeeWatcher({
          store,
          channels: channels.connect(new Wallet(config.privateKey, provider)),
          marginSeconds: BigInt(sales.claimMarginSeconds),
          logger,
        });
  logger.info(
    {
      paymentChannels: address,
      payee: sales.payee,
      token: sales.token,
      pricePerReading: sales.pricePerReading.toString(),
      vouchers: store.engine,
      schemes: seller.schemes,
      receipts: receipts?.address ?? false,
      ...(exact === undefined ? {} : { exact: exact.shown }),
    },
    "selling readings over HTTP 402",
  );
  return {
    seller,
    ...(watcher === undefined ? {} : { watcher }),
    close: async () => {
      await watcher?.stop();
      await store.close();
    },
  };
}

const EIP3009_TOKEN_ABI = [
  "function eip712Domain() view returns (bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)",
  "function name() view returns (string)",
  "function version() view returns (string)",
  "function authorizationState(address authorizer, bytes32 nonce) view returns (bool)",
  "function balanceOf(address owner) view returns (uint256)",
];

/**
 * The `exact` seller: the configured EIP-3009 token (its EIP-712 domain read from the token itself, ERC-5267,
 * or USDC's `name()` and `version()`), and x402's facilitator in-process with the settlement key, or the
 * configured outside one.
 */
async function openExactSales(
  config: BatcherConfig,
  exact: NonNullable<NonNullable<BatcherConfig["sales"]>["exact"]>,
  provider: JsonRpcProvider,
  chainId: bigint,
  demoToken: () => Promise<string>,
): Promise<{ seller: ExactSeller; shown: Record<string, unknown> }> {
  const sales = config.sales!;
  const asset = getAddress(exact.asset ?? (sales.token !== ZeroAddress ? sales.token : await demoToken()));
  // A price is in one asset's base units: the channels' price holds for exact only if both sell in one token.
  const pricePerReading =
    exact.pricePerReading ?? (asset === getAddress(sales.token) ? sales.pricePerReading : undefined);
  if (pricePerReading === undefined) {
    throw new ConfigError(
      `"sales.exact.pricePerReading" is needed: exact sells in ${asset}, channels in ${sales.token === ZeroAddress ? "ETH" : sales.token}, and a price is in one asset's base units`,
      { details: { field: "sales.exact.pricePerReading" } },
    );
  }
  const token = new Contract(asset, EIP3009_TOKEN_ABI, provider);
  const notEip3009 = (cause: unknown) =>
    new ConfigError(
      `the token ${asset} (sales.exact.asset) does not implement EIP-3009 (authorizationState failed): x402's exact scheme needs transferWithAuthorization`,
      { cause },
    );
  await (token.getFunction("authorizationState")(ZeroAddress, `0x${"00".repeat(32)}`) as Promise<boolean>).catch(
    (cause: unknown) => {
      throw notEip3009(cause);
    },
  );
  let domain: { name: string; version: string };
  try {
    const d = (await token.getFunction("eip712Domain")()) as {
      name: string;
      version: string;
      chainId: bigint;
      verifyingContract: string;
    };
    if (d.chainId !== chainId || getAddress(d.verifyingContract) !== asset) {
      throw new ConfigError(`the token ${asset} reports an EIP-712 domain of another chain or contract`);
    }
    domain = { name: d.name, version: d.version };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const [name, version] = await Promise.all([
      token.getFunction("name")() as Promise<string>,
      token.getFunction("version")() as Promise<string>,
    ]).catch((cause: unknown) => {
      throw new ConfigError(
        `cannot read the EIP-712 domain of the token ${asset} (neither eip712Domain() nor name() and version())`,
        { cause },
      );
    });
    domain = { name, version };
  }
  const facilitator =
    exact.facilitatorUrl !== undefined
      ? remoteExactFacilitator(exact.facilitatorUrl)
      : localExactFacilitator({
          rpcUrl: config.rpcUrl,
          chainId,
          privateKey: exact.settlerKey!,
          confirmations: exact.confirmations,
          timeoutMs: Math.max(60_000, exact.maxTimeoutSeconds * 1000),
        });
  const seller = new ExactSeller({
    chainId,
    asset,
    domain,
    payTo: exact.payTo ?? sales.payee,
    pricePerReading,
    facilitator,
    maxTimeoutSeconds: exact.maxTimeoutSeconds,
    token: {
      authorizationState: (authorizer, nonce) =>
        token.getFunction("authorizationState")(authorizer, nonce) as Promise<boolean>,
      balanceOf: (owner) => token.getFunction("balanceOf")(owner) as Promise<bigint>,
    },
  });
  const settler = "settler" in facilitator ? (facilitator as { settler: string }).settler : undefined;
  return {
    seller,
    shown: {
      asset,
      domain,
      payTo: exact.payTo ?? sales.payee,
      pricePerReading: pricePerReading.toString(),
      confirmations: exact.confirmations,
      ...(settler === undefined ? { facilitator: "outside" } : { settler }),
    },
  };
}

/**
 * Issue 24 (4): a store holds final batches anchored on some chain; after a node reset and a fresh deploy at
 * the same addresses, serving them would hand out bundles that fail `root-anchored`. At start, the newest final
 * batches must be anchored on this chain, by this anchor, in the blocks recorded; otherwise the batcher refuses
 * to start and says why and what to do.
 */
async function checkFinalBatchesOnChain(
  store: ReadingStore,
  anchor: string,
  provider: JsonRpcProvider,
  chainId: bigint,
  database: string,
): Promise<void> {
  const finals = await store.listBatches({ status: "final", before: Number.MAX_SAFE_INTEGER, limit: 3 });
  const contract = TelemetryAnchor__factory.connect(anchor, provider);
  for (const batch of finals) {
    const placement = batch.anchor;
    if (placement === undefined) continue;
    const block = await provider.getBlock(placement.blockNumber);
    const record = await contract.getAnchor(batch.root).catch(() => undefined);
    const problem =
      block === null || block.hash !== placement.blockHash
        ? `block ${placement.blockNumber} of chain ${chainId} is ${block === null ? "missing" : block.hash}, not ${placement.blockHash}`
        : record === undefined || record.batchId !== placement.chainBatchId
          ? `the anchor ${anchor} has no batch ${placement.chainBatchId} with root ${batch.root}`
          : undefined;
    if (problem === undefined) continue;
    throw new ConfigError(
      `${database} holds final batch ${batch.localId}, anchored in transaction ${placement.transactionHash}, but ${problem}: ` +
        "this database was filled on another chain, a node that was reset since, or another deployment, and every " +
        'bundle it served would fail root-anchored. Start with a new database (a new "database" file), or point the ' +
        "batcher at the chain and anchor it was anchored on",
      { details: { database, localId: batch.localId, placement, anchor, chainId: chainId.toString() } },
    );
  }
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
    private readonly coap: CoapIngest | undefined,
    private readonly bundleServer: BundleServer | undefined,
    /** Whether this process seals and anchors now (one shard of several on PostgreSQL). */
    readonly leadership: Leadership,
    /** What start opened, in order: stop() closes it in reverse (the same steps as a failed start). */
    private readonly opened: ReadonlyArray<() => unknown>,
  ) {}

  private stopping: Promise<void> | undefined;

  /** The HTTP routes this service serves. */
  get routes(): Array<{ method: string; url: string }> {
    return routesOf(this.api);
  }

  get mqttUrl(): string | undefined {
    return this.mqtt?.url;
  }

  /** `coap://host:port` when CoAP ingest is enabled. */
  get coapUrl(): string | undefined {
    return this.coap?.url;
  }

  static async start(config: BatcherConfig, params: { logger?: Logger } = {}): Promise<BatcherService> {
    const logger = params.logger ?? pino({ level: config.logLevel, base: { service: "iotrail-batcher" } });
    logger.info({ config: effectiveConfig(config), sources: config.sources ?? {} }, "effective configuration");
    if (config.anchoring.enabled && config.privateKey === undefined) {
      throw new ConfigError("anchoring needs BATCHER_PRIVATE_KEY (or set anchoring.enabled to false)");
    }
    const startTimeoutMs = Math.min(config.rpcTimeoutMs, MAX_START_WAIT_MS);
    // The node is asked first, always: a node that is down or on another chain is named as such, not as
    // whatever the first contract call happens to fail on.
    let probed: bigint;
    try {
      probed = await probeChainId(config.rpcUrl, startTimeoutMs);
    } catch (cause) {
      throw new ConfigError(`${(cause as Error).message}; the batcher needs its node (rpcUrl, RPC_URL)`, { cause });
    }
    if (config.chainId !== undefined && config.chainId !== probed) {
      throw new ConfigError(
        `the node at ${config.rpcUrl} is chain ${probed}, but the configuration says chainId ${config.chainId}`,
      );
    }
    const chainId = probed;
    const provider = rpcProvider(config.rpcUrl, chainId, config.rpcTimeoutMs);
    let anchorAddress = config.anchor;
    let registry = config.registry;
    let registryBlock: number | undefined;
    if (anchorAddress === undefined) {
      const record = await withDeadline(
        resolveDeployment(provider, config.deployments),
        startTimeoutMs,
        "reading the deployment record's contracts",
      ).catch((cause: unknown) => {
        throw new ConfigError(`no anchor configured ("anchor", ANCHOR_ADDRESS), and ${(cause as Error).message}`, {
          cause,
        });
      });
      anchorAddress = record.contracts.TelemetryAnchor.address;
      if (registry === undefined) {
        registry = record.contracts.DeviceRegistry.address;
        registryBlock = record.contracts.DeviceRegistry.blockNumber;
      }
      logger.info(
        { anchor: anchorAddress, registry, chainId: record.chainId },
        "anchor and registry from the deployment record",
      );
    }
    const anchor = anchorAddress;
    if (registry === undefined) {
      try {
        registry = await withDeadline(
          TelemetryAnchor__factory.connect(anchor, provider).registry(),
          startTimeoutMs,
          "reading the anchor's registry",
        );
      } catch (cause) {
        throw new ConfigError(`cannot read the registry address from the anchor at ${anchor}; set registry`, {
          cause,
        });
      }
    }
    const domain = telemetryDomain(chainId, anchor);
    const metrics = new BatcherMetrics();
    // What was started so far, stopped in reverse order when a later step fails (a port in use, say).
    const undo: Array<() => unknown> = [];
    try {
      undo.push(() => provider.destroy()); // last but the store: the anchorer and sales use it until they stop
      const store = await openStore(config.database, { logger, exclusive: true });
      undo.push(() => store.close());
      await withDeadline(
        checkFinalBatchesOnChain(store, anchor, provider, chainId, config.database),
        startTimeoutMs,
        "checking the newest final batches on the chain",
      );
      const pool = await CheckPool.start({
        domain,
        maxBytes: config.http.maxMessageBytes,
        threads: config.ingest.threads,
      });
      undo.push(() => pool.close());
      logger.info(
        { crypto: pool.path },
        `crypto path: secp256k1 ${pool.path.secp256k1} (batch verification: ${pool.path.batchVerify}), keccak ${pool.path.keccak}, ${pool.path.threads} check thread(s)`,
      );
      metrics.cryptoPath.set({ ...pool.path, threads: String(pool.path.threads) }, 1);
      // Device lookups go out as JSON-RPC batches: a fleet of new keys costs one request per hundred reads.
      const lookups = rpcBatchProvider(config.rpcUrl, chainId, config.rpcTimeoutMs);
      undo.push(() => lookups.destroy());
      const lots = await Promise.all((config.lots ?? []).map((lot) => loadLotIndex(lot.entries, lot.id)));
      const directory = new RegistryDeviceDirectory({
        registry,
        provider: lookups,
        logger,
        lots,
        ...(registryBlock === undefined ? {} : { fromBlock: registryBlock }),
      });
      await directory.loadLots();
      directory.start(config.registryRefreshMs);
      undo.push(() => directory.stop());
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
        lookupsPerClient: config.ingest.lookupsPerClient,
        metrics,
        logger,
      });
      const sealer = new Sealer({
        store,
        maxReadings: config.sealing.maxReadings,
        maxAgeMs: config.sealing.maxAgeMs,
        logger,
      });
      let anchorer: Anchorer | undefined;
      let submitter = "0x0000000000000000000000000000000000000000";
      if (config.anchoring.enabled) {
        const wallet = new Wallet(config.privateKey!, provider);
        submitter = wallet.address;
        const publicUrl = config.publicUrl;
        anchorer = new Anchorer({
          store,
          anchor,
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
      }
      const sales =
        config.sales === undefined
          ? undefined
          : await openSales(config, store, provider, chainId, startTimeoutMs, logger);
      if (sales !== undefined) undo.push(() => sales.close());
      // The leader seals and anchors (with SQLite, this process; with PostgreSQL, the shard holding the lock).
      const leadership: Leadership =
        store.engine === "postgres"
          ? new PostgresLeader({
              connectionString: config.database,
              pollMs: config.leaderPollMs,
              shard: config.mqtt.enabled && !config.mqtt.embedded ? config.mqtt.clientId : `pid-${process.pid}`,
              logger,
            })
          : new SoleLeader();
      leadership.start(async (leader) => {
        if (leader) {
          sealer.start(config.sealing.intervalMs);
          anchorer?.start(config.anchoring.intervalMs, config.anchoring.maxBackoffMs);
          sales?.watcher?.start(config.sales!.watchIntervalMs);
          return;
        }
        await sealer.stop();
        await anchorer?.stop();
        await sales?.watcher?.stop();
      });
      undo.push(() => leadership.stop());
      const bundleContext = { chainId, anchor, registry, submitter, lots };
      // An in-memory store cannot be opened by another thread: its bundles are built inline.
      const bundleServer =
        config.database === ":memory:"
          ? undefined
          : await BundleServer.start({ database: config.database, context: bundleContext });
      undo.push(() => bundleServer?.close());
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
        anchor,
        registry,
        submitter,
        maxBodyBytes: config.http.maxBodyBytes,
        chainHead: () => anchorer?.head,
        deviceState: (device) => directory.peek(device),
        ...(sales === undefined ? {} : { seller: sales.seller }),
        health: async () => ({
          crypto: pool.path,
          store: store.engine,
          leader: leadership.isLeader,
          batches: await store.batchCounts(),
          unsealed: (await store.unsealed()).count,
          config: { values: effectiveConfig(config), sources: config.sources ?? {} },
        }),
        logger,
      });
      undo.push(() => api.close());
      await listening(api.listen({ host: config.http.host, port: config.http.port }), "http", config.http);
      const { address, port } = api.server.address() as AddressInfo;
      const httpUrl = `http://${address}:${port}`;
      logger.info({ url: httpUrl }, "HTTP API listening");
      let mqttIngest: MqttIngest | undefined;
      if (config.mqtt.enabled) {
        mqttIngest = config.mqtt.embedded
          ? await listening(
              startEmbeddedBroker({
                pipeline,
                host: config.mqtt.host,
                port: config.mqtt.port,
                topic: config.mqtt.topic,
                limits: config.mqtt,
                domain,
                directory,
                metrics,
                logger,
              }),
              "mqtt",
              config.mqtt,
            )
          : await subscribeExternal({
              pipeline,
              url: config.mqtt.url,
              topic: config.mqtt.topic,
              clientId: config.mqtt.clientId,
              ...(config.mqtt.shareGroup === undefined ? {} : { shareGroup: config.mqtt.shareGroup }),
              receiveMaximum: config.mqtt.receiveMaximum,
              maxPacketBytes: config.http.maxMessageBytes + 1_024,
              logger,
            });
      }
      if (mqttIngest !== undefined) {
        const ingest = mqttIngest;
        undo.push(() => ingest.close());
      }
      let coapIngest: CoapIngest | undefined;
      if (config.coap.enabled) {
        coapIngest = await listening(
          startCoapIngest({
            pipeline,
            host: config.coap.host,
            port: config.coap.port,
            limits: config.coap,
            metrics,
            logger,
          }),
          "coap",
          config.coap,
        );
        const ingest = coapIngest;
        undo.push(() => ingest.close());
      }
      logger.info({ anchor, registry, chainId: chainId.toString(), database: config.database }, "batcher started");
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
        coapIngest,
        bundleServer,
        leadership,
        undo,
      );
    } catch (error) {
      for (const step of undo.reverse())
        await Promise.resolve()
          .then(step)
          .catch(() => undefined);
      throw error;
    }
  }

  /**
   * Stops taking messages, finishes what is in flight, and closes everything start opened, in reverse: the
   * ingest listeners, the bundle threads, the lead (its sealing, anchoring and claiming loops, each waited for
   * in the middle of a pass), the sales, the directory's watcher, the check threads, the store, and the chain
   * provider. Nothing of the service runs after it resolves, so an embedding program exits on its own.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const step of [...this.opened].reverse()) {
        try {
          await step();
        } catch (error) {
          this.logger.warn({ err: error }, "a part of the batcher did not stop cleanly");
        }
      }
      this.logger.info("batcher stopped");
    })();
    return this.stopping;
  }
}
