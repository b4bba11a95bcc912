/*
 * sim_vnp: the signing rules of the payment ICD (icd/payment.md), written from
 * the ICD alone.
 *
 * Query-string data (the pay URL, the IPN, the browser return) is signed over
 * its "hash data": every non-empty vnp_ parameter except vnp_SecureHash and
 * vnp_SecureHashType, sorted by name in byte order, each name and value
 * encoded with A-Z a-z 0-9 - _ . kept, a space as '+', and every other byte as
 * %XX in upper case, joined as name=value with '&'. The signature is the
 * lower-case hex HMAC-SHA512 of that text under the hash secret; receivers
 * compare it without regard to case. The query API (querydr) signs its JSON
 * fields' values joined with '|' instead.
 *
 * Nothing here touches the network or the loop, so every rule can be checked
 * with bytes.
 */
#ifndef SIM_VNP_H
#define SIM_VNP_H

#include "sim_buf.h"

#include <stddef.h>

#define SIM_VNP_HASH_HEX 128 /* hex digits of an HMAC-SHA512 */

typedef struct sim_vnp_param {
    char *name;  /* decoded */
    char *value; /* decoded */
} sim_vnp_param_t;

/* Parameters in arrival order; names are unique (parsing refuses a repeated one). */
typedef struct sim_vnp_params {
    sim_vnp_param_t *items;
    size_t n, cap;
} sim_vnp_params_t;

void sim_vnp_params_init(sim_vnp_params_t *ps);
void sim_vnp_params_free(sim_vnp_params_t *ps);
/* Appends a copy of name=value (no check for repeats: the caller builds the list). */
void sim_vnp_params_add(sim_vnp_params_t *ps, const char *name, const char *value);
/* The decoded value of name, NULL when absent. */
const char *sim_vnp_params_get(const sim_vnp_params_t *ps, const char *name);

/*
 * Parses an application/x-www-form-urlencoded query or body ('+' is a space, %XX a byte) into ps. 0, or -1 with a
 * message in err: a malformed escape, an encoded NUL byte, or a name given twice (which value would be signed?).
 */
int sim_vnp_params_parse(sim_vnp_params_t *ps, const char *text, size_t len, char *err, size_t errlen);

/* Appends the ICD's encoding of len bytes of s. */
void sim_vnp_encode(sim_buf_t *out, const char *s, size_t len);

/* Appends the hash data of ps (see above); the same text is the query string the ICD sends. */
void sim_vnp_hash_data(const sim_vnp_params_t *ps, sim_buf_t *out);

/* hex = lower-case hex HMAC-SHA512(key, data): SIM_VNP_HASH_HEX digits and a NUL. */
void sim_vnp_hmac_hex(const unsigned char *key, size_t keylen, const char *data, size_t len,
                      char hex[SIM_VNP_HASH_HEX + 1]);

/* The signature of ps's hash data. */
void sim_vnp_sign(const sim_vnp_params_t *ps, const unsigned char *key, size_t keylen, char hex[SIM_VNP_HASH_HEX + 1]);

/* Appends ps's hash data, then &vnp_SecureHash=<signature>: a signed query string. */
void sim_vnp_signed_query(const sim_vnp_params_t *ps, const unsigned char *key, size_t keylen, sim_buf_t *out);

/* 1 when given is 128 hex digits equal to want regardless of case; the comparison takes the same time either way. */
int sim_vnp_hash_equal(const char *given, const char *want);

/* The querydr signature: HMAC-SHA512 over values[0..n) joined with '|'. */
void sim_vnp_pipe_sign(const char *const *values, size_t n, const unsigned char *key, size_t keylen,
                       char hex[SIM_VNP_HASH_HEX + 1]);

#endif
