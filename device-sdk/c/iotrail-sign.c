/*
 * iotrail-sign: the C signer as a command, for tests and for trying it on a workstation.
 *
 *   iotrail-sign --key <hex32> --chain-id <n> --contract <hex20> [--no-domain] [--no-device] [--digest]
 *                [--metric <name>] [--payload-hash <hex32>] [--stack]
 *
 * reads readings from standard input, one per line: "<sequence> <timestamp> <value>", and writes for each
 * the version-2 message in hex (or with --digest its EIP-712 digest). --address prints the key's address.
 * --stack prints, after the messages, the deepest stack one sign-and-encode used (bytes, measured on a
 * painted stack of its own).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "iotrail.h"

static int hex_digit(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int parse_hex(const char *text, uint8_t *out, size_t size) {
  size_t i;
  if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text += 2;
  if (strlen(text) != 2 * size) return -1;
  for (i = 0; i < size; i++) {
    int high = hex_digit(text[2 * i]), low = hex_digit(text[2 * i + 1]);
    if (high < 0 || low < 0) return -1;
    out[i] = (uint8_t)(high * 16 + low);
  }
  return 0;
}

static void print_hex(const uint8_t *bytes, size_t size) {
  size_t i;
  printf("0x");
  for (i = 0; i < size; i++) printf("%02x", bytes[i]);
  printf("\n");
}

static int usage(const char *why) {
  fprintf(stderr, "iotrail-sign: %s\n", why);
  return 2;
}

#define STACK_PROBE_BYTES 65536
#define STACK_PATTERN 0xA5

/*
 * The stack high-water mark of one sign-and-encode: it runs on a stack of our own (ucontext), painted with
 * a pattern first; what it overwrote, counted from the stack's far end, is the deepest it went.
 */
static uint8_t probe_stack[STACK_PROBE_BYTES];
static ucontext_t probe_caller, probe_callee;

typedef struct {
  const iotrail_signer *signer;
  const uint8_t *separator;
  const iotrail_domain *domain;
  const char *metric;
  int include_device;
  iotrail_reading reading;
  uint8_t message[IOTRAIL_CBOR_MAX];
  size_t length;
} job;

static void __attribute__((noinline)) sign_and_encode(job *j) {
  uint8_t digest[32], signature[64];
  iotrail_reading_digest(j->separator, &j->reading, digest);
  if (iotrail_sign_digest(j->signer, digest, signature) != 0) {
    j->length = 0;
    return;
  }
  j->length = iotrail_encode_message(j->domain, &j->reading, j->metric, j->include_device, signature, j->message,
                                     sizeof j->message);
}

static job *probe_job;

static void probe_entry(void) { sign_and_encode(probe_job); }

/* Runs sign_and_encode(j) on the painted stack; returns the bytes of it that were used. */
static size_t sign_on_probe_stack(job *j) {
  size_t untouched = 0;
  memset(probe_stack, STACK_PATTERN, sizeof probe_stack);
  probe_job = j;
  getcontext(&probe_callee);
  probe_callee.uc_stack.ss_sp = probe_stack;
  probe_callee.uc_stack.ss_size = sizeof probe_stack;
  probe_callee.uc_link = &probe_caller;
  makecontext(&probe_callee, probe_entry, 0);
  swapcontext(&probe_caller, &probe_callee);
  /* The stack grows down from the end of probe_stack: untouched bytes remain at its start. */
  while (untouched < sizeof probe_stack && probe_stack[untouched] == STACK_PATTERN) untouched++;
  return sizeof probe_stack - untouched;
}

int main(int argc, char **argv) {
  uint8_t secret[32], address[20], separator[32];
  iotrail_domain domain;
  iotrail_signer signer;
  job j;
  const char *metric = "temperature.mC";
  int have_key = 0, have_chain = 0, have_contract = 0, with_domain = 1, with_device = 1, digest_only = 0;
  int print_address = 0, measure_stack = 0, i;
  size_t deepest = 0;
  unsigned long long sequence, timestamp;
  long long value;
  memset(&j.reading, 0, sizeof j.reading);
  for (i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(arg, "--key") == 0 && next != NULL) {
      if (parse_hex(next, secret, 32) != 0) return usage("--key needs 32 bytes of hex");
      have_key = 1;
      i++;
    } else if (strcmp(arg, "--chain-id") == 0 && next != NULL) {
      domain.chain_id = strtoull(next, NULL, 10);
      have_chain = 1;
      i++;
    } else if (strcmp(arg, "--contract") == 0 && next != NULL) {
      if (parse_hex(next, domain.verifying_contract, 20) != 0) return usage("--contract needs 20 bytes of hex");
      have_contract = 1;
      i++;
    } else if (strcmp(arg, "--metric") == 0 && next != NULL) {
      metric = next;
      i++;
    } else if (strcmp(arg, "--payload-hash") == 0 && next != NULL) {
      if (parse_hex(next, j.reading.payload_hash, 32) != 0) return usage("--payload-hash needs 32 bytes of hex");
      i++;
    } else if (strcmp(arg, "--no-domain") == 0) {
      with_domain = 0;
    } else if (strcmp(arg, "--no-device") == 0) {
      with_device = 0;
    } else if (strcmp(arg, "--digest") == 0) {
      digest_only = 1;
    } else if (strcmp(arg, "--address") == 0) {
      print_address = 1;
    } else if (strcmp(arg, "--stack") == 0) {
      measure_stack = 1;
    } else {
      return usage("unknown argument (see the comment at the top of iotrail-sign.c)");
    }
  }
  if (!have_key) return usage("--key is required");
  if (iotrail_signer_init(&signer, secret, address) != 0) return usage("the key is not a valid secp256k1 secret key");
  if (print_address) {
    print_hex(address, 20);
    iotrail_signer_clear(&signer);
    return 0;
  }
  if (!have_chain || !have_contract) return usage("--chain-id and --contract are required");
  if (iotrail_metric_id(metric, j.reading.metric) != 0) return usage("--metric is 1 to 31 bytes");
  memcpy(j.reading.device, address, 20);
  iotrail_domain_separator(&domain, separator);
  j.signer = &signer;
  j.separator = separator;
  j.domain = with_domain ? &domain : NULL;
  j.metric = metric;
  j.include_device = with_device;
  while (scanf("%llu %llu %lld", &sequence, &timestamp, &value) == 3) {
    j.reading.sequence = sequence;
    j.reading.timestamp = timestamp;
    j.reading.value = value;
    if (digest_only) {
      uint8_t digest[32];
      iotrail_reading_digest(separator, &j.reading, digest);
      print_hex(digest, 32);
      continue;
    }
    if (measure_stack) {
      size_t used = sign_on_probe_stack(&j);
      if (used > deepest) deepest = used;
    } else {
      sign_and_encode(&j);
    }
    if (j.length == 0) {
      iotrail_signer_clear(&signer);
      return usage("signing or encoding failed");
    }
    print_hex(j.message, j.length);
  }
  if (measure_stack) printf("stack %zu\n", deepest);
  iotrail_signer_clear(&signer);
  return 0;
}
