export * from "./store";
export * from "./validate";
