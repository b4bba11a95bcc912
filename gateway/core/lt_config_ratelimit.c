/*
 * Reading the rate limits (lt_config_ratelimit.h; docs/operations.md, "Rate limits"): one limit of a client's
 * clients.<id>.rate_limits, and the "rate_limits" section that says where the buckets live (this process, or a
 * Redis every instance shares).
 */
#include "lt_config_ratelimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_conf.h"

/* A bucket's figures stay within what the arithmetic (gateway/net/lt_bucket.h) keeps exact: at least 1 µs a token. */
#define RATE_MAX  1000000
#define BURST_MAX 1000000

typedef struct {
    long long rate, burst;
    char *per;
} rate_t;

static const lt_conf_field_t rate_fields[] = {
    {LT_CONF_FIELD(rate_t, rate, LT_CONF_INT, true), .min = 1, .max = RATE_MAX},
    {LT_CONF_FIELD(rate_t, per, LT_CONF_STRING, true)},
    /* 0: absent, then one period's worth (rate) */
    {LT_CONF_FIELD(rate_t, burst, LT_CONF_INT, false), .min = 1, .max = BURST_MAX, .default_int = 0},
    LT_CONF_END,
};

static int fail(lt_error_t *err, const char *path, const char *what)
{
    return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s: %s", path, what);
}

static long long period_seconds(const char *per)
{
    static const struct {
        const char *name;
        long long s;
    } periods[] = {{"second", 1}, {"minute", 60}, {"hour", 3600}};
    for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++)
        if (strcmp(per, periods[i].name) == 0)
            return periods[i].s;
    return 0;
}

int lt_config_read_client_rate(lt_client_rate_t *out, const json_t *obj, const char *path, lt_error_t *err)
{
    if (!json_is_object(obj))
        return fail(err, path, "must be an object: {\"rate\": n, \"per\": \"second\", \"burst\": n}");
    rate_t raw = {0};
    int rc = lt_conf_read(obj, path, rate_fields, &raw, err);
    if (rc == 0 && (out->period_s = period_seconds(raw.per)) == 0) {
        rc = lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.per: must be second, minute or hour", path);
    }
    out->rate = raw.rate;
    out->burst = raw.burst > 0 ? raw.burst : raw.rate;
    lt_conf_free(rate_fields, &raw);
    return rc;
}

/* ---- where the buckets live ---------------------------------------------------------------------------------- */

typedef struct {
    const json_t *redis;
} section_t;

static const lt_conf_field_t section_fields[] = {
    {LT_CONF_FIELD(section_t, redis, LT_CONF_OBJECT, false)},
    LT_CONF_END,
};

typedef struct {
    lt_redis_conf_t conn;
    char *prefix;
} redis_t;

static const lt_conf_field_t redis_fields[] = {
    /* Every limited request waits for Redis: at most timeout_ms, then the bucket in this process decides. */
    LT_REDIS_CONF_FIELDS(redis_t, conn, LT_REDIS_LIMITS(1, 10000, 50), LT_REDIS_LIMITS(1, 60000, 500),
                         LT_REDIS_LIMITS(1, 600000, 5000)),
    {LT_CONF_FIELD(redis_t, prefix, LT_CONF_STRING, false), .default_str = "lt:rl:"},
    LT_CONF_END,
};

int lt_config_load_ratelimit(lt_ratelimit_conf_t *rl, const json_t *obj, lt_error_t *err)
{
    if (obj == NULL)
        return 0;
    section_t sec = {0};
    if (lt_conf_read(obj, "rate_limits", section_fields, &sec, err) != 0)
        return -1;
    if (sec.redis == NULL)
        return 0;
    redis_t raw = {0};
    int rc = lt_conf_read(sec.redis, "rate_limits.redis", redis_fields, &raw, err);
    rl->redis_on = true;
    rl->conn = raw.conn;
    rl->prefix = raw.prefix;
    if (rc == 0)
        rc = lt_config_check_redis(&rl->conn, "rate_limits.redis", err);
    if (rc == 0 && (strlen(rl->prefix) > 32 || strchr(rl->prefix, ' ') != NULL))
        rc = fail(err, "rate_limits.redis.prefix", "at most 32 characters, without spaces");
    return rc;
}

void lt_config_free_ratelimit(lt_ratelimit_conf_t *rl)
{
    if (rl->redis_on)
        lt_config_free_redis(&rl->conn);
    free(rl->prefix);
}
