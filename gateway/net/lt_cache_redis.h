/*
 * One Redis connection on one event loop (floor 3): hiredis 0.14 async,
 * attached to the worker's own libevent loop, so a worker never waits for
 * Redis and never shares a connection with another thread.
 *
 * What hiredis 0.14 leaves to its user:
 *   - Timeouts. Every command arms its own timer; when it fires the caller is
 *     answered "failed" at once, and the late reply, when it comes, is dropped.
 *     After max_timeouts timeouts in a row the connection is presumed stuck
 *     and is dropped, so a Redis that hangs costs each request at most one
 *     timeout, and soon none.
 *   - Reconnection. A lost or refused connection is retried with exponential
 *     backoff and jitter, from reconnect_min_ms up to reconnect_max_ms. The
 *     connection counts as up only once AUTH, SELECT and a PING have answered.
 *   - Pipelining comes free: commands issued in one loop turn are written
 *     together, and replies come back in order.
 * While the connection is not up, a command fails at once (lt_redis_command
 * returns NULL): a cache that is down must not slow anyone down.
 * Callbacks never run inside lt_redis_command.
 */
#ifndef LT_CACHE_REDIS_H
#define LT_CACHE_REDIS_H

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { LT_REDIS_DOWN, LT_REDIS_CONNECTING, LT_REDIS_UP } lt_redis_state_t;

/* Read by other threads (the admin listener): atomics, and the last error under a lock. */
typedef struct lt_redis_health {
    _Atomic int state;
    _Atomic uint64_t commands, failures, timeouts, reconnects;
    pthread_mutex_t lock;
    char last_error[160];
} lt_redis_health_t;

void lt_redis_health_init(lt_redis_health_t *h);
void lt_redis_health_destroy(lt_redis_health_t *h);
void lt_redis_health_last_error(lt_redis_health_t *h, char *out, size_t outlen);

typedef struct lt_redis_conf {
    const char *host; /* a numeric address, resolved at start-up; NULL with unix_path */
    int port;
    const char *unix_path;
    const char *password; /* NULL: no AUTH */
    int db;
    int64_t timeout_ms, connect_timeout_ms, reconnect_min_ms, reconnect_max_ms;
    int max_timeouts;
    const char *label;      /* for logs, e.g. "redis 10.0.0.5:6379" */
    const char *while_down; /* for logs, what an outage means to the users; NULL: the cache's meaning */
} lt_redis_conf_t;

typedef struct lt_redis lt_redis_t;
typedef struct lt_redis_cmd lt_redis_cmd_t;

/* reply is NULL when the command failed: connection lost, timeout, or an error reply (logged). */
typedef void (*lt_redis_reply_fn)(void *arg, const redisReply *reply);

/* Starts connecting at once. conf's strings must outlive the client. */
lt_redis_t *lt_redis_new(struct event_base *base, const lt_redis_conf_t *conf, lt_redis_health_t *health);
/* Every pending callback is called with NULL before this returns. */
void lt_redis_free(lt_redis_t *r);
bool lt_redis_is_up(const lt_redis_t *r);

/* NULL when the connection is not up (nothing will be called). Arguments are binary-safe and copied. */
lt_redis_cmd_t *lt_redis_command(lt_redis_t *r, lt_redis_reply_fn fn, void *arg, int argc, const char **argv,
                                 const size_t *argvlen);
/* The callback will not be called. */
void lt_redis_cancel(lt_redis_cmd_t *cmd);

#endif
