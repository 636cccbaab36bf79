export * from "./client";
export * from "./lot";
export * from "./onboard";
