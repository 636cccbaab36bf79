export * from "./verify";
export * from "./format";
