/*
 * The in-process store (floor 3): sealed values by entry name, bounded by
 * bytes, least recently used out first, each gone after its own expiry. It is
 * the default backend, and the optional L1 in front of Redis.
 *
 * Every worker thread reads and writes it. It is split into shards, each with
 * its own lock and its own share of the byte budget, so two workers rarely
 * wait for each other; a value is copied out under the lock and opened (AES-GCM)
 * outside it. The budget counts everything the store allocates: entries,
 * values and hash buckets.
 * Purge by identifier scans for the entries tagged with that identifier's
 * index name: purges are rare operator actions, lookups are not, so lookups
 * pay nothing for it.
 */
#ifndef LT_CACHE_MEM_H
#define LT_CACHE_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "lt_cache_crypto.h"

typedef struct lt_cache_mem lt_cache_mem_t;

typedef struct lt_cache_mem_stats {
    size_t bytes, max_bytes, entries;
    uint64_t inserted_bytes, evictions, expirations;
} lt_cache_mem_stats_t;

lt_cache_mem_t *lt_cache_mem_new(size_t max_bytes, int shards);
void lt_cache_mem_free(lt_cache_mem_t *m);

/* A malloc'd copy of the value, or NULL when absent or expired (now_ms is wall-clock). */
unsigned char *lt_cache_mem_get(lt_cache_mem_t *m, const unsigned char name[LT_CACHE_KEY_LEN], int64_t now_ms,
                                size_t *len);
/* Stores a copy until expires_ms; tag (may be NULL) is the index name that a purge matches, with the system.
 * Returns -1 when the value alone would exceed a shard's budget. */
int lt_cache_mem_put(lt_cache_mem_t *m, const unsigned char name[LT_CACHE_KEY_LEN],
                     const unsigned char tag[LT_CACHE_KEY_LEN], const char *system, const unsigned char *value,
                     size_t len, int64_t expires_ms, int64_t now_ms);
void lt_cache_mem_delete(lt_cache_mem_t *m, const unsigned char name[LT_CACHE_KEY_LEN]);
/* Removes every entry tagged tag (and of system, unless NULL); returns how many. */
size_t lt_cache_mem_purge(lt_cache_mem_t *m, const unsigned char tag[LT_CACHE_KEY_LEN], const char *system);
void lt_cache_mem_stats(lt_cache_mem_t *m, lt_cache_mem_stats_t *out);

#endif
