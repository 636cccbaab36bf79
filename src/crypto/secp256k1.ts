/**
 * secp256k1 signing and address recovery for hot paths (payees checking vouchers, batchers checking
 * readings, payers signing vouchers). Two backends, same results:
 *
 * - `native`: the `secp256k1` package's prebuilt libsecp256k1 binding (linux-x64 ships in the package;
 *   nothing is compiled or downloaded at install time);
 * - `js`: `@noble/curves`, where the native binding cannot load.
 *
 * Both reject malleable (high-s) signatures, as OpenZeppelin's ECDSA does on-chain, and produce low-s
 * signatures. {@link secp256k1Backend} says which one is active.
 */
import { secp256k1 as noble } from "@noble/curves/secp256k1";
import { getAddress, getBytes, hexlify, toBeHex } from "ethers";
import { keccak256 } from "../keccak";
import { optionalRequire } from "./optional";

interface NativeSecp256k1 {
  ecdsaSign(message: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
  ecdsaRecover(signature: Uint8Array, recid: number, message: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyCreate(privateKey: Uint8Array, compressed: boolean): Uint8Array;
}

const HALF_N_BYTES = getBytes(toBeHex(noble.CURVE.n >> 1n, 32));

// The package falls back to a slow pure-JS build when its binding is missing; load the binding only.
const native = optionalRequire<NativeSecp256k1>("secp256k1/bindings");

export function secp256k1Backend(): "native" | "js" {
  return native === undefined ? "js" : "native";
}

/** s > n/2, compared byte by byte (big-endian s is bytes 32 to 64 of r ‖ s ‖ v). */
function highS(signature: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) {
    const byte = signature[32 + i]!;
    if (byte !== HALF_N_BYTES[i]) return byte > HALF_N_BYTES[i]!;
  }
  return false;
}

/**
 * The address that signed the 32-byte `digest` (checksummed), or undefined for a malformed, high-s or
 * unrecoverable 65-byte signature (r ‖ s ‖ v, v 27 or 28).
 */
export function recoverSigner(digest: Uint8Array, signature: Uint8Array): string | undefined {
  const address = recoverSignerBytes(digest, signature);
  return address === undefined ? undefined : getAddress(hexlify(address));
}

/** {@link recoverSigner} as the 20 address bytes, without the checksum encoding (for hot paths). */
export function recoverSignerBytes(digest: Uint8Array, signature: Uint8Array): Uint8Array | undefined {
  const publicKey = recoverPublicKey(digest, signature);
  return publicKey === undefined ? undefined : addressOfKey(publicKey);
}

/**
 * The signer's public key as 64 bytes x ‖ y (no 0x04 prefix), or undefined where {@link recoverSigner}
 * gives undefined.
 */
export function recoverPublicKey(digest: Uint8Array, signature: Uint8Array): Uint8Array | undefined {
  if (!wellFormed(digest, signature)) return undefined;
  const v = signature[64]! - 27;
  try {
    const key =
      native !== undefined
        ? native.ecdsaRecover(signature.subarray(0, 64), v, digest, false)
        : noble.Signature.fromCompact(signature.subarray(0, 64))
            .addRecoveryBit(v)
            .recoverPublicKey(digest)
            .toRawBytes(false);
    return key.subarray(1);
  } catch {
    return undefined;
  }
}

/** The 20 address bytes of a 64-byte public key x ‖ y. */
export function addressOfKey(publicKey: Uint8Array): Uint8Array {
  return keccak256(publicKey).subarray(12);
}

/** The 20 address bytes of a 32-byte private key (throws for a key outside the curve's range). */
export function addressOfPrivateKey(privateKey: Uint8Array): Uint8Array {
  const publicKey =
    native !== undefined ? native.publicKeyCreate(privateKey, false) : noble.getPublicKey(privateKey, false);
  return addressOfKey(publicKey.subarray(1));
}

/** A 32-byte digest and a 65-byte signature r ‖ s ‖ v with v 27 or 28 and low s. */
export function wellFormed(digest: Uint8Array, signature: Uint8Array): boolean {
  if (digest.length !== 32 || signature.length !== 65) return false;
  const v = signature[64]!;
  return (v === 27 || v === 28) && !highS(signature);
}

/** Signs a 32-byte digest: a 65-byte low-s signature r ‖ s ‖ v with v 27 or 28. */
export function signDigest(digest: Uint8Array, privateKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(65);
  if (native !== undefined) {
    const { signature, recid } = native.ecdsaSign(digest, privateKey);
    out.set(signature, 0);
    out[64] = 27 + recid;
  } else {
    const signature = noble.sign(digest, privateKey, { lowS: true });
    out.set(signature.toCompactRawBytes(), 0);
    out[64] = 27 + signature.recovery;
  }
  return out;
}
