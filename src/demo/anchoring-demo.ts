/**
 * The anchoring part of the end-to-end demo: a fleet of registered thermometers signs readings, a batcher
 * batches and anchors them, and a supply-chain partner verifies one device's readings from a proof bundle
 * against the chain alone. Then the demo shows what the verifier says about a tampered bundle and about a
 * revoked device.
 */
import { id } from "ethers";
import type { Provider, Signer } from "ethers";
import { DeviceRegistry__factory, TelemetryAnchor__factory } from "../contracts";
import { TelemetryAnchorClient } from "../anchor";
import { DeviceKey } from "../device";
import { buildProofBundle } from "../proof";
import type { ProofBundle } from "../proof";
import { DeviceRegistryClient, registerDeviceKeys } from "../registry";
import { metricId, ReadingBatch, ZERO_HASH } from "../telemetry";
import type { SignedReading } from "../telemetry";
import { pinTrust, verifyBundle } from "../verify";
import type { VerificationReport } from "../verify";

export interface AnchoringDemoResult {
  anchor: string;
  bundle: ProofBundle;
  report: VerificationReport;
  tamperedReport: VerificationReport;
  revokedReport: VerificationReport;
}

const failedChecks = (report: VerificationReport) =>
  [...new Set(report.checks.filter((c) => c.status === "fail").map((c) => c.check))].join(", ");

export async function runAnchoringDemo(params: {
  registry: string;
  admin: Signer;
  manufacturer: Signer;
  owner: Signer;
  batcher: Signer;
  devices?: number;
  readingsPerDevice?: number;
  log?: (line: string) => void;
}): Promise<AnchoringDemoResult> {
  const log = params.log ?? (() => undefined);
  const provider: Provider = params.admin.provider!;
  const deviceCount = params.devices ?? 20;
  const perDevice = params.readingsPerDevice ?? 50;
  const registryContract = DeviceRegistry__factory.connect(params.registry, params.manufacturer);
  const registry = new DeviceRegistryClient({ contract: registryContract });

  const anchorContract = await new TelemetryAnchor__factory(params.admin).deploy(
    await params.admin.getAddress(),
    params.registry,
  );
  await anchorContract.waitForDeployment();
  const batcherAddress = await params.batcher.getAddress();
  await (await anchorContract.grantRole(await anchorContract.ANCHORER_ROLE(), batcherAddress)).wait();
  const anchor = new TelemetryAnchorClient({ contract: anchorContract.connect(params.batcher) });
  const domain = await anchor.domain();
  log(`TelemetryAnchor deployed at ${domain.verifyingContract}; the batcher ${batcherAddress} may anchor`);

  // A fleet of registered thermometers.
  const [manufacturerAddress, ownerAddress] = await Promise.all([
    params.manufacturer.getAddress(),
    params.owner.getAddress(),
  ]);
  const deadline = BigInt((await provider.getBlock("latest"))!.timestamp) + 3600n;
  const fleet = Array.from({ length: deviceCount }, () => DeviceKey.generate());
  await registerDeviceKeys({
    registry,
    registrant: manufacturerAddress,
    keys: fleet,
    owner: ownerAddress,
    metadataHash: (i) => id(`reefer-thermometer unit ${i}`),
    deadline,
  });
  log(`registered a fleet of ${deviceCount} thermometers`);

  // Each device signs one reading a minute (milli-degrees Celsius), off-chain.
  const start = 1_767_225_600n;
  const temperature = metricId("temperature.mC");
  const signed: SignedReading[] = [];
  for (let minute = 0; minute < perDevice; minute++) {
    fleet.forEach((key, i) => {
      const reading = {
        device: key.address,
        sequence: BigInt(minute + 1),
        timestamp: start + 60n * BigInt(minute),
        metric: temperature,
        value: 4_000n + BigInt(((minute * 37 + i * 11) % 600) - 300),
        payloadHash: ZERO_HASH,
      };
      signed.push({ reading, signature: key.signReading(domain, reading) });
    });
  }

  // The batcher anchors two batches of readings, in one transaction.
  const half = Math.ceil(signed.length / 2);
  const batches = [await ReadingBatch.build(signed.slice(0, half)), await ReadingBatch.build(signed.slice(half))];
  const anchored = await anchor.anchorMany(batches.map((b, i) => b.header({ contentURI: `demo://batch-${i + 1}` })));
  const receipt = await provider.getTransactionReceipt(anchored[0]!.transactionHash);
  log(
    `anchored ${signed.length} readings as batches ${anchored.map((a) => a.batchId).join(", ")} ` +
      `in one transaction (${receipt!.gasUsed} gas)`,
  );

  // A partner gets one device's full history as a self-contained bundle and checks it against the chain.
  const device = fleet[3]!;
  const sources = await Promise.all(
    batches.map(async (batch, i) => {
      const indices = batch.readings.flatMap((r, index) => (r.reading.device === device.address ? [index] : []));
      const { anchoredAt } = await anchor.getAnchor(batch.root);
      return { batch, anchored: { ...anchored[i]!, anchoredAt }, indices };
    }),
  );
  const bundle = buildProofBundle({
    chainId: domain.chainId,
    anchor: domain.verifyingContract,
    registry: params.registry,
    sources,
  });
  // The partner pins the anchor it trusts (here: the one this demo deployed); the bundle's claim never counts.
  const trust = {
    provider,
    trusted: pinTrust({ anchor: domain.verifyingContract }, { kind: "program", what: "the demo's deployment" }),
  };
  const report = await verifyBundle(JSON.stringify(bundle), trust);
  log(`bundle of ${bundle.readings.length} readings of ${device.address}: ${report.ok ? "VERIFIED" : "NOT VERIFIED"}`);

  const tampered = JSON.parse(JSON.stringify(bundle)) as ProofBundle;
  tampered.readings[10]!.reading.value = "-20000";
  const tamperedReport = await verifyBundle(tampered, trust);
  log(`the same bundle with one value edited: failed checks ${failedChecks(tamperedReport)}`);

  // A stolen key: the owner revokes the device, and readings anchored afterwards no longer count.
  await registry.connect(params.owner).revoke({ deviceId: BigInt(device.address), reason: 2 });
  const forged = { ...signed[3]!.reading, sequence: BigInt(perDevice + 1), value: 3_000n };
  const late = await ReadingBatch.build([{ reading: forged, signature: device.signReading(domain, forged) }]);
  const lateAnchor = await anchor.anchor(late.header());
  const lateRecord = await anchor.getAnchor(late.root);
  const revokedReport = await verifyBundle(
    buildProofBundle({
      chainId: domain.chainId,
      anchor: domain.verifyingContract,
      registry: params.registry,
      sources: [{ batch: late, anchored: { ...lateAnchor, anchoredAt: lateRecord.anchoredAt }, indices: [0] }],
    }),
    trust,
  );
  log(`a reading signed after the device was revoked: failed checks ${failedChecks(revokedReport)}`);
  return { anchor: domain.verifyingContract, bundle, report, tamperedReport, revokedReport };
}
