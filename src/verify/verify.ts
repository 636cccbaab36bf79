/**
 * `verifyBundle`: checks a proof bundle and reports every check separately, each with pass, fail or skip
 * and the reason, and gives one verdict:
 *
 * - `verified`: every check passed, online, against the anchor (and its registry) that the verifier's own
 *   trust configuration pins. What the bundle claims about addresses never counts on its own.
 * - `failed`: a check failed: the bundle is wrong, tampered, or not backed by the chain.
 * - `not-verified`: nothing failed, but the evidence is incomplete: offline, no pinned anchor, or the chain
 *   could not be reached (each listed in `reasons`).
 *
 * Device validity is judged at the anchoring moment, not at the reading's own timestamp: a stolen key can
 * write any timestamp, but it cannot move the registry moment at which the batcher anchored the reading.
 * `verifyBundle` never throws for a bad bundle or a bad node: it reports.
 */
import { getAddress, isAddress } from "ethers";
import type { Provider } from "ethers";
import type { TelemetryAnchor } from "../contracts";
import { TelemetryAnchor__factory, DeviceRegistry__factory } from "../contracts";
import { registryMoment } from "../anchor";
import { telemetryDomain } from "../eip712";
import { InvalidInputError, withDeadline } from "../errors";
import { MerkleTree } from "../merkle";
import { PROOF_BUNDLE_VERSION, proofBundleSchemaErrors } from "../proof";
import type { BundleBatch, ProofBundle } from "../proof";
import { isReadingSignedByDevice, parseReading, readingLeaf } from "../telemetry";
import type { Reading } from "../telemetry";

export type CheckName =
  | "json"
  | "version"
  | "schema"
  | "expected-subject"
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

export type Verdict = "verified" | "failed" | "not-verified";

export interface VerificationReport {
  verdict: Verdict;
  /** True only for the verdict `verified`. */
  ok: boolean;
  mode: "online" | "offline";
  /** Whether the anchor came from the verifier's trust configuration (and from where). */
  trust: { pinned: boolean; source?: string; anchor?: string; registry?: string };
  /** Why the verdict is `not-verified` (empty otherwise). */
  reasons: string[];
  checks: CheckResult[];
}

/** Marks a trust context made by {@link pinTrust}: nothing else is accepted as one. */
const USER_TRUST: unique symbol = Symbol("iotrail.user-trust");

/**
 * Where trust comes from: always the user's own configuration, never the artifact being judged (a bundle, a
 * link, a seller's answer, a lot). One kind per way a user can say what it trusts.
 */
export type TrustOrigin =
  | { kind: "flag"; flag: string }
  | { kind: "trust-file"; path: string }
  | { kind: "deployment-record"; path: string }
  | { kind: "browser"; what: string }
  | { kind: "program"; what: string };

/**
 * The trust context of a verdict, a purchase or a device check: contracts the user trusts, from its own
 * configuration (a flag, a trust file, a recorded deployment, the browser's saved settings, or an embedding
 * program's own settings). Made only by {@link pinTrust}, which names where it came from; an API that judges
 * an artifact accepts nothing else, so no address an artifact carries can become trust by accident.
 */
export interface TrustedContracts {
  /** The TelemetryAnchor address. */
  readonly anchor: string;
  /** The DeviceRegistry address; by default the one the trusted anchor was deployed with (`registry()`). */
  readonly registry?: string;
  /** Where the pin came from, for the report ("--anchor", "trust file ./trust.json", ...). */
  readonly source: string;
  readonly origin: TrustOrigin;
  readonly [USER_TRUST]: true;
}

/** Describes an origin for reports. */
function describeOrigin(origin: TrustOrigin): string {
  switch (origin.kind) {
    case "flag":
      return origin.flag;
    case "trust-file":
      return `trust file ${origin.path}`;
    case "deployment-record":
      return `deployment record ${origin.path}`;
    case "browser":
    case "program":
      return origin.what;
  }
}

