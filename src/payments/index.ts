export * from "./channels";
export * from "./voucher-book";
