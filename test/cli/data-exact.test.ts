/**
 * Issue 27: `iotrail data buy` pays by x402's `exact` scheme when the buyer has no channel but holds the price
 * in the token it pays in; a buyer with nothing but a key and DemoToken (no ETH, no registered device key) buys
 * and verifies a range. The chain is a fresh anvil deployed by `iotrail deploy`, and the batcher's exact
 * seller takes the deployment record's DemoToken by default.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { JsonRpcProvider } from "ethers";
import type { JsonRpcSigner } from "ethers";
import type { BatcherService } from "../../src/batcher";
import { telemetryDomain } from "../../src/eip712";
import { startAnvil } from "../../src/tooling/anvil";
import type { AnvilNode } from "../../src/tooling/anvil";
import { DemoToken__factory } from "../../typechain-types";
import { ANCHORER_KEY, contractsTestConfig, startBatcher } from "../helpers/batcher";
import { iotrail, iotrailOk, tempDir } from "../helpers/cli";
import { EXACT_PRICE, SETTLER_KEY, publishedRange, skipWithoutAnvil } from "../helpers/exact";
import type { ExactChain } from "../helpers/exact";
import { devAccountKey } from "../helpers/node";
import { Wallet } from "ethers";

describe("iotrail data buy by x402 exact (a buyer with only a token balance)", function () {
  this.timeout(300_000);
  let node: AnvilNode;
  let provider: JsonRpcProvider;
  let service: BatcherService;
  let chain: ExactChain;
  let deployments: string;

  before(async function () {
    skipWithoutAnvil(this);
    node = await startAnvil();
    provider = new JsonRpcProvider(node.url, undefined, { pollingInterval: 50, cacheTimeout: -1 });
    deployments = join(tempDir(), "deployments");
    const env = { LOCALHOST_RPC_URL: node.url, DEPLOYER_PRIVATE_KEY: devAccountKey(0) };
    await iotrailOk(["--deployments", deployments, "deploy", "--network", "localhost"], {
      env,
      cwd: join(__dirname, "..", ".."),
    });
    const record = JSON.parse(readFileSync(join(deployments, "31337.json"), "utf8")) as {
      contracts: Record<string, { address: string }>;
    };
    const on = ["--rpc", node.url, "--deployments", deployments, "--account", "0"];
    await iotrailOk([...on, "roles", "grant", "anchorer", new Wallet(ANCHORER_KEY).address]);
    const [admin, , owner, payee] = (await Promise.all(
      [0, 1, 2, 3].map((i) => provider.getSigner(i)),
    )) as JsonRpcSigner[];
    const anchor = record.contracts.TelemetryAnchor!.address;
    chain = {
      node,
      provider,
      token: DemoToken__factory.connect(record.contracts.DemoToken!.address, admin!),
      anchor,
      registry: record.contracts.DeviceRegistry!.address,
      paymentChannels: record.contracts.PaymentChannels!.address,
      payee: payee!.address,
      telemetry: telemetryDomain(31337n, anchor),
      manufacturer: admin!,
      owner: owner!.address,
    };
    const base = contractsTestConfig(node.url, { chainId: 31337n });
    service = await startBatcher(
      contractsTestConfig(
        node.url,
        { chainId: 31337n, deployments },
        {
          anchoring: { ...base.anchoring, confirmations: 1 },
          sales: {
            pricePerReading: 1_000n,
            token: "0x0000000000000000000000000000000000000000",
            payee: chain.payee,
            vouchers: ":memory:",
            watchIntervalMs: 60_000,
            claimMarginSeconds: 3_600,
            // No asset: the deployment record's DemoToken.
            exact: { pricePerReading: EXACT_PRICE, confirmations: 1, maxTimeoutSeconds: 120, settlerKey: SETTLER_KEY },
          },
        },
      ),
    );
  });
  after(async function () {
    await service?.stop();
    provider?.destroy();
    await node?.stop();
  });

  it("auto picks exact for a buyer with no channel and the price in DemoToken; the bundle verifies against the record", async function () {
    const { device } = await publishedRange(chain, service, 4);
    const dir = tempDir();
    const keyFile = join(dir, "buyer.json");
    await iotrailOk(["devices", "keygen", "-o", keyFile]);
    const buyer = (JSON.parse(readFileSync(keyFile, "utf8")) as { address: string }).address;
    await (await chain.token.mint(buyer, 1_000_000n)).wait();
    expect(await provider.getBalance(buyer), "the buyer has no ETH").to.equal(0n);
    const out = join(dir, "bought.json");
    const bought = await iotrail([
      "--rpc",
      node.url,
      "--deployments",
      deployments,
      "--key",
      keyFile,
      "--json",
      "data",
      "buy",
      "--from",
      service.httpUrl!,
      "--device",
      device.address,
      "--range",
      "1..4",
      "-o",
      out,
    ]);
    expect(bought.code, bought.stderr).to.equal(0);
    const result = bought.json<{ verdict: string; scheme: string; transaction: string }>();
    expect(result.verdict).to.equal("verified");
    expect(result.scheme).to.equal("exact");
    expect(await chain.token.balanceOf(buyer)).to.equal(1_000_000n - 4n * EXACT_PRICE);
    expect((await provider.getTransactionReceipt(result.transaction))?.status).to.equal(1);
  });

  it("--scheme exact with a token the buyer does not hold enough of: refused by the seller, nothing paid; --asset other than the seller's: nothing signed", async function () {
    const { device } = await publishedRange(chain, service, 2);
    const dir = tempDir();
    const keyFile = join(dir, "poor.json");
    await iotrailOk(["devices", "keygen", "-o", keyFile]);
    const args = [
      "--rpc",
      node.url,
      "--deployments",
      deployments,
      "--key",
      keyFile,
      "data",
      "buy",
      "--from",
      service.httpUrl!,
      "--device",
      device.address,
      "--range",
      "1..2",
    ];
    const poor = await iotrail([...args, "--scheme", "exact"]);
    expect(poor.code).to.not.equal(0);
    expect(poor.stderr).to.contain("invalid_exact_evm_insufficient_balance");
    const other = await iotrail([...args, "--scheme", "exact", "--asset", Wallet.createRandom().address]);
    expect(other.code).to.not.equal(0);
    expect(other.stderr).to.contain("does not pay in");
  });
});
