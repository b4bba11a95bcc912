/* Reading the configuration file into lt_config_t with the typed key tables of lt_conf. */
#include "lt_config.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "lt_conf.h"

#define FIELD(s, k, t, req) .key = #k, .type = t, .offset = offsetof(s, k), .required = req

/* Top level. Nested sections are LT_CONF_OBJECT slots read by their own tables. */
typedef struct {
    long long workers;
    char *log_level;
    const json_t *listeners, *limits, *upstreams, *cache, *payments;
} root_t;

static const lt_conf_field_t root_fields[] = {
    {FIELD(root_t, workers, LT_CONF_INT, false), .min = 0, .max = 256, .default_int = 0},
    {FIELD(root_t, log_level, LT_CONF_STRING, false), .default_str = "info"},
    {FIELD(root_t, listeners, LT_CONF_OBJECT, true)},
    {FIELD(root_t, limits, LT_CONF_OBJECT, false)},
    {FIELD(root_t, upstreams, LT_CONF_OBJECT, true)},
    {FIELD(root_t, cache, LT_CONF_OBJECT, false)},
    {FIELD(root_t, payments, LT_CONF_OBJECT, false)},
    LT_CONF_END,
};

typedef struct {
    const json_t *api, *admin, *callbacks;
} listeners_t;

static const lt_conf_field_t listeners_fields[] = {
    {FIELD(listeners_t, api, LT_CONF_OBJECT, true)},
    {FIELD(listeners_t, admin, LT_CONF_OBJECT, false)},
    {FIELD(listeners_t, callbacks, LT_CONF_OBJECT, false)},
    LT_CONF_END,
};

static const lt_conf_field_t api_fields[] = {
    {FIELD(lt_listener_conf_t, bind, LT_CONF_STRING, false), .default_str = "0.0.0.0:8443"},
    {FIELD(lt_listener_conf_t, cert, LT_CONF_FILE, true)},
    {FIELD(lt_listener_conf_t, key, LT_CONF_FILE, true)},
    {FIELD(lt_listener_conf_t, client_ca, LT_CONF_FILE, true)},
    LT_CONF_END,
};

static const lt_conf_field_t admin_fields[] = {
    {FIELD(lt_listener_conf_t, bind, LT_CONF_STRING, false), .default_str = "127.0.0.1:9090"},
    LT_CONF_END,
};

typedef struct {
    long long max_body_bytes, shutdown_grace_ms, idle_timeout_s;
} limits_t;

static const lt_conf_field_t limits_fields[] = {
    {FIELD(limits_t, max_body_bytes, LT_CONF_INT, false), .min = 256, .max = 16 << 20, .default_int = 16384},
    {FIELD(limits_t, shutdown_grace_ms, LT_CONF_INT, false), .min = 0, .max = 600000, .default_int = 10000},
    {FIELD(limits_t, idle_timeout_s, LT_CONF_INT, false), .min = 1, .max = 3600, .default_int = 60},
    LT_CONF_END,
};

typedef struct {
    char *base_url, *cert, *key, *ca;
    long long connect_timeout_ms, timeout_ms, max_response_bytes, deadline_ms, max_inflight;
    const json_t *service, *retry, *breaker, *token, *probe;
} upstream_t;

