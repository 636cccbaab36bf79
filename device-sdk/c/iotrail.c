/*
 * iotrail device signer: keccak-256, the EIP-712 digest of a reading, signing with libsecp256k1, and the
 * version-2 (CBOR) ingest message. Plain C99, no heap; see iotrail.h.
 */
#include "iotrail.h"

#include <string.h>

#include "secp256k1.h"
#include "secp256k1_preallocated.h"
#include "secp256k1_recovery.h"

/* ------------------------------------------------------------------------------------------ keccak-256 */

static const uint64_t ROUND_CONSTANTS[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808AULL, 0x8000000080008000ULL,
    0x000000000000808BULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008AULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000AULL,
    0x000000008000808BULL, 0x800000000000008BULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800AULL, 0x800000008000000AULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* The rho step's rotation of lane (x, y), at index x + 5 y. */
static const unsigned char ROTATIONS[25] = {
    0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
};

static uint64_t rotate_left(uint64_t lane, unsigned bits) {
  return bits == 0 ? lane : (lane << bits) | (lane >> (64 - bits));
}

/* Keccak-f[1600]: theta, rho and pi, chi, iota, 24 rounds. */
static void keccak_f1600(uint64_t state[25]) {
  uint64_t c[5], d[5], b[25];
  int round, x, y;
  for (round = 0; round < 24; round++) {
    for (x = 0; x < 5; x++) c[x] = state[x] ^ state[x + 5] ^ state[x + 10] ^ state[x + 15] ^ state[x + 20];
    for (x = 0; x < 5; x++) d[x] = c[(x + 4) % 5] ^ rotate_left(c[(x + 1) % 5], 1);
    for (x = 0; x < 25; x++) state[x] ^= d[x % 5];
    for (y = 0; y < 5; y++)
      for (x = 0; x < 5; x++) b[y + 5 * ((2 * x + 3 * y) % 5)] = rotate_left(state[x + 5 * y], ROTATIONS[x + 5 * y]);
    for (y = 0; y < 5; y++)
      for (x = 0; x < 5; x++) state[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
    state[0] ^= ROUND_CONSTANTS[round];
  }
}

#define KECCAK256_RATE 136

static void absorb_block(uint64_t state[25], const uint8_t *block) {
  int lane, byte;
  for (lane = 0; lane < KECCAK256_RATE / 8; lane++) {
    uint64_t value = 0;
    for (byte = 7; byte >= 0; byte--) value = (value << 8) | block[8 * lane + byte]; /* lanes are little-endian */
    state[lane] ^= value;
  }
  keccak_f1600(state);
}

void iotrail_keccak256(const uint8_t *data, size_t length, uint8_t out[32]) {
  uint64_t state[25];
  uint8_t last[KECCAK256_RATE];
  size_t rest;
  int i;
  memset(state, 0, sizeof state);
  while (length >= KECCAK256_RATE) {
    absorb_block(state, data);
    data += KECCAK256_RATE;
    length -= KECCAK256_RATE;
  }
  /* Keccak's padding (0x01 ... 0x80), not SHA-3's (0x06 ... 0x80). */
  rest = length;
  memset(last, 0, sizeof last);
  if (rest > 0) memcpy(last, data, rest);
  last[rest] ^= 0x01;
  last[KECCAK256_RATE - 1] ^= 0x80;
  absorb_block(state, last);
  for (i = 0; i < 32; i++) out[i] = (uint8_t)(state[i / 8] >> (8 * (i % 8)));
}

/* ---------------------------------------------------------------------------------------------- EIP-712 */

static const char DOMAIN_TYPE[] = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
static const char READING_TYPE[] =
    "Reading(address device,uint64 sequence,uint64 timestamp,bytes32 metric,int256 value,bytes32 payloadHash)";
static const char DOMAIN_NAME[] = "iotrail TelemetryAnchor";
static const char DOMAIN_VERSION[] = "1";

static void hash_text(const char *text, uint8_t out[32]) { iotrail_keccak256((const uint8_t *)text, strlen(text), out); }

/* A 32-byte big-endian word holding an unsigned 64-bit integer. */
static void word_u64(uint8_t word[32], uint64_t value) {
  int i;
  memset(word, 0, 32);
  for (i = 0; i < 8; i++) word[31 - i] = (uint8_t)(value >> (8 * i));
}

/* A 32-byte word holding an address, left-padded with zeros. */
static void word_address(uint8_t word[32], const uint8_t address[20]) {
  memset(word, 0, 12);
  memcpy(word + 12, address, 20);
}

void iotrail_domain_separator(const iotrail_domain *domain, uint8_t out[32]) {
  uint8_t words[5][32];
  hash_text(DOMAIN_TYPE, words[0]);
  hash_text(DOMAIN_NAME, words[1]);
  hash_text(DOMAIN_VERSION, words[2]);
  word_u64(words[3], domain->chain_id);
  word_address(words[4], domain->verifying_contract);
  iotrail_keccak256(&words[0][0], sizeof words, out);
}

void iotrail_reading_digest(const uint8_t domain_separator[32], const iotrail_reading *reading, uint8_t out[32]) {
  uint8_t words[7][32];
  uint8_t message[66];
  int i;
  hash_text(READING_TYPE, words[0]);
  word_address(words[1], reading->device);
  word_u64(words[2], reading->sequence);
  word_u64(words[3], reading->timestamp);
  memcpy(words[4], reading->metric, 32);
  /* int256: two's complement, so a negative int64 is sign-extended with 0xff bytes. */
  word_u64(words[5], (uint64_t)reading->value);
  if (reading->value < 0)
    for (i = 0; i < 24; i++) words[5][i] = 0xff;
  memcpy(words[6], reading->payload_hash, 32);
  message[0] = 0x19;
  message[1] = 0x01;
  memcpy(message + 2, domain_separator, 32);
  iotrail_keccak256(&words[0][0], sizeof words, message + 34);
  iotrail_keccak256(message, sizeof message, out);
}

int iotrail_metric_id(const char *name, uint8_t out[32]) {
  size_t length = strlen(name);
  if (length == 0 || length > 31) return -1;
  memset(out, 0, 32);
  memcpy(out, name, length);
  return 0;
}

/* -------------------------------------------------------------------------------------------- signing */

int iotrail_signer_init(iotrail_signer *signer, const uint8_t secret_key[32], uint8_t address[20]) {
  secp256k1_pubkey public_key;
  uint8_t serialized[65], hash[32];
  size_t serialized_length = sizeof serialized;
  secp256k1_context *context;
  memset(signer, 0, sizeof *signer);
  if (secp256k1_context_preallocated_size(SECP256K1_CONTEXT_SIGN) > sizeof signer->context_memory) return -1;
  context = secp256k1_context_preallocated_create(signer->context_memory, SECP256K1_CONTEXT_SIGN);
  if (context == NULL) return -1;
  signer->context = context;
  if (!secp256k1_ec_seckey_verify(context, secret_key)) return -1;
  memcpy(signer->secret_key, secret_key, 32);
  if (!secp256k1_ec_pubkey_create(context, &public_key, secret_key)) return -1;
  secp256k1_ec_pubkey_serialize(context, serialized, &serialized_length, &public_key, SECP256K1_EC_UNCOMPRESSED);
  /* The address: the last 20 bytes of keccak-256 of the public key's x and y. */
  iotrail_keccak256(serialized + 1, 64, hash);
  memcpy(address, hash + 12, 20);
  return 0;
}

void iotrail_signer_clear(iotrail_signer *signer) {
  volatile uint8_t *bytes = (volatile uint8_t *)signer;
  size_t i;
  if (signer->context != NULL) secp256k1_context_preallocated_destroy((secp256k1_context *)signer->context);
  for (i = 0; i < sizeof *signer; i++) bytes[i] = 0;
}

int iotrail_sign_digest(const iotrail_signer *signer, const uint8_t digest[32], uint8_t signature[64]) {
  secp256k1_ecdsa_recoverable_signature recoverable;
  int recovery_id;
  const secp256k1_context *context = (const secp256k1_context *)signer->context;
  if (context == NULL) return -1;
  /* RFC 6979 nonces; libsecp256k1 always gives the low s, so the top bit of s is free for the parity. */
  if (!secp256k1_ecdsa_sign_recoverable(context, &recoverable, digest, signer->secret_key, NULL, NULL)) return -1;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(context, signature, &recovery_id, &recoverable);
  if (recovery_id > 1) return -1; /* r beyond the group order: not expressible as Ethereum's v (never seen) */
  if (recovery_id == 1) signature[32] |= 0x80;
  return 0;
}

/* ------------------------------------------------------------------------------------------------ CBOR */

typedef struct {
  uint8_t *out;
  size_t capacity;
  size_t length;
  int overflow;
} cbor_writer;

static void put(cbor_writer *w, const uint8_t *bytes, size_t count) {
  if (w->overflow || count > w->capacity - w->length) {
    w->overflow = 1;
    return;
  }
  memcpy(w->out + w->length, bytes, count);
  w->length += count;
}

/* A head in its shortest form (RFC 8949 §4.2.1). */
static void head(cbor_writer *w, unsigned major, uint64_t argument) {
  uint8_t bytes[9];
  size_t size, i;
  if (argument < 24) {
    bytes[0] = (uint8_t)((major << 5) | argument);
    put(w, bytes, 1);
    return;
  }
  size = argument <= 0xff ? 1 : argument <= 0xffff ? 2 : argument <= 0xffffffffULL ? 4 : 8;
  bytes[0] = (uint8_t)((major << 5) | (size == 1 ? 24 : size == 2 ? 25 : size == 4 ? 26 : 27));
  for (i = 0; i < size; i++) bytes[1 + i] = (uint8_t)(argument >> (8 * (size - 1 - i)));
  put(w, bytes, 1 + size);
}

static void byte_string(cbor_writer *w, const uint8_t *bytes, size_t count) {
  head(w, 2, count);
  put(w, bytes, count);
}

static int is_zero(const uint8_t *bytes, size_t count) {
  size_t i;
  for (i = 0; i < count; i++)
    if (bytes[i] != 0) return 0;
  return 1;
}

size_t iotrail_encode_message(const iotrail_domain *domain, const iotrail_reading *reading, const char *metric_name,
                              int include_device, const uint8_t signature[64], uint8_t *out, size_t capacity) {
  cbor_writer w;
  uint8_t id[32];
  int has_payload = !is_zero(reading->payload_hash, 32);
  size_t metric_length = strlen(metric_name);
  if (iotrail_metric_id(metric_name, id) != 0 || memcmp(id, reading->metric, 32) != 0) return 0;
  w.out = out;
  w.capacity = capacity;
  w.length = 0;
  w.overflow = 0;
  head(&w, 5, 6 + (domain != NULL ? 2 : 0) + (include_device ? 1 : 0) + (has_payload ? 1 : 0));
  head(&w, 0, 0); /* version */
  head(&w, 0, 2);
  if (domain != NULL) {
    head(&w, 0, 1);
    head(&w, 0, domain->chain_id);
    head(&w, 0, 2);
    byte_string(&w, domain->verifying_contract, 20);
  }
  if (include_device) {
    head(&w, 0, 3);
    byte_string(&w, reading->device, 20);
  }
  head(&w, 0, 4);
  head(&w, 0, reading->sequence);
  head(&w, 0, 5);
  head(&w, 0, reading->timestamp);
  head(&w, 0, 6);
  head(&w, 3, metric_length);
  put(&w, (const uint8_t *)metric_name, metric_length);
  head(&w, 0, 7);
  /* A negative integer n is major type 1 with argument -1 - n, which ~n computes without overflow. */
  if (reading->value >= 0) head(&w, 0, (uint64_t)reading->value);
  else head(&w, 1, ~(uint64_t)reading->value);
  if (has_payload) {
    head(&w, 0, 8);
    byte_string(&w, reading->payload_hash, 32);
  }
  head(&w, 0, 9);
  byte_string(&w, signature, 64);
  return w.overflow ? 0 : w.length;
}
