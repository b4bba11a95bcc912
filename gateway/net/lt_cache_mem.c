/* A sharded, byte-bounded LRU of sealed values with per-entry expiry. */
#include "lt_cache_mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYSTEM_MAX      32
#define INITIAL_BUCKETS 16
#define EXPIRED_SCAN    16 /* how many of the oldest entries a put looks at for expired ones */

typedef struct entry {
    struct entry *chain;         /* hash bucket */
    struct entry *newer, *older; /* LRU list */
    unsigned char name[LT_CACHE_KEY_LEN];
    unsigned char tag[LT_CACHE_KEY_LEN];
    bool tagged;
    char system[SYSTEM_MAX];
    int64_t expires_ms;
    size_t len;
    unsigned char value[];
} entry_t;

typedef struct shard {
    pthread_mutex_t lock;
    entry_t **buckets;
    size_t nbuckets, count, bytes, budget;
    entry_t *newest, *oldest;
    uint64_t inserted_bytes, evictions, expirations;
} shard_t;

struct lt_cache_mem {
    shard_t *shards;
    int nshards;
    size_t max_bytes;
};

/* Names are HMAC outputs, so their bytes are already uniformly spread: no further hashing is needed. */
static uint64_t name_hash(const unsigned char name[LT_CACHE_KEY_LEN])
{
    uint64_t h;
    memcpy(&h, name, sizeof(h));
    return h;
}

static shard_t *shard_of(lt_cache_mem_t *m, const unsigned char name[LT_CACHE_KEY_LEN])
{
    return &m->shards[name[8] % m->nshards];
}

static size_t charge(size_t len)
{
    return sizeof(entry_t) + len;
}

lt_cache_mem_t *lt_cache_mem_new(size_t max_bytes, int shards)
{
    lt_cache_mem_t *m = calloc(1, sizeof(*m));
    m->nshards = shards < 1 ? 1 : shards;
    m->max_bytes = max_bytes;
    m->shards = calloc((size_t)m->nshards, sizeof(*m->shards));
    for (int i = 0; i < m->nshards; i++) {
        shard_t *s = &m->shards[i];
        pthread_mutex_init(&s->lock, NULL);
        s->nbuckets = INITIAL_BUCKETS;
        s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
        s->budget = max_bytes / (size_t)m->nshards;
        s->bytes = s->nbuckets * sizeof(*s->buckets);
    }
    return m;
}

void lt_cache_mem_free(lt_cache_mem_t *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < m->nshards; i++) {
        shard_t *s = &m->shards[i];
        for (entry_t *e = s->newest, *next; e != NULL; e = next) {
            next = e->older;
            free(e);
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->lock);
    }
    free(m->shards);
    free(m);
}

/* ---- one shard, its lock held ---------------------------------------------- */

static entry_t **find_slot(shard_t *s, const unsigned char name[LT_CACHE_KEY_LEN])
{
    entry_t **slot = &s->buckets[name_hash(name) & (s->nbuckets - 1)];
    while (*slot != NULL && memcmp((*slot)->name, name, LT_CACHE_KEY_LEN) != 0)
        slot = &(*slot)->chain;
    return slot;
}

