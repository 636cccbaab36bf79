import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo, Server } from "node:net";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { BatcherService, effectiveConfig, loadBatcherConfig } from "../../src/batcher";
import type { BatcherConfig } from "../../src/batcher";
import { loadDotenv } from "../../src/env";
import { ANCHORER_KEY, OPERATOR_TOKEN, startRpcServer, testConfig } from "../helpers/batcher";
import { anchorFixture } from "../helpers/anchor";
import { iotrail, tempDir } from "../helpers/cli";
import { expectRejected } from "../helpers/expect";
import { suiteFixture } from "../helpers/suite";

/** A pino logger whose lines are kept for the test to read. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n"))
        if (line.trim() !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

/** A server that accepts connections and never answers (a hung node). */
async function silentServer(): Promise<{ server: Server; url: string; port: number }> {
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, port };
}

describe("batcher start-up", function () {
  let rpc: { url: string; close: () => Promise<void> };
  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });

  describe("loadBatcherConfig: sources", function () {
    it("records where each value came from: file, environment or default", function () {
      const dir = tempDir();
      const file = join(dir, "batcher.json");
      writeFileSync(file, JSON.stringify({ http: { port: 9000 }, sealing: { maxReadings: 77 } }));
      const config = loadBatcherConfig({
        file,
        env: { BATCHER_HTTP_HOST: "0.0.0.0", BATCHER_PRIVATE_KEY: ANCHORER_KEY },
      });
      expect(config.sources).to.include({
        "http.port": `file ${file}`,
        "sealing.maxReadings": `file ${file}`,
        "http.host": "environment BATCHER_HTTP_HOST",
        privateKey: "environment BATCHER_PRIVATE_KEY",
        "sealing.maxAgeMs": "default",
      });
    });

    it("a variable that .env set is shown as coming from .env", function () {
      const dir = tempDir();
      const previous = process.env.BATCHER_CONFIRMATIONS;
      delete process.env.BATCHER_CONFIRMATIONS;
      writeFileSync(join(dir, ".env"), "BATCHER_CONFIRMATIONS=4\n");
      try {
        loadDotenv(join(dir, ".env"));
        const config = loadBatcherConfig({ env: process.env });
        expect(config.anchoring.confirmations).to.equal(4);
        expect(config.sources!["anchoring.confirmations"]).to.equal(".env BATCHER_CONFIRMATIONS");
      } finally {
        if (previous === undefined) delete process.env.BATCHER_CONFIRMATIONS;
        else process.env.BATCHER_CONFIRMATIONS = previous;
      }
    });

    it("effectiveConfig hides the secrets and the RPC URL's path (API keys live there)", function () {
      const config = loadBatcherConfig({
        env: {
          RPC_URL: "https://eth-sepolia.example.com/v2/secret-api-key",
          BATCHER_PRIVATE_KEY: ANCHORER_KEY,
          BATCHER_ADMIN_TOKEN: "admin-token-0123456789",
          BATCHER_MQTT_OPERATOR_TOKEN: OPERATOR_TOKEN,
        },
      });
      const shown = JSON.stringify(effectiveConfig(config));
      for (const secret of [ANCHORER_KEY.slice(2), "admin-token-0123456789", OPERATOR_TOKEN, "secret-api-key"]) {
        expect(shown).not.to.contain(secret);
      }
      expect(shown).to.contain("https://eth-sepolia.example.com/…");
      expect(shown).to.contain('"privateKey":"(set)"');
    });
  });

  describe("BatcherService.start", function () {
    it("logs the effective configuration with its sources at start, and shows it on /health to the admin only", async function () {
      const fx = await loadFixture(anchorFixture);
      const { logger, lines } = capturingLogger();
      const config = {
        ...testConfig(fx, rpc.url),
        http: { ...testConfig(fx, rpc.url).http, port: 0, adminToken: "admin-token-0123456789" },
      };
      const service = await BatcherService.start(config, { logger });
      try {
        const first = lines.find((line) => line.msg === "effective configuration")!;
        expect(first, "logged first").to.equal(lines[0]);
        expect(JSON.stringify(first)).not.to.contain(ANCHORER_KEY.slice(2));
        expect((first.sources as Record<string, string>)["privateKey"]).to.equal("environment BATCHER_PRIVATE_KEY");
        const open = (await (await fetch(`${service.httpUrl}/health`)).json()) as Record<string, unknown>;
        expect(open).to.deep.equal({ status: "ok" });
        const admin = (await (
          await fetch(`${service.httpUrl}/health`, { headers: { authorization: "Bearer admin-token-0123456789" } })
        ).json()) as { config: { values: Record<string, unknown>; sources: Record<string, string> } };
        expect(admin.config.values.privateKey).to.equal("(set)");
        expect(admin.config.sources["sealing.maxReadings"]).to.equal("default");
      } finally {
        await service.stop();
      }
    });

    it("a port already in use stops the start with a ConfigError naming the field, and releases what it started", async function () {
      const fx = await loadFixture(anchorFixture);
      const taken = await silentServer();
      try {
        const base = testConfig(fx, rpc.url);
        await expectRejected(
          BatcherService.start(
            { ...base, http: { ...base.http, port: taken.port } },
            { logger: pino({ level: "silent" }) },
          ),
          `127.0.0.1:${taken.port} is in use`,
        );
        const mqtt = base.mqtt as Extract<BatcherConfig["mqtt"], { embedded: true }>;
        await expectRejected(
          BatcherService.start({ ...base, mqtt: { ...mqtt, port: taken.port } }, { logger: pino({ level: "silent" }) }),
          "change mqtt.port (BATCHER_MQTT_PORT)",
        );
        // The HTTP port the failed start had opened was closed again: a new service gets it.
        const again = await BatcherService.start(base, { logger: pino({ level: "silent" }) });
        await again.stop();
      } finally {
        taken.server.close();
      }
    });

    it("an unresponsive node at start gives a clear error within the RPC timeout", async function () {
      const fx = await loadFixture(anchorFixture);
      const hung = await silentServer();
      try {
        const config = { ...testConfig(fx, hung.url), rpcTimeoutMs: 1_000 };
        delete (config as { chainId?: bigint }).chainId;
        const started = Date.now();
        await expectRejected(
          BatcherService.start(config, { logger: pino({ level: "silent" }) }),
          `${hung.url}: no answer from the node within 1 s`,
        );
        expect(Date.now() - started).to.be.below(10_000);
      } finally {
        hung.server.close();
      }
    });

    it("security: a node on another chain than the configured chainId stops the start, naming both chains", async function () {
      const fx = await loadFixture(anchorFixture);
      // The configuration says Sepolia; the node is the in-process Hardhat chain (31337). Anchoring readings
      // signed for one chain on another would give bundles no verifier pinned to Sepolia accepts.
      const config = { ...testConfig(fx, rpc.url), chainId: 11155111n };
      await expectRejected(
        BatcherService.start(config, { logger: pino({ level: "silent" }) }),
        `the node at ${rpc.url} is chain 31337, but the configuration says chainId 11155111`,
      );
      // The same configuration with the node's chain id starts.
      const service = await BatcherService.start({ ...config, chainId: 31337n }, { logger: pino({ level: "silent" }) });
      await service.stop();
    });

    it("without an anchor, takes the anchor and registry from the deployment record of the node's chain", async function () {
      const { record, dir } = await loadFixture(suiteFixture);
      const fx = await anchorFixture();
      const base = testConfig(fx, rpc.url);
      const rest: BatcherConfig = { ...base };
      delete rest.anchor;
      delete rest.registry;
      const { logger, lines } = capturingLogger();
      const service = await BatcherService.start({ ...rest, deployments: dir }, { logger });
      try {
        const started = lines.find((line) => line.msg === "batcher started")!;
        expect(started.anchor).to.equal(record.contracts.TelemetryAnchor.address);
        expect(started.registry).to.equal(record.contracts.DeviceRegistry.address);
      } finally {
        await service.stop();
      }
      await expectRejected(
        BatcherService.start({ ...rest, deployments: tempDir() }, { logger: pino({ level: "silent" }) }),
        'no anchor configured ("anchor", ANCHOR_ADDRESS), and no deployment recorded for chain 31337',
      );
    });
  });

  describe("iotrail batcher (CLI)", function () {
    it("exits non-zero with the reason when its port is in use, and names an unknown config field", async function () {
      const taken = await silentServer();
      try {
        const dir = tempDir();
        const file = join(dir, "batcher.json");
        writeFileSync(
          file,
          JSON.stringify({
            anchor: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
            chainId: 31337,
            registry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
            rpcUrl: rpc.url,
            database: join(dir, "b.sqlite"),
            http: { port: taken.port },
            mqtt: { enabled: false },
            anchoring: { enabled: false },
          }),
        );
        const inUse = await iotrail(["batcher", "-c", file]);
        expect(inUse.code).to.equal(2);
        expect(inUse.stderr).to.contain(`127.0.0.1:${taken.port} is in use`);
        writeFileSync(file, JSON.stringify({ sealling: {} }));
        const typo = await iotrail(["batcher", "-c", file]);
        expect(typo.code).to.equal(2);
        expect(typo.stderr).to.contain('unknown config field "sealling" (did you mean "sealing"?)');
      } finally {
        taken.server.close();
      }
    });
  });
});
