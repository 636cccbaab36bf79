export * from "./record";
export * from "./networks";
export * from "./clients";
