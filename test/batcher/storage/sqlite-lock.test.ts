import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { ConfigError } from "../../../src/errors";
import type { BatcherService } from "../../../src/batcher";
import { anchorFixture } from "../../helpers/anchor";
import { startBatcher, startRpcServer, testConfig } from "../../helpers/batcher";

describe("batcher: one process per SQLite file (P-L1)", function () {
  let rpc: { url: string; close: () => Promise<void> };
  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });

  it("security (P-L1): a second batcher on the same SQLite file refuses to start, naming the file and the process that holds it", async function () {
    const fx = await anchorFixture();
    const config = testConfig(fx, rpc.url);
    const first: BatcherService = await startBatcher(config);
    try {
      const second = await startBatcher({ ...config, http: { ...config.http, port: 0 } }).catch(
        (error: unknown) => error,
      );
      if (!(second instanceof Error)) await (second as BatcherService).stop();
      expect(second).to.be.instanceOf(ConfigError);
      expect((second as Error).message).to.contain(
        `${config.database} is in use by another batcher (pid ${process.pid}`,
      );
    } finally {
      await first.stop();
    }
    expect(existsSync(`${config.database}.lock`), "the lock goes with the store").to.equal(false);
    const again = await startBatcher(config);
    await again.stop();
  });

  it("a lock left by a process that no longer runs (a crash) is taken over", async function () {
    const fx = await anchorFixture();
    const config = testConfig(fx, rpc.url);
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
    writeFileSync(`${config.database}.lock`, JSON.stringify({ pid: Number(gone), host: hostname(), since: "then" }));
    const service = await startBatcher(config);
    await service.stop();
  });
});
