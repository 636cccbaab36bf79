export * from "./client";
export * from "./lot";
