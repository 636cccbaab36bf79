import { expect } from "chai";
import { ethers } from "hardhat";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PostgresVoucherStore, SqliteVoucherStore, openVoucherStore } from "../../src/payments";
import type { StoredVoucher, VoucherStore } from "../../src/payments";
import { postgresAvailable, testDatabase } from "../../src/tooling/postgres";

const tempPath = () => join(mkdtempSync(join(tmpdir(), "iotrail-vouchers-")), "vouchers.sqlite");

const TERMS = {
  payer: "0x00000000000000000000000000000000000000A1",
  payee: "0x00000000000000000000000000000000000000B2",
  signer: "0x00000000000000000000000000000000000000C3",
  token: ethers.ZeroAddress,
  cap: 0n,
  expiry: 0n,
  salt: ethers.ZeroHash,
};

/** A voucher on channel `id` for `amount`, with `charged` delivered against it. */
function voucher(id: bigint, amount: bigint, charged: bigint): StoredVoucher {
  return {
    channelId: id,
    terms: {
      ...TERMS,
      payer: ethers.getAddress(TERMS.payer),
      payee: ethers.getAddress(TERMS.payee),
      signer: ethers.getAddress(TERMS.signer),
    },
    amount,
    signature: ethers.hexlify(ethers.toBeArray(amount + 1n)).padEnd(132, "0"),
    charged,
  };
}

const ID = 2n ** 255n + 12345n; // ids are 256-bit hashes

const backends = [
  { name: "SQLite", available: () => true, location: async () => tempPath() },
  { name: "PostgreSQL", available: postgresAvailable, location: () => testDatabase() },
];

/** A child process that charges vouchers 1..count on one channel, printing each once `charge` resolved, then idles. */
function chargeInChild(location: string, count: number) {
  const script = `
    require("ts-node").register({ transpileOnly: true });
    const { openVoucherStore } = require(${JSON.stringify(join(__dirname, "..", "..", "src", "payments"))});
    const terms = JSON.parse(process.argv[1], (k, v) => (typeof v === "string" && /^n\\d+$/.test(v) ? BigInt(v.slice(1)) : v));
    openVoucherStore(${JSON.stringify(location)}).then(async (store) => {
      for (let i = 1n; i <= ${count}n; i++) {
        const result = await store.charge(
          { channelId: ${ID}n, terms, amount: i * 10n, signature: "0x" + "11".repeat(65), charged: i * 10n },
          (i - 1n) * 10n,
        );
        if (result.status !== "stored") throw new Error("conflict at " + i);
        process.stdout.write("acked " + i + "\\n");
      }
      setInterval(() => {}, 1000);
    });
  `;
  const terms = JSON.stringify(voucher(ID, 1n, 0n).terms, (_, v) => (typeof v === "bigint" ? `n${v}` : v));
  return spawn(process.execPath, ["-e", script, terms], { cwd: join(__dirname, "..", "..") });
}

for (const backend of backends) {
  describe(`VoucherStore on ${backend.name}`, function () {
    this.timeout(60_000);
    const open: VoucherStore[] = [];
    const opened = async (location?: string) => {
      const store = await openVoucherStore(location ?? (await backend.location()));
      open.push(store);
      return store;
    };

    before(function () {
      if (backend.available()) return;
      if (process.env.CI === "true") throw new Error(`${backend.name} is required in CI`);
      this.skip();
    });

    afterEach(async function () {
      await Promise.all(open.splice(0).map((store) => store.close().catch(() => undefined)));
    });

    it(`opens as the ${backend.name} engine`, async function () {
      const store = await opened();
      expect(store).to.be.instanceOf(backend.name === "SQLite" ? SqliteVoucherStore : PostgresVoucherStore);
    });

    describe("charge", function () {
      it("stores a channel's first voucher and then only higher ones, each with its charge", async function () {
        const store = await opened();
        expect(await store.get(ID)).to.equal(undefined);
        expect((await store.charge(voucher(ID, 100n, 40n), 0n)).status).to.equal("stored");
        expect(await store.get(ID)).to.deep.equal(voucher(ID, 100n, 40n));
        expect((await store.charge(voucher(ID, 150n, 90n), 40n)).status).to.equal("stored");
        const stale = await store.charge(voucher(ID, 150n, 100n), 90n);
        expect(stale).to.deep.equal({ status: "conflict", current: voucher(ID, 150n, 90n) });
        expect(await store.list()).to.deep.equal([voucher(ID, 150n, 90n)]);
      });

      it("security: of two charges racing from the same state, exactly one is stored (no service given twice for one payment)", async function () {
        const location = await backend.location();
        const [a, b] = [await opened(location), await opened(location)];
        await a.charge(voucher(ID, 10n, 10n), 0n);
        const results = await Promise.all([a.charge(voucher(ID, 20n, 20n), 10n), b.charge(voucher(ID, 25n, 20n), 10n)]);
        expect(results.map((r) => r.status).sort()).to.deep.equal(["conflict", "stored"]);
        expect((await a.get(ID))!.charged).to.equal(20n);
      });

      it("refuses a charge above the voucher's amount, or a first charge that expected a prior one", async function () {
        const store = await opened();
        expect((await store.charge(voucher(ID, 10n, 11n), 0n)).status).to.equal("conflict");
        expect((await store.charge(voucher(ID, 10n, 10n), 5n)).status).to.equal("conflict");
        expect(await store.list()).to.deep.equal([]);
      });

      it("keeps 256-bit ids and amounts exactly", async function () {
        const store = await opened();
        const big = voucher(2n ** 256n - 1n, 2n ** 96n - 1n, 2n ** 96n - 2n);
        await store.charge(big, 0n);
        expect(await store.get(big.channelId)).to.deep.equal(big);
      });
    });

    it("a crashed process: the best voucher acknowledged before a SIGKILL is there after it", async function () {
      const location = await backend.location();
      const child = chargeInChild(location, 100_000);
      const exited = new Promise((resolve) => child.once("exit", resolve));
      let acked = 0n;
      let errors = "";
      child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()));
      child.stdout.on("data", (chunk: Buffer) => {
        for (const match of chunk.toString().matchAll(/acked (\d+)/g)) acked = BigInt(match[1]!);
        if (acked >= 50n) child.kill("SIGKILL");
      });
      await exited;
      expect(acked >= 50n).to.equal(true, `the child stopped at ${acked}: ${errors}`);
      const store = await opened(location);
      const best = (await store.get(ID))!;
      // Everything acknowledged is there; the write in flight at the kill may be there too.
      expect(best.amount >= acked * 10n).to.equal(true, `${best.amount} < ${acked * 10n}`);
      expect(best.charged).to.equal(best.amount);
    });
  });
}