static const lt_conf_field_t upstream_fields[] = {
    {FIELD(upstream_t, base_url, LT_CONF_STRING, true)},
    {FIELD(upstream_t, cert, LT_CONF_FILE, true)},
    {FIELD(upstream_t, key, LT_CONF_FILE, true)},
    {FIELD(upstream_t, ca, LT_CONF_FILE, true)},
    {FIELD(upstream_t, connect_timeout_ms, LT_CONF_INT, false), .min = 1, .max = 60000, .default_int = 2000},
    {FIELD(upstream_t, timeout_ms, LT_CONF_INT, false), .min = 1, .max = 300000, .default_int = 10000},
    {FIELD(upstream_t, max_response_bytes, LT_CONF_INT, false), .min = 1024, .max = 64 << 20, .default_int = 4 << 20},
    {FIELD(upstream_t, deadline_ms, LT_CONF_INT, false), .min = 1, .max = 600000, .default_int = 0},
    {FIELD(upstream_t, max_inflight, LT_CONF_INT, false), .min = 1, .max = 100000, .default_int = 256},
    {FIELD(upstream_t, service, LT_CONF_OBJECT, true)},
    {FIELD(upstream_t, retry, LT_CONF_OBJECT, false)},
    {FIELD(upstream_t, breaker, LT_CONF_OBJECT, false)},
    {FIELD(upstream_t, token, LT_CONF_OBJECT, false)},
    {FIELD(upstream_t, probe, LT_CONF_OBJECT, false)},
    LT_CONF_END,
};

typedef struct {
    long long max_attempts, base_delay_ms, max_delay_ms;
} retry_t;

static const lt_conf_field_t retry_fields[] = {
    {FIELD(retry_t, max_attempts, LT_CONF_INT, false), .min = 1, .max = 10, .default_int = 3},
    {FIELD(retry_t, base_delay_ms, LT_CONF_INT, false), .min = 1, .max = 60000, .default_int = 100},
    {FIELD(retry_t, max_delay_ms, LT_CONF_INT, false), .min = 1, .max = 300000, .default_int = 2000},
    LT_CONF_END,
};

typedef struct {
    long long consecutive_failures, failure_ratio_percent, window, min_calls, cooldown_ms;
} breaker_t;

static const lt_conf_field_t breaker_fields[] = {
    {FIELD(breaker_t, consecutive_failures, LT_CONF_INT, false), .min = 0, .max = 1000, .default_int = 5},
    {FIELD(breaker_t, failure_ratio_percent, LT_CONF_INT, false), .min = 0, .max = 100, .default_int = 50},
    {FIELD(breaker_t, window, LT_CONF_INT, false), .min = 1, .max = 256, .default_int = 20},
    {FIELD(breaker_t, min_calls, LT_CONF_INT, false), .min = 1, .max = 256, .default_int = 10},
    {FIELD(breaker_t, cooldown_ms, LT_CONF_INT, false), .min = 1, .max = 3600000, .default_int = 10000},
    LT_CONF_END,
};

typedef struct {
    long long rate_per_minute, refresh_margin_s;
} token_t;

static const lt_conf_field_t token_fields[] = {
    {FIELD(token_t, rate_per_minute, LT_CONF_INT, false), .min = 0, .max = 64, .default_int = 10},
    {FIELD(token_t, refresh_margin_s, LT_CONF_INT, false), .min = 0, .max = 3600, .default_int = 30},
    LT_CONF_END,
};

typedef struct {
    bool enabled;
    long long interval_s, timeout_ms, down_after, up_after;
    char *operation, *officer, *purpose;
    const json_t *input;
} probe_t;

static const lt_conf_field_t probe_fields[] = {
    {FIELD(probe_t, enabled, LT_CONF_BOOL, false), .default_int = 1},
    {FIELD(probe_t, interval_s, LT_CONF_INT, false), .min = 1, .max = 3600, .default_int = 30},
    {FIELD(probe_t, timeout_ms, LT_CONF_INT, false), .min = 100, .max = 60000, .default_int = 5000},
    {FIELD(probe_t, down_after, LT_CONF_INT, false), .min = 1, .max = 100, .default_int = 2},
    {FIELD(probe_t, up_after, LT_CONF_INT, false), .min = 1, .max = 100, .default_int = 2},
    {FIELD(probe_t, operation, LT_CONF_STRING, false), .default_str = "tls"},
    {FIELD(probe_t, input, LT_CONF_OBJECT, false)},
    {FIELD(probe_t, officer, LT_CONF_STRING, false), .default_str = "lienthong-probe"},
    {FIELD(probe_t, purpose, LT_CONF_STRING, false), .default_str = "health probe"},
    LT_CONF_END,
};