/**
 * The one way to make a trust context: contracts the user named, and where it named them. Addresses are
 * checked and checksummed; `detail` is added to the report's source (the chain and network, say).
 */
export function pinTrust(
  contracts: { anchor: string; registry?: string | undefined },
  origin: TrustOrigin,
  detail?: string,
): TrustedContracts {
  for (const address of [contracts.anchor, contracts.registry]) {
    if (address !== undefined && !isAddress(address)) {
      throw new InvalidInputError(`a trusted contract must be an address (EIP-55 if mixed case): ${address}`);
    }
  }
  return {
    anchor: getAddress(contracts.anchor),
    ...(contracts.registry === undefined ? {} : { registry: getAddress(contracts.registry) }),
    source: `${describeOrigin(origin)}${detail === undefined ? "" : ` (${detail})`}`,
    origin,
    [USER_TRUST]: true,
  };
}

/** Whether `value` is a trust context made by {@link pinTrust}. */
export function isTrustContext(value: unknown): value is TrustedContracts {
  return typeof value === "object" && value !== null && (value as Partial<TrustedContracts>)[USER_TRUST] === true;
}

/**
 * What the user asked for: the bundle must be about exactly this. A bundle that verifies but is about
 * another device, a shorter range, or no range at all fails the `expected-subject` check (N-M1): a seller,
 * or a proxy in front of it, must not pass off other genuine data as what was paid for.
 */
export interface ExpectedSubject {
  /** The device key asked for. */
  device: string;
  /** The sequence range asked for; the bundle must claim exactly this range (and completeness must hold). */
  range?: { fromSequence: bigint; toSequence: bigint };
}

export interface VerifyOptions {
  /** What the user asked for (device, range); checked as `expected-subject`. */
  expected?: ExpectedSubject;
  /** A provider of the anchoring chain; without it the chain checks are skipped (offline mode). */
  provider?: Provider;
  /** Confirmations each anchoring transaction needs (default 1: mined). */
  minConfirmations?: number;
  /** The pinned contracts. Without them the bundle's addresses are checked for information only. */
  trusted?: TrustedContracts;
  /** Milliseconds each chain request may take before the chain counts as unreachable (default 30,000). */
  timeoutMs?: number;
}

/** Default wait for one JSON-RPC answer. */
export const DEFAULT_RPC_TIMEOUT_MS = 30_000;

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
  readonly reasons: string[] = [];
  trust: VerificationReport["trust"] = { pinned: false };
  add(check: CheckName, subject: string, status: CheckStatus, message: string, details?: Record<string, unknown>) {
    this.checks.push({ check, subject, status, message, ...(details === undefined ? {} : { details }) });
  }
  skipRest(names: CheckName[], why: string) {
    for (const name of names) this.add(name, "bundle", "skip", why);
  }
  done(mode: "online" | "offline"): VerificationReport {
    const failed = this.checks.some((c) => c.status === "fail");
    const verdict: Verdict = failed ? "failed" : this.reasons.length > 0 ? "not-verified" : "verified";
    return {
      verdict,
      ok: verdict === "verified",
      mode,
      trust: this.trust,
      reasons: failed ? [] : this.reasons,
      checks: this.checks,
    };
  }
}

