export * from "./bundle";
export * from "./schema";
