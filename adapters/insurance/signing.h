/*
 * Request signing of icd/social-insurance.md: the canonical string, its
 * HMAC-SHA256 signature and the per-request nonce. Pure functions over the
 * arena (plus OpenSSL), so the exact bytes that get signed can be unit-tested
 * against vectors computed outside this code.
 *
 * The canonical string is six parts joined by "\n" with no trailing LF:
 * method (upper case), path without the query, the query parameters sorted by
 * name as name=value joined by '&' with values percent-encoded per RFC 3986,
 * the timestamp, the nonce, and the lower-case hex SHA-256 of the body.
 */
#ifndef LT_INSURANCE_SIGNING_H
#define LT_INSURANCE_SIGNING_H

#include <stddef.h>

#include "lt_arena.h"
#include "lt_error.h"

#define LT_INSURANCE_NONCE_LEN 32 /* the ICD allows 16-64 characters of [A-Za-z0-9] */

typedef struct lt_insurance_param {
    const char *name;  /* sent as is: the ICD's names are plain ASCII */
    const char *value; /* raw; percent-encoded when written */
} lt_insurance_param_t;

/* s with every byte outside RFC 3986's unreserved set (A-Z a-z 0-9 - . _ ~) written as %XX (upper-case hex). */
char *lt_insurance_percent_encode(lt_arena_t *a, const char *s);

/*
 * "name=value&..." sorted by name (byte order), then by encoded value, values
 * percent-encoded: both the query that is sent and part 3 of the canonical
 * string, so the two can never differ. "" when n is 0.
 */
char *lt_insurance_query(lt_arena_t *a, const lt_insurance_param_t *params, size_t n);

/* Lower-case hex SHA-256 of len bytes (64 characters); NULL if OpenSSL fails. */
char *lt_insurance_sha256_hex(lt_arena_t *a, const void *data, size_t len);

/* The canonical string; NULL if OpenSSL fails. body may be NULL when body_len is 0. */
char *lt_insurance_canonical(lt_arena_t *a, const char *method, const char *path, const lt_insurance_param_t *params,
                             size_t nparams, const char *timestamp, const char *nonce, const void *body,
                             size_t body_len);

/* base64(HMAC-SHA256(key, canonical)), 44 characters; NULL if OpenSSL fails. */
char *lt_insurance_sign(lt_arena_t *a, const unsigned char *key, size_t key_len, const char *canonical);

/* LT_INSURANCE_NONCE_LEN characters of [A-Za-z0-9] from RAND_bytes, unbiased. Fails with LT_ERR_INTERNAL. */
int lt_insurance_nonce(char out[LT_INSURANCE_NONCE_LEN + 1], lt_error_t *err);

#endif
