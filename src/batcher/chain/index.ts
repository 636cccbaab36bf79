/** What goes to the chain: the sealer that closes batches, the anchorer that sends them, and the leader election among batchers. Imports ../support and ../storage. */
export * from "./sealer";
export * from "./anchorer";
export * from "./leader";
