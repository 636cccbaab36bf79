export * from "./reading";
export * from "./batch";
