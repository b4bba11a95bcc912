/* Cached answers: their plain text form, freshness and sealing. */
#include "lt_cache_entry.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t lt_cache_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long lt_cache_entry_age_s(const lt_cache_entry_t *e, int64_t now_ms)
{
    return now_ms > e->fetched_ms ? (long long)((now_ms - e->fetched_ms) / 1000) : 0;
}

char *lt_cache_entry_encode(const lt_cache_entry_t *e, size_t *len)
{
    char head[96];
    int n = snprintf(head, sizeof(head), "%c %" PRId64 " %" PRId64 " %" PRId64 "\n", (char)e->kind, e->fetched_ms,
                     e->fresh_until_ms, e->stale_until_ms);
    char *text = malloc((size_t)n + e->body_len + 1);
    memcpy(text, head, (size_t)n);
    memcpy(text + n, e->body, e->body_len);
    text[(size_t)n + e->body_len] = '\0';
    *len = (size_t)n + e->body_len;
    return text;
}

int lt_cache_entry_decode(const char *text, size_t len, lt_cache_entry_t *e)
{
    memset(e, 0, sizeof(*e));
    const char *nl = memchr(text, '\n', len);
    char kind;
    if (nl == NULL || nl - text > 90)
        return -1;
    char head[96];
    memcpy(head, text, (size_t)(nl - text));
    head[nl - text] = '\0';
    if (sscanf(head, "%c %" SCNd64 " %" SCNd64 " %" SCNd64, &kind, &e->fetched_ms, &e->fresh_until_ms,
               &e->stale_until_ms) != 4 ||
        (kind != LT_CACHE_FOUND && kind != LT_CACHE_NOT_FOUND))
        return -1;
    e->kind = (lt_cache_kind_t)kind;
    e->body_len = len - (size_t)(nl + 1 - text);
    e->body = malloc(e->body_len + 1);
    memcpy(e->body, nl + 1, e->body_len);
    e->body[e->body_len] = '\0';
    return 0;
}

int lt_cache_entry_seal(const lt_cache_keys_t *keys, const unsigned char name[LT_CACHE_KEY_LEN],
                        const lt_cache_entry_t *e, unsigned char **sealed, size_t *sealed_len)
{
    size_t len;
    char *text = lt_cache_entry_encode(e, &len);
    int rc = lt_cache_seal(keys, name, text, len, sealed, sealed_len);
    OPENSSL_cleanse(text, len);
    free(text);
    return rc;
}

int lt_cache_entry_open(const lt_cache_keys_t *keys, const unsigned char name[LT_CACHE_KEY_LEN],
                        const unsigned char *sealed, size_t sealed_len, lt_cache_entry_t *e, lt_error_t *err)
{
    char *text;
    size_t len;
    if (lt_cache_open(keys, name, sealed, sealed_len, &text, &len, err) != 0)
        return -1;
    int rc = lt_cache_entry_decode(text, len, e);
    OPENSSL_cleanse(text, len);
    free(text);
    if (rc != 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "cache_unreadable", "cached value opened but is malformed");
    return 0;
}

void lt_cache_entry_copy(lt_cache_entry_t *dst, const lt_cache_entry_t *src)
{
    *dst = *src;
    dst->body = malloc(src->body_len + 1);
    memcpy(dst->body, src->body, src->body_len + 1);
}

void lt_cache_entry_clear(lt_cache_entry_t *e)
{
    if (e->body != NULL) {
        OPENSSL_cleanse(e->body, e->body_len);
        free(e->body);
    }
    memset(e, 0, sizeof(*e));
}
