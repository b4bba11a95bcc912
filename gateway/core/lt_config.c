/* Reading the configuration file into lt_config_t with the typed key tables of lt_conf. */
#include "lt_config.h"

#include <libgen.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lt_bind.h"
#include "lt_conf.h"
#include "lt_date.h"
#include "lt_log.h"

/* Top level. Nested sections are LT_CONF_OBJECT slots read by their own tables. */
typedef struct {
    long long workers;
    char *log_level, *log_format, *instance, *time_zone;
    const json_t *listeners, *limits, *upstreams, *cache, *clients, *audit, *rate_limits;
} root_t;

static const lt_conf_field_t root_fields[] = {
    {LT_CONF_FIELD(root_t, workers, LT_CONF_INT, false), .min = 0, .max = 256, .default_int = 0},
    {LT_CONF_FIELD(root_t, log_level, LT_CONF_STRING, false), .default_str = "info"},
    {LT_CONF_FIELD(root_t, log_format, LT_CONF_STRING, false), .default_str = "json"},
    {LT_CONF_FIELD(root_t, instance, LT_CONF_STRING, false)},
    {LT_CONF_FIELD(root_t, time_zone, LT_CONF_STRING, false), .default_str = "+07:00"},
    {LT_CONF_FIELD(root_t, listeners, LT_CONF_OBJECT, true)},
    {LT_CONF_FIELD(root_t, limits, LT_CONF_OBJECT, false)},
    {LT_CONF_FIELD(root_t, upstreams, LT_CONF_OBJECT, true)},
    {LT_CONF_FIELD(root_t, cache, LT_CONF_OBJECT, false)},
    {LT_CONF_FIELD(root_t, clients, LT_CONF_OBJECT, false)},
    {LT_CONF_FIELD(root_t, audit, LT_CONF_OBJECT, false)},
    {LT_CONF_FIELD(root_t, rate_limits, LT_CONF_OBJECT, false)},
    LT_CONF_END,
};

typedef struct {
    const json_t *api, *admin;
} listeners_t;

static const lt_conf_field_t listeners_fields[] = {
    {LT_CONF_FIELD(listeners_t, api, LT_CONF_OBJECT, true)},
    {LT_CONF_FIELD(listeners_t, admin, LT_CONF_OBJECT, false)},
    LT_CONF_END,
};

static const lt_conf_field_t api_fields[] = {
    {LT_CONF_FIELD(lt_listener_conf_t, bind, LT_CONF_STRING, false), .default_str = "0.0.0.0:8443"},
    {LT_CONF_FIELD(lt_listener_conf_t, cert, LT_CONF_FILE, true)},
    {LT_CONF_FIELD(lt_listener_conf_t, key, LT_CONF_FILE, true)},
    {LT_CONF_FIELD(lt_listener_conf_t, client_ca, LT_CONF_FILE, true)},
    {LT_CONF_FIELD(lt_listener_conf_t, crl_expired, LT_CONF_STRING, false), .default_str = "refuse"},
    {LT_CONF_FIELD(lt_listener_conf_t, crl_warn_interval_s, LT_CONF_INT, false), .min = 10, .max = 86400,
     .default_int = 300},
    {LT_CONF_FIELD(lt_listener_conf_t, ticket_key_rotate_s, LT_CONF_INT, false), .min = 1, .max = 604800,
     .default_int = 10800},
    {LT_CONF_FIELD(lt_listener_conf_t, ticket_key_file, LT_CONF_FILE, false)},
    LT_CONF_END,
};

typedef struct {
    long long max_body_bytes, shutdown_grace_ms, idle_timeout_s;
    lt_conn_limits_t conn;
} limits_t;

#define CONN_LIMIT(k) .key = #k, .type = LT_CONF_INT, .offset = offsetof(limits_t, conn.k)

