/**
 * `verifyBundle`: checks a proof bundle and reports every check separately, each with pass, fail or skip
 * and the reason. Offline it runs what needs no chain (schema, device signatures, Merkle inclusion,
 * completeness); with a provider it also checks, against the chain itself, that each root is anchored as
 * the claimed batch on the claimed chain, the anchoring transaction, confirmations, and that the device
 * key was active at the anchoring block's time.
 *
 * Device validity is judged at the anchoring time, not at the reading's own timestamp: a stolen key can
 * write any timestamp, but it cannot move the block in which the batcher anchored the reading.
 */
import { getAddress } from "ethers";
import type { Provider } from "ethers";
import { TelemetryAnchor__factory, DeviceRegistry__factory } from "../../typechain-types";
import { telemetryDomain } from "../eip712";
import { MerkleTree } from "../merkle";
import { PROOF_BUNDLE_VERSION, proofBundleSchemaErrors } from "../proof";
import type { BundleBatch, ProofBundle } from "../proof";
import { isReadingSignedByDevice, parseReading, readingLeaf } from "../telemetry";
import type { Reading } from "../telemetry";

export type CheckName =
  | "json"
  | "version"
  | "schema"
  | "device-signature"
  | "merkle-inclusion"
  | "completeness"
  | "chain-id"
  | "anchor-contract"
  | "root-anchored"
  | "anchor-transaction"
  | "confirmations"
  | "device-valid";

export type CheckStatus = "pass" | "fail" | "skip";

export interface CheckResult {
  check: CheckName;
  /** What the check is about: "bundle", "reading #7", "batch 12". */
  subject: string;
  status: CheckStatus;
  message: string;
  details?: Record<string, unknown>;
}

export interface VerificationReport {
  /** True when no check failed (skipped checks do not fail a report). */
  ok: boolean;
  mode: "online" | "offline";
  checks: CheckResult[];
}

export interface VerifyOptions {
  /** A provider of the anchoring chain; without it the chain checks are skipped (offline mode). */
  provider?: Provider;
  /** Confirmations each anchoring transaction needs (default 1: mined). */
  minConfirmations?: number;
  /** The anchor contract the partner trusts; without it the bundle's address is used and the report says so. */
  expectedAnchor?: string;
}

const CHAIN_CHECKS: CheckName[] = [
  "chain-id",
  "anchor-contract",
  "root-anchored",
  "anchor-transaction",
  "confirmations",
  "device-valid",
];

class Report {
  readonly checks: CheckResult[] = [];
  add(check: CheckName, subject: string, status: CheckStatus, message: string, details?: Record<string, unknown>) {
    this.checks.push({ check, subject, status, message, ...(details === undefined ? {} : { details }) });
  }
  skipRest(names: CheckName[], why: string) {
    for (const name of names) this.add(name, "bundle", "skip", why);
  }
  done(mode: "online" | "offline"): VerificationReport {
    return { ok: this.checks.every((c) => c.status !== "fail"), mode, checks: this.checks };
  }
}

