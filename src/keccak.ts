/**
 * keccak-256 with two backends: hash-wasm's WebAssembly build (about 10x faster here) once
 * {@link initKeccak} has resolved, and `@noble/hashes` (pure JS, synchronous) until then. Both produce the
 * same digests; the backend only changes speed.
 */
import { keccak_256 } from "@noble/hashes/sha3";
import { createKeccak, type IHasher } from "hash-wasm";

let wasm: IHasher | undefined;
let loading: Promise<void> | undefined;

/** Loads the WebAssembly backend once; later calls return the same promise. */
export function initKeccak(): Promise<void> {
  loading ??= createKeccak(256).then((hasher) => {
    wasm = hasher;
  });
  return loading;
}

/** Which backend {@link keccak256} uses now. */
export function keccakBackend(): "wasm" | "js" {
  return wasm === undefined ? "js" : "wasm";
}

/** keccak-256 of `data` (a fresh 32-byte array). */
export function keccak256(data: Uint8Array): Uint8Array {
  if (wasm === undefined) return keccak_256(data);
  wasm.init();
  wasm.update(data);
  return wasm.digest("binary");
}