static const lt_conf_field_t limits_fields[] = {
    {LT_CONF_FIELD(limits_t, max_body_bytes, LT_CONF_INT, false), .min = 256, .max = 16 << 20, .default_int = 16384},
    {LT_CONF_FIELD(limits_t, shutdown_grace_ms, LT_CONF_INT, false), .min = 0, .max = 600000, .default_int = 10000},
    {LT_CONF_FIELD(limits_t, idle_timeout_s, LT_CONF_INT, false), .min = 1, .max = 3600, .default_int = 60},
    /* Slow clients on a public-sector WAN: generous enough for a congested provincial link, short enough that
     * slowloris costs an attacker a connection per header timeout. */
    {CONN_LIMIT(handshake_timeout_s), .min = 1, .max = 600, .default_int = 10},
    {CONN_LIMIT(header_timeout_s), .min = 1, .max = 600, .default_int = 15},
    {CONN_LIMIT(body_grace_s), .min = 1, .max = 600, .default_int = 10},
    {CONN_LIMIT(body_min_rate_bytes_s), .min = 0, .max = 1 << 30, .default_int = 1024},
    {CONN_LIMIT(max_connections), .min = 1, .max = 1000000, .default_int = 10000},
    {CONN_LIMIT(max_connections_per_address), .min = 1, .max = 1000000, .default_int = 512},
    {CONN_LIMIT(max_request_line_bytes), .min = 256, .max = 65536, .default_int = 8192},
    {CONN_LIMIT(max_header_fields), .min = 8, .max = 1000, .default_int = 100},
    {CONN_LIMIT(max_header_bytes), .min = 1024, .max = 262144, .default_int = 16384},
    LT_CONF_END,
};

typedef struct {
    char *base_url, *cert, *key, *ca;
    long long connect_timeout_ms, timeout_ms, max_response_bytes, deadline_ms, max_inflight;
    const json_t *service, *retry, *breaker, *token, *probe;
} upstream_t;

static const lt_conf_field_t upstream_fields[] = {
    {LT_CONF_FIELD(upstream_t, base_url, LT_CONF_STRING, true)},
    {LT_CONF_FIELD(upstream_t, cert, LT_CONF_FILE, true)},
    {LT_CONF_FIELD(upstream_t, key, LT_CONF_FILE, true)},
    {LT_CONF_FIELD(upstream_t, ca, LT_CONF_FILE, true)},
    {LT_CONF_FIELD(upstream_t, connect_timeout_ms, LT_CONF_INT, false), .min = 1, .max = 60000, .default_int = 2000},
    {LT_CONF_FIELD(upstream_t, timeout_ms, LT_CONF_INT, false), .min = 1, .max = 300000, .default_int = 10000},
    {LT_CONF_FIELD(upstream_t, max_response_bytes, LT_CONF_INT, false), .min = 1024, .max = 64 << 20,
     .default_int = 4 << 20},
    {LT_CONF_FIELD(upstream_t, deadline_ms, LT_CONF_INT, false), .min = 1, .max = 600000, .default_int = 0},
    {LT_CONF_FIELD(upstream_t, max_inflight, LT_CONF_INT, false), .min = 1, .max = 100000, .default_int = 256},
    {LT_CONF_FIELD(upstream_t, service, LT_CONF_OBJECT, true)},
    {LT_CONF_FIELD(upstream_t, retry, LT_CONF_OBJECT, false)},
    {LT_CONF_FIELD(upstream_t, breaker, LT_CONF_OBJECT, false)},
    {LT_CONF_FIELD(upstream_t, token, LT_CONF_OBJECT, false)},
    {LT_CONF_FIELD(upstream_t, probe, LT_CONF_OBJECT, false)},
    LT_CONF_END,
};

typedef struct {
    long long max_attempts, base_delay_ms, max_delay_ms;
} retry_t;

static const lt_conf_field_t retry_fields[] = {
    {LT_CONF_FIELD(retry_t, max_attempts, LT_CONF_INT, false), .min = 1, .max = 10, .default_int = 3},
    {LT_CONF_FIELD(retry_t, base_delay_ms, LT_CONF_INT, false), .min = 1, .max = 60000, .default_int = 100},
    {LT_CONF_FIELD(retry_t, max_delay_ms, LT_CONF_INT, false), .min = 1, .max = 300000, .default_int = 2000},
    LT_CONF_END,
};