/* Reads an optional nested section: absent means every default. */
static int read_optional(const json_t *obj, const char *path, const char *key, const lt_conf_field_t *fields,
                         void *dest, lt_error_t *err)
{
    char sub[300];
    snprintf(sub, sizeof(sub), "%s.%s", path, key);
    json_t *empty = json_object();
    int rc = lt_conf_read(obj ? obj : empty, sub, fields, dest, err);
    json_decref(empty);
    return rc;
}

static int load_resilience(lt_upstream_conf_t *u, const upstream_t *raw, const char *path, lt_error_t *err)
{
    retry_t r = {0};
    breaker_t b = {0};
    token_t t = {0};
    if (read_optional(raw->retry, path, "retry", retry_fields, &r, err) != 0 ||
        read_optional(raw->breaker, path, "breaker", breaker_fields, &b, err) != 0 ||
        read_optional(raw->token, path, "token", token_fields, &t, err) != 0)
        return -1;
    u->retry.max_attempts = r.max_attempts;
    u->retry.base_delay_ms = r.base_delay_ms;
    u->retry.max_delay_ms = r.max_delay_ms;
    u->breaker.consecutive_failures = b.consecutive_failures;
    u->breaker.failure_ratio = (double)b.failure_ratio_percent / 100.0;
    u->breaker.window = b.window;
    u->breaker.min_calls = b.min_calls;
    u->breaker.cooldown_ms = b.cooldown_ms;
    u->token.rate_per_minute = t.rate_per_minute;
    u->token.refresh_margin_s = t.refresh_margin_s;
    u->max_inflight = raw->max_inflight;
    /* Without an explicit deadline, allow every attempt its full timeout plus the largest backoffs. */
    u->deadline_ms =
        raw->deadline_ms ? raw->deadline_ms : raw->timeout_ms * r.max_attempts + r.max_delay_ms * (r.max_attempts - 1);
    return 0;
}

static const lt_operation_t *find_operation(const lt_adapter_t *a, const char *name);

/* The probe's operation must be one a healthy system answers cheaply and safely, so only idempotent ones; its input
 * is validated here, as a portal's would be, so a typo stops start-up rather than failing every probe. */
