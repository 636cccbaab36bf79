/**
 * Issue 24, defect 8 (the user's side of P-L1): a second `iotrail batcher` on the same batcher.sqlite (other
 * ports) started without a warning, and both sealed and anchored with one wallet. It now refuses to start with
 * an error naming the file and the process that holds it, and exits non-zero; the first goes on.
 */
import { expect } from "chai";
import { anchorFixture } from "../helpers/anchor";
import { startRpcServer, tempDatabase } from "../helpers/batcher";
import { runBatcher, writeConfig } from "../helpers/batcher-process";

describe("first hour (issue 24): two batchers on one SQLite file", function () {
  this.timeout(60_000);
  let rpc: { url: string; close: () => Promise<void> };
  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });

  it("the second iotrail batcher on the same file refuses to start, naming the file and the first one's pid", async function () {
    const fx = await anchorFixture();
    const database = tempDatabase();
    const config = (port: number) =>
      writeConfig({
        rpcUrl: rpc.url,
        chainId: fx.telemetry.chainId.toString(),
        anchor: fx.telemetry.verifyingContract,
        database,
        http: { port },
        mqtt: { port: 0 },
        logLevel: "info",
      });
    const first = runBatcher(config(0));
    try {
      await first.url;
      const second = runBatcher(config(0));
      const { code } = await second.exited;
      expect(code, second.log()).to.not.equal(0);
      expect(second.log()).to.contain(`${database} is in use by another batcher (pid ${first.process.pid}`);
      expect((await fetch(`${await first.url}/health`)).status, "the first goes on").to.equal(200);
    } finally {
      first.process.kill("SIGTERM");
      await first.exited;
    }
  });
});