static void lru_unlink(shard_t *s, entry_t *e)
{
    if (e->newer != NULL)
        e->newer->older = e->older;
    else
        s->newest = e->older;
    if (e->older != NULL)
        e->older->newer = e->newer;
    else
        s->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push(shard_t *s, entry_t *e)
{
    e->newer = NULL;
    e->older = s->newest;
    if (s->newest != NULL)
        s->newest->newer = e;
    s->newest = e;
    if (s->oldest == NULL)
        s->oldest = e;
}

static void remove_entry(shard_t *s, entry_t *e)
{
    entry_t **slot = find_slot(s, e->name);
    *slot = e->chain;
    lru_unlink(s, e);
    s->count--;
    s->bytes -= charge(e->len);
    free(e);
}

/* Doubles the buckets when chains grow long, if the budget allows the larger array. */
static void maybe_grow(shard_t *s)
{
    if (s->count <= s->nbuckets * 2)
        return;
    size_t n = s->nbuckets * 2, extra = s->nbuckets * sizeof(*s->buckets);
    if (s->bytes + extra > s->budget)
        return;
    entry_t **b = calloc(n, sizeof(*b));
    for (size_t i = 0; i < s->nbuckets; i++) {
        for (entry_t *e = s->buckets[i], *next; e != NULL; e = next) {
            next = e->chain;
            entry_t **slot = &b[name_hash(e->name) & (n - 1)];
            e->chain = *slot;
            *slot = e;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
    s->bytes += extra;
}

/* Makes room for `need` more bytes: expired entries among the oldest first, then the least recently used. The
 * expired scan is bounded so that a put never walks the whole shard under its lock. */
static void make_room(shard_t *s, size_t need, int64_t now_ms)
{
    int looked = 0;
    for (entry_t *e = s->oldest, *newer; e != NULL && s->bytes + need > s->budget && looked < EXPIRED_SCAN;
         e = newer, looked++) {
        newer = e->newer;
        if (e->expires_ms <= now_ms) {
            s->expirations++;
            remove_entry(s, e);
        }
    }
    while (s->oldest != NULL && s->bytes + need > s->budget) {
        s->evictions++;
        remove_entry(s, s->oldest);
    }
}

/* ---- the interface ------------------------------------------------------------ */

unsigned char *lt_cache_mem_get(lt_cache_mem_t *m, const unsigned char name[LT_CACHE_KEY_LEN], int64_t now_ms,
                                size_t *len)
{
    shard_t *s = shard_of(m, name);
    unsigned char *copy = NULL;
    pthread_mutex_lock(&s->lock);
    entry_t *e = *find_slot(s, name);
    if (e != NULL && e->expires_ms <= now_ms) {
        s->expirations++;
        remove_entry(s, e);
    } else if (e != NULL) {
        lru_unlink(s, e);
        lru_push(s, e);
        copy = malloc(e->len);
        memcpy(copy, e->value, e->len);
        *len = e->len;
    }
    pthread_mutex_unlock(&s->lock);
    return copy;
}

int lt_cache_mem_put(lt_cache_mem_t *m, const unsigned char name[LT_CACHE_KEY_LEN],
                     const unsigned char tag[LT_CACHE_KEY_LEN], const char *system, const unsigned char *value,
                     size_t len, int64_t expires_ms, int64_t now_ms)
{
    shard_t *s = shard_of(m, name);
    size_t need = charge(len);
    /* Built outside the lock: only linking it in needs the lock. */
    entry_t *e = malloc(need);
    memset(e, 0, sizeof(*e));
    memcpy(e->name, name, LT_CACHE_KEY_LEN);
    if (tag != NULL) {
        memcpy(e->tag, tag, LT_CACHE_KEY_LEN);
        e->tagged = true;
    }
    snprintf(e->system, sizeof(e->system), "%s", system ? system : "");
    e->expires_ms = expires_ms;
    e->len = len;
    memcpy(e->value, value, len);

    pthread_mutex_lock(&s->lock);
    entry_t *old = *find_slot(s, name);
    if (old != NULL)
        remove_entry(s, old);
    if (need + s->nbuckets * sizeof(*s->buckets) > s->budget) {
        pthread_mutex_unlock(&s->lock);
        free(e);
        return -1;
    }
    make_room(s, need, now_ms);
    entry_t **slot = find_slot(s, name);
    e->chain = *slot;
    *slot = e;
    lru_push(s, e);
    s->count++;
    s->bytes += need;
    s->inserted_bytes += need;
    maybe_grow(s);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

void lt_cache_mem_delete(lt_cache_mem_t *m, const unsigned char name[LT_CACHE_KEY_LEN])
{
    shard_t *s = shard_of(m, name);
    pthread_mutex_lock(&s->lock);
    entry_t *e = *find_slot(s, name);
    if (e != NULL)
        remove_entry(s, e);
    pthread_mutex_unlock(&s->lock);
}

size_t lt_cache_mem_purge(lt_cache_mem_t *m, const unsigned char tag[LT_CACHE_KEY_LEN], const char *system)
{
    size_t n = 0;
    for (int i = 0; i < m->nshards; i++) {
        shard_t *s = &m->shards[i];
        pthread_mutex_lock(&s->lock);
        for (entry_t *e = s->newest, *older; e != NULL; e = older) {
            older = e->older;
            if (e->tagged && memcmp(e->tag, tag, LT_CACHE_KEY_LEN) == 0 &&
                (system == NULL || strcmp(e->system, system) == 0)) {
                remove_entry(s, e);
                n++;
            }
        }
        pthread_mutex_unlock(&s->lock);
    }
    return n;
}

void lt_cache_mem_stats(lt_cache_mem_t *m, lt_cache_mem_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->max_bytes = m->max_bytes;
    for (int i = 0; i < m->nshards; i++) {
        shard_t *s = &m->shards[i];
        pthread_mutex_lock(&s->lock);
        out->bytes += s->bytes;
        out->entries += s->count;
        out->inserted_bytes += s->inserted_bytes;
        out->evictions += s->evictions;
        out->expirations += s->expirations;
        pthread_mutex_unlock(&s->lock);
    }
}