/** Verifies a bundle given as JSON text or as a parsed value. Never throws for a bad bundle: it reports. */
export async function verifyBundle(input: string | unknown, options: VerifyOptions = {}): Promise<VerificationReport> {
  const report = new Report();
  const mode = options.provider === undefined ? "offline" : "online";
  if (options.trusted !== undefined && !isTrustContext(options.trusted)) {
    // Trust is made only by pinTrust, from the user's configuration: never a plain object an artifact filled.
    throw new InvalidInputError("verifyBundle: `trusted` must be a trust context made by pinTrust(...)");
  }
  if (options.trusted !== undefined) {
    report.trust = { pinned: true, source: options.trusted.source, anchor: options.trusted.anchor };
    if (options.trusted.registry !== undefined) report.trust.registry = options.trusted.registry;
  } else {
    report.reasons.push("no pinned anchor: the bundle's own addresses were used, and they prove nothing");
  }
  const later: CheckName[] = [
    "schema",
    ...(options.expected === undefined ? [] : ["expected-subject" as const]),
    "device-signature",
    "merkle-inclusion",
    "completeness",
    ...CHAIN_CHECKS,
  ];

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
  const badAddresses = [...checksumErrors(value as ProofBundle), ...rangeErrors(value as ProofBundle)];
  if (badAddresses.length > 0) {
    report.add("schema", "bundle", "fail", badAddresses.join("; "), { errors: badAddresses });
    report.skipRest(later.slice(1), "the bundle has a wrong EIP-55 checksum or a number out of range");
    return report.done(mode);
  }
  report.add("schema", "bundle", "pass", "the bundle matches schemas/proof-bundle.v1.schema.json");
  const bundle = value as ProofBundle;
  if (options.expected !== undefined) checkExpectedSubject(bundle, options.expected, report);

  let offline: ReturnType<typeof checkOffline>;
  try {
    offline = checkOffline(bundle, report);
  } catch (error) {
    // A safety net: a schema-valid bundle the checks above did not foresee still gets a report.
    report.add("schema", "bundle", "fail", `the bundle could not be checked: ${(error as Error).message}`);
    report.skipRest(CHAIN_CHECKS, "the bundle could not be checked");
    return report.done(mode);
  }
  if (options.provider === undefined) {
    report.reasons.push("offline: no chain was asked whether the roots are anchored or the device was valid");
    report.skipRest(CHAIN_CHECKS, "offline mode: no RPC endpoint given");
    return report.done(mode);
  }
  // Chain checks go to a report of their own first: if the node fails us halfway, none of them count.
  const online = new Report();
  try {
    await checkOnline(bundle, offline.batches, options as VerifyOptions & { provider: Provider }, online);
    report.checks.push(...online.checks);
  } catch (error) {
    const message = (error as Error).message;
    report.reasons.push(`the chain could not be reached: ${message}`);
    report.skipRest(CHAIN_CHECKS, `chain unreachable: ${message}`);
  }
  return report.done(mode);
}

/** The `expected-subject` check: the bundle is about exactly the device and range the user asked for. */
function checkExpectedSubject(bundle: ProofBundle, expected: ExpectedSubject, report: Report): void {
  const problems: string[] = [];
  const wanted = isAddress(expected.device) ? getAddress(expected.device) : expected.device;
  const key = getAddress(bundle.device.key);
  if (key !== wanted) problems.push(`the bundle is about device ${key}, not ${wanted}`);
  if (expected.range !== undefined) {
    const asked = `${expected.range.fromSequence}..${expected.range.toSequence}`;
    if (bundle.range === undefined) {
      problems.push(`the bundle claims no range; you asked for ${asked}`);
    } else {
      const claimed = `${BigInt(bundle.range.fromSequence)}..${BigInt(bundle.range.toSequence)}`;
      if (claimed !== asked) problems.push(`the bundle covers ${claimed}; you asked for ${asked}`);
    }
  }
  const range = expected.range === undefined ? "" : ` ${expected.range.fromSequence}..${expected.range.toSequence}`;
  if (problems.length === 0) {
    report.add("expected-subject", "bundle", "pass", `readings${range} of ${wanted}, as asked`);
  } else {
    report.add("expected-subject", "bundle", "fail", problems.join("; "), {
      expected: { device: wanted, ...(expected.range === undefined ? {} : { range: range.trim() }) },
    });
  }
}

const UINT256_LIMIT = 1n << 256n;
const UINT64_LIMIT = 1n << 64n;

