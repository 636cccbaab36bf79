/**
 * Story 1 of the demo, cold chain: a manufacturer onboards a lot of temperature loggers with one
 * transaction; the loggers stream signed readings through the batcher service over its embedded MQTT
 * broker; the batches are anchored; a carrier is paid from an escrow that a proven, anchored reading of the
 * delivery, inside the temperature range, releases; and a partner verifies one logger's whole trip from a
 * range bundle (and a tampered copy fails).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatEther, id, parseEther } from "ethers";
import type { Provider, Signer } from "ethers";
import { BatcherService, loadBatcherConfig } from "../batcher";
import type { BatcherConfig } from "../batcher";
import { suiteClients } from "../deployments";
import type { DeploymentRecord } from "../deployments";
import { DeviceKey } from "../device";
import { telemetryDomain } from "../eip712";
import { ETH, EscrowStatus } from "../payments";
import type { EscrowCondition } from "../payments";
import type { ProofBundle } from "../proof";
import { Lot, claimLotDevice } from "../registry";
import { simulate } from "../simulator";
import type { SimulationSummary } from "../simulator";
import { metricId, parseReading } from "../telemetry";
import { pinTrust, verifyBundle } from "../verify";
import type { VerificationReport } from "../verify";

export interface ColdChainResult {
  lotId: bigint;
  loggers: string[];
  simulation: SimulationSummary;
  batches: number;
  anchorTransactions: number;
  /** Gas of every anchoring transaction, over the readings anchored. */
  gasPerReading: number;
  escrowStatus: EscrowStatus;
  carrierPaid: bigint;
  trip: ProofBundle;
  tripReport: VerificationReport;
  tampered: ProofBundle;
  tamperedReport: VerificationReport;
}

/** A reefer's temperature over a trip, in milli-degrees Celsius: 3.0 to 6.0 °C. */
export function reeferTemperature(logger: number, index: number): bigint {
  return BigInt(4_500 + Math.round(1_500 * Math.sin((index + logger * 7) / 9)));
}

