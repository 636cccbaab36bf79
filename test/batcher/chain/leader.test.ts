import { expect } from "chai";
import { createServer, connect } from "node:net";
import type { AddressInfo } from "node:net";
import { Client } from "pg";
import { PostgresLeader, SoleLeader } from "../../../src/batcher";
import { postgresAvailable, testDatabase } from "../../../src/tooling/postgres";
import { waitFor } from "../../helpers/batcher";

/** A leader whose transitions are recorded, and whose step-down is slow (as stopping an anchorer can be). */
function recordedLeader(connectionString: string, shard: string, stepDownMs = 0) {
  const events: string[] = [];
  let inTransition = false;
  let overlaps = 0;
  const leader = new PostgresLeader({ connectionString, pollMs: 50, shard });
  leader.start(async (leads) => {
    if (inTransition) overlaps++;
    inTransition = true;
    events.push(leads ? "lead" : "step down");
    if (!leads) await new Promise((resolve) => setTimeout(resolve, stepDownMs));
    inTransition = false;
  });
  return { leader, events, overlaps: () => overlaps };
}

describe("Leadership", function () {
  this.timeout(60_000);
  let database: string;
  const started: PostgresLeader[] = [];

  before(async function () {
    if (!postgresAvailable()) {
      if (process.env.CI === "true") throw new Error("PostgreSQL is required in CI");
      this.skip();
    }
    database = await testDatabase();
  });

  afterEach(async function () {
    await Promise.all(started.splice(0).map((leader) => leader.stop()));
  });

  describe("SoleLeader", function () {
    it("leads at once (one SQLite process) and steps down on stop, telling its loops to stop", async function () {
      const sole = new SoleLeader();
      const seen: boolean[] = [];
      sole.start((leads) => void seen.push(leads));
      expect(sole.isLeader).to.equal(true);
      await sole.stop();
      expect(sole.isLeader).to.equal(false);
      // Before, stop() never said false, so the sealer's and anchorer's loops outlived the service (issue 24).
      expect(seen).to.deep.equal([true, false]);
    });
  });

  describe("PostgresLeader", function () {
    it("exactly one of two shards leads; the other takes over when the leader stops", async function () {
      const a = recordedLeader(database, "a");
      const b = recordedLeader(database, "b");
      started.push(a.leader, b.leader);
      await waitFor(() => (a.leader.isLeader !== b.leader.isLeader ? true : undefined), 5_000, "one leader");
      await new Promise((resolve) => setTimeout(resolve, 300)); // several polls: still one
      expect([a.leader.isLeader, b.leader.isLeader].filter(Boolean)).to.have.length(1);
      const [leader, follower] = a.leader.isLeader ? [a, b] : [b, a];
      await leader.leader.stop();
      expect(leader.events).to.deep.equal(["lead", "step down"]);
      await waitFor(() => (follower.leader.isLeader ? true : undefined), 5_000, "the follower leads");
    });

    it("a leader whose connection is cut steps down at once, and its next lead waits for that step-down to finish", async function () {
      // Before transitions were serialized, the lead taken again ran while the slow step-down still ran.
      const shard = recordedLeader(database, "cut", 500);
      started.push(shard.leader);
      await waitFor(() => (shard.leader.isLeader ? true : undefined), 5_000, "the lead");
      const admin = new Client({ connectionString: database });
      await admin.connect();
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'iotrail-leader-cut'",
      );
      await admin.end();
      await waitFor(() => (shard.events.length >= 3 ? true : undefined), 5_000, "the lead again");
      expect(shard.events.slice(0, 3)).to.deep.equal(["lead", "step down", "lead"]);
      expect(shard.overlaps(), "transitions overlapped").to.equal(0);
      expect(shard.leader.isLeader).to.equal(true);
    });

    it("security (P-I3): a leader whose connection hangs (a cut with no reset) steps down within pollMs + queryTimeoutMs", async function () {
      // A TCP relay to PostgreSQL that can freeze: bytes stop flowing both ways, and no socket closes.
      const target = new URL(database);
      let frozen = false;
      const relay = createServer((inbound) => {
        const outbound = connect(Number(target.port || 5432), target.hostname);
        inbound.on("data", (chunk) => {
          if (!frozen) outbound.write(chunk);
        });
        outbound.on("data", (chunk) => {
          if (!frozen) inbound.write(chunk);
        });
        inbound.on("error", () => outbound.destroy());
        outbound.on("error", () => inbound.destroy());
        inbound.on("close", () => outbound.destroy());
      });
      await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
      const through = new URL(database);
      through.hostname = "127.0.0.1";
      through.port = String((relay.address() as AddressInfo).port);
      const leader = new PostgresLeader({
        connectionString: through.toString(),
        pollMs: 50,
        shard: "hang",
        queryTimeoutMs: 500,
      });
      const events: boolean[] = [];
      leader.start((leads) => void events.push(leads));
      started.push(leader);
      try {
        await waitFor(() => (leader.isLeader ? true : undefined), 5_000, "the lead");
        frozen = true;
        const cut = Date.now();
        await waitFor(() => (leader.isLeader ? undefined : true), 5_000, "the step-down after the hang");
        console.log(`      stepped down ${Date.now() - cut} ms after the connection froze`);
        expect(events).to.deep.equal([true, false]);
      } finally {
        relay.close();
      }
    });
  });
});
