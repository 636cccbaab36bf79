export * from "./domain";
export * from "./registry";
