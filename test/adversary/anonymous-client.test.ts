/**
 * An anonymous network client at the embedded broker (N-L1): it captured one device login and races two
 * CONNECTs with it through the directory's cold lookup, or opens CONNECTs and drops them mid-lookup to use up
 * the device's connection places.
 */
import { expect } from "chai";
import mqtt from "mqtt";
import type { BatcherService } from "../../src/batcher";
import { MqttGuard } from "../../src/batcher/ingest/mqtt-guard";
import { DeviceKey } from "../../src/device";
import { telemetryDomain } from "../../src/eip712";
import { anchorFixture } from "../helpers/anchor";
import { connectDevice, freshSecond, startBatcher, startRpcServer, testConfig } from "../helpers/batcher";
import { RpcProxy } from "../helpers/rpc-proxy";

describe("adversary: an anonymous network client at the embedded broker", function () {
  it("security (N-L1): one captured login opens one session, even when two CONNECTs race the directory lookup", async function () {
    const device = DeviceKey.generate();
    const domain = telemetryDomain(31337n, "0x00000000000000000000000000000000000000aa");
    let release!: () => void;
    const lookup = new Promise<void>((resolve) => (release = resolve));
    const guard = new MqttGuard({
      domain,
      root: "iotrail/v1",
      // A cold directory: the key's lookup takes a while.
      directory: {
        state: () => "active",
        pending: () => new Set(),
        prepare: async () => {
          await lookup;
          return new Set<string>();
        },
      },
      loginSkewSeconds: 300,
      maxConnectionsPerIdentity: 10,
      messagesPerSecond: 10,
      burst: 10,
    });
    const { clientId, username, password } = device.mqttCredentials(domain);
    const first = guard.login(clientId, username, Buffer.from(password));
    const second = guard.login(clientId, username, Buffer.from(password));
    release();
    const results = await Promise.all([first, second]);
    expect(
      results.filter((r) => typeof r !== "string"),
      "sessions from one login",
    ).to.have.length(1);
    expect(results).to.include("replayed-login");
  });

  describe("CONNECTs dropped during a cold lookup", function () {
    let rpc: { url: string; close: () => Promise<void> };
    let proxy: RpcProxy;
    let service: BatcherService | undefined;
    before(async function () {
      rpc = await startRpcServer();
      proxy = await RpcProxy.start(rpc.url);
    });
    after(async function () {
      await service?.stop();
      await proxy.close();
      await rpc.close();
    });

    it("security (N-L1): do not lock the device out; its places are released when each socket closes", async function () {
      const fx = await anchorFixture();
      const config = testConfig(fx, proxy.url);
      // The default the device meets below: two connections per identity.
      expect(config.mqtt).to.include({ embedded: true, maxConnectionsPerIdentity: 2 });
      service = await startBatcher(config);
      // The device's key is cold: its registry lookup is held at the node until the attacker is done.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let lookups = 0;
      proxy.gate = (method) => {
        if (method !== "eth_call") return undefined;
        lookups += 1;
        return held;
      };
      const dropped = Array.from({ length: 4 }, () =>
        mqtt.connect(service!.mqttUrl!, {
          ...fx.device.mqttCredentials(fx.telemetry, freshSecond()),
          reconnectPeriod: 0,
          connectTimeout: 60_000,
        }),
      );
      const deadline = Date.now() + 10_000;
      while (lookups === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(lookups, "the lookup reached the node").to.be.greaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 200)); // every CONNECT is in the guard now
      for (const client of dropped) client.end(true);
      await new Promise((resolve) => setTimeout(resolve, 200));
      proxy.gate = undefined;
      release();
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The device itself connects twice (its limit), as if nothing happened.
      const a = await connectDevice(service.mqttUrl!, fx, fx.device);
      const b = await connectDevice(service.mqttUrl!, fx, fx.device);
      await a.endAsync();
      await b.endAsync();
    });
  });
});
