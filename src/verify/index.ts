export * from "./verify";
export * from "./format";
export * from "./trust";
export * from "./share";
export * from "./series";
