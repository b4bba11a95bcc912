/* Canonical string, HMAC-SHA256 signature and nonce of icd/social-insurance.md, with OpenSSL doing all crypto. */
#include "signing.h"

#include <ctype.h>
#include <stdbool.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static const char NONCE_ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
#define NONCE_ALPHABET_LEN 62
/* The largest multiple of 62 below 256: bytes at or above it are drawn again, so no character is favoured. */
#define NONCE_BYTE_LIMIT 248

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

char *lt_insurance_percent_encode(lt_arena_t *a, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = lt_arena_alloc(a, n * 3 + 1), *w = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (is_unreserved(*p)) {
            *w++ = (char)*p;
        } else {
            *w++ = '%';
            *w++ = hex[*p >> 4];
            *w++ = hex[*p & 0x0f];
        }
    }
    *w = '\0';
    return out;
}

typedef struct encoded_param {
    const char *name;
    const char *value; /* percent-encoded */
} encoded_param_t;

static int compare_params(const void *x, const void *y)
{
    const encoded_param_t *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    return c != 0 ? c : strcmp(a->value, b->value);
}

char *lt_insurance_query(lt_arena_t *a, const lt_insurance_param_t *params, size_t n)
{
    if (n == 0)
        return lt_arena_strdup(a, "");
    encoded_param_t *e = lt_arena_alloc(a, n * sizeof(*e));
    size_t total = 1;
    for (size_t i = 0; i < n; i++) {
        e[i].name = params[i].name;
        e[i].value = lt_insurance_percent_encode(a, params[i].value);
        total += strlen(e[i].name) + strlen(e[i].value) + 2;
    }
    qsort(e, n, sizeof(*e), compare_params);
    char *out = lt_arena_alloc(a, total), *w = out;
    for (size_t i = 0; i < n; i++)
        w += sprintf(w, "%s%s=%s", i ? "&" : "", e[i].name, e[i].value);
    return out;
}

char *lt_insurance_sha256_hex(lt_arena_t *a, const void *data, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data ? data : "", len, md, &mdlen, EVP_sha256(), NULL) != 1)
        return NULL;
    char *out = lt_arena_alloc(a, (size_t)mdlen * 2 + 1);
    for (unsigned int i = 0; i < mdlen; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
    return out;
}

static char *upper_ascii(lt_arena_t *a, const char *s)
{
    char *u = lt_arena_strdup(a, s);
    for (char *p = u; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return u;
}

char *lt_insurance_canonical(lt_arena_t *a, const char *method, const char *path, const lt_insurance_param_t *params,
                             size_t nparams, const char *timestamp, const char *nonce, const void *body,
                             size_t body_len)
{
    const char *body_hash = lt_insurance_sha256_hex(a, body, body_len);
    if (body_hash == NULL)
        return NULL;
    return lt_arena_sprintf(a, "%s\n%s\n%s\n%s\n%s\n%s", upper_ascii(a, method), path,
                            lt_insurance_query(a, params, nparams), timestamp, nonce, body_hash);
}

char *lt_insurance_sign(lt_arena_t *a, const unsigned char *key, size_t key_len, const char *canonical)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)canonical, strlen(canonical), mac, &maclen) ==
        NULL)
        return NULL;
    /* EVP_EncodeBlock writes 4 characters per 3 bytes, padded, plus a NUL, and no line breaks. */
    char *out = lt_arena_alloc(a, ((size_t)maclen + 2) / 3 * 4 + 1);
    EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
    return out;
}

int lt_insurance_nonce(char out[LT_INSURANCE_NONCE_LEN + 1], lt_error_t *err)
{
    size_t have = 0;
    unsigned char buf[LT_INSURANCE_NONCE_LEN * 2];
    while (have < LT_INSURANCE_NONCE_LEN) {
        if (RAND_bytes(buf, (int)sizeof(buf)) != 1)
            return lt_error_set(err, LT_ERR_INTERNAL, "random", "the random generator failed");
        for (size_t i = 0; i < sizeof(buf) && have < LT_INSURANCE_NONCE_LEN; i++)
            if (buf[i] < NONCE_BYTE_LIMIT)
                out[have++] = NONCE_ALPHABET[buf[i] % NONCE_ALPHABET_LEN];
    }
    out[have] = '\0';
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}