typedef struct {
    long long consecutive_failures, failure_ratio_percent, window, min_calls, cooldown_ms;
} breaker_t;

static const lt_conf_field_t breaker_fields[] = {
    {LT_CONF_FIELD(breaker_t, consecutive_failures, LT_CONF_INT, false), .min = 0, .max = 1000, .default_int = 5},
    {LT_CONF_FIELD(breaker_t, failure_ratio_percent, LT_CONF_INT, false), .min = 0, .max = 100, .default_int = 50},
    {LT_CONF_FIELD(breaker_t, window, LT_CONF_INT, false), .min = 1, .max = 256, .default_int = 20},
    {LT_CONF_FIELD(breaker_t, min_calls, LT_CONF_INT, false), .min = 1, .max = 256, .default_int = 10},
    {LT_CONF_FIELD(breaker_t, cooldown_ms, LT_CONF_INT, false), .min = 1, .max = 3600000, .default_int = 10000},
    LT_CONF_END,
};

typedef struct {
    long long rate_per_minute, refresh_margin_s;
} token_t;

static const lt_conf_field_t token_fields[] = {
    {LT_CONF_FIELD(token_t, rate_per_minute, LT_CONF_INT, false), .min = 0, .max = 64, .default_int = 10},
    {LT_CONF_FIELD(token_t, refresh_margin_s, LT_CONF_INT, false), .min = 0, .max = 3600, .default_int = 30},
    LT_CONF_END,
};

typedef struct {
    bool enabled;
    long long interval_s, timeout_ms, down_after, up_after;
    char *operation, *officer, *purpose;
    const json_t *input;
} probe_t;