/** Verifies a bundle given as JSON text or as a parsed value. Never throws for a bad bundle: it reports. */
export async function verifyBundle(input: string | unknown, options: VerifyOptions = {}): Promise<VerificationReport> {
  const report = new Report();
  const mode = options.provider === undefined ? "offline" : "online";
  const later: CheckName[] = ["schema", "device-signature", "merkle-inclusion", "completeness", ...CHAIN_CHECKS];

  let value: unknown = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input) as unknown;
      report.add("json", "bundle", "pass", "the bundle is well-formed JSON");
    } catch (error) {
      report.add("json", "bundle", "fail", `the bundle is not valid JSON: ${(error as Error).message}`);
      report.skipRest(["version", ...later], "the bundle could not be parsed");
      return report.done(mode);
    }
  }
  const version = (value as { version?: unknown } | null)?.version;
  if (version !== PROOF_BUNDLE_VERSION) {
    report.add(
      "version",
      "bundle",
      "fail",
      `unsupported bundle version ${JSON.stringify(version)}; this verifier reads version ${PROOF_BUNDLE_VERSION}`,
      { version },
    );
    report.skipRest(later, "unsupported version");
    return report.done(mode);
  }
  report.add("version", "bundle", "pass", `bundle version ${PROOF_BUNDLE_VERSION}`);
  const schemaErrors = proofBundleSchemaErrors(value);
  if (schemaErrors.length > 0) {
    report.add("schema", "bundle", "fail", schemaErrors.join("; "), { errors: schemaErrors });
    report.skipRest(later.slice(1), "the bundle does not match its schema");
    return report.done(mode);
  }
  report.add("schema", "bundle", "pass", "the bundle matches schemas/proof-bundle.v1.schema.json");
  const bundle = value as ProofBundle;

  const offline = checkOffline(bundle, report);
  if (options.provider === undefined) {
    report.skipRest(CHAIN_CHECKS, "offline mode: no RPC endpoint given");
  } else {
    await checkOnline(bundle, offline.batches, options as VerifyOptions & { provider: Provider }, report);
  }
  return report.done(mode);
}

/** Signatures, inclusion and completeness; returns the batches whose roots the readings lead to. */
function checkOffline(bundle: ProofBundle, report: Report): { batches: Map<string, BundleBatch> } {
  const batches = new Map<string, BundleBatch>();
  for (const batch of bundle.batches) {
    if (batches.has(batch.batchId)) {
      report.add("schema", `batch ${batch.batchId}`, "fail", "the batch is listed twice");
    }
    batches.set(batch.batchId, batch);
  }
  const domain = telemetryDomain(BigInt(bundle.chainId), bundle.anchor);
  const key = getAddress(bundle.device.key);
  const sequences: bigint[] = [];
  for (const entry of bundle.readings) {
    let reading: Reading;
    const subject = `reading #${entry.reading.sequence}`;
    try {
      reading = parseReading(entry.reading);
    } catch (error) {
      report.add("device-signature", subject, "fail", (error as Error).message);
      continue;
    }
    sequences.push(reading.sequence);
    if (reading.device !== key) {
      report.add(
        "device-signature",
        subject,
        "fail",
        `the reading is from ${reading.device}, not the bundle's device ${key}`,
      );
    } else if (isReadingSignedByDevice(domain, reading, entry.signature)) {
      report.add(
        "device-signature",
        subject,
        "pass",
        `signed by ${key} for chain ${bundle.chainId} and anchor ${bundle.anchor}`,
      );
    } else {
      report.add(
        "device-signature",
        subject,
        "fail",
        "the signature is not the device's signature of this reading (tampered field, other key, or other chain or contract)",
      );
    }
    const batch = batches.get(entry.batchId);
    if (batch === undefined) {
      report.add("merkle-inclusion", subject, "fail", `batch ${entry.batchId} is not in the bundle`);
      continue;
    }
    const computed = MerkleTree.processProof(readingLeaf(reading), entry.proof);
    if (computed === batch.root.toLowerCase()) {
      report.add("merkle-inclusion", subject, "pass", `the leaf and proof lead to the root of batch ${batch.batchId}`);
    } else {
      report.add(
        "merkle-inclusion",
        subject,
        "fail",
        `the leaf and proof lead to ${computed}, not to the root of batch ${batch.batchId}`,
        { computed, root: batch.root },
      );
    }
  }
  checkCompleteness(bundle, sequences, report);
  return { batches };
}

