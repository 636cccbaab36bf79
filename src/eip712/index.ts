export * from "./domain";
export * from "./registry";
export * from "./telemetry";
export * from "./payments";
export * from "./reference";
