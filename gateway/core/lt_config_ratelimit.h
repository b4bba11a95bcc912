/*
 * Rate limits as the configuration says them (docs/operations.md, "Rate limits"): one client's limit, read from
 * clients.<id>.rate_limits (lt_config_clients.c lists them), and the "rate_limits" section, which says where the
 * buckets live. The limiter itself is gateway/net/lt_ratelimit.h.
 */
#ifndef LT_CONFIG_RATELIMIT_H
#define LT_CONFIG_RATELIMIT_H

#include <jansson.h>
#include <stdbool.h>

#include "lt_client.h"
#include "lt_config_redis.h"
#include "lt_error.h"

/*
 * The "rate_limits" section (lt_config_ratelimit.c; docs/operations.md, "Rate limits"): where the clients' buckets
 * live. Absent, or without redis: in this process. With redis: in that Redis, so every instance shares one bucket.
 */
typedef struct lt_ratelimit_conf {
    bool redis_on;
    lt_redis_conf_t conn;
    char *prefix; /* of every bucket's key: "<prefix><client>:<operation>" */
} lt_ratelimit_conf_t;

/* One limit, clients.<id>.rate_limits.<pattern> at path: {"rate": n, "per": "second", "burst": n}. The pattern
 * (out->pattern) is the caller's to set and check. */
int lt_config_read_client_rate(lt_client_rate_t *out, const json_t *obj, const char *path, lt_error_t *err);

/* The "rate_limits" section into rl; NULL: absent (buckets in this process). */
int lt_config_load_ratelimit(lt_ratelimit_conf_t *rl, const json_t *obj, lt_error_t *err);
void lt_config_free_ratelimit(lt_ratelimit_conf_t *rl);

#endif
