/**
 * The batcher: readings in (ingest), checked (checks), kept (storage), sealed and anchored (chain), and
 * served (serving); config and the service that runs them sit on top. See README.md here for the path of a
 * reading, file by file.
 */
export * from "./config";
export * from "./service";
export * from "./storage";
export * from "./checks";
export * from "./ingest";
export * from "./chain";
export * from "./serving";
export { BatcherMetrics, DeviceActivity, IngestHistory, RateLimiter } from "./support";
export type { DeviceSeen, IngestMinute } from "./support";
