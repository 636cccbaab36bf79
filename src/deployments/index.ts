export * from "./record";
export * from "./networks";
