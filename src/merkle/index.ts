export * from "./hash";
export { initKeccak, keccak256, keccakBackend } from "../keccak";
export { MerkleTree } from "./tree";
export type { MerkleTreeOptions, MerkleTreeParts, MultiProof } from "./tree";
export * from "./dump";
