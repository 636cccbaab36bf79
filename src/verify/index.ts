export * from "./verify";
export * from "./format";
export * from "./trust";
