export * from "./hash";
export { MerkleTree } from "./tree";
export type { MerkleTreeOptions } from "./tree";
