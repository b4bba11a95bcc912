/*
 * The lookup cache (floor 3): one interface over two backends.
 *   - memory: the in-process store (lt_cache_mem.h), the default; no Redis.
 *   - redis: shared by every instance; each worker has its own connection on
 *     its own loop (lt_cache_redis.h), optionally with a small in-process L1
 *     in front of it.
 * Entries are named by HMAC and sealed with AES-256-GCM (lt_cache_crypto.h),
 * in both backends.
 *
 * The request path asks, in order:
 *   1. lt_cache_query_init: is this operation cached at all, and under which
 *      name? (payments and non-idempotent operations never are);
 *   2. lt_cache_get_fresh: a fresh copy in this process answers at once;
 *   3. lt_cache_fetch_start: otherwise join the process-wide single flight
 *      for that name (lt_cache_flight.h). Its leader reads the shared store,
 *      then calls the national system through lt_call, stores the answer
 *      (a 404 "not found" too, for its shorter TTL) and hands it to every
 *      waiter. When the national system fails, or its circuit is open, a copy
 *      kept past its TTL (up to max_stale) is served instead: "stale".
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

typedef enum { LT_CACHE_HIT, LT_CACHE_MISS, LT_CACHE_STALE, LT_CACHE_BYPASS } lt_cache_source_t;

/* What a request is answered with. Shared between threads, read-only, reference-counted. */
typedef struct lt_cache_result {
    _Atomic int refs;
    lt_cache_source_t source;
    bool has_entry;         /* else: err */
    lt_cache_entry_t entry; /* FOUND: 200 with the record; NOT_FOUND: the national system's 404 */
    lt_error_t err;
} lt_cache_result_t;

/* "hit", "miss", "stale", "bypass": the X-Cache header and source.cache. */
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

/* ---- a request ------------------------------------------------------------------- */

typedef struct lt_cache_query {
    const lt_upstream_conf_t *upstream;
    const lt_operation_t *op;
    lt_cache_ttls_t ttls;
    unsigned char name[LT_CACHE_KEY_LEN]; /* HMAC(system | operation | normalised input) */
    unsigned char tag[LT_CACHE_KEY_LEN];  /* HMAC("index" | identifier), for purges: set by the flight leader */
    bool tagged;
} lt_cache_query_t;

/* -1 when this operation's answers are not cached (backend off, payments, not idempotent, ttl 0). */
int lt_cache_query_init(lt_cache_worker_t *cw, const lt_upstream_conf_t *u, const lt_operation_t *op,
                        const json_t *input, lt_cache_query_t *q);
/* A fresh copy held in this process (a new reference), or NULL. */
lt_cache_result_t *lt_cache_get_fresh(lt_cache_worker_t *cw, const lt_cache_query_t *q);

typedef struct lt_cache_fetch lt_cache_fetch_t;
/* res is borrowed for the call. Called once, on this loop, never inside lt_cache_fetch_start. */
typedef void (*lt_cache_done_fn)(void *arg, const lt_cache_result_t *res);

/* call->arena, ctx, settings and input as for lt_call_start; the fetch lives in call->arena. */
lt_cache_fetch_t *lt_cache_fetch_start(lt_cache_worker_t *cw, const lt_cache_query_t *q, const lt_call_t *call,
                                       bool bypass, lt_cache_done_fn done, void *arg);
/* done will not be called. If this was the last waiter, the upstream call stops too. */
void lt_cache_fetch_cancel(lt_cache_fetch_t *f);

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
