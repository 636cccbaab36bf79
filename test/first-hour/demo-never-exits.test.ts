/**
 * Issue 24, defect 1: `npm run demo` never exited. `SoleLeader.stop()` never told the service to stop its
 * sealing and anchoring loops, so one anchorer timer kept the process alive, and a pass could still run on a
 * closed store ("anchoring pass failed: The database connection is not open"). An embedding program must
 * exit by itself once `stop()` resolves.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { anchorFixture } from "../helpers/anchor";
import { ANCHORER_KEY, startRpcServer, tempDatabase } from "../helpers/batcher";
import { tempDir } from "../helpers/cli";

const DIST = join(__dirname, "..", "..", "dist", "src", "batcher");

/** A plain Node program that embeds the batcher: start, let its loops run, stop, then report what is left. */
const PROGRAM = `
const { BatcherService, loadBatcherConfig } = require(${JSON.stringify(DIST)});
(async () => {
  const service = await BatcherService.start(loadBatcherConfig({ file: process.argv[2], env: process.env }));
  await new Promise((resolve) => setTimeout(resolve, 1500)); // sealing and anchoring passes run meanwhile
  await service.stop();
  // Handles and timers only: the standard streams, and a write of the last log line still in flight
  // (FSReqCallback, a request that completes), are not something the service left behind.
  const left = process.getActiveResourcesInfo().filter((r) => !["TTYWrap", "PipeWrap", "FSReqCallback"].includes(r));
  console.log(JSON.stringify({ msg: "STOP RETURNED", left }));
})().catch((error) => { console.error(error); process.exitCode = 1; });
`;

describe("first hour (issue 24): a stopped batcher lets its process exit", function () {
  this.timeout(60_000);
  let rpc: { url: string; close: () => Promise<void> };
  before(async function () {
    rpc = await startRpcServer();
  });
  after(async function () {
    await rpc.close();
  });

  it("a service started and stopped in a child process exits by itself within 5 s, with no timer or handle left and no log line after 'stopped'", async function () {
    const fx = await anchorFixture();
    const dir = tempDir();
    const program = join(dir, "embed.js");
    writeFileSync(program, PROGRAM);
    const config = join(dir, "batcher.json");
    writeFileSync(
      config,
      JSON.stringify({
        rpcUrl: rpc.url,
        chainId: fx.telemetry.chainId.toString(),
        anchor: fx.telemetry.verifyingContract,
        database: tempDatabase(),
        http: { port: 0 },
        mqtt: { port: 0 },
        sealing: { maxAgeMs: 100, intervalMs: 20 },
        anchoring: { intervalMs: 25, confirmations: 1 },
        logLevel: "debug",
      }),
    );
    const child = spawn(process.execPath, [program, config], {
      env: { ...process.env, BATCHER_PRIVATE_KEY: ANCHORER_KEY },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let stoppedAt = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (stoppedAt === 0 && out.includes('"msg":"batcher stopped"')) stoppedAt = Date.now();
    });
    child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const exited = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        resolve(null);
      }, 30_000);
      child.once("exit", (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    const exitedAt = Date.now();
    expect(exited, `the process did not exit by itself:\n${out.slice(-2000)}`).to.equal(0);
    expect(stoppedAt, "it logged 'batcher stopped'").to.be.greaterThan(0);
    expect(exitedAt - stoppedAt, "from 'stopped' to exit").to.be.below(5_000);
    // The program's own report and pino's lines reach stdout in either order (pino writes asynchronously):
    // the report is found anywhere, and no line of the service's follows "batcher stopped".
    const lines = out.trim().split("\n");
    const reportLine = lines.find((line) => line.includes('"msg":"STOP RETURNED"'));
    expect(reportLine, "the program's report").to.not.equal(undefined);
    const stopped = lines.findIndex((line) => line.includes('"msg":"batcher stopped"'));
    const after = lines.slice(stopped + 1).filter((line) => line !== reportLine);
    expect(after, "nothing is logged after 'stopped'").to.deep.equal([]);
    const report = JSON.parse(reportLine!) as { msg: string; left: string[] };
    expect(report.left, "timers or handles left after stop()").to.deep.equal([]);
  });
});
