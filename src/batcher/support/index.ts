/** The batcher's bottom floor: failpoints for fault tests, metrics, per-client rate limits and worker threads. Imports no other room of the batcher. */
export * from "./failpoints";
export * from "./metrics";
export * from "./rate-limit";
export * from "./threads";
