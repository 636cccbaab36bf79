/*
 * iotrail device signer for firmware: plain C99, no heap.
 *
 * A device builds a reading, hashes it the EIP-712 way under the TelemetryAnchor's domain, signs the digest
 * with libsecp256k1 (RFC 6979 nonces, low s) and writes the version-2 ingest message: deterministic CBOR
 * as schemas/ingest-message.v2.cddl describes it, with the signature in EIP-2098's 64 bytes.
 *
 * The whole state is the caller's: an iotrail_signer (the libsecp256k1 context lives in its buffer, made by
 * secp256k1_context_preallocated_create) and the output buffers. Nothing calls malloc.
 */
#ifndef IOTRAIL_H
#define IOTRAIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The largest version-2 message this encoder writes (every field present, a 31-byte metric). */
#define IOTRAIL_CBOR_MAX 192

/* Bytes of the libsecp256k1 signing context with a static precomputed table (checked at init). */
#define IOTRAIL_SIGNER_CONTEXT_BYTES 512

/* The EIP-712 domain of readings: the chain and the TelemetryAnchor contract (name and version are fixed). */
typedef struct {
  uint64_t chain_id;
  uint8_t verifying_contract[20];
} iotrail_domain;

/* A reading as signed. `value` covers int64 here; the signed type is int256 (sign-extended). */
typedef struct {
  uint8_t device[20];
  uint64_t sequence;
  uint64_t timestamp;
  uint8_t metric[32];
  int64_t value;
  uint8_t payload_hash[32];
} iotrail_reading;

/* A signer: the device's secret key and its libsecp256k1 context, in memory the caller owns. */
typedef struct {
  uint64_t context_memory[IOTRAIL_SIGNER_CONTEXT_BYTES / 8];
  void *context;
  uint8_t secret_key[32];
} iotrail_signer;

/* keccak-256 (the Ethereum hash, not SHA3-256) of `length` bytes. */
void iotrail_keccak256(const uint8_t *data, size_t length, uint8_t out[32]);

/* The EIP-712 domain separator of readings under `domain`. */
void iotrail_domain_separator(const iotrail_domain *domain, uint8_t out[32]);

/* The EIP-712 digest a device signs for `reading`, given its domain separator. */
void iotrail_reading_digest(const uint8_t domain_separator[32], const iotrail_reading *reading, uint8_t out[32]);

/* The bytes32 id of a short metric name (1 to 31 bytes, no NUL), zero-padded; 0 on success, -1 otherwise. */
int iotrail_metric_id(const char *name, uint8_t out[32]);

/* Sets up `signer` with a 32-byte secret key and writes the device address; 0 on success, -1 otherwise. */
int iotrail_signer_init(iotrail_signer *signer, const uint8_t secret_key[32], uint8_t address[20]);

/* Wipes the secret key and the context. */
void iotrail_signer_clear(iotrail_signer *signer);

/* Signs a digest: 64 bytes in EIP-2098 form (r, then s with the y parity in its top bit); 0 on success. */
int iotrail_sign_digest(const iotrail_signer *signer, const uint8_t digest[32], uint8_t signature[64]);

/*
 * Writes the version-2 message of a signed reading into `out` (at most `capacity` bytes) and returns its
 * length, or 0 if it does not fit or `metric_name` is not a short name. `domain` NULL leaves the domain out
 * (a batcher has one); `include_device` 0 leaves the device out (the MQTT topic or the CoAP path names it).
 * `metric_name` is the reading's metric as text (the id it pads must be the reading's metric).
 */
size_t iotrail_encode_message(const iotrail_domain *domain, const iotrail_reading *reading, const char *metric_name,
                              int include_device, const uint8_t signature[64], uint8_t *out, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif /* IOTRAIL_H */