static int load_probe_call(lt_upstream_conf_t *u, const probe_t *p, const char *path, lt_error_t *err)
{
    if (strcmp(p->operation, "tls") == 0)
        return p->input == NULL ? 0
                                : lt_error_set(err, LT_ERR_INTERNAL, "config",
                                               "%s.probe.input: a \"tls\" probe takes no input", path);
    u->probe.op = find_operation(u->adapter, p->operation);
    if (u->probe.op == NULL || !u->probe.op->idempotent)
        return lt_error_set(err, LT_ERR_INTERNAL, "config",
                            "%s.probe.operation: must be \"tls\" or an idempotent operation of %s", path, u->name);
    if (p->input == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.probe.input: required with operation %s", path,
                            p->operation);
    u->probe.input = json_deep_copy(p->input);
    lt_error_t verr;
    lt_error_clear(&verr);
    if (u->probe.op->validate != NULL && u->probe.op->validate(u->probe.input, &verr) != 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.probe.input: %s", path, verr.detail);
    return 0;
}

static int load_probe(lt_upstream_conf_t *u, const json_t *obj, const char *path, lt_error_t *err)
{
    probe_t p = {0};
    int rc = read_optional(obj, path, "probe", probe_fields, &p, err);
    u->probe.enabled = p.enabled;
    u->probe.interval_s = p.interval_s;
    u->probe.timeout_ms = p.timeout_ms;
    u->probe.down_after = p.down_after;
    u->probe.up_after = p.up_after;
    u->probe.officer = p.officer;
    u->probe.purpose = p.purpose;
    if (rc == 0)
        rc = load_probe_call(u, &p, path, err);
    free(p.operation);
    return rc;
}

static int load_listeners(lt_config_t *c, const json_t *obj, listeners_t *out, lt_error_t *err)
{
    listeners_t l = {0};
    if (lt_conf_read(obj, "listeners", listeners_fields, &l, err) != 0)
        return -1;
    if (lt_conf_read(l.api, "listeners.api", api_fields, &c->api, err) != 0)
        return -1;
    json_t *empty = json_object();
    int rc = lt_conf_read(l.admin ? l.admin : empty, "listeners.admin", admin_fields, &c->admin, err);
    json_decref(empty);
    *out = l;
    return rc;
}

static int load_limits(lt_config_t *c, const json_t *obj, lt_error_t *err)
{
    limits_t l = {0};
    json_t *empty = json_object();
    int rc = lt_conf_read(obj ? obj : empty, "limits", limits_fields, &l, err);
    json_decref(empty);
    c->max_body_bytes = l.max_body_bytes;
    c->shutdown_grace_ms = l.shutdown_grace_ms;
    c->idle_timeout_s = l.idle_timeout_s;
    return rc;
}

static int load_upstream(lt_upstream_conf_t *u, const char *name, const json_t *obj, lt_error_t *err)
{
    char path[256];
    snprintf(path, sizeof(path), "upstreams.%s", name);
    u->name = name;
    u->adapter = lt_adapter_find(name);
    if (u->adapter == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s: no adapter for a national system named '%s'", path,
                            name);
    upstream_t raw = {0};
    if (lt_conf_read(obj, path, upstream_fields, &raw, err) != 0) {
        lt_conf_free(upstream_fields, &raw);
        return -1;
    }
    u->base_url = raw.base_url;
    u->cert = raw.cert;
    u->key = raw.key;
    u->ca = raw.ca;
    u->connect_timeout_ms = raw.connect_timeout_ms;
    u->timeout_ms = raw.timeout_ms;
    u->max_response_bytes = raw.max_response_bytes;
    if (load_resilience(u, &raw, path, err) != 0 || load_probe(u, raw.probe, path, err) != 0)
        return -1;
    if (strncmp(u->base_url, "https://", 8) != 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.base_url: must start with https://", path);
    strncat(path, ".service", sizeof(path) - strlen(path) - 1);
    return u->adapter->settings_load(raw.service, path, &u->settings, err);
}

static int load_upstreams(lt_config_t *c, const json_t *obj, lt_error_t *err)
{
    c->upstreams = calloc(json_object_size(obj) + 1, sizeof(*c->upstreams));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (lt_conf_is_comment(key))
            continue;
        lt_upstream_conf_t *u = &c->upstreams[c->nupstreams++];
        /* The name must outlive the JSON document (and `key` must stay jansson's: it drives the iteration). */
        if (load_upstream(u, strdup(key), v, err) != 0)
            return -1;
    }
    return 0;
}

/* ---- cache ---------------------------------------------------------------- */

typedef struct {
    char *backend;
    long long max_bytes, shards, ttl_s, not_found_ttl_s, max_stale_s;
    const json_t *operations, *keys, *redis;
} cache_t;

#define TTL_MAX (30LL * 86400)

static const lt_conf_field_t cache_fields[] = {
    {FIELD(cache_t, backend, LT_CONF_STRING, false), .default_str = "memory"},
    {FIELD(cache_t, max_bytes, LT_CONF_INT, false), .min = 4096, .max = 1LL << 40, .default_int = 64 << 20},
    {FIELD(cache_t, shards, LT_CONF_INT, false), .min = 1, .max = 256, .default_int = 16},
    {FIELD(cache_t, ttl_s, LT_CONF_INT, false), .min = 0, .max = TTL_MAX, .default_int = 300},
    {FIELD(cache_t, not_found_ttl_s, LT_CONF_INT, false), .min = 0, .max = TTL_MAX, .default_int = 30},
    {FIELD(cache_t, max_stale_s, LT_CONF_INT, false), .min = 0, .max = TTL_MAX, .default_int = 3600},
    {FIELD(cache_t, operations, LT_CONF_OBJECT, false)},
    {FIELD(cache_t, keys, LT_CONF_OBJECT, false)},
    {FIELD(cache_t, redis, LT_CONF_OBJECT, false)},
    LT_CONF_END,
};

/* -1: inherit the section's value. */
static const lt_conf_field_t cache_op_fields[] = {
    {FIELD(lt_cache_ttls_t, ttl_s, LT_CONF_INT, false), .min = 0, .max = TTL_MAX, .default_int = -1},
    {FIELD(lt_cache_ttls_t, not_found_ttl_s, LT_CONF_INT, false), .min = 0, .max = TTL_MAX, .default_int = -1},
    {FIELD(lt_cache_ttls_t, max_stale_s, LT_CONF_INT, false), .min = 0, .max = TTL_MAX, .default_int = -1},
    LT_CONF_END,
};

typedef struct {
    char *hmac;
    long long encrypt_with;
} cache_keys_t;

static const lt_conf_field_t cache_keys_fields[] = {
    {FIELD(cache_keys_t, hmac, LT_CONF_FILE, false)},
    {FIELD(cache_keys_t, encrypt_with, LT_CONF_INT, false), .min = 0, .max = 255, .default_int = 0},
    LT_CONF_END,
};

typedef struct {
    long long id;
    char *file;
} cache_aead_t;

static const lt_conf_field_t cache_aead_fields[] = {
    {FIELD(cache_aead_t, id, LT_CONF_INT, true), .min = 1, .max = 255},
    {FIELD(cache_aead_t, file, LT_CONF_FILE, true)},
    LT_CONF_END,
};

typedef struct {
    char *address, *password_file, *prefix;
    long long db, timeout_ms, connect_timeout_ms, reconnect_min_ms, reconnect_max_ms, max_timeouts;
    long long l1_max_bytes, l1_ttl_s;
} cache_redis_t;

static const lt_conf_field_t cache_redis_fields[] = {
    {FIELD(cache_redis_t, address, LT_CONF_STRING, false), .default_str = "127.0.0.1:6379"},
    {FIELD(cache_redis_t, password_file, LT_CONF_FILE, false)},
    {FIELD(cache_redis_t, prefix, LT_CONF_STRING, false), .default_str = "lt:"},
    {FIELD(cache_redis_t, db, LT_CONF_INT, false), .min = 0, .max = 15, .default_int = 0},
    {FIELD(cache_redis_t, timeout_ms, LT_CONF_INT, false), .min = 1, .max = 10000, .default_int = 50},
    {FIELD(cache_redis_t, connect_timeout_ms, LT_CONF_INT, false), .min = 1, .max = 60000, .default_int = 500},
    {FIELD(cache_redis_t, reconnect_min_ms, LT_CONF_INT, false), .min = 1, .max = 60000, .default_int = 100},
    {FIELD(cache_redis_t, reconnect_max_ms, LT_CONF_INT, false), .min = 1, .max = 600000, .default_int = 5000},
    {FIELD(cache_redis_t, max_timeouts, LT_CONF_INT, false), .min = 1, .max = 1000, .default_int = 3},
    {FIELD(cache_redis_t, l1_max_bytes, LT_CONF_INT, false), .min = 0, .max = 1LL << 40, .default_int = 0},
    {FIELD(cache_redis_t, l1_ttl_s, LT_CONF_INT, false), .min = 1, .max = 3600, .default_int = 5},
    LT_CONF_END,
};

static int cache_fail(lt_error_t *err, const char *what)
{
    return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s", what);
}

bool lt_config_cache_forbidden(const char *system, const lt_operation_t *op)
{
    /* A payment's state changes under the caller's feet, and a repeated create must reach the payment gateway
     * (whose own idempotency handles it): no copy of either may ever be served. */
    static const char *const never_cached[] = {"payment", NULL};
    for (const char *const *n = never_cached; *n != NULL; n++)
        if (strncmp(system, *n, strlen(*n)) == 0)
            return true;
    return op == NULL || !op->idempotent;
}

static const lt_operation_t *find_operation(const lt_adapter_t *a, const char *name)
{
    for (const lt_operation_t *op = a->operations; op->name != NULL; op++)
        if (strcmp(op->name, name) == 0)
            return op;
    return NULL;
}

static void inherit(long long *v, long long def)
{
    if (*v < 0)
        *v = def;
}

static int load_cache_op(lt_cache_conf_t *cc, const char *system, const char *opname, const json_t *obj,
                         lt_error_t *err)
{
    char path[300];
    snprintf(path, sizeof(path), "cache.operations.%s.%s", system, opname);
    const lt_adapter_t *a = lt_adapter_find(system);
    const lt_operation_t *op = a ? find_operation(a, opname) : NULL;
    if (op == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s: no such operation", path);
    lt_cache_op_conf_t *oc = &cc->ops[cc->nops];
    if (lt_conf_read(obj, path, cache_op_fields, &oc->ttls, err) != 0)
        return -1;
    inherit(&oc->ttls.ttl_s, cc->defaults.ttl_s);
    inherit(&oc->ttls.not_found_ttl_s, cc->defaults.not_found_ttl_s);
    inherit(&oc->ttls.max_stale_s, cc->defaults.max_stale_s);
    if (oc->ttls.ttl_s > 0 && lt_config_cache_forbidden(system, op))
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.ttl_s: %s answers are never cached", path,
                            op->idempotent ? "payment" : "non-idempotent");
    oc->system = strdup(system);
    oc->operation = strdup(opname);
    cc->nops++;
    return 0;
}

static int load_cache_ops(lt_cache_conf_t *cc, const json_t *obj, lt_error_t *err)
{
    size_t n = 0;
    const char *system, *opname;
    const json_t *ops, *v;
    json_object_foreach((json_t *)obj, system, ops)
    {
        if (lt_conf_is_comment(system))
            continue;
        if (!json_is_object(ops))
            return lt_error_set(err, LT_ERR_INTERNAL, "config", "cache.operations.%s: must be an object", system);
        n += json_object_size(ops);
    }
    cc->ops = calloc(n + 1, sizeof(*cc->ops));
    json_object_foreach((json_t *)obj, system, ops)
    {
        if (lt_conf_is_comment(system))
            continue;
        json_object_foreach((json_t *)ops, opname, v)
        {
            if (lt_conf_is_comment(opname))
                continue;
            if (load_cache_op(cc, system, opname, v, err) != 0)
                return -1;
        }
    }
    return 0;
}

/* keys.aead is a list, which the key tables do not read: read it here, and the rest of keys with its table. */
static int load_cache_aead(lt_cache_conf_t *cc, const json_t *list, lt_error_t *err)
{
    if (!json_is_array(list))
        return cache_fail(err, "cache.keys.aead: must be a list of {\"id\", \"file\"}");
    cc->aead = calloc(json_array_size(list) + 1, sizeof(*cc->aead));
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        char path[64];
        snprintf(path, sizeof(path), "cache.keys.aead[%zu]", i);
        cache_aead_t a = {0};
        if (lt_conf_read(v, path, cache_aead_fields, &a, err) != 0) {
            lt_conf_free(cache_aead_fields, &a);
            return -1;
        }
        for (size_t j = 0; j < cc->naead; j++)
            if (cc->aead[j].id == (int)a.id) {
                free(a.file);
                return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.id: key id %lld is listed twice", path, a.id);
            }
        cc->aead[cc->naead].id = (int)a.id;
        cc->aead[cc->naead++].file = a.file;
    }
    return 0;
}

