/*
 * Batch verification of Ethereum-style ECDSA signatures (r, s, recovery id) against known public keys.
 *
 * A signature (r, s, v) on digest z recovers to Q = r^-1 (s R - z G), where R is the curve point with
 * x = r and y parity v. So it recovers to the known key Q exactly when R - (z/s) G - (r/s) Q = 0. For n
 * signatures with secret random weights a_i, the batch holds when
 *
 *     sum_i a_i R_i  -  (sum_i a_i z_i / s_i) G  -  sum_keys (sum_{i on key} a_i r_i / s_i) Q  =  0,
 *
 * one multi-scalar multiplication (libsecp256k1's Strauss/Pippenger) instead of n recoveries; signatures
 * under the same key share one point, and the R_i carry 128-bit weights, which the endomorphism split
 * leaves as a single 128-bit half (half the work of a full scalar). The inverses 1/s_i cost one
 * inversion for the whole batch (Montgomery's trick). If any signature is invalid the sum is non-zero except with
 * probability about 2^-128 over the weights, which the caller draws fresh from a CSPRNG for each call.
 * A false result says only that the batch does not hold as a whole: the caller then checks each
 * signature on its own. Low-s is the caller's rule, not checked here.
 *
 * Item layout (104 bytes): digest z (32) | r (32) | s (32) | recovery id 0 or 1 (1) | zero (3) |
 * key index (uint32, little endian). Keys: x (32) | y (32), big endian. Weights: 16 bytes per item.
 */
#include "secp256k1.c"
#include <node_api.h>
#include <stdlib.h>
#include <string.h>

#define ITEM_SIZE 104
#define KEY_SIZE 64
#define WEIGHT_SIZE 16
#define SCRATCH_SIZE (4u << 20)

static secp256k1_context *verify_context = NULL;

/* One scratch space per Node.js environment (main thread or worker): scratch spaces are not shared. */
typedef struct {
  secp256k1_scratch_space *scratch;
} instance_data;

typedef struct {
  const secp256k1_scalar *scalars;
  const secp256k1_ge *points;
} multi_data;

static int multi_callback(secp256k1_scalar *sc, secp256k1_ge *pt, size_t idx, void *data) {
  const multi_data *d = data;
  *sc = d->scalars[idx];
  *pt = d->points[idx];
  return 1;
}

/* The item's key index (uint32, little endian, at byte 100). */
static uint32_t item_key(const unsigned char *item) {
  return (uint32_t)item[100] | ((uint32_t)item[101] << 8) | ((uint32_t)item[102] << 16) | ((uint32_t)item[103] << 24);
}

/* 1: the batch holds; 0: it does not, or an item cannot be parsed; -1: a malformed argument.
 * scalars: 2n + k entries (the last n are scratch for the prefix products); points: n + k entries. */
static int batch_verify(secp256k1_scratch_space *scratch, size_t n, const unsigned char *items, size_t k,
                        const unsigned char *keys, const unsigned char *weights, secp256k1_scalar *scalars,
                        secp256k1_ge *points) {
  size_t i;
  secp256k1_scalar g_scalar, product, inverse;
  secp256k1_scalar *prefix = scalars + n + k;
  secp256k1_gej sum;
  multi_data data;
  for (i = 0; i < k; i++) {
    secp256k1_fe x, y;
    if (!secp256k1_fe_set_b32(&x, keys + KEY_SIZE * i) || !secp256k1_fe_set_b32(&y, keys + KEY_SIZE * i + 32)) {
      return -1;
    }
    secp256k1_ge_set_xy(&points[n + i], &x, &y);
    if (!secp256k1_ge_is_valid_var(&points[n + i])) return -1;
    secp256k1_scalar_clear(&scalars[n + i]);
  }
  /* First pass: check the items' form; prefix[i] = s_0 ... s_(i-1). */
  secp256k1_scalar_set_int(&product, 1);
  for (i = 0; i < n; i++) {
    const unsigned char *item = items + ITEM_SIZE * i;
    secp256k1_scalar r, s;
    int overflow;
    uint32_t key = item_key(item);
    if (key >= k || item[96] > 1) return -1;
    secp256k1_scalar_set_b32(&r, item + 32, &overflow);
    if (overflow || secp256k1_scalar_is_zero(&r)) return 0;
    secp256k1_scalar_set_b32(&s, item + 64, &overflow);
    if (overflow || secp256k1_scalar_is_zero(&s)) return 0;
    prefix[i] = product;
    secp256k1_scalar_mul(&product, &product, &s);
  }
  /* One inversion of the product of all s (non-zero mod the prime n, so invertible). */
  secp256k1_scalar_inverse_var(&inverse, &product);
  secp256k1_scalar_clear(&g_scalar);
  /* Second pass, backwards: inverse = 1 / (s_0 ... s_i), so 1/s_i = inverse * prefix[i]. */
  for (i = n; i-- > 0;) {
    const unsigned char *item = items + ITEM_SIZE * i;
    unsigned char weight[32] = {0};
    secp256k1_scalar z, r, s, a, t;
    secp256k1_fe x;
    uint32_t key = item_key(item);
    secp256k1_scalar_set_b32(&z, item, NULL); /* the digest, reduced mod n as ECDSA does */
    secp256k1_scalar_set_b32(&r, item + 32, NULL);
    secp256k1_scalar_set_b32(&s, item + 64, NULL);
    /* R: x = r (r < n < p, so the field element is exact), y of parity v; no such point, no signature. */
    if (!secp256k1_fe_set_b32(&x, item + 32) || !secp256k1_ge_set_xo_var(&points[i], &x, item[96])) return 0;
    memcpy(weight + 16, weights + WEIGHT_SIZE * i, WEIGHT_SIZE);
    secp256k1_scalar_set_b32(&a, weight, NULL);
    if (secp256k1_scalar_is_zero(&a)) secp256k1_scalar_set_int(&a, 1); /* a zero weight would skip the item */
    scalars[i] = a;
    secp256k1_scalar_mul(&t, &inverse, &prefix[i]); /* 1 / s_i */
    secp256k1_scalar_mul(&inverse, &inverse, &s);
    secp256k1_scalar_mul(&a, &a, &t); /* a_i / s_i */
    secp256k1_scalar_mul(&t, &a, &z);
    secp256k1_scalar_add(&g_scalar, &g_scalar, &t);
    secp256k1_scalar_mul(&t, &a, &r);
    secp256k1_scalar_add(&scalars[n + key], &scalars[n + key], &t);
  }
  secp256k1_scalar_negate(&g_scalar, &g_scalar);
  for (i = 0; i < k; i++) secp256k1_scalar_negate(&scalars[n + i], &scalars[n + i]);
  data.scalars = scalars;
  data.points = points;
  if (!secp256k1_ecmult_multi_var(&verify_context->error_callback, &verify_context->ecmult_ctx, scratch, &sum,
                                  &g_scalar, multi_callback, &data, n + k)) {
    return -1;
  }
  return secp256k1_gej_is_infinity(&sum);
}