static const lt_conf_field_t probe_fields[] = {
    {LT_CONF_FIELD(probe_t, enabled, LT_CONF_BOOL, false), .default_int = 1},
    {LT_CONF_FIELD(probe_t, interval_s, LT_CONF_INT, false), .min = 1, .max = 3600, .default_int = 30},
    {LT_CONF_FIELD(probe_t, timeout_ms, LT_CONF_INT, false), .min = 100, .max = 60000, .default_int = 5000},
    {LT_CONF_FIELD(probe_t, down_after, LT_CONF_INT, false), .min = 1, .max = 100, .default_int = 2},
    {LT_CONF_FIELD(probe_t, up_after, LT_CONF_INT, false), .min = 1, .max = 100, .default_int = 2},
    {LT_CONF_FIELD(probe_t, operation, LT_CONF_STRING, false), .default_str = "tls"},
    {LT_CONF_FIELD(probe_t, input, LT_CONF_OBJECT, false)},
    {LT_CONF_FIELD(probe_t, officer, LT_CONF_STRING, false), .default_str = "lienthong-probe"},
    {LT_CONF_FIELD(probe_t, purpose, LT_CONF_STRING, false), .default_str = "health probe"},
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

/* A module's listener: TLS with a server certificate only (its peers are not the province's systems). */
static const lt_conf_field_t module_listener_fields[] = {
    {LT_CONF_FIELD(lt_listener_conf_t, bind, LT_CONF_STRING, false)},
    {LT_CONF_FIELD(lt_listener_conf_t, cert, LT_CONF_FILE, true)},
    {LT_CONF_FIELD(lt_listener_conf_t, key, LT_CONF_FILE, true)},
    LT_CONF_END,
};

static int config_fail(lt_error_t *err, const char *fmt, const char *a, const char *b)
{
    return lt_error_set(err, LT_ERR_INTERNAL, "config", fmt, a, b);
}

/* A listener's address, checked here so that --check-config refuses what start-up could not bind. */
static int check_bind(const char *path, const char *bind, lt_error_t *err)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    char why[200];
    if (lt_bind_parse(bind, &ss, &sslen, why, sizeof(why)) != 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.bind: %s", path, why);
    return 0;
}

/* A module's listener is configured exactly when its module is on. */
static int load_module_listener(lt_config_t *c, size_t m, const lt_module_listener_t *ml, const json_t *obj,
                                lt_error_t *err)
{
    const lt_module_t *mod = c->modules[m];
    char path[128];
    snprintf(path, sizeof(path), "listeners.%s", ml->name);
    if (obj == NULL)
        return c->module_on[m] ? config_fail(err, "%s: required with a %s section", path, mod->section) : 0;
    if (!c->module_on[m])
        return config_fail(err, "%s: only used with a %s section", path, mod->section);
    lt_module_listener_conf_t *l = &c->listeners[c->nlisteners];
    if (lt_conf_read(obj, path, module_listener_fields, &l->conf, err) != 0)
        return -1;
    c->nlisteners++;
    l->name = strdup(ml->name);
    l->module = m;
    if (l->conf.bind == NULL)
        l->conf.bind = strdup(ml->default_bind);
    return check_bind(path, l->conf.bind, err);
}

/* The modules' listeners, taken out of `obj` (a copy) so that what remains is read by the core's table. */
static int load_module_listeners(lt_config_t *c, json_t *obj, lt_error_t *err)
{
    size_t n = 0;
    for (size_t m = 0; m < c->nmodules; m++)
        for (const lt_module_listener_t *ml = c->modules[m]->listeners; ml && ml->name; ml++)
            n++;
    c->listeners = calloc(n + 1, sizeof(*c->listeners));
    for (size_t m = 0; m < c->nmodules; m++) {
        for (const lt_module_listener_t *ml = c->modules[m]->listeners; ml && ml->name; ml++) {
            json_t *section = json_incref(json_object_get(obj, ml->name));
            json_object_del(obj, ml->name);
            int rc = load_module_listener(c, m, ml, section, err);
            json_decref(section);
            if (rc != 0)
                return -1;
        }
    }
    return 0;
}

/* Each entry a readable file, resolved as LT_CONF_FILE keys are. */
static int load_crl_files(lt_listener_conf_t *api, const json_t *list, lt_error_t *err)
{
    if (!json_is_array(list))
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "listeners.api.crl_files: must be a list of file paths");
    api->crl_files = calloc(json_array_size(list) + 1, sizeof(char *));
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        if (s == NULL || *s == '\0')
            return lt_error_set(err, LT_ERR_INTERNAL, "config", "listeners.api.crl_files[%zu]: must be a file path", i);
        char *path = lt_conf_resolve_path(s);
        api->crl_files[api->ncrl_files++] = path;
        if (access(path, R_OK) != 0)
            return lt_error_set(err, LT_ERR_INTERNAL, "config", "listeners.api.crl_files[%zu]: cannot read file '%s'",
                                i, path);
    }
    return 0;
}

/* The api listener: its table, and crl_files, a list the key tables do not read. */
static int load_api_listener(lt_config_t *c, const json_t *obj, lt_error_t *err)
{
    json_t *rest = json_is_object(obj) ? json_copy((json_t *)obj) : json_incref((json_t *)obj);
    const json_t *crl_files = json_is_object(obj) ? json_object_get(obj, "crl_files") : NULL;
    lt_conf_note("listeners.api", "crl_files", LT_CONF_ARRAY);
    if (crl_files != NULL)
        json_object_del(rest, "crl_files");
    int rc = lt_conf_read(rest, "listeners.api", api_fields, &c->api, err);
    json_decref(rest);
    if (rc != 0)
        return -1;
    if (strcmp(c->api.crl_expired, "refuse") != 0 && strcmp(c->api.crl_expired, "warn") != 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "listeners.api.crl_expired: must be refuse or warn");
    return crl_files != NULL ? load_crl_files(&c->api, crl_files, err) : 0;
}

static int load_listeners(lt_config_t *c, const json_t *given, listeners_t *out, lt_error_t *err)
{
    listeners_t l = {0};
    json_t *obj = json_is_object(given) ? json_copy((json_t *)given) : json_object();
    int lrc = load_module_listeners(c, obj, err);
    if (lrc == 0)
        lrc = lt_conf_read(obj, "listeners", listeners_fields, &l, err);
    json_decref(obj); /* l's members are borrowed from the copy's values, which `given` still holds */
    if (lrc != 0)
        return -1;
    if (load_api_listener(c, l.api, err) != 0)
        return -1;
    *out = l;
    if (check_bind("listeners.api", c->api.bind, err) != 0)
        return -1;
    return lt_config_load_admin(c, l.admin, err); /* its address is checked there, loopback only */
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
    c->conn = l.conn;
    return rc;
}