static int load_cache_keys(lt_cache_conf_t *cc, const json_t *obj, lt_error_t *err)
{
    json_t *rest = json_copy((json_t *)obj);
    json_object_del(rest, "aead");
    cache_keys_t k = {0};
    int rc = lt_conf_read(rest, "cache.keys", cache_keys_fields, &k, err);
    json_decref(rest);
    cc->hmac_key_file = k.hmac;
    if (rc != 0)
        return -1;
    const json_t *aead = json_object_get(obj, "aead");
    if (aead != NULL && load_cache_aead(cc, aead, err) != 0)
        return -1;
    if ((cc->hmac_key_file == NULL) != (cc->naead == 0))
        return cache_fail(err, "cache.keys: give both hmac and aead, or neither");
    cc->encrypt_with = (int)k.encrypt_with;
    if (cc->encrypt_with == 0 && cc->naead == 1)
        cc->encrypt_with = cc->aead[0].id;
    for (size_t i = 0; i < cc->naead; i++)
        if (cc->aead[i].id == cc->encrypt_with)
            return 0;
    if (cc->naead == 0)
        return 0;
    return cache_fail(err, "cache.keys.encrypt_with: must name one of the ids in cache.keys.aead");
}

static int load_cache_redis(lt_cache_conf_t *cc, const json_t *obj, lt_error_t *err)
{
    cache_redis_t r = {0};
    json_t *empty = json_object();
    int rc = lt_conf_read(obj ? obj : empty, "cache.redis", cache_redis_fields, &r, err);
    json_decref(empty);
    cc->redis.address = r.address;
    cc->redis.password_file = r.password_file;
    cc->redis.prefix = r.prefix;
    cc->redis.db = r.db;
    cc->redis.timeout_ms = r.timeout_ms;
    cc->redis.connect_timeout_ms = r.connect_timeout_ms;
    cc->redis.reconnect_min_ms = r.reconnect_min_ms;
    cc->redis.reconnect_max_ms = r.reconnect_max_ms;
    cc->redis.max_timeouts = r.max_timeouts;
    cc->redis.l1_max_bytes = r.l1_max_bytes;
    cc->redis.l1_ttl_s = r.l1_ttl_s;
    if (rc == 0 && r.reconnect_max_ms < r.reconnect_min_ms)
        return cache_fail(err, "cache.redis.reconnect_max_ms: must be at least reconnect_min_ms");
    if (rc == 0 && (strlen(r.prefix) > 32 || strchr(r.prefix, ' ') != NULL))
        return cache_fail(err, "cache.redis.prefix: at most 32 characters, without spaces");
    return rc;
}