function checkCompleteness(bundle: ProofBundle, sequences: bigint[], report: Report): void {
  const present = new Set(sequences.map(String));
  if (present.size !== sequences.length) {
    report.add("completeness", "bundle", "fail", "a sequence number appears more than once");
    return;
  }
  if (bundle.range === undefined) {
    report.add("completeness", "bundle", "skip", "the bundle claims no sequence range");
    return;
  }
  const from = BigInt(bundle.range.fromSequence);
  const to = BigInt(bundle.range.toSequence);
  if (to < from) {
    report.add("completeness", "bundle", "fail", `the range ${from}..${to} is empty`);
    return;
  }
  const outside = sequences.filter((s) => s < from || s > to);
  const gaps: string[] = [];
  let missing = 0n;
  let gapStart: bigint | undefined;
  for (let s = from; s <= to + 1n; s++) {
    const absent = s <= to && !present.has(s.toString());
    if (absent) {
      missing++;
      gapStart ??= s;
    } else if (gapStart !== undefined) {
      gaps.push(gapStart === s - 1n ? `${gapStart}` : `${gapStart}..${s - 1n}`);
      gapStart = undefined;
    }
    if (to - from > 1_000_000n) break; // ranges beyond a million are not expanded
  }
  if (outside.length > 0) {
    report.add(
      "completeness",
      "bundle",
      "fail",
      `sequence numbers outside the claimed range ${from}..${to}: ${outside.join(", ")}`,
    );
  } else if (missing > 0n) {
    report.add(
      "completeness",
      "bundle",
      "fail",
      `${missing} reading(s) missing from ${from}..${to}: ${gaps.join(", ")}`,
      { gaps },
    );
  } else {
    report.add("completeness", "bundle", "pass", `all ${to - from + 1n} readings of ${from}..${to} are present`);
  }
}

