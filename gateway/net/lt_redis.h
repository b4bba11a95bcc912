/*
 * The Redis connection layer (floor 3). Every Redis user talks to Redis through it: the lookup cache, the
 * payment store, and later users such as rate limits or an outbox. It uses hiredis 0.14 async on libevent.
 *
 *   lt_redis_server_t  one per user, made at start-up from the user's lt_redis_conf_t (lt_config.h). It holds
 *                      where Redis is (a host name is resolved here, once), the password, the scripts, and the
 *                      health of each of its connections, which any thread may read.
 *   lt_redis_t         one connection on one event loop, used only on that loop's thread.
 *
 * What the layer guarantees:
 *   - One connection per loop: each lt_redis_t is one connection on its own loop, so a loop never waits for
 *     Redis and never shares a connection with another thread. Commands issued in one loop turn are written
 *     together (pipelined) and run in the order issued.
 *   - A timeout per command, which hiredis 0.14 lacks. When it fires, the command is answered "failed" at once
 *     and its late reply is dropped. max_timeouts timeouts in a row drop the connection as stuck.
 *   - Reconnection with exponential backoff and jitter. A connection is up only once AUTH, SELECT, SCRIPT LOAD
 *     of every script and a PING have answered. While it is not up, a command is refused at once
 *     (lt_redis_command returns NULL).
 *   - Scripts (lt_redis_eval) go as EVALSHA. A NOSCRIPT answer means the script cache was flushed and the script
 *     did not run, so it is sent once more as EVAL.
 *   - Durable writes: a script registered with lt_redis_server_write_script is followed by WAIT wait_replicas
 *     wait_timeout_ms when the configuration asks for replicas (by default with Sentinels). Its reply is given
 *     only once WAIT says that many replicas have the write; otherwise the command fails ("not durable: ..."),
 *     although the primary ran it: as for a timeout, a second run must be harmless.
 *   - Every accepted command gets exactly one answer: its reply, or NULL (timeout, connection lost, an error
 *     reply, lt_redis_free). A cancelled command gets none, even if its reply comes later. lt_redis_free answers
 *     every command still waiting before it returns, and nothing is answered after it.
 *   - Callbacks run on the loop from a clean stack. They never run inside lt_redis_command, lt_redis_eval or
 *     lt_redis_cancel, nor inside hiredis, so a callback may issue commands, cancel others or free the lt_redis_t.
 *
 * What a user must not assume:
 *   - That a failed command did not run. A timeout or a lost connection can come after Redis ran it, and a script
 *     that fails halfway keeps the writes it made. Make a second run harmless, or check.
 *   - That anything is queued or retried while the connection is down: it is refused. Nothing is replayed after
 *     a reconnection, and lt_redis_is_up is only a hint.
 *   - That the next connection reaches the same server with the same data. Redis may have restarted empty, and
 *     where to connect is the server object's business: with Sentinels it asks one for the primary (in turn, never
 *     blocking), checks ROLE in the handshake, stays subscribed to +switch-master and follows a failover, a READONLY
 *     answer or a lost connection by asking again; users see only failed commands while it moves. Only AUTH, SELECT
 *     and the scripts are restored on a new connection. Never send SELECT, MULTI, SUBSCRIBE or a blocking command
 * (BLPOP, XREAD BLOCK): they change or hold the connection for every command behind them.
 *   - Any order between two lt_redis_t, even on one loop.
 *   - That a reply outlives its callback: copy what you keep.
 */
#ifndef LT_REDIS_H
#define LT_REDIS_H

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_config.h"
#include "lt_error.h"

typedef struct lt_redis_server lt_redis_server_t;
typedef struct lt_redis lt_redis_t;
typedef struct lt_redis_cmd lt_redis_cmd_t;
typedef struct lt_redis_script lt_redis_script_t;

/* ---- the server: one per user, made at start-up ------------------------------------------------------------ */

/* What a user tells the layer about itself, beside its configuration. The strings must outlive the server. */
typedef struct lt_redis_use {
    const char *config_path; /* its section, for start-up errors: "cache.redis" -> "cache.redis.address: ..." */
    const char *label;       /* for logs: "cache redis" -> "cache redis 10.0.0.5:6379: connected" */
    const char *while_down;  /* what an outage means to this user, said once per outage */
} lt_redis_use_t;