static int cache_backend(const char *name, lt_cache_backend_t *out)
{
    static const struct {
        const char *name;
        lt_cache_backend_t backend;
    } backends[] = {{"off", LT_CACHE_OFF}, {"memory", LT_CACHE_MEMORY}, {"redis", LT_CACHE_REDIS}};
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
        if (strcmp(name, backends[i].name) == 0) {
            *out = backends[i].backend;
            return 0;
        }
    return -1;
}

static int load_cache(lt_config_t *c, const json_t *obj, lt_error_t *err)
{
    lt_cache_conf_t *cc = &c->cache;
    cache_t raw = {0};
    json_t *empty = json_object();
    int rc = lt_conf_read(obj ? obj : empty, "cache", cache_fields, &raw, err);
    json_decref(empty);
    if (rc != 0) {
        lt_conf_free(cache_fields, &raw);
        return -1;
    }
    rc = cache_backend(raw.backend, &cc->backend);
    free(raw.backend);
    if (rc != 0)
        return cache_fail(err, "cache.backend: must be off, memory or redis");
    cc->max_bytes = raw.max_bytes;
    cc->shards = raw.shards;
    cc->defaults = (lt_cache_ttls_t){raw.ttl_s, raw.not_found_ttl_s, raw.max_stale_s};
    if (raw.operations != NULL && load_cache_ops(cc, raw.operations, err) != 0)
        return -1;
    if (raw.keys != NULL && load_cache_keys(cc, raw.keys, err) != 0)
        return -1;
    if (load_cache_redis(cc, raw.redis, err) != 0)
        return -1;
    /* Instances share Redis only if they derive the same keys: random per-process keys would share nothing. */
    if (cc->backend == LT_CACHE_REDIS && cc->hmac_key_file == NULL)
        return cache_fail(err, "cache.keys: the redis backend needs key files (hmac and aead)");
    return 0;
}

