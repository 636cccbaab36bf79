/**
 * Data sold over HTTP 402 (x402's wire, the `iotrail-channel` scheme): the shared wire names, the seller the
 * batcher runs, and the buyer the CLI runs. Stands on src/payments (channels, voucher book and store).
 */
export * from "./wire";
export * from "./seller";
export * from "./buyer";
