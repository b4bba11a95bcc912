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
 * The HTTP layer (lt_proxy) admits the request and answers; the cache (issue
 * 4) and probes (issue 6) use the same entry point.
 */
#ifndef LT_CALL_H
#define LT_CALL_H

#include <event2/event.h>
#include <stdatomic.h>
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
} lt_upstream_state_t;

lt_upstream_state_t *lt_upstream_states_new(const lt_config_t *config);
void lt_upstream_states_free(lt_upstream_state_t *states, size_t n);

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
/* Stops the run; done is not called. Safe at any point before done ran. */
void lt_call_cancel(lt_call_run_t *run);

/* Full-jitter backoff: uniform in [0, min(cap, base * 2^retry)], from a 32-bit random value. */
int64_t lt_backoff_delay_ms(int64_t base_ms, int64_t cap_ms, int retry, uint32_t random);

#endif
