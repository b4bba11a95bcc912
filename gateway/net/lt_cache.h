/*
 * The lookup cache (floor 3): one interface over two backends.
 *   - memory: the in-process store (lt_cache_mem.h), the default; no Redis.
 *   - redis: shared by every instance; each worker has its own connection on
 *     its own loop (lt_redis.h), optionally with a small in-process L1
 *     in front of it.
 * Entries are named by HMAC and sealed with AES-256-GCM (lt_cache_crypto.h),
 * in both backends.
 *
 * The cache is a stage of a lookup's call (lt_cache_lookup_start):
 *   1. is this operation cached at all, and under which name? Payments,
 *      non-idempotent operations and those with ttl_s 0 never are, nor is
 *      anything when the backend is off: they go straight to lt_call, and
 *      their answer says nothing about a cache;
 *   2. a fresh copy in this process answers at once;
 *   3. otherwise the request joins the process-wide single flight for that
 *      name (lt_flight.h). Its leader reads the shared store, then calls
 *      the national system through lt_call, stores the answer (a 404 "not
 *      found" too, for its shorter TTL) and hands it to every waiter. When the
 *      national system fails, or its circuit is open, a copy kept past its TTL
 *      (up to max_stale) is served instead: "stale".
 * Every way ends in one lt_cache_result_t: the record's text (serialised once,
 * on its way from lt_call; lt_cache_entry_answer builds the body from it), or
 * the error to answer.
 * A client's Cache-Control: no-cache skips 2 and the shared read, runs a
 * private flight, and refreshes the entry: "bypass".
 *
 * A Redis that is down or slow never fails a request: a command that fails or
 * times out counts as a miss, and the connection comes back by itself.
 */
#ifndef LT_CACHE_H
#define LT_CACHE_H

#include <event2/event.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "lt_adapter.h"
#include "lt_cache_entry.h"
#include "lt_call.h"
#include "lt_config.h"
#include "lt_error.h"

typedef struct lt_cache lt_cache_t;
typedef struct lt_cache_worker lt_cache_worker_t;

typedef enum {
    LT_CACHE_NONE, /* the operation is not cached: no X-Cache (source.cache still says "miss": fetched just now) */
    LT_CACHE_HIT,
    LT_CACHE_MISS,
    LT_CACHE_STALE,
    LT_CACHE_BYPASS
} lt_cache_source_t;

/* What a lookup is answered with. Shared between threads, read-only, reference-counted. */
typedef struct lt_cache_result {
    _Atomic int refs;
    lt_cache_source_t source;
    lt_error_t err;         /* kind LT_ERR_NONE: a record, in entry; else the problem to answer (a cached 404 too) */
    lt_cache_entry_t entry; /* FOUND: the record (lt_cache_entry_answer); NOT_FOUND: when it was fetched, for Age */
} lt_cache_result_t;

/* "hit", "miss", "stale", "bypass": the X-Cache header and source.cache ("miss" for LT_CACHE_NONE). */
const char *lt_cache_source_name(lt_cache_source_t s);
void lt_cache_result_unref(lt_cache_result_t *res);

/* ---- the process --------------------------------------------------------------- */

/* Loads the keys, resolves the Redis address, creates the in-process store. Start-up only (it may block). */
lt_cache_t *lt_cache_new(const lt_config_t *config, lt_error_t *err);
void lt_cache_free(lt_cache_t *c);
bool lt_cache_enabled(const lt_cache_t *c);
/* {"backend", "state": "ok"|"degraded"|"off", "detail"?, counters, "memory"?, "redis"?}; safe from any thread. */
json_t *lt_cache_status(lt_cache_t *c);

/* ---- one loop ------------------------------------------------------------------- */

/* calls is the worker's lt_call environment, or NULL for a loop that only purges (the admin listener's). */
lt_cache_worker_t *lt_cache_worker_new(lt_cache_t *c, struct event_base *base, lt_call_env_t *calls);
void lt_cache_worker_free(lt_cache_worker_t *cw);
/* Flights this loop leads: a draining worker keeps its loop until they end, since other workers wait on them. */
int lt_cache_worker_busy(const lt_cache_worker_t *cw);
void lt_cache_worker_on_idle(lt_cache_worker_t *cw, void (*idle)(void *arg), void *arg);

/* ---- a lookup ------------------------------------------------------------------- */

typedef struct lt_cache_lookup lt_cache_lookup_t;
/* res is borrowed for the call. Called once, on this loop, never inside lt_cache_lookup_start. */
typedef void (*lt_cache_done_fn)(void *arg, const lt_cache_result_t *res);

/*
 * One lookup, on a worker's loop (cw has calls). A fresh copy in this process answers at once: returned (a new
 * reference), and done is never called. Otherwise NULL is returned, *lookup is set, and done gets the answer: from
 * the single flight, or, for an operation that is not cached, from lt_call. bypass: the caller's no-cache.
 * call->arena, ctx, settings and input as for lt_call_start; the lookup lives in call->arena.
 */
lt_cache_result_t *lt_cache_lookup_start(lt_cache_worker_t *cw, const lt_upstream_conf_t *u, const lt_operation_t *op,
                                         lt_call_t *call, bool bypass, lt_cache_done_fn done, void *arg,
                                         lt_cache_lookup_t **lookup);
/* done will not be called. If this was a flight's last waiter, the upstream call stops too. */
void lt_cache_lookup_cancel(lt_cache_lookup_t *k);

/* ---- purge ------------------------------------------------------------------------ */

typedef struct lt_cache_purge_report {
    long long memory, redis; /* entries removed from each */
    bool failed;             /* the shared store could not be reached: its copies may remain */
    char detail[160];
} lt_cache_purge_report_t;

typedef struct lt_cache_purge lt_cache_purge_t;
typedef void (*lt_cache_purge_fn)(void *arg, const lt_cache_purge_report_t *report);

/* Removes every entry about identifier (of one system, unless NULL): for data-correction requests. fn is called
 * once, on this loop, never inside this call. */
lt_cache_purge_t *lt_cache_purge_start(lt_cache_worker_t *cw, const char *system, const char *identifier,
                                       lt_cache_purge_fn fn, void *arg);
void lt_cache_purge_cancel(lt_cache_purge_t *p);

#endif
