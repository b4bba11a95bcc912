/*
 * One northbound operation against its national system (floor 3): the
 * adapter's steps plus everything that keeps a bad day at one national system
 * from hurting the portal or the other systems:
 *   - a per-upstream cap on calls in flight (excess gets 503 at once),
 *   - the circuit breaker (open: 503 at once, with Retry-After),
 *   - the bearer token, when the adapter has token hooks (lt_token.h),
 *   - retries of idempotent operations on retryable failures only (connect
 *     errors, resets, 502/503/504, maintenance), with exponential backoff and
 *     full jitter, honouring Retry-After, all inside a per-call deadline.
 * The lookup module (lt_lookup) admits the request and answers; the cache and
 * the probes use the same entry point.
 */
#ifndef LT_CALL_H
#define LT_CALL_H

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lt_adapter.h"
#include "lt_breaker.h"
#include "lt_config.h"
#include "lt_metrics.h"
#include "lt_token.h"
#include "lt_upstream.h"

/* Shared by every worker: one per configured upstream, in config order. */
typedef struct lt_upstream_state {
    const lt_upstream_conf_t *conf;
    lt_breaker_t breaker;
    lt_token_store_t token;
    _Atomic int inflight;
    _Atomic uint64_t calls, attempts, retries, refused_open, refused_busy;
    _Atomic uint64_t outcomes[LT_OUTCOME_COUNT]; /* how attempts that got to an end ended (lt_metrics.h) */
    lt_histogram_t attempt_seconds;              /* per attempt, token fetches included */
    /* Probe traffic (lt_probes.h) is counted apart, so that it never passes for citizens' traffic. */
    _Atomic uint64_t probe_attempts;
    _Atomic uint64_t probe_outcomes[LT_OUTCOME_COUNT];
    lt_histogram_t probe_seconds;
    /* The last attempt that worked and the last that failed, any traffic, for /status (wall clock, ms). */
    _Atomic int64_t last_ok_ms;
    pthread_mutex_t note_lock; /* guards last_error */
    struct {
        int64_t at_ms;    /* 0: none yet */
        bool probe;       /* a probe's attempt, not a citizen's */
        char code[48];    /* lt_error_t code */
        char detail[320]; /* lt_error_t detail: never personal data */
    } last_error;
} lt_upstream_state_t;

/* Notes an attempt that worked, or one that failed (err), for /status. Thread-safe. */
void lt_call_state_note_ok(lt_upstream_state_t *st);
void lt_call_state_note_error(lt_upstream_state_t *st, const lt_error_t *err, bool probe);
/* Copies the last error under its lock (at_ms 0: none). */
void lt_call_state_last_error(lt_upstream_state_t *st, int64_t *at_ms, bool *probe, char *code, size_t code_len,
                              char *detail, size_t detail_len);

lt_upstream_state_t *lt_call_states_new(const lt_config_t *config);
void lt_call_states_free(lt_upstream_state_t *states, size_t n);

/* One per worker: what a call needs from the worker it runs on. */
typedef struct lt_call_env lt_call_env_t;
lt_call_env_t *lt_call_env_new(struct event_base *base, lt_upstream_client_t *client, const lt_config_t *config,
                               lt_upstream_state_t *states);
void lt_call_env_free(lt_call_env_t *env);
lt_upstream_state_t *lt_call_env_state(lt_call_env_t *env, const lt_upstream_conf_t *upstream);

/* result is a new reference (NULL on error); err is NULL on success. Called once, never from lt_call_start. */
typedef void (*lt_call_done_fn)(void *arg, json_t *result, const lt_error_t *err);

typedef struct lt_call_run lt_call_run_t;

/* call->arena, ctx, settings and input must be set; the run lives in call->arena. */
lt_call_run_t *lt_call_start(lt_call_env_t *env, const lt_upstream_conf_t *upstream, const lt_operation_t *op,
                             lt_call_t *call, lt_call_done_fn done, void *arg);
/*
 * A health probe (lt_probes.h): one attempt, no retry, outside the in-flight cap and the circuit breaker (a probe
 * measures the system whatever the breaker thinks of it, and its result never moves the breaker), counted in the
 * probe_* counters. The token, when the system has one, is the shared one.
 */
lt_call_run_t *lt_call_start_probe(lt_call_env_t *env, const lt_upstream_conf_t *upstream, const lt_operation_t *op,
                                   lt_call_t *call, lt_call_done_fn done, void *arg);
/* Stops the run; done is not called. Safe at any point before done ran. */
void lt_call_cancel(lt_call_run_t *run);

/* Whether a failed attempt's error counts against the upstream's circuit breaker (a business answer never does). */
bool lt_call_counts_against_breaker(const lt_error_t *err);

/* Full-jitter backoff: uniform in [0, min(cap, base * 2^retry)], from a 32-bit random value. */
int64_t lt_call_backoff_delay_ms(int64_t base_ms, int64_t cap_ms, int retry, uint32_t random);

#endif
