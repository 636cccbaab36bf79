export * from "./key";
