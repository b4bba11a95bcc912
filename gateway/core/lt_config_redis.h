/*
 * A Redis connection's settings as a configuration section names them (lt_config.h; the connection layer that
 * uses them is gateway/net/lt_redis.h). Every section that names a Redis (cache.redis, rate_limits.redis,
 * payments.store.redis, dossiers.store.redis) reads the same keys, with its own timing defaults.
 */
#ifndef LT_CONFIG_REDIS_H
#define LT_CONFIG_REDIS_H

#include <stddef.h>

#include "lt_conf.h"
#include "lt_error.h"

/*
 * One Redis server and how to talk to it, the same keys wherever a section names a Redis ("cache.redis",
 * "payments.store.redis"): the settings of the connection layer (gateway/net/lt_redis.h). Each section lists them
 * with LT_REDIS_CONF_FIELDS and its own timing defaults; what a section keeps in Redis (prefix...) is its own.
 */
typedef struct lt_redis_conf {
    /* Where Redis is: one address, or the Sentinels that name the primary of master_name (one or the other). */
    char *address;    /* "host:port", "[v6]:port" (a name is resolved once, at start-up) or "unix:/path" */
    char **sentinels; /* "host:port" each, nsentinels of them; read from sentinels_list by lt_config_check_redis */
    size_t nsentinels;
    char *master_name;
    struct json_t *sentinels_list; /* borrowed while loading only */
    char *password_file;           /* AUTH; NULL: none */
    char *username;                /* AUTH username password (an ACL user); NULL: AUTH password */
    char *sentinel_password_file;  /* the Sentinels' own AUTH; NULL: none */
    char *sentinel_username;
    /* A durable write (lt_redis.h) counts once WAIT wait_replicas wait_timeout_ms confirms it. -1 as read: 1 with
     * sentinels, 0 (no WAIT) with one address. */
    long long wait_replicas, wait_timeout_ms;
    long long db;                                 /* SELECT */
    long long timeout_ms, connect_timeout_ms;     /* per command; connect plus handshake */
    long long reconnect_min_ms, reconnect_max_ms; /* backoff between attempts: doubling, with jitter */
    long long max_timeouts;                       /* this many timeouts in a row drop the connection */
} lt_redis_conf_t;

/* Limits and default of one timing key: LT_REDIS_LIMITS(1, 10000, 50). */
#define LT_REDIS_LIMITS(lo, hi, def) .min = lo, .max = hi, .default_int = def
#define LT_REDIS_ROW(T, m, k, t)     .key = #k, .type = t, .offset = offsetof(T, m.k)
/* The rows of lt_redis_conf_t's keys in a section's table (lt_conf.h): member m of the section's struct T. */
/* clang-format off */
#define LT_REDIS_CONF_FIELDS(T, m, timeout, connect_timeout, reconnect_max)                                            \
    {LT_REDIS_ROW(T, m, address, LT_CONF_STRING)},                                                                     \
    {.key = "sentinels", .type = LT_CONF_ARRAY, .offset = offsetof(T, m.sentinels_list)},                              \
    {LT_REDIS_ROW(T, m, master_name, LT_CONF_STRING)},                                                                 \
    {LT_REDIS_ROW(T, m, password_file, LT_CONF_FILE)},                                                                 \
    {LT_REDIS_ROW(T, m, username, LT_CONF_STRING)},                                                                    \
    {LT_REDIS_ROW(T, m, sentinel_password_file, LT_CONF_FILE)},                                                        \
    {LT_REDIS_ROW(T, m, sentinel_username, LT_CONF_STRING)},                                                           \
    {LT_REDIS_ROW(T, m, wait_replicas, LT_CONF_INT), LT_REDIS_LIMITS(-1, 16, -1)},                                     \
    {LT_REDIS_ROW(T, m, wait_timeout_ms, LT_CONF_INT), LT_REDIS_LIMITS(1, 60000, 500)},                                \
    {LT_REDIS_ROW(T, m, db, LT_CONF_INT), LT_REDIS_LIMITS(0, 15, 0)},                                                  \
    {LT_REDIS_ROW(T, m, timeout_ms, LT_CONF_INT), timeout},                                                            \
    {LT_REDIS_ROW(T, m, connect_timeout_ms, LT_CONF_INT), connect_timeout},                                            \
    {LT_REDIS_ROW(T, m, reconnect_min_ms, LT_CONF_INT), LT_REDIS_LIMITS(1, 60000, 100)},                               \
    {LT_REDIS_ROW(T, m, reconnect_max_ms, LT_CONF_INT), reconnect_max},                                                \
    {LT_REDIS_ROW(T, m, max_timeouts, LT_CONF_INT), LT_REDIS_LIMITS(1, 1000, 3)}
/* clang-format on */

/* What LT_REDIS_CONF_FIELDS cannot say in a row, path naming the section ("cache.redis"): address or sentinels
 * with master_name, not both (neither: 127.0.0.1:6379); reads sentinels_list into sentinels; wait_replicas -1
 * becomes its default; reconnect_max_ms >= reconnect_min_ms; wait_timeout_ms < timeout_ms when waiting. */
int lt_config_check_redis(lt_redis_conf_t *rc, const char *path, lt_error_t *err);
void lt_config_free_redis(lt_redis_conf_t *rc);

#endif