/* Resolves the address and reads the password file (start-up only: it may block). Zero timings take defaults. */
lt_redis_server_t *lt_redis_server_new(const lt_redis_conf_t *conf, const lt_redis_use_t *use, lt_error_t *err);
/* After every lt_redis_t made from it has been freed. */
void lt_redis_server_free(lt_redis_server_t *s);
/* The address as configured. */
const char *lt_redis_server_address(const lt_redis_server_t *s);

/* Registers a Lua script, loaded on every new connection before it counts as up. Call it before the first
 * lt_redis_new. text is kept by pointer and must outlive the server. */
const lt_redis_script_t *lt_redis_server_script(lt_redis_server_t *s, const char *text);
/* The same for a script whose writes must reach the replicas before they count (see Durable writes above). */
const lt_redis_script_t *lt_redis_server_write_script(lt_redis_server_t *s, const char *text);
/* true when write scripts wait for replicas. */
bool lt_redis_server_waits(const lt_redis_server_t *s);

/* The figures of every live connection, summed: safe from any thread. */
typedef struct lt_redis_stats {
    int connections, up;
    uint64_t commands, failures, timeouts, reconnects; /* freed connections' included */
    char last_error[160];                              /* of one connection that is not up; "" when all are */
    /* Where the links found Redis: with Sentinels, the primary last reached and its ROLE ("" before any). */
    bool sentinels;
    char primary[80], role[16];
    uint64_t failovers;       /* a link reached a primary other than the last one any link reached */
    int64_t last_failover_ms; /* wall clock; 0: none seen */
    uint64_t wait_shortfalls; /* durable writes that failed because WAIT confirmed too few replicas */
} lt_redis_stats_t;

void lt_redis_server_stats(lt_redis_server_t *s, lt_redis_stats_t *out);
/* Adds what the links saw to a user's status object: "sentinels" (bool), "role" and "primary" (null before any
 * connection reached one), "failovers", "seconds_since_failover" (null: none seen), "wait_shortfalls". */
void lt_redis_stats_to_json(const lt_redis_stats_t *st, struct json_t *out);
struct lt_buf;
/* Those figures on /metrics, from the status object lt_redis_stats_to_json filled, when it went through Sentinels:
 * <family>_primary{address,role}, <family>_failovers_total and <family>_seconds_since_failover. whose names the
 * user in the help texts ("the cache's"). */
void lt_redis_stats_metrics(struct lt_buf *b, const char *family, const char *whose, const struct json_t *status);

/* ---- a connection: one per loop ---------------------------------------------------------------------------- */

/* reply is NULL when the command failed (lt_redis_failure says why); it is valid only during the call. */
typedef void (*lt_redis_reply_fn)(void *arg, const redisReply *reply);

/* Starts connecting on the next loop turn. */
lt_redis_t *lt_redis_new(lt_redis_server_t *s, struct event_base *base);
/* Answers every command still waiting (NULL for those not replied to) before it returns. */
void lt_redis_free(lt_redis_t *r);
bool lt_redis_is_up(const lt_redis_t *r);

/* NULL when the connection is not up: nothing will be called. Arguments are binary-safe (argvlen may be NULL for
 * C strings) and copied. The handle is valid until the callback starts or lt_redis_cancel. */
lt_redis_cmd_t *lt_redis_command(lt_redis_t *r, lt_redis_reply_fn fn, void *arg, int argc, const char **argv,
                                 const size_t *argvlen);
/* EVALSHA script nkeys argv...: the first nkeys arguments are keys, the rest are ARGV. Otherwise as above. */
lt_redis_cmd_t *lt_redis_eval(lt_redis_t *r, const lt_redis_script_t *script, int nkeys, lt_redis_reply_fn fn,
                              void *arg, int argc, const char **argv, const size_t *argvlen);
/* The callback will not be called. NULL is ignored. */
void lt_redis_cancel(lt_redis_cmd_t *cmd);

/* Inside a callback given NULL: why the command failed ("timeout", "connection lost: ...", Redis's error reply...).
 * "" elsewhere. */
const char *lt_redis_failure(const lt_redis_t *r);

#endif