static int load_upstream(lt_upstream_conf_t *u, const lt_adapter_t *const *adapters, const char *name,
                         const json_t *obj, lt_error_t *err)
{
    char path[256];
    snprintf(path, sizeof(path), "upstreams.%s", name);
    u->name = name;
    u->adapter = lt_adapter_table_find(adapters, name);
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

/* Only the configured upstreams' routes count: they are what the router serves. */
static int check_routes(const lt_config_t *c, lt_error_t *err)
{
    const lt_adapter_t **configured = calloc(c->nupstreams + 1, sizeof(*configured));
    for (size_t i = 0; i < c->nupstreams; i++)
        configured[i] = c->upstreams[i].adapter;
    lt_error_t why;
    lt_error_clear(&why);
    int rc = lt_adapter_routes_check(configured, c->nupstreams, &why);
    free(configured);
    return rc == 0 ? 0 : lt_error_set(err, LT_ERR_INTERNAL, "config", "upstreams: %s", why.detail);
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
        if (load_upstream(u, c->adapters, strdup(key), v, err) != 0)
            return -1;
    }
    return check_routes(c, err);
}

/* ---- cache ---------------------------------------------------------------- */

typedef struct {
    char *backend;
    long long max_bytes, shards, ttl_s, not_found_ttl_s, max_stale_s;
    const json_t *operations, *keys, *redis;
} cache_t;

#define TTL_MAX (30LL * 86400)

static const lt_conf_field_t cache_fields[] = {
    {LT_CONF_FIELD(cache_t, backend, LT_CONF_STRING, false), .default_str = "memory"},
    {LT_CONF_FIELD(cache_t, max_bytes, LT_CONF_INT, false), .min = 4096, .max = 1LL << 40, .default_int = 64 << 20},
    {LT_CONF_FIELD(cache_t, shards, LT_CONF_INT, false), .min = 1, .max = 256, .default_int = 16},
    {LT_CONF_FIELD(cache_t, ttl_s, LT_CONF_INT, false), .min = 0, .max = TTL_MAX, .default_int = 300},
    {LT_CONF_FIELD(cache_t, not_found_ttl_s, LT_CONF_INT, false), .min = 0, .max = TTL_MAX, .default_int = 30},
    {LT_CONF_FIELD(cache_t, max_stale_s, LT_CONF_INT, false), .min = 0, .max = TTL_MAX, .default_int = 3600},
    {LT_CONF_FIELD(cache_t, operations, LT_CONF_OBJECT, false)},
    {LT_CONF_FIELD(cache_t, keys, LT_CONF_OBJECT, false)},
    {LT_CONF_FIELD(cache_t, redis, LT_CONF_OBJECT, false)},
    LT_CONF_END,
};

/* -1: inherit the section's value. */
static const lt_conf_field_t cache_op_fields[] = {
    {LT_CONF_FIELD(lt_cache_ttls_t, ttl_s, LT_CONF_INT, false), .min = 0, .max = TTL_MAX, .default_int = -1},
    {LT_CONF_FIELD(lt_cache_ttls_t, not_found_ttl_s, LT_CONF_INT, false), .min = 0, .max = TTL_MAX, .default_int = -1},
    {LT_CONF_FIELD(lt_cache_ttls_t, max_stale_s, LT_CONF_INT, false), .min = 0, .max = TTL_MAX, .default_int = -1},
    LT_CONF_END,
};

typedef struct {
    char *hmac;
    long long encrypt_with;
} cache_keys_t;

static const lt_conf_field_t cache_keys_fields[] = {
    {LT_CONF_FIELD(cache_keys_t, hmac, LT_CONF_FILE, false)},
    {LT_CONF_FIELD(cache_keys_t, encrypt_with, LT_CONF_INT, false), .min = 0, .max = 255, .default_int = 0},
    LT_CONF_END,
};

