export * from "./errors";
export * from "./eip712";
export * from "./merkle";
export * from "./registry";
export * from "./device";
