export * from "./channels";
export * from "./voucher-book";
export * from "./escrow";
export * from "./relayer";
