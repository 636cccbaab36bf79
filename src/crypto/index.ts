export * from "./secp256k1";
export * from "./signer-batch";
