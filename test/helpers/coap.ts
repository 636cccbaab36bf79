/** CoAP test helpers: libcoap's client as a real CoAP client process, and version-2 messages. */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { BatcherConfig } from "../../src/batcher";
import type { DeviceKey } from "../../src/device";
import { encodeIngestMessageCbor } from "../../src/telemetry";
import type { Reading } from "../../src/telemetry";
import type { AnchorFixture } from "./anchor";

const run = promisify(execFile);
/** libcoap's client without DTLS (Debian: libcoap3-bin). */
export const COAP_CLIENT = "coap-client-notls";

/** POSTs `payload` with libcoap's client (from the local address `from`); resolves to the response code (as `2.01`). */
export async function coapPost(url: string, payload: Uint8Array, format: number, from?: string) {
  const file = join(mkdtempSync(join(tmpdir(), "iotrail-coap-")), "payload");
  writeFileSync(file, payload);
  const { stdout, stderr } = await run(
    COAP_CLIENT,
    [
      ...(from === undefined ? [] : ["-a", from]),
      "-m",
      "post",
      "-t",
      String(format),
      "-f",
      file,
      "-B",
      "10",
      "-v",
      "7",
      url,
    ],
    {
      encoding: "latin1",
    },
  );
  // libcoap's debug log shows the response's header: "v:1 t:ACK c:2.01 i:..." (or t:CON for a separate one).
  const codes = [...(stdout + stderr).matchAll(/t:(?:ACK|CON|NON) c:([0-9]\.[0-9]{2})/g)].map((m) => m[1]!);
  return { code: codes.find((code) => code !== "0.00"), stdout, stderr };
}

export const cbor = (fx: AnchorFixture, device: DeviceKey, reading: Reading, omitDevice = false) =>
  encodeIngestMessageCbor({
    domain: fx.telemetry,
    reading,
    signature: device.signReading(fx.telemetry, reading),
    omit: { domain: true, device: omitDevice },
  });

/** The batcher's CoAP section for tests: on, on a free port, with overrides. */
export function coapConfig(
  overrides: Partial<Extract<BatcherConfig["coap"], { enabled: true }>> = {},
): BatcherConfig["coap"] {
  return {
    enabled: true,
    host: "127.0.0.1",
    port: 0,
    maxMessageBytes: 1152,
    perSourcePerSecond: 50,
    perSourceBurst: 500,
    maxInFlight: 1024,
    ...overrides,
  };
}
