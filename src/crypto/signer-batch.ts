/**
 * Checks many signatures against the addresses that claim them, for the batcher's ingest path.
 *
 * The verdict for each claim is exactly `recoverSignerBytes(digest, signature) === signer`. The fast path
 * is the optional `@iotrail/secp256k1-batch` addon (built from the `secp256k1` package's libsecp256k1
 * sources at install): once a signer's public key is known (learnt by one recovery), its later signatures
 * are checked together in one random-weighted multi-scalar multiplication instead of one recovery each.
 * A batch that does not hold as a whole is checked signature by signature, so a bad signature costs its
 * batch the single-check rate and changes no other verdict.
 */
import { toHex } from "../bytes";
import { optionalRequire } from "./optional";
import { addressOfKey, recoverPublicKey, wellFormed } from "./secp256k1";

interface BatchAddon {
  verify(items: Uint8Array, keys: Uint8Array, weights: Uint8Array): boolean;
}

const addon = optionalRequire<BatchAddon>("@iotrail/secp256k1-batch");

/** `native`: the batch-verification addon is loaded; `none`: each signature is recovered on its own. */
export function batchVerifyBackend(): "native" | "none" {
  return addon === undefined ? "none" : "native";
}

/** A signature that claims to be `signer`'s (a 0x address, any case) signature of `digest`. */
export interface SignatureClaim {
  digest: Uint8Array;
  signature: Uint8Array;
  signer: string;
}

const ITEM = 104; // digest 32 | r 32 | s 32 | recovery id 1 | zero 3 | key index uint32 LE
const KEY = 64;
/** Cryptographically random bytes (Web Crypto: Node 20 and browsers alike; at most 64 KiB per call). */
function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += 65_536) globalThis.crypto.getRandomValues(out.subarray(at, at + 65_536));
  return out;
}

const WEIGHT = 16; // 128-bit random weights: a bad batch passes with probability about 2^-128
/** Below this, batching saves too little over single recovery to be worth the call. */
const MIN_BATCH = 4;

export class SignerBatchChecker {
  private readonly keys = new Map<string, Uint8Array>();
  /** Signatures accepted by a batch that held, and signatures checked by single recovery. */
  readonly stats = { batched: 0, recovered: 0 };

  /**
   * @param options.maxKeys public keys remembered (about 150 bytes each); the oldest is forgotten first.
   * @param options.batch use the addon where it is loaded (default true; false: single recovery only).
   */
  constructor(private readonly options: { maxKeys?: number; batch?: boolean } = {}) {}

  /** One verdict per claim, in order: true when the signature recovers to the claimed signer. */
  check(claims: readonly SignatureClaim[]): boolean[] {
    const verdicts = claims.map(() => false);
    const batched: { index: number; key: Uint8Array }[] = [];
    const useBatch = addon !== undefined && this.options.batch !== false;
    claims.forEach((claim, index) => {
      if (!wellFormed(claim.digest, claim.signature)) return;
      const signer = claim.signer.toLowerCase();
      const key = useBatch ? this.keys.get(signer) : undefined;
      if (key !== undefined) batched.push({ index, key });
      else verdicts[index] = this.recoverAndLearn(claim.digest, claim.signature, signer, useBatch);
    });
    if (batched.length < MIN_BATCH || !addon!.verify(...this.encode(claims, batched))) {
      for (const { index } of batched) {
        const { digest, signature, signer } = claims[index]!;
        verdicts[index] = this.recoverAndLearn(digest, signature, signer.toLowerCase(), false);
      }
    } else {
      for (const { index } of batched) verdicts[index] = true;
      this.stats.batched += batched.length;
    }
    return verdicts;
  }

  /** Public keys remembered now. */
  get knownKeys(): number {
    return this.keys.size;
  }

  private recoverAndLearn(digest: Uint8Array, signature: Uint8Array, signer: string, learn: boolean): boolean {
    this.stats.recovered += 1;
    const key = recoverPublicKey(digest, signature);
    if (key === undefined || toHex(addressOfKey(key)) !== signer) return false;
    if (learn && !this.keys.has(signer)) {
      if (this.keys.size >= (this.options.maxKeys ?? 100_000)) this.keys.delete(this.keys.keys().next().value!);
      this.keys.set(signer, Uint8Array.from(key));
    }
    return true;
  }

  /** The addon's arguments: one item per batched claim, each distinct key once, fresh random weights. */
  private encode(
    claims: readonly SignatureClaim[],
    batched: readonly { index: number; key: Uint8Array }[],
  ): [Uint8Array, Uint8Array, Uint8Array] {
    const items = new Uint8Array(ITEM * batched.length);
    const view = new DataView(items.buffer);
    const keyIndex = new Map<Uint8Array, number>();
    batched.forEach(({ index, key }, i) => {
      const { digest, signature } = claims[index]!;
      const at = ITEM * i;
      items.set(digest, at);
      items.set(signature.subarray(0, 64), at + 32);
      items[at + 96] = signature[64]! - 27;
      let k = keyIndex.get(key);
      if (k === undefined) keyIndex.set(key, (k = keyIndex.size));
      view.setUint32(at + 100, k, true);
    });
    const keys = new Uint8Array(KEY * keyIndex.size);
    for (const [key, k] of keyIndex) keys.set(key, KEY * k);
    return [items, keys, randomBytes(WEIGHT * batched.length)];
  }
}
