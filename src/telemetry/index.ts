export * from "./reading";
export * from "./batch";
export * from "./cbor";
