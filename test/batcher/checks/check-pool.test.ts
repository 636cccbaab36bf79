import { expect } from "chai";
import { ethers } from "hardhat";
import { CheckPool, checkMessage, encodeIngestMessage } from "../../../src/batcher";
import type { Worker } from "node:worker_threads";
import { DeviceKey } from "../../../src/device";
import { telemetryDomain } from "../../../src/eip712";
import { readingsOf } from "../../helpers/anchor";

const domain = telemetryDomain(31337n, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
const device = DeviceKey.fromPrivateKey(ethers.id("pool test device"));

function messages(): Uint8Array[] {
  const good = readingsOf(device, 4).map((reading) =>
    encodeIngestMessage({ domain, reading, signature: device.signReading(domain, reading) }),
  );
  return [...good, "{bad", JSON.stringify({ nope: 1 })].map((text) => Buffer.from(text));
}

describe("CheckPool", function () {
  describe("check", function () {
    it("gives on worker threads exactly the results of the inline checks, in order", async function () {
      const pool = await CheckPool.start({ domain, maxBytes: 4096, threads: 2 });
      try {
        expect(pool.path).to.deep.include({ threads: 2, secp256k1: "native", batchVerify: "native", keccak: "wasm" });
        const input = messages();
        const results = await pool.check(input);
        expect(results).to.deep.equal(input.map((m) => checkMessage(m, { domain, maxBytes: 4096 })));
        expect(results.map((r) => (r.status === "rejected" ? r.code : r.status))).to.deep.equal([
          "checked",
          "checked",
          "checked",
          "checked",
          "E_MALFORMED",
          "E_SCHEMA",
        ]);
      } finally {
        await pool.close();
      }
    });

    it("a worker that dies fails its own jobs only; the pool goes on and replaces it", async function () {
      const pool = await CheckPool.start({ domain, maxBytes: 4096, threads: 1 });
      try {
        const workers = (pool as unknown as { workers: { worker: Worker }[] }).workers;
        const first = workers[0]!.worker;
        // A job long enough (about 150 ms of work) to be still running when the worker is terminated.
        const lost = pool.check(Array.from({ length: 400 }, messages).flat());
        await first.terminate();
        try {
          await lost;
          expect.fail("the dead worker's job must fail");
        } catch (error) {
          expect((error as { code?: string }).code).to.equal("WORKER_EXIT");
        }
        // With no worker left, the calling thread checks; then a replacement takes over.
        expect((await pool.check(messages())).filter((r) => r.status === "checked")).to.have.length(4);
        for (let i = 0; i < 200 && (workers.length === 0 || workers[0]!.worker === first); i++) {
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        expect(workers).to.have.length(1);
        expect(workers[0]!.worker).to.not.equal(first);
        expect((await pool.check(messages())).filter((r) => r.status === "checked")).to.have.length(4);
      } finally {
        await pool.close();
      }
    });
  });
});