typedef struct {
    long long id;
    char *file;
} cache_aead_t;

static const lt_conf_field_t cache_aead_fields[] = {
    {LT_CONF_FIELD(cache_aead_t, id, LT_CONF_INT, true), .min = 1, .max = 255},
    {LT_CONF_FIELD(cache_aead_t, file, LT_CONF_FILE, true)},
    LT_CONF_END,
};

typedef struct {
    lt_redis_conf_t conn;
    char *prefix;
    long long l1_max_bytes, l1_ttl_s;
} cache_redis_t;

static const lt_conf_field_t cache_redis_fields[] = {
    /* A lookup waits for Redis at most timeout_ms, then goes to the national system as on a miss. */
    LT_REDIS_CONF_FIELDS(cache_redis_t, conn, LT_REDIS_LIMITS(1, 10000, 50), LT_REDIS_LIMITS(1, 60000, 500),
                         LT_REDIS_LIMITS(1, 600000, 5000)),
    {LT_CONF_FIELD(cache_redis_t, prefix, LT_CONF_STRING, false), .default_str = "lt:"},
    {LT_CONF_FIELD(cache_redis_t, l1_max_bytes, LT_CONF_INT, false), .min = 0, .max = 1LL << 40, .default_int = 0},
    {LT_CONF_FIELD(cache_redis_t, l1_ttl_s, LT_CONF_INT, false), .min = 1, .max = 3600, .default_int = 5},
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

static int load_cache_op(lt_cache_conf_t *cc, const lt_adapter_t *const *adapters, const char *system,
                         const char *opname, const json_t *obj, lt_error_t *err)
{
    char path[300];
    snprintf(path, sizeof(path), "cache.operations.%s.%s", system, opname);
    const lt_adapter_t *a = lt_adapter_table_find(adapters, system);
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

static int load_cache_ops(lt_cache_conf_t *cc, const lt_adapter_t *const *adapters, const json_t *obj, lt_error_t *err)
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
            if (load_cache_op(cc, adapters, system, opname, v, err) != 0)
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
    lt_conf_note("cache.keys", "aead", LT_CONF_ARRAY);
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
    cc->redis.conn = r.conn;
    cc->redis.prefix = r.prefix;
    cc->redis.l1_max_bytes = r.l1_max_bytes;
    cc->redis.l1_ttl_s = r.l1_ttl_s;
    /* A lost cache entry costs one upstream call: the cache never waits for replicas. */
    if (rc == 0 && cc->redis.conn.wait_replicas > 0)
        return cache_fail(err, "cache.redis.wait_replicas: the cache never waits for replicas; leave it out");
    if (rc == 0)
        cc->redis.conn.wait_replicas = 0;
    if (rc == 0 && lt_config_check_redis(&cc->redis.conn, "cache.redis", err) != 0)
        return -1;
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
    if (raw.operations != NULL && load_cache_ops(cc, c->adapters, raw.operations, err) != 0)
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

/* Each module's section, taken out of `root` so that what remains is read by the core's table. */
static int load_module_sections(lt_config_t *c, json_t *root, lt_error_t *err)
{
    for (size_t m = 0; m < c->nmodules; m++) {
        const lt_module_t *mod = c->modules[m];
        if (mod->section == NULL) {
            c->module_on[m] = true;
            continue;
        }
        json_t *section = json_object_get(root, mod->section);
        if (section == NULL)
            continue;
        if (!json_is_object(section))
            return config_fail(err, "%s: must be an object (%s)", mod->section, mod->name);
        c->module_on[m] = true;
        int rc = mod->conf_load(section, mod->section, c, &c->module_conf[m], err);
        json_object_del(root, mod->section);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* The instance's name in logs and on the status page: the host's name unless the configuration gives one. */
static char *default_instance(void)
{
    char host[256];
    if (gethostname(host, sizeof(host)) != 0)
        return strdup("lienthong");
    host[sizeof(host) - 1] = '\0';
    return strdup(host);
}

lt_config_t *lt_config_load(const char *path, const lt_adapter_t *const *adapters, const lt_module_t *const *modules,
                            lt_error_t *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "config", "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    lt_config_t *c = calloc(1, sizeof(*c));
    c->path = strdup(path);
    c->adapters = adapters;
    char *dir_copy = strdup(path);
    lt_conf_set_base_dir(dirname(dir_copy));
    free(dir_copy);

    while (modules != NULL && modules[c->nmodules] != NULL)
        c->nmodules++;
    c->modules = modules;
    c->module_conf = calloc(c->nmodules + 1, sizeof(void *));
    c->module_on = calloc(c->nmodules + 1, sizeof(bool));

    root_t r = {0};
    listeners_t listeners = {0};
    int rc = load_module_sections(c, root, err);
    if (rc == 0)
        rc = lt_conf_read(root, "", root_fields, &r, err);
    c->workers = r.workers;
    c->log_level = r.log_level;
    c->log_format = r.log_format;
    c->instance = r.instance != NULL ? r.instance : default_instance();
    c->time_zone = r.time_zone;
    if (rc == 0 && lt_date_parse_zone(c->time_zone, &c->time_zone_offset_s) != 0)
        rc = lt_error_set(err, LT_ERR_INTERNAL, "config", "time_zone: '%s' must be an offset such as +07:00 or Z",
                          c->time_zone);
    lt_log_format_t format;
    if (rc == 0 && lt_log_parse_format(c->log_format, &format) != 0)
        rc = lt_error_set(err, LT_ERR_INTERNAL, "config", "log_format: must be json or text");
    if (rc == 0)
        rc = load_listeners(c, r.listeners, &listeners, err);
    if (rc == 0)
        rc = load_limits(c, r.limits, err);
    if (rc == 0)
        rc = load_upstreams(c, r.upstreams, err);
    if (rc == 0)
        rc = load_cache(c, r.cache, err);
    if (rc == 0)
        rc = lt_config_load_clients(c, r.clients, err);
    if (rc == 0)
        rc = lt_config_load_audit(c, r.audit, err);
    if (rc == 0)
        rc = lt_config_load_ratelimit(&c->ratelimit, r.rate_limits, err);
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
    lt_config_free_redis(&cc->redis.conn);
    free(cc->redis.prefix);
}

static void free_listener(lt_listener_conf_t *l)
{
    free(l->bind);
    free(l->cert);
    free(l->key);
    free(l->client_ca);
    for (size_t i = 0; i < l->ncrl_files; i++)
        free(l->crl_files[i]);
    free(l->crl_files);
    free(l->crl_expired);
    free(l->ticket_key_file);
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
    lt_config_free_admin(c);
    for (size_t i = 0; i < c->nlisteners; i++) {
        free(c->listeners[i].name);
        free_listener(&c->listeners[i].conf);
    }
    free(c->listeners);
    for (size_t m = 0; m < c->nmodules; m++)
        if (c->module_conf[m] != NULL && c->modules[m]->conf_free != NULL)
            c->modules[m]->conf_free(c->module_conf[m]);
    free(c->module_conf);
    free(c->module_on);
    lt_config_free_clients(c);
    lt_config_free_audit(c);
    lt_config_free_ratelimit(&c->ratelimit);
    free(c->log_level);
    free(c->log_format);
    free(c->instance);
    free(c->time_zone);
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

static size_t module_index(const lt_config_t *config, const lt_module_t *module)
{
    for (size_t m = 0; m < config->nmodules; m++)
        if (config->modules[m] == module)
            return m;
    return config->nmodules;
}

const void *lt_config_module_conf(const lt_config_t *config, const lt_module_t *module)
{
    size_t m = module_index(config, module);
    return m < config->nmodules ? config->module_conf[m] : NULL;
}

bool lt_config_module_on(const lt_config_t *config, const lt_module_t *module)
{
    size_t m = module_index(config, module);
    return m < config->nmodules && config->module_on[m];
}

const lt_module_listener_conf_t *lt_config_listener(const lt_config_t *config, const char *name)
{
    for (size_t i = 0; i < config->nlisteners; i++)
        if (strcmp(config->listeners[i].name, name) == 0)
            return &config->listeners[i];
    return NULL;
}
