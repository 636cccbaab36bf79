/** What makes a reading acceptable: the stateless checks (on check threads, with their wire format) and the device directory that knows the registry. Imports ../support and ../storage. */
export * from "./validate";
export * from "./check-pool";
export * from "./directory";