async function checkOnline(
  bundle: ProofBundle,
  batches: Map<string, BundleBatch>,
  options: VerifyOptions & { provider: Provider },
  report: Report,
): Promise<void> {
  const { provider } = options;
  const network = await provider.getNetwork();
  if (network.chainId !== BigInt(bundle.chainId)) {
    report.add(
      "chain-id",
      "bundle",
      "fail",
      `the RPC endpoint serves chain ${network.chainId}, the bundle is for chain ${bundle.chainId}`,
    );
    report.skipRest(CHAIN_CHECKS.slice(1), "wrong chain");
    return;
  }
  report.add("chain-id", "bundle", "pass", `chain ${network.chainId}`);

  const anchorAddress = getAddress(bundle.anchor);
  const expected = options.expectedAnchor === undefined ? undefined : getAddress(options.expectedAnchor);
  const anchor = TelemetryAnchor__factory.connect(anchorAddress, provider);
  let registryAddress: string | undefined;
  if (expected !== undefined && expected !== anchorAddress) {
    report.add("anchor-contract", "bundle", "fail", `the bundle names anchor ${anchorAddress}, you trust ${expected}`);
  } else if ((await provider.getCode(anchorAddress)) === "0x") {
    report.add("anchor-contract", "bundle", "fail", `no contract at ${anchorAddress} on chain ${network.chainId}`);
  } else {
    registryAddress = await anchor.registry().catch(() => undefined);
    if (registryAddress === undefined) {
      report.add("anchor-contract", "bundle", "fail", `${anchorAddress} is not a TelemetryAnchor`);
    } else if (getAddress(registryAddress) !== getAddress(bundle.registry)) {
      report.add(
        "anchor-contract",
        "bundle",
        "fail",
        `the anchor uses registry ${registryAddress}, the bundle names ${bundle.registry}`,
      );
      registryAddress = undefined;
    } else {
      report.add(
        "anchor-contract",
        "bundle",
        "pass",
        expected === undefined
          ? `TelemetryAnchor at ${anchorAddress} (taken from the bundle: pass --anchor to pin the address you trust)`
          : `TelemetryAnchor at ${anchorAddress}, as expected`,
      );
    }
  }
  if (registryAddress === undefined) {
    report.skipRest(CHAIN_CHECKS.slice(2), "the anchor contract could not be confirmed");
    return;
  }
  const registry = DeviceRegistry__factory.connect(registryAddress, provider);
  const head = await provider.getBlockNumber();
  const minConfirmations = options.minConfirmations ?? 1;
  const key = getAddress(bundle.device.key);

  for (const batch of batches.values()) {
    const subject = `batch ${batch.batchId}`;
    const record = await anchor.getAnchor(batch.root);
    if (record.batchId === 0n) {
      report.add("root-anchored", subject, "fail", `root ${batch.root} is not anchored on chain ${bundle.chainId}`);
      report.add("anchor-transaction", subject, "skip", "root not anchored");
      report.add("confirmations", subject, "skip", "root not anchored");
      report.add("device-valid", subject, "skip", "root not anchored");
      continue;
    }
    if (record.batchId.toString() !== batch.batchId) {
      report.add(
        "root-anchored",
        subject,
        "fail",
        `the root is anchored as batch ${record.batchId}, not ${batch.batchId}`,
      );
    } else {
      report.add(
        "root-anchored",
        subject,
        "pass",
        `root anchored as batch ${batch.batchId} by ${record.submitter} at ${new Date(Number(record.anchoredAt) * 1000).toISOString()}`,
        { anchoredAt: record.anchoredAt.toString() },
      );
    }

    const receipt = await provider.getTransactionReceipt(batch.transactionHash);
    // Some nodes keep serving receipts of reorganized transactions: the canonical block at that height decides.
    const canonical = await provider.getBlock(batch.blockNumber);
    const logged = receipt?.logs.some((log) => {
      if (getAddress(log.address) !== anchorAddress) return false;
      const parsed = anchor.interface.parseLog(log);
      return (
        parsed?.name === "BatchAnchored" &&
        parsed.args.root === batch.root.toLowerCase() &&
        parsed.args.batchId.toString() === batch.batchId
      );
    });
    if (receipt === null) {
      report.add(
        "anchor-transaction",
        subject,
        "fail",
        `transaction ${batch.transactionHash} is not on this chain (never mined, or reorganized away)`,
      );
    } else if (canonical?.hash !== batch.blockHash) {
      report.add(
        "anchor-transaction",
        subject,
        "fail",
        `block ${batch.blockNumber} is now ${canonical?.hash ?? "missing"}, not ${batch.blockHash}: the anchoring block was reorganized away`,
      );
    } else if (receipt.blockHash !== batch.blockHash || receipt.blockNumber !== batch.blockNumber) {
      report.add(
        "anchor-transaction",
        subject,
        "fail",
        `the transaction is in block ${receipt.blockNumber} (${receipt.blockHash}), the bundle says ${batch.blockNumber} (${batch.blockHash})`,
      );
    } else if (receipt.status !== 1 || logged !== true) {
      report.add("anchor-transaction", subject, "fail", "the transaction did not anchor this root as this batch");
    } else {
      report.add(
        "anchor-transaction",
        subject,
        "pass",
        `anchored by ${batch.transactionHash} in block ${batch.blockNumber}`,
      );
    }

    // A mined receipt is one confirmation even if the head we read lags behind it (providers cache it briefly).
    const confirmations = receipt === null ? 0 : Math.max(1, head - receipt.blockNumber + 1);
    if (confirmations >= minConfirmations) {
      report.add("confirmations", subject, "pass", `${confirmations} confirmation(s), ${minConfirmations} required`);
    } else {
      report.add("confirmations", subject, "fail", `${confirmations} confirmation(s), ${minConfirmations} required`);
    }

    const lot = bundle.device.lot;
    const valid =
      lot === undefined
        ? await registry.validAt(key, record.anchoredAt)
        : await registry.lotEntryValidAt(BigInt(lot.lotId), key, lot.metadataHash, lot.proof, record.anchoredAt);
    const when = `the anchoring time ${record.anchoredAt}`;
    if (valid) {
      report.add(
        "device-valid",
        subject,
        "pass",
        `${key} was an active device key at ${when}${lot === undefined ? "" : ` (lot ${lot.lotId})`}`,
      );
    } else {
      report.add(
        "device-valid",
        subject,
        "fail",
        `${key} was not an active device key at ${when} (unknown, suspended, revoked or rotated away)`,
      );
    }
  }
}