/** Numbers the schema admits (any decimal string) but their Solidity types do not. */
function rangeErrors(bundle: ProofBundle): string[] {
  const fields: [string, string, bigint][] = [
    ["chainId", bundle.chainId, UINT256_LIMIT],
    ...bundle.batches.map((b, i): [string, string, bigint] => [`batches.${i}.batchId`, b.batchId, UINT256_LIMIT]),
    ...bundle.readings.map((r, i): [string, string, bigint] => [`readings.${i}.batchId`, r.batchId, UINT256_LIMIT]),
  ];
  if (bundle.device.lot !== undefined) fields.push(["device.lot.lotId", bundle.device.lot.lotId, UINT256_LIMIT]);
  if (bundle.range !== undefined) {
    fields.push(["range.fromSequence", bundle.range.fromSequence, UINT64_LIMIT]);
    fields.push(["range.toSequence", bundle.range.toSequence, UINT64_LIMIT]);
  }
  return fields
    .filter(([, value, limit]) => BigInt(value) >= limit)
    .map(([field, value, limit]) => `bundle.${field}: ${value} is out of range (at most ${limit - 1n})`);
}

/** Addresses the schema admits but whose mixed case is not their EIP-55 checksum. */
function checksumErrors(bundle: ProofBundle): string[] {
  const fields: [string, string][] = [
    ["anchor", bundle.anchor],
    ["registry", bundle.registry],
    ["device.key", bundle.device.key],
    ...bundle.readings.map((r, i): [string, string] => [`readings.${i}.reading.device`, r.reading.device]),
  ];
  return fields
    .filter(([, address]) => !isAddress(address))
    .map(([field, address]) => `bundle.${field}: ${address} is not a valid EIP-55 checksummed address`);
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

/** The most gaps a report lists one by one. */
const MAX_LISTED_GAPS = 20;

/** Exact counts for any range: gaps come from the sorted sequence numbers, never from walking the range. */
function checkCompleteness(bundle: ProofBundle, sequences: bigint[], report: Report): void {
  const sorted = [...sequences].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (sorted.some((s, i) => i > 0 && s === sorted[i - 1])) {
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
  const outside = sorted.filter((s) => s < from || s > to);
  if (outside.length > 0) {
    const listed = outside.slice(0, MAX_LISTED_GAPS).join(", ");
    const more = outside.length > MAX_LISTED_GAPS ? ` and ${outside.length - MAX_LISTED_GAPS} more` : "";
    report.add(
      "completeness",
      "bundle",
      "fail",
      `${outside.length} reading(s) outside the claimed range ${from}..${to}: ${listed}${more}`,
      { outside: outside.map(String) },
    );
    return;
  }
  const gaps: string[] = [];
  let gapCount = 0;
  let expected = from;
  for (const s of [...sorted, to + 1n]) {
    if (s > expected) {
      gapCount++;
      if (gaps.length < MAX_LISTED_GAPS) gaps.push(s - 1n === expected ? `${expected}` : `${expected}..${s - 1n}`);
    }
    expected = s + 1n;
  }
  const total = to - from + 1n;
  const missing = total - BigInt(sorted.length);
  if (missing > 0n) {
    const more = gapCount > gaps.length ? ` and ${gapCount - gaps.length} more gap(s)` : "";
    report.add(
      "completeness",
      "bundle",
      "fail",
      `${missing} reading(s) missing from ${from}..${to}: ${gaps.join(", ")}${more}`,
      { missing: missing.toString(), gaps, gapCount },
    );
  } else {
    report.add("completeness", "bundle", "pass", `all ${total} readings of ${from}..${to} are present`);
  }
}

async function checkOnline(
  bundle: ProofBundle,
  batches: Map<string, BundleBatch>,
  options: VerifyOptions & { provider: Provider },
  report: Report,
): Promise<void> {
  const { provider, trusted } = options;
  const ms = options.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  const ask = <T>(what: string, request: () => Promise<T>): Promise<T> => withDeadline(request(), ms, what);

  const network = await ask("eth_chainId", () => provider.getNetwork());
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

  const anchorAddress = getAddress(trusted?.anchor ?? bundle.anchor);
  const anchor = TelemetryAnchor__factory.connect(anchorAddress, provider);
  const registryAddress = await confirmContracts(bundle, anchor, trusted, report, ask);
  if (registryAddress === undefined) {
    report.skipRest(CHAIN_CHECKS.slice(2), "the anchor contract could not be confirmed");
    return;
  }
  const registry = DeviceRegistry__factory.connect(registryAddress, provider);
  const head = await ask("eth_blockNumber", () => provider.getBlockNumber());
  const minConfirmations = options.minConfirmations ?? 1;
  const key = getAddress(bundle.device.key);
  // A lot the bundle names vouches only while the key has no record of its own (N-M2): the registry's
  // answer already says so; these two reads only name who decided, for the report.
  const lot = bundle.device.lot;
  const lotVoucher =
    lot === undefined
      ? undefined
      : await Promise.all([
          ask("getLot", () => registry.getLot(BigInt(lot.lotId))),
          ask("getKey", () => registry.getKey(key)),
        ]).then(([info, keyInfo]) => ({
          manufacturer: getAddress(info.manufacturer),
          recordFrom: keyInfo.deviceId === 0n ? undefined : keyInfo.validFrom,
        }));

  for (const batch of batches.values()) {
    const subject = `batch ${batch.batchId}`;
    const record = await ask("getAnchor", () => anchor.getAnchor(batch.root));
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
    } else if (batch.anchoredAt !== undefined && batch.anchoredAt !== record.anchoredAt.toString()) {
      report.add(
        "root-anchored",
        subject,
        "fail",
        `the bundle says the batch was anchored at ${batch.anchoredAt}, the chain says ${record.anchoredAt}`,
      );
    } else {
      report.add(
        "root-anchored",
        subject,
        "pass",
        `root anchored as batch ${batch.batchId} by ${record.submitter} at ${new Date(Number(record.anchoredAt) * 1000).toISOString()}`,
        { anchoredAt: record.anchoredAt.toString(), registrySeq: record.registrySeq.toString() },
      );
    }

    const receipt = await ask("eth_getTransactionReceipt", () => provider.getTransactionReceipt(batch.transactionHash));
    // Some nodes keep serving receipts of reorganized transactions: the canonical block at that height decides.
    const canonical = await ask("eth_getBlockByNumber", () => provider.getBlock(batch.blockNumber));
    const event = receipt?.logs
      .filter((log) => getAddress(log.address) === anchorAddress)
      .map((log) => anchor.interface.parseLog(log))
      .find(
        (parsed) =>
          parsed?.name === "BatchAnchored" &&
          parsed.args.root === batch.root &&
          parsed.args.batchId.toString() === batch.batchId,
      );
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
    } else if (receipt.status !== 1 || event == null) {
      report.add("anchor-transaction", subject, "fail", "the transaction did not anchor this root as this batch");
    } else if (batch.readingCount !== undefined && BigInt(batch.readingCount) !== (event.args.readingCount as bigint)) {
      report.add(
        "anchor-transaction",
        subject,
        "fail",
        `the bundle says the batch holds ${batch.readingCount} reading(s), the anchoring event says ${event.args.readingCount}`,
      );
    } else {
      report.add(
        "anchor-transaction",
        subject,
        "pass",
        `anchored by ${batch.transactionHash} in block ${batch.blockNumber} (${event.args.readingCount} readings)`,
      );
    }

    // A mined receipt is one confirmation even if the head we read lags behind it (providers cache it briefly).
    const confirmations = receipt === null ? 0 : Math.max(1, head - receipt.blockNumber + 1);
    if (confirmations >= minConfirmations) {
      report.add("confirmations", subject, "pass", `${confirmations} confirmation(s), ${minConfirmations} required`);
    } else {
      report.add("confirmations", subject, "fail", `${confirmations} confirmation(s), ${minConfirmations} required`);
    }

    const moment = registryMoment(record.anchoredAt, record.registrySeq);
    const valid = await ask("validAtMoment", () =>
      lot === undefined
        ? registry.validAtMoment(key, moment)
        : registry.lotEntryValidAtMoment(BigInt(lot.lotId), key, lot.metadataHash, lot.proof, moment),
    );
    const when = `the anchoring (time ${record.anchoredAt}, registry change #${record.registrySeq} of that second)`;
    const recordDecided =
      lotVoucher?.recordFrom !== undefined &&
      lotVoucher.recordFrom !== 0n &&
      lotVoucher.recordFrom <= record.anchoredAt;
    const who =
      lot === undefined || lotVoucher === undefined
        ? ""
        : recordDecided
          ? `; its own device record decided, not lot ${lot.lotId} of manufacturer ${lotVoucher.manufacturer} that the bundle names`
          : `, vouched for by lot ${lot.lotId} of manufacturer ${lotVoucher.manufacturer} (the key had no device record then)`;
    if (valid) {
      report.add("device-valid", subject, "pass", `${key} was an active device key at ${when}${who}`, {
        ...(lot === undefined ? {} : { lot: lot.lotId, manufacturer: lotVoucher?.manufacturer, recordDecided }),
      });
    } else {
      report.add(
        "device-valid",
        subject,
        "fail",
        `${key} was not an active device key at ${when} (unknown, suspended, revoked or rotated away)${who}`,
      );
    }
  }
}

