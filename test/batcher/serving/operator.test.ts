import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { DeviceActivity, IngestHistory } from "../../../src/batcher";
import {
  batcherFixture,
  liveReadings,
  postReadings,
  startBatcher,
  startRpcServer,
  testConfig,
  waitFor,
  wireBatch,
} from "../../helpers/batcher";

describe("operator data", function () {
  describe("IngestHistory", function () {
    it("counts outcomes per minute and keeps the last hour only", function () {
      const history = new IngestHistory();
      const t0 = Date.UTC(2026, 10, 30, 12, 0, 30);
      history.record({ status: "accepted" }, t0);
      history.record({ status: "accepted" }, t0 + 10_000);
      history.record({ status: "rejected", code: "E_SIGNATURE" }, t0 + 20_000);
      history.record({ status: "duplicate" }, t0 + 61_000);
      history.record({ status: "busy" }, t0 + 61_000);
      expect(history.lastHour(t0 + 70_000)).to.deep.equal([
        { minute: "2026-11-30T12:00:00.000Z", accepted: 2, duplicate: 0, busy: 0, rejected: { E_SIGNATURE: 1 } },
        { minute: "2026-11-30T12:01:00.000Z", accepted: 0, duplicate: 1, busy: 1, rejected: {} },
      ]);
      history.record({ status: "accepted" }, t0 + 3_600_000);
      expect(history.lastHour(t0 + 3_600_000).map((m) => m.minute)).to.deep.equal([
        "2026-11-30T12:01:00.000Z",
        "2026-11-30T13:00:00.000Z",
      ]);
    });
  });

  describe("DeviceActivity", function () {
    it("lists devices most recent first with their highest sequence, and forgets the least recent beyond its capacity", function () {
      const activity = new DeviceActivity(2);
      activity.seen("0xa", "5", 1_000);
      activity.seen("0xb", "1", 2_000);
      activity.seen("0xa", "3", 3_000); // an older sequence arriving late
      expect(activity.list(0, 10).map((d) => [d.device, d.lastSequence, d.readings])).to.deep.equal([
        ["0xa", "5", 2],
        ["0xb", "1", 1],
      ]);
      activity.seen("0xc", "9", 4_000);
      expect(activity.list(0, 10).map((d) => d.device)).to.deep.equal(["0xc", "0xa"]);
      expect(activity.list(1, 1).map((d) => d.device)).to.deep.equal(["0xa"]);
    });
  });

  describe("GET /v1/batches, /v1/operator/*", function () {
    it("pages batches newest first; an anonymous network client gets 401 from the operator endpoints", async function () {
      const fx = await loadFixture(batcherFixture);
      const rpc = await startRpcServer();
      const token = "operator-token-0123456789";
      const base = testConfig(fx, rpc.url, { sealing: { maxReadings: 2, maxAgeMs: 50, intervalMs: 10 } });
      const service = await startBatcher({ ...base, http: { ...base.http, adminToken: token } });
      try {
        await postReadings(service.httpUrl, wireBatch(fx, fx.devices[0]!, liveReadings(fx.devices[0]!, 6)));
        await waitFor(
          async () => {
            const list = (await (await fetch(`${service.httpUrl}/v1/batches`)).json()) as { batches: unknown[] };
            return list.batches.length === 3 ? true : undefined;
          },
          15_000,
          "three batches",
        );
        const first = (await (await fetch(`${service.httpUrl}/v1/batches?limit=2`)).json()) as {
          batches: { localId: number }[];
          next: string;
        };
        expect(first.batches.map((b) => b.localId)).to.deep.equal([3, 2]);
        const second = (await (await fetch(`${service.httpUrl}${first.next}`)).json()) as {
          batches: { localId: number }[];
        };
        expect(second.batches.map((b) => b.localId)).to.deep.equal([1]);
        expect((await fetch(`${service.httpUrl}/v1/batches?status=lost`)).status).to.equal(400);

        for (const path of ["/v1/operator/ingest", "/v1/operator/devices"]) {
          expect((await fetch(`${service.httpUrl}${path}`)).status, path).to.equal(401);
          const wrong = await fetch(`${service.httpUrl}${path}`, {
            headers: { authorization: "Bearer guess-guess-guess" },
          });
          expect(wrong.status, path).to.equal(401);
        }
        const devices = (await (
          await fetch(`${service.httpUrl}/v1/operator/devices`, { headers: { authorization: `Bearer ${token}` } })
        ).json()) as { total: number; devices: { device: string; lastSequence: string; registry: string }[] };
        expect(devices.total).to.equal(1);
        expect(devices.devices[0]).to.deep.include({
          device: fx.devices[0]!.address,
          lastSequence: "6",
          registry: "active",
        });
      } finally {
        await service.stop();
        await rpc.close();
      }
    });
  });
});
