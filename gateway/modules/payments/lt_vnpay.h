/*
 * The payment gateway's signing rules (icd/payment.md §1, §2 and §4), pure
 * functions with no I/O so that unit tests can hold them to the ICD:
 *
 *   - query-string data: every non-empty vnp_ parameter except the hash
 *     itself, sorted by name in byte order, form-encoded (only A-Z a-z 0-9
 *     - _ . kept, space as '+', every other byte %XX upper-case), joined with
 *     '&'; the hash is lower-case hex HMAC-SHA512 over exactly that text;
 *   - querydr: HMAC-SHA512 over fixed fields joined with '|'.
 *
 * vnp_OrderInfo must be plain ASCII: lt_vnp_fold_ascii() removes diacritics
 * (with utf8proc's decomposition, not a hand-made table), maps đ/Đ to d/D,
 * drops what is neither a letter, a digit, a space nor one of . - _, and
 * cuts at 255 characters.
 */
#ifndef LT_VNPAY_H
#define LT_VNPAY_H

#include <stdbool.h>
#include <stddef.h>

#define LT_VNP_MAX_PARAMS 40
#define LT_VNP_HASH_HEX   128 /* SHA-512 in hex */

typedef struct lt_vnp_param {
    char *name, *value; /* owned by the set */
} lt_vnp_param_t;

/* An ordered bag of parameters: what we send, or what a query string carried (decoded). */
typedef struct lt_vnp_params {
    lt_vnp_param_t items[LT_VNP_MAX_PARAMS];
    size_t n;
} lt_vnp_params_t;

void lt_vnp_params_free(lt_vnp_params_t *ps);
/* Adds a copy; returns -1 when full. An empty value is kept (and later left out of the hash, per the ICD). */
int lt_vnp_params_add(lt_vnp_params_t *ps, const char *name, const char *value);
/* NULL when absent. */
const char *lt_vnp_params_get(const lt_vnp_params_t *ps, const char *name);

/*
 * Decodes an x-www-form-urlencoded query string ('+' is a space, %XX a byte).
 * Returns -1 on a malformed escape, a NUL byte, a repeated name, or more than
 * LT_VNP_MAX_PARAMS parameters: such a query cannot be verified.
 */
int lt_vnp_parse_query(const char *query, lt_vnp_params_t *out);

/* Form-encodes s per the ICD into a malloc'd string. */
char *lt_vnp_encode(const char *s);
/* The hash data (and query string) of the signed parameters, malloc'd. */
char *lt_vnp_hash_data(const lt_vnp_params_t *ps);
/* out = lower-case hex HMAC-SHA512(secret, data). */
void lt_vnp_hmac_hex(const unsigned char *secret, size_t secret_len, const char *data, size_t data_len,
                     char out[LT_VNP_HASH_HEX + 1]);
/* "<hash data>&vnp_SecureHash=<hex>", malloc'd: what goes after '?' in a pay URL. */
char *lt_vnp_signed_query(const lt_vnp_params_t *ps, const unsigned char *secret, size_t secret_len);
/* true when vnp_SecureHash is present and matches (case-insensitively, in constant time). */
bool lt_vnp_verify(const lt_vnp_params_t *ps, const unsigned char *secret, size_t secret_len);

/* Joins fields with '|' and signs them (querydr request and response, §4). */
void lt_vnp_pipe_hash(const char *const *fields, size_t n, const unsigned char *secret, size_t secret_len,
                      char out[LT_VNP_HASH_HEX + 1]);
/* Case-insensitive constant-time comparison of two hex hashes. */
bool lt_vnp_hash_equal(const char *a, const char *b);

/* vnp_OrderInfo from free text (UTF-8). out must hold max + 1 bytes; returns the length written. */
size_t lt_vnp_fold_ascii(const char *utf8, char *out, size_t max);

#endif