static int typed_bytes(napi_env env, napi_value value, unsigned char **data, size_t *length) {
  napi_typedarray_type type;
  void *raw;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    return 0;
  }
  *data = raw;
  return 1;
}

/* verify(items: Uint8Array, keys: Uint8Array, weights: Uint8Array): boolean */
static napi_value verify(napi_env env, napi_callback_info info) {
  size_t argc = 3, items_length, keys_length, weights_length, n, k;
  napi_value argv[3], result;
  unsigned char *items, *keys, *weights;
  instance_data *instance;
  secp256k1_scalar *scalars;
  secp256k1_ge *points;
  int verdict;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 ||
      !typed_bytes(env, argv[0], &items, &items_length) || !typed_bytes(env, argv[1], &keys, &keys_length) ||
      !typed_bytes(env, argv[2], &weights, &weights_length)) {
    napi_throw_type_error(env, NULL, "verify(items, keys, weights) takes three Uint8Arrays");
    return NULL;
  }
  n = items_length / ITEM_SIZE;
  k = keys_length / KEY_SIZE;
  if (items_length % ITEM_SIZE != 0 || keys_length % KEY_SIZE != 0 || weights_length != n * WEIGHT_SIZE ||
      n == 0 || k == 0) {
    napi_throw_range_error(env, NULL, "verify: 104 bytes per item, 64 per key, 16 per item of weights");
    return NULL;
  }
  if (napi_get_instance_data(env, (void **)&instance) != napi_ok || instance == NULL) {
    napi_throw_error(env, NULL, "verify: the addon is not initialised in this thread");
    return NULL;
  }
  scalars = malloc(sizeof(secp256k1_scalar) * (2 * n + k));
  points = malloc(sizeof(secp256k1_ge) * (n + k));
  if (scalars == NULL || points == NULL) {
    free(scalars);
    free(points);
    napi_throw_error(env, NULL, "verify: out of memory");
    return NULL;
  }
  verdict = batch_verify(instance->scratch, n, items, k, keys, weights, scalars, points);
  free(scalars);
  free(points);
  if (verdict < 0) {
    napi_throw_range_error(env, NULL, "verify: a key is not on the curve, or an item has a bad key index or recovery id");
    return NULL;
  }
  napi_get_boolean(env, verdict == 1, &result);
  return result;
}

static void finalize_instance(napi_env env, void *data, void *hint) {
  instance_data *instance = data;
  (void)env;
  (void)hint;
  secp256k1_scratch_space_destroy(verify_context, instance->scratch);
  free(instance);
}

NAPI_MODULE_INIT() {
  napi_value fn;
  instance_data *instance;
  /* Created once per process and never freed; only read after creation, so threads share it. */
  if (verify_context == NULL) verify_context = secp256k1_context_create(SECP256K1_CONTEXT_VERIFY);
  instance = malloc(sizeof(*instance));
  if (verify_context == NULL || instance == NULL) return NULL;
  instance->scratch = secp256k1_scratch_space_create(verify_context, SCRATCH_SIZE);
  if (instance->scratch == NULL || napi_set_instance_data(env, instance, finalize_instance, NULL) != napi_ok) {
    return NULL;
  }
  if (napi_create_function(env, "verify", NAPI_AUTO_LENGTH, verify, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "verify", fn) != napi_ok) {
    return NULL;
  }
  return exports;
}
