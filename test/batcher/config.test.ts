import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBatcherConfig } from "../../src/batcher";
import { ConfigError } from "../../src/errors";

const ANCHOR = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const file = (content: unknown) => {
  const path = join(mkdtempSync(join(tmpdir(), "iotrail-config-")), "batcher.json");
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
};

describe("loadBatcherConfig", function () {
  it("reads the file, applies defaults, and lets the environment override it", function () {
    const config = loadBatcherConfig({
      file: file({ anchor: ANCHOR, http: { port: 9000 }, anchoring: { confirmations: 3 } }),
      env: { BATCHER_HTTP_PORT: "9100", BATCHER_MQTT_URL: "mqtt://broker:1883", CHAIN_ID: "11155111" },
    });
    expect(config.anchor).to.equal(ANCHOR);
    expect(config.http.port).to.equal(9100);
    expect(config.chainId).to.equal(11155111n);
    expect(config.anchoring.confirmations).to.equal(3);
    expect(config.mqtt).to.deep.include({ enabled: true, embedded: false, url: "mqtt://broker:1883" });
    expect(config.ingest.threads).to.equal(2);
    expect(config.privateKey).to.equal(undefined);
  });

  it("gives the embedded broker its limits, and an operator only with a token from the environment", function () {
    const plain = loadBatcherConfig({ file: file({ anchor: ANCHOR }), env: {} });
    expect(plain.mqtt).to.deep.include({
      embedded: true,
      maxPacketBytes: 8192,
      maxConnectionsPerIdentity: 2,
      messagesPerSecond: 50,
      loginSkewSeconds: 300,
    });
    expect(plain.mqtt).to.not.have.property("operator");
    const token = "a-token-of-enough-length";
    const withOperator = loadBatcherConfig({
      file: file({ anchor: ANCHOR }),
      env: { BATCHER_MQTT_OPERATOR_TOKEN: token },
    });
    expect(withOperator.mqtt).to.deep.include({ operator: { username: "operator", token } });
  });

  it("reads sales: the price, the token (eth or an address), the payee, and the voucher store next to the database", function () {
    const payee = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    expect(loadBatcherConfig({ file: file({ anchor: ANCHOR }), env: {} }).sales).to.equal(undefined);
    const sales = loadBatcherConfig({
      file: file({ anchor: ANCHOR, database: "data/batcher.sqlite", sales: { pricePerReading: "1000", payee } }),
      env: {},
    }).sales!;
    expect(sales).to.deep.include({
      pricePerReading: 1000n,
      token: "0x0000000000000000000000000000000000000000",
      payee,
      vouchers: "data/batcher.vouchers.sqlite",
      watchIntervalMs: 30_000,
      claimMarginSeconds: 3_600,
    });
    const postgres = loadBatcherConfig({
      file: file({ anchor: ANCHOR, sales: { pricePerReading: 5, payee, token: ANCHOR } }),
      env: { BATCHER_DATABASE: "postgres://db/iotrail" },
    }).sales!;
    expect(postgres).to.deep.include({ pricePerReading: 5n, token: ANCHOR, vouchers: "postgres://db/iotrail" });
    for (const [bad, message] of [
      [{ pricePerReading: "0", payee }, /"sales.pricePerReading" must be a positive whole number/],
      [{ pricePerReading: "1.5", payee }, /"sales.pricePerReading"/],
      [{ pricePerReading: "1" }, /"sales.payee" must be an address/],
      [{ pricePerReading: "1", payee, token: "usdc" }, /"sales.token" must be an address/],
      [{ pricePerReading: "1", payee, price: 1 }, /unknown config field "sales.price"/],
    ] as const) {
      expect(() => loadBatcherConfig({ file: file({ anchor: ANCHOR, sales: bad }), env: {} })).to.throw(
        ConfigError,
        message,
      );
    }
  });

  it("reads lots (id and entries file) and refuses a bad id, a repeated lot and unknown fields", function () {
    const config = loadBatcherConfig({
      file: file({ anchor: ANCHOR, lots: [{ id: "12", entries: "lot.csv" }] }),
      env: {},
    });
    expect(config.lots).to.deep.equal([{ id: 12n, entries: "lot.csv" }]);
    const bad = (lots: unknown) => () => loadBatcherConfig({ file: file({ anchor: ANCHOR, lots }), env: {} });
    expect(bad({ id: 1 })).to.throw(ConfigError, '"lots" must be an array');
    expect(bad([{ id: 0, entries: "a" }])).to.throw(ConfigError, "lots[0].id");
    expect(bad([{ id: "1", entries: "" }])).to.throw(ConfigError, "lots[0].entries");
    expect(
      bad([
        { id: 1, entries: "a" },
        { id: "1", entries: "b" },
      ]),
    ).to.throw(ConfigError, "listed twice");
    expect(bad([{ id: 1, entries: "a", root: "0x" }])).to.throw(ConfigError, "lots[0].root");
  });

  it("refuses bad values with a ConfigError naming the field", function () {
    const cases: [Record<string, unknown>, Record<string, string>, RegExp][] = [
      [{ anchor: "0x1234" }, {}, /"anchor" must be an address/],
      [{ anchor: ANCHOR, http: { port: 70_000 } }, {}, /"http.port" must be an integer/],
      [{ anchor: ANCHOR, anchoring: { feeBumpPercent: 5 } }, {}, /"anchoring.feeBumpPercent"/],
      [{ anchor: ANCHOR, ingest: "fast" }, {}, /"ingest" must be an object/],
      [{ anchor: ANCHOR, privateKey: "0x01" }, {}, /BATCHER_PRIVATE_KEY only/],
      [{ anchor: ANCHOR }, { BATCHER_PRIVATE_KEY: "0x1234" }, /32-byte/],
      [{ anchor: ANCHOR, mqtt: { operatorToken: "x".repeat(32) } }, {}, /BATCHER_MQTT_OPERATOR_TOKEN only/],
      [{ anchor: ANCHOR }, { BATCHER_MQTT_OPERATOR_TOKEN: "short" }, /at least 16 characters/],
      [{ anchor: ANCHOR, mqtt: { topic: "devices/#" } }, {}, /"mqtt.topic" must have the form <root>\/readings\/#/],
      [{ anchor: ANCHOR, mqtt: { maxPacketBytes: 10 } }, {}, /"mqtt.maxPacketBytes"/],
      [{ anchor: ANCHOR, rpcURL: "http://x" }, {}, /unknown config field "rpcURL" \(did you mean "rpcUrl"\?\)/],
      [
        { anchor: ANCHOR, mqtt: { maxPacketByte: 1 } },
        {},
        /unknown config field "mqtt.maxPacketByte" \(did you mean "mqtt.maxPacketBytes"\?\)/,
      ],
      [
        { anchor: ANCHOR, ingest: { window: { pastSecond: 1 } } },
        {},
        /"ingest.window.pastSecond" \(did you mean "ingest.window.pastSeconds"\?\)/,
      ],
      [{ anchor: ANCHOR, colour: "blue" }, {}, /^unknown config field "colour"$/],
    ];
    for (const [content, env, message] of cases) {
      expect(() => loadBatcherConfig({ file: file(content), env })).to.throw(ConfigError, message);
    }
    expect(() => loadBatcherConfig({ file: file("{oops"), env: {} })).to.throw(ConfigError, /not valid JSON/);
    expect(() => loadBatcherConfig({ file: "/nonexistent/batcher.json", env: {} })).to.throw(
      ConfigError,
      /cannot read/,
    );
  });
});