const lt_cache_ttls_t *lt_config_cache_ttls(const lt_config_t *config, const char *system, const char *operation)
{
    const lt_cache_conf_t *cc = &config->cache;
    for (size_t i = 0; i < cc->nops; i++)
        if (strcmp(cc->ops[i].system, system) == 0 && strcmp(cc->ops[i].operation, operation) == 0)
            return &cc->ops[i].ttls;
    return &cc->defaults;
}

lt_config_t *lt_config_load(const char *path, lt_error_t *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "config", "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    lt_config_t *c = calloc(1, sizeof(*c));
    c->path = strdup(path);
    char *dir_copy = strdup(path);
    lt_conf_set_base_dir(dirname(dir_copy));
    free(dir_copy);

    root_t r = {0};
    listeners_t listeners = {0};
    int rc = lt_conf_read(root, "", root_fields, &r, err);
    c->workers = r.workers;
    c->log_level = r.log_level;
    if (rc == 0)
        rc = load_listeners(c, r.listeners, &listeners, err);
    if (rc == 0)
        rc = load_limits(c, r.limits, err);
    if (rc == 0)
        rc = load_upstreams(c, r.upstreams, err);
    if (rc == 0)
        rc = load_cache(c, r.cache, err);
    if (rc == 0)
        rc = lt_config_load_payments(c, r.payments, listeners.callbacks, err);
    json_decref(root);
    if (rc != 0) {
        lt_config_free(c);
        return NULL;
    }
    return c;
}

