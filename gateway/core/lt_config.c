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
    const json_t *listeners, *limits, *upstreams;
} root_t;

static const lt_conf_field_t root_fields[] = {
    {FIELD(root_t, workers, LT_CONF_INT, false), .min = 0, .max = 256, .default_int = 0},
    {FIELD(root_t, log_level, LT_CONF_STRING, false), .default_str = "info"},
    {FIELD(root_t, listeners, LT_CONF_OBJECT, true)},
    {FIELD(root_t, limits, LT_CONF_OBJECT, false)},
    {FIELD(root_t, upstreams, LT_CONF_OBJECT, true)},
    LT_CONF_END,
};

typedef struct {
    const json_t *api, *admin;
} listeners_t;

static const lt_conf_field_t listeners_fields[] = {
    {FIELD(listeners_t, api, LT_CONF_OBJECT, true)},
    {FIELD(listeners_t, admin, LT_CONF_OBJECT, false)},
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
    const json_t *service, *retry, *breaker, *token;
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

static int load_listeners(lt_config_t *c, const json_t *obj, lt_error_t *err)
{
    listeners_t l = {0};
    if (lt_conf_read(obj, "listeners", listeners_fields, &l, err) != 0)
        return -1;
    if (lt_conf_read(l.api, "listeners.api", api_fields, &c->api, err) != 0)
        return -1;
    json_t *empty = json_object();
    int rc = lt_conf_read(l.admin ? l.admin : empty, "listeners.admin", admin_fields, &c->admin, err);
    json_decref(empty);
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
    if (load_resilience(u, &raw, path, err) != 0)
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
        lt_upstream_conf_t *u = &c->upstreams[c->nupstreams++];
        /* The name must outlive the JSON document (and `key` must stay jansson's: it drives the iteration). */
        if (load_upstream(u, strdup(key), v, err) != 0)
            return -1;
    }
    return 0;
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
    int rc = lt_conf_read(root, "", root_fields, &r, err);
    c->workers = r.workers;
    c->log_level = r.log_level;
    if (rc == 0)
        rc = load_listeners(c, r.listeners, err);
    if (rc == 0)
        rc = load_limits(c, r.limits, err);
    if (rc == 0)
        rc = load_upstreams(c, r.upstreams, err);
    json_decref(root);
    if (rc != 0) {
        lt_config_free(c);
        return NULL;
    }
    return c;
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
    }
    free(c->upstreams);
    free_listener(&c->api);
    free_listener(&c->admin);
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
