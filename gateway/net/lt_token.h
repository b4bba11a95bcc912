/*
 * Bearer tokens for upstreams with OAuth 2.0 client credentials (floor 3).
 *
 * One token per upstream for the whole process. lt_token_store_t is shared by
 * every worker and guarded by a mutex; it says who fetches:
 *   - a valid token (not within `refresh_margin` of expiry) is used as is;
 *   - otherwise the first asker becomes the fetcher, and everyone else, on any
 *     worker, waits for that one fetch;
 *   - the token endpoint's rate limit (e.g. 10 per minute) is kept by
 *     refusing to start a fetch that would exceed it.
 * Waiters live on their own worker's list (lt_token_waiters_t), touched only by
 * that worker's thread, so cancelling a waiter needs no lock. When a fetch
 * ends, the store wakes every worker that has waiters through an event on
 * that worker's own loop.
 */
#ifndef LT_TOKEN_H
#define LT_TOKEN_H

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lt_error.h"

#define LT_TOKEN_MAX         2048
#define LT_TOKEN_RATE_SLOTS  64
#define LT_TOKEN_MAX_WORKERS 260 /* workers (at most 256) and the main loop, whose probes may wait on a token */
/* After a failed fetch, askers get its error for this long instead of fetching again: a refused client secret
 * does not fix itself in milliseconds, and the token endpoint's rate limit is better spent later. */
#define LT_TOKEN_FAILURE_HOLD_MS 1000

typedef struct lt_token_waiters lt_token_waiters_t;

typedef struct lt_token_store {
    pthread_mutex_t lock;
    char token[LT_TOKEN_MAX];
    int64_t expires_at_ms; /* 0: no token */
    int64_t refresh_margin_ms;
    bool fetching;
    lt_error_t last_error; /* why the last fetch failed, for waiters and the failure hold */
    int64_t failed_at_ms;
    uint64_t generation; /* increases with every fetch outcome */
    int rate_limit;      /* fetches per rate_window_ms; 0 = unlimited */
    int64_t rate_window_ms;
    int64_t fetch_times[LT_TOKEN_RATE_SLOTS];
    int nfetch_times;
    uint64_t fetches; /* total fetches started: for metrics and tests */
    lt_token_waiters_t *workers[LT_TOKEN_MAX_WORKERS];
    int nworkers;
} lt_token_store_t;

typedef enum {
    LT_TOKEN_READY,  /* *token is valid now */
    LT_TOKEN_FETCH,  /* the caller must fetch, then call lt_token_fetched() or lt_token_fetch_failed() */
    LT_TOKEN_WAIT,   /* another fetch is under way: wait on the worker's list */
    LT_TOKEN_LIMIT,  /* a fetch is needed but the rate limit forbids it now; err says for how long */
    LT_TOKEN_FAILED, /* the fetch this caller waited for, or one a moment ago, failed; err is its error */
} lt_token_verdict_t;

void lt_token_store_init(lt_token_store_t *s, int rate_limit, int64_t rate_window_ms, int64_t refresh_margin_ms);
void lt_token_store_destroy(lt_token_store_t *s);

/*
 * `token` receives a copy when READY. `rejected` is a token the upstream just
 * refused (or NULL): it is dropped. `*ticket` is 0 on a first ask; on WAIT it
 * is set to the fetch being waited for, and the caller passes it back when
 * woken, so a failed fetch fails its waiters with its own error (FAILED)
 * instead of each starting another fetch.
 */
lt_token_verdict_t lt_token_acquire(lt_token_store_t *s, int64_t now_ms, const char *rejected, uint64_t *ticket,
                                    char *token, size_t tokenlen, lt_error_t *err);
/* started_ms: when the fetch was sent, so the token's expiry never runs later than the issuer's. */
void lt_token_fetched(lt_token_store_t *s, const char *token, long expires_in_s, int64_t started_ms);
void lt_token_fetch_failed(lt_token_store_t *s, const lt_error_t *err, int64_t now_ms);
/* The fetcher went away (its request was aborted): waiters wake and one of them fetches instead. */
void lt_token_fetch_abandoned(lt_token_store_t *s);
/* Remaining life in ms (<= 0 when none), for metrics and status. */
int64_t lt_token_remaining_ms(lt_token_store_t *s, int64_t now_ms);
uint64_t lt_token_fetch_count(lt_token_store_t *s);

/* ---- per worker --------------------------------------------------------- */

typedef struct lt_token_wait {
    struct lt_token_wait *prev, *next;
    void (*wake)(struct lt_token_wait *w); /* on the worker's loop: acquire again */
    void *arg;
} lt_token_wait_t;

/* Registers this worker's list with the store (before threads start). */
lt_token_waiters_t *lt_token_waiters_new(lt_token_store_t *s, struct event_base *base);
void lt_token_waiters_free(lt_token_waiters_t *ws);
void lt_token_wait_add(lt_token_waiters_t *ws, lt_token_wait_t *w);
void lt_token_wait_cancel(lt_token_waiters_t *ws, lt_token_wait_t *w);

#endif