static void free_cache(lt_cache_conf_t *cc)
{
    for (size_t i = 0; i < cc->nops; i++) {
        free(cc->ops[i].system);
        free(cc->ops[i].operation);
    }
    free(cc->ops);
    for (size_t i = 0; i < cc->naead; i++)
        free(cc->aead[i].file);
    free(cc->aead);
    free(cc->hmac_key_file);
    free(cc->redis.address);
    free(cc->redis.password_file);
    free(cc->redis.prefix);
}

static void free_listener(lt_listener_conf_t *l)
{
    free(l->bind);
    free(l->cert);
    free(l->key);
    free(l->client_ca);
}

void lt_config_free(lt_config_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nupstreams; i++) {
        lt_upstream_conf_t *u = &c->upstreams[i];
        if (u->settings != NULL && u->adapter != NULL)
            u->adapter->settings_free(u->settings);
        free((char *)u->name);
        free(u->base_url);
        free(u->cert);
        free(u->key);
        free(u->ca);
        json_decref(u->probe.input);
        free(u->probe.officer);
        free(u->probe.purpose);
    }
    free(c->upstreams);
    free_cache(&c->cache);
    free_listener(&c->api);
    free_listener(&c->admin);
    free_listener(&c->callbacks);
    lt_config_free_payments(c);
    free(c->log_level);
    free(c->path);
    free(c);
}

const lt_upstream_conf_t *lt_config_upstream(const lt_config_t *config, const char *name)
{
    for (size_t i = 0; i < config->nupstreams; i++)
        if (strcmp(config->upstreams[i].name, name) == 0)
            return &config->upstreams[i];
    return NULL;
}
