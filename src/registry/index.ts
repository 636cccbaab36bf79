export * from "./client";
export * from "./lot";
export * from "./onboard";
export * from "./lot-entries";
