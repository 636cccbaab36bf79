export * from "./channels";
export * from "./voucher-book";
export * from "./escrow";
export * from "./relayer";
export * from "./voucher-store";
export * from "./x402";
export * from "./watcher";