/**
 * The anchor-contract check: the bundle names the pinned anchor (unpinned: the bundle's anchor is at least a
 * contract, reported as a skip), and the registry is the one that anchor consults (and the pinned one, if
 * pinned). Returns the registry to ask, or undefined when the check failed.
 */
async function confirmContracts(
  bundle: ProofBundle,
  anchor: TelemetryAnchor,
  trusted: TrustedContracts | undefined,
  report: Report,
  ask: <T>(what: string, request: () => Promise<T>) => Promise<T>,
): Promise<string | undefined> {
  const anchorAddress = getAddress(String(anchor.target));
  const claimedAnchor = getAddress(bundle.anchor);
  const claimedRegistry = getAddress(bundle.registry);
  const fail = (message: string): undefined => {
    report.add("anchor-contract", "bundle", "fail", message);
    return undefined;
  };
  if (claimedAnchor !== anchorAddress) {
    return fail(`the bundle names anchor ${claimedAnchor}; you trust ${anchorAddress} (${trusted?.source})`);
  }
  const code = await ask("eth_getCode", () => anchor.runner!.provider!.getCode(anchorAddress));
  if (code === "0x") return fail(`no contract at ${anchorAddress} on chain ${bundle.chainId}`);
  let registry: string;
  try {
    registry = getAddress(await ask("registry()", () => anchor.registry()));
  } catch (error) {
    if ((error as { code?: string }).code === "CHAIN_UNREACHABLE") throw error;
    return fail(`${anchorAddress} is not a TelemetryAnchor (registry() failed)`);
  }
  if (trusted?.registry !== undefined && getAddress(trusted.registry) !== registry) {
    return fail(`the trusted anchor uses registry ${registry}; your trust configuration says ${trusted.registry}`);
  }
  if (registry !== claimedRegistry) {
    return fail(`the anchor uses registry ${registry}, the bundle names ${claimedRegistry}`);
  }
  if (trusted === undefined) {
    report.add(
      "anchor-contract",
      "bundle",
      "skip",
      `not pinned: the bundle names the anchor ${anchorAddress}, and any contract can answer like one; ` +
        "the chain checks below show what that contract says, not proof (pin the anchor you trust to make them proof)",
    );
  } else {
    report.add(
      "anchor-contract",
      "bundle",
      "pass",
      `TelemetryAnchor at ${anchorAddress} and its registry ${registry}, as pinned by ${trusted.source}`,
    );
  }
  return registry;
}
