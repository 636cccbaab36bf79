export * from "./module";
export * from "./suite";
