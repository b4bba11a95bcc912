/*
 * Rate limits (floor 3): a token bucket per listed client and operation, from clients.<id>.rate_limits
 * (lt_client.h), asked by the request's admission (lt_request_limit, floor 4) once the client is known and
 * permitted, before any module does work. docs/operations.md, "Rate limits".
 *
 *   lt_ratelimit_t       one per process, made at start-up: a bucket for every configured client and operation
 *                        that a limit covers (so the metrics' labels are bounded by the configuration), its
 *                        counters, and the Redis server when the rate_limits section names one.
 *   lt_ratelimit_loop_t  one per loop: its Redis connection (lt_redis), used only on that loop's thread.
 *
 * Without Redis a bucket is one atomic number in this process (lt_bucket.h), which every worker shares. With Redis
 * the bucket is a key there, taken by one Lua script that reads Redis's own clock (TIME), so instances sharing the
 * Redis enforce one limit. When Redis cannot answer (refused, down, timeout) the process's own bucket decides
 * instead (each instance then enforces the limit alone), which is counted and shown on /status; the next answer
 * from Redis ends it. Nothing blocks the loop: the Redis check is asynchronous.
 */
#ifndef LT_RATELIMIT_H
#define LT_RATELIMIT_H

#include <event2/event.h>
#include <jansson.h>
#include <stdint.h>

#include "lt_config.h"
#include "lt_error.h"
#include "lt_mbuf.h"

typedef struct lt_ratelimit lt_ratelimit_t;
typedef struct lt_ratelimit_loop lt_ratelimit_loop_t;
typedef struct lt_ratelimit_check lt_ratelimit_check_t;

/* Start-up (it may block: the Redis address is resolved). NULL with err on a bad Redis address or password file. */
lt_ratelimit_t *lt_ratelimit_new(const lt_config_t *config, lt_error_t *err);
/* After every loop handle made from it has been freed. */
void lt_ratelimit_free(lt_ratelimit_t *rl);
/* NULL rl gives NULL, which admits everything. */
lt_ratelimit_loop_t *lt_ratelimit_loop_new(lt_ratelimit_t *rl, struct event_base *base);
void lt_ratelimit_loop_free(lt_ratelimit_loop_t *l);

/* retry_after_s 0: admitted; > 0: refused, with a token back in that many whole seconds (rounded up). */
typedef void (*lt_ratelimit_fn)(void *arg, int64_t retry_after_s);

/*
 * Takes a token of client's bucket for operation ("population.verify", "payments"). Decided now (no limit covers
 * it, the buckets are this process's, or Redis is not up): returns 0 with *retry_after_s set, and fn is not called.
 * Otherwise returns 1 and fn is called exactly once from the loop, unless lt_ratelimit_cancel(*pending) comes first.
 */
int lt_ratelimit_take(lt_ratelimit_loop_t *l, const lt_client_conf_t *client, const char *operation, lt_ratelimit_fn fn,
                      void *arg, lt_ratelimit_check_t **pending, int64_t *retry_after_s);
/* fn will not be called (the request went away). NULL is ignored. */
void lt_ratelimit_cancel(lt_ratelimit_check_t *check);

/* /status.json's "rate_limits" part (a new object: color, reason, where the buckets are, the fallback). */
json_t *lt_ratelimit_status(lt_ratelimit_t *rl);
/* The /metrics families: lienthong_rate_limited_total{client,operation}, lienthong_rate_limit_fallback(_total). */
void lt_ratelimit_metrics(lt_ratelimit_t *rl, lt_buf_t *b);

#endif
