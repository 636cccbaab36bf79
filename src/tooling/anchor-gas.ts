/**
 * Gas of TelemetryAnchor actions on a fresh deployment with deterministic inputs. Anchor gas must not
 * depend on the batch size, so one anchor is measured for batches of 1 and of 1,000,000 readings.
 */
import { id } from "ethers";
import type { ContractTransactionResponse, Signer } from "ethers";
import { DeviceRegistry__factory, TelemetryAnchor__factory } from "../../typechain-types";
import type { BatchHeader } from "../anchor";
import { DeviceKey } from "../device";
import { telemetryDomain } from "../eip712";
import { metricId, ReadingBatch, ZERO_HASH } from "../telemetry";

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("transaction dropped");
  return receipt.gasUsed;
}

/** A header as the batcher sends it: a 59-character content URI and a content hash. */
function header(label: string, readingCount: number): BatchHeader {
  return {
    root: id(`iotrail gas root ${label}`),
    readingCount,
    fromTimestamp: 1_767_225_600n,
    toTimestamp: 1_767_225_660n,
    contentHash: id(`iotrail gas content ${label}`),
    contentURI: "ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
  };
}

export async function measureAnchorGas(signers: Signer[]): Promise<Map<string, bigint>> {
  const [admin, anchorer] = signers as [Signer, Signer];
  const registry = await new DeviceRegistry__factory(admin).deploy(await admin.getAddress());
  const anchor = await new TelemetryAnchor__factory(admin).deploy(await admin.getAddress(), registry);
  await anchor.grantRole(await anchor.ANCHORER_ROLE(), await anchorer.getAddress());
  const asAnchorer = anchor.connect(anchorer);
  const gas = new Map<string, bigint>();

  // The first anchor also initializes the batch counter (a fresh slot); steady state is the second.
  gas.set("TelemetryAnchor.anchor.first", await gasOf(asAnchorer.anchor(header("first", 1))));
  gas.set("TelemetryAnchor.anchor(readings=1)", await gasOf(asAnchorer.anchor(header("one", 1))));
  gas.set("TelemetryAnchor.anchor(readings=1000000)", await gasOf(asAnchorer.anchor(header("million", 1_000_000))));
  gas.set(
    "TelemetryAnchor.anchor(noURI)",
    await gasOf(asAnchorer.anchor({ ...header("no uri", 1000), contentURI: "" })),
  );
  const many = Array.from({ length: 10 }, (_, i) => header(`many ${i}`, 1000));
  const manyGas = await gasOf(asAnchorer.anchorMany(many));
  gas.set("TelemetryAnchor.anchorMany(10)", manyGas);
  gas.set("TelemetryAnchor.anchorMany(10).perRoot", manyGas / 10n);

  // Reading checks (eth_estimateGas of the view calls, as another contract would pay them).
  const device = DeviceKey.fromPrivateKey(id("iotrail gas reading device"));
  const domain = telemetryDomain((await anchor.runner!.provider!.getNetwork()).chainId, await anchor.getAddress());
  const readings = Array.from({ length: 1024 }, (_, i) => ({
    device: device.address,
    sequence: BigInt(i + 1),
    timestamp: 1_767_225_600n + BigInt(i),
    metric: metricId("temperature.mC"),
    value: 4_000n + BigInt(i),
    payloadHash: ZERO_HASH,
  }));
  const batch = await ReadingBatch.build(
    readings.map((reading) => ({ reading, signature: device.signReading(domain, reading) })),
  );
  await (await asAnchorer.anchor(batch.header())).wait();
  const batchId = await anchor.batchCount();
  gas.set(
    "TelemetryAnchor.verifyReading(leaves=1024)",
    await anchor.verifyReading.estimateGas(batchId, readings[7]!, batch.proof(7)),
  );
  const indices = [3, 100, 511, 900];
  const multi = batch.multiProof(indices);
  gas.set(
    "TelemetryAnchor.verifyReadings(4of1024)",
    await anchor.verifyReadings.estimateGas(
      batchId,
      multi.indices.map((i) => readings[i]!),
      multi.proof,
      multi.proofFlags,
    ),
  );
  return gas;
}
