/*
 * One cached answer (floor 3): a canonical record, or a "not found", with the
 * wall-clock times that say when it was fetched, until when it is fresh and
 * until when it may still be served if the national system fails. Wall-clock
 * rather than monotonic, because instances that share Redis compare them.
 * In the store an entry is always sealed (lt_cache_crypto.h); its plain text is
 * one header line and the JSON body.
 */
#ifndef LT_CACHE_ENTRY_H
#define LT_CACHE_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_cache_crypto.h"
#include "lt_error.h"

typedef enum {
    LT_CACHE_FOUND = 'F',     /* body: the canonical record, compact JSON, without "source" */
    LT_CACHE_NOT_FOUND = 'N', /* body: {"code", "detail"} of the national system's "no such record" */
} lt_cache_kind_t;

typedef struct lt_cache_entry {
    lt_cache_kind_t kind;
    int64_t fetched_ms, fresh_until_ms, stale_until_ms;
    char *body; /* malloc'd, NUL-terminated */
    size_t body_len;
} lt_cache_entry_t;

/* Wall-clock milliseconds. */
int64_t lt_cache_now_ms(void);

static inline bool lt_cache_entry_is_fresh(const lt_cache_entry_t *e, int64_t now_ms)
{
    return now_ms < e->fresh_until_ms;
}

static inline bool lt_cache_entry_is_usable(const lt_cache_entry_t *e, int64_t now_ms)
{
    return now_ms < e->stale_until_ms;
}

/* Whole seconds since the entry was fetched: the Age header. */
long long lt_cache_entry_age_s(const lt_cache_entry_t *e, int64_t now_ms);

/* The plain text form (malloc'd). */
char *lt_cache_entry_encode(const lt_cache_entry_t *e, size_t *len);
int lt_cache_entry_decode(const char *text, size_t len, lt_cache_entry_t *e);

int lt_cache_entry_seal(const lt_cache_keys_t *keys, const unsigned char name[LT_CACHE_KEY_LEN],
                        const lt_cache_entry_t *e, unsigned char **sealed, size_t *sealed_len);
/* Fails (LT_ERR_INTERNAL "cache_unreadable") on any tampering or an unknown key; the caller counts it a miss. */
int lt_cache_entry_open(const lt_cache_keys_t *keys, const unsigned char name[LT_CACHE_KEY_LEN],
                        const unsigned char *sealed, size_t sealed_len, lt_cache_entry_t *e, lt_error_t *err);

void lt_cache_entry_copy(lt_cache_entry_t *dst, const lt_cache_entry_t *src);
void lt_cache_entry_clear(lt_cache_entry_t *e);

#endif
