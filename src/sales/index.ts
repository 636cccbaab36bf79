/**
 * Data sold over HTTP 402 (x402's wire): the shared wire names; the sellers the batcher runs (`iotrail-channel`
 * vouchers, x402's `exact` EIP-3009 transfers, and the market that offers both); x402's facilitator run in the
 * seller; and the buyer the CLI runs. Stands on src/payments (channels, voucher book and store).
 */
export * from "./wire";
export * from "./seller";
export * from "./exact";
export * from "./facilitator";
export * from "./market";
export * from "./discovery";
export * from "./buyer";
export * from "./receipts";