export async function runColdChainStory(params: {
  record: DeploymentRecord;
  /** The chain's JSON-RPC URL (the batcher is a separate service that talks to the node). */
  rpcUrl: string;
  provider: Provider;
  /** Holds MANUFACTURER_ROLE. */
  manufacturer: Signer;
  shipper: Signer;
  carrier: Signer;
  /** Submits claims and the escrow release (loggers hold no ETH). */
  relayer: Signer;
  /** The batcher's anchoring key (its account holds ANCHORER_ROLE). */
  anchorerKey: string;
  loggers?: number;
  readingsPerLogger?: number;
  log?: (line: string) => void;
}): Promise<ColdChainResult> {
  const log = params.log ?? (() => undefined);
  const { record, provider } = params;
  const count = params.loggers ?? 5;
  const perLogger = params.readingsPerLogger ?? 60;
  const chainTime = async () => BigInt((await provider.getBlock("latest"))!.timestamp);
  const manufacturer = suiteClients(record, params.manufacturer);

  // 1. One transaction onboards the whole lot; each logger claims its entry when it comes online.
  const keys = Array.from({ length: count }, () => DeviceKey.generate());
  const lot = Lot.build(keys.map((key, i) => ({ key: key.address, metadataHash: id(`reefer logger ${i + 1}`) })));
  const owner = await params.shipper.getAddress();
  const { lotId, receipt } = await manufacturer.registry.commitLot({ root: lot.root, owner, deviceCount: count });
  log(`a lot of ${count} temperature loggers committed in one transaction (lot ${lotId}, ${receipt.gasUsed} gas)`);
  const relayed = suiteClients(record, params.relayer);
  for (const key of keys) {
    await claimLotDevice({ registry: relayed.registry, lot, lotId, key, deadline: (await chainTime()) + 3600n });
  }
  log(`the ${count} loggers claimed their entries (relayed: loggers hold no ETH)`);

  // 2. Before the trip, the shipper locks the carrier's pay: released by a proven reading in 2..8 °C.
  // The window is on the loggers' clocks (wall time), which date the readings; the deadline on the chain's.
  const departure = BigInt(Math.floor(Date.now() / 1000));
  const condition: EscrowCondition = {
    device: keys[0]!.address,
    metric: metricId("temperature.mC"),
    minValue: 2_000n,
    maxValue: 8_000n,
    fromTimestamp: departure - 60n,
    toTimestamp: departure + 86_400n,
  };
  const t0 = await chainTime();
  const shipper = suiteClients(record, params.shipper);
  const { escrowId } = await shipper.escrow.create({
    payee: await params.carrier.getAddress(),
    token: ETH,
    amount: parseEther("0.5"),
    deadline: t0 + 7n * 86_400n,
    condition,
  });
  log(`the shipper locked 0.5 ETH for the carrier in escrow ${escrowId}, released by logger 1 reading 2..8 °C`);

  // 3. The trip: the loggers stream readings to the batcher service over MQTT; it anchors the batches.
  const base = loadBatcherConfig({ env: { BATCHER_PRIVATE_KEY: params.anchorerKey } });
  const config: BatcherConfig = {
    ...base,
    rpcUrl: params.rpcUrl,
    chainId: BigInt(record.chainId),
    anchor: record.contracts.TelemetryAnchor.address,
    registry: record.contracts.DeviceRegistry.address,
    database: join(mkdtempSync(join(tmpdir(), "iotrail-demo-")), "batcher.sqlite"),
    http: { ...base.http, port: 0 },
    mqtt: { ...(base.mqtt as Extract<BatcherConfig["mqtt"], { embedded: true }>), port: 0 },
    sealing: { maxReadings: 100, maxAgeMs: 300, intervalMs: 50 },
    anchoring: { ...base.anchoring, confirmations: 1, intervalMs: 100 },
    registryRefreshMs: 200,
    logLevel: "silent",
  };
  const service = await BatcherService.start(config);
  try {
    const domain = telemetryDomain(BigInt(record.chainId), record.contracts.TelemetryAnchor.address);
    const simulation = await simulate({
      keys,
      domain,
      url: service.mqttUrl!,
      rate: 1_000,
      count: perLogger,
      firstSequence: 1n,
      value: reeferTemperature,
    });
    log(
      `the loggers published ${simulation.sent} readings over MQTT: ${simulation.acknowledged} acknowledged (p50 ${simulation.latencyMs.p50} ms, p99 ${simulation.latencyMs.p99} ms)`,
    );
    for (;;) {
      const counts = await service.store.batchCounts();
      if ((await service.store.unsealed()).count === 0 && counts.pending === 0 && counts.anchored + counts.final > 0)
        break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const transactions = (await service.store.transactions()).filter((tx) => tx.state === "mined");
    let gas = 0n;
    for (const tx of transactions) gas += (await provider.getTransactionReceipt(tx.hash))!.gasUsed;
    const counts = await service.store.batchCounts();
    const batches = counts.anchored + counts.final;
    const gasPerReading = Number(gas) / simulation.acknowledged;
    log(
      `anchored as ${batches} batches in ${transactions.length} transaction(s): ${gasPerReading.toFixed(0)} gas per reading`,
    );

    // 4. The partner fetches logger 1's whole trip as one range bundle and verifies it against the chain.
    const logger = keys[0]!.address;
    const response = await fetch(`${service.httpUrl}/v1/devices/${logger}/bundle?from=1&to=${perLogger}`);
    const text = await response.text();
    if (response.status !== 200) throw new Error(`the trip bundle: ${response.status} ${text}`);
    const trip = JSON.parse(text) as ProofBundle;
    const trusted = pinTrust(
      { anchor: record.contracts.TelemetryAnchor.address, registry: record.contracts.DeviceRegistry.address },
      { kind: "program", what: `the deployment record of chain ${record.chainId}` },
    );
    const tripReport = await verifyBundle(text, { provider, trusted });
    log(`logger 1's trip (${trip.readings.length} readings in ${trip.batches.length} batches): ${tripReport.verdict}`);
    const tampered = JSON.parse(text) as ProofBundle;
    tampered.readings[10]!.reading.value = "9500"; // someone hides a warm spell
    const tamperedReport = await verifyBundle(JSON.stringify(tampered), { provider, trusted });
    log(`the same trip with one reading edited to 9.5 °C: ${tamperedReport.verdict}`);

    // 5. Delivery: the last reading, proven and anchored, releases the carrier's pay (anyone may submit it).
    const delivery = trip.readings.at(-1)!;
    const carrier = await params.carrier.getAddress();
    const before = await provider.getBalance(carrier);
    await relayed.escrow.releaseByReading({
      escrowId,
      condition,
      batchId: BigInt(delivery.batchId),
      reading: parseReading(delivery.reading),
      signature: delivery.signature,
      proof: delivery.proof,
    });
    const { status } = await shipper.escrow.getEscrow(escrowId);
    const carrierPaid = (await provider.getBalance(carrier)) - before;
    log(
      `the delivery reading (${Number(delivery.reading.value) / 1000} °C) released escrow ${escrowId}: the carrier got ${formatEther(carrierPaid)} ETH`,
    );
    return {
      lotId,
      loggers: keys.map((key) => key.address),
      simulation,
      batches,
      anchorTransactions: transactions.length,
      gasPerReading,
      escrowStatus: status,
      carrierPaid,
      trip,
      tripReport,
      tampered,
      tamperedReport,
    };
  } finally {
    await service.stop();
  }
}
