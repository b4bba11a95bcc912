/* Admin endpoints: /healthz, /readyz, /metrics, /status(.json), POST /cache/purge, /reload, /drain, /undrain,
 * modules' own. */
#include "lt_admin.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <event2/listener.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include "lt_certs.h"
#include "lt_crl.h"
#include "lt_clock.h"
#include "lt_config.h"
#include "lt_log.h"
#include "lt_metrics.h"
#include "lt_module.h"
#include "lt_probes.h"
#include "lt_redis.h"
#include "lt_server.h"
#include "lt_status.h"

#define STATUS_REFRESH_S 10

#define PURGE_BODY_MAX 4096

/* An operator's tool sends a handful of short headers: the limits are far above that and far below the api's. */
#define ADMIN_HEADERS_BYTES 8192
#define ADMIN_HEADERS_MAX   64
#define ADMIN_BODY_MAX      8192
#define ADMIN_TIMEOUT_S     10
#define ADMIN_REALM         "Bearer realm=\"lienthong-admin\""

/* Host names answered to: the bind as written, localhost, 127.0.0.1, [::1] (each with the port), the extras. */
#define ADMIN_HOSTS_MAX 64

typedef struct purge_op purge_op_t;
typedef struct lt_admin_route lt_admin_route_t;
typedef void (*admin_handler_t)(lt_admin_t *admin, struct evhttp_request *req);

/* One path's handler behind the door (admit): evhttp hands each registered path its own entry. */
struct lt_admin_route {
    lt_admin_t *admin;
    admin_handler_t handle;
};

struct lt_admin {
    lt_admin_deps_t deps;
    struct evhttp *http;
    purge_op_t *purges; /* in flight, cancelled when the admin listener goes */
    lt_status_t *status;
    lt_admin_route_t routes[10], other;
    char *hosts[ADMIN_HOSTS_MAX];
    size_t nhosts;
    bool have_token; /* false without listeners.admin.token_file: every change is refused */
    unsigned char token_digest[LT_ADMIN_TOKEN_DIGEST_LEN];
};

/* One purge request: its HTTP request may go away (client hang-up) before the shared store answers. */
struct purge_op {
    purge_op_t *prev, *next;
    lt_admin_t *admin;
    struct evhttp_request *req; /* NULL once the client left */
    struct evhttp_connection *evcon;
    lt_cache_purge_t *purge;
    char masked[64], system[64], peer[64]; /* for the log line that says what it removed, for whom */
};

static void reply_json(struct evhttp_request *req, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, text, strlen(text));
    evbuffer_add(buf, "\n", 1);
    free(text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    evhttp_send_reply(req, status, NULL, buf);
    evbuffer_free(buf);
}

static void reply_problem(struct evhttp_request *req, int status, const char *code, const char *title,
                          const char *detail)
{
    json_t *p = json_pack("{s:s, s:s, s:i, s:s}", "type", "", "title", title, "status", status, "detail", detail);
    json_object_set_new(p, "type", json_sprintf("urn:lienthong:problem:%s", code));
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add_printf(buf, "%s\n", text);
    free(text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/problem+json");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    evhttp_send_reply(req, status, title, buf);
    evbuffer_free(buf);
}

/* ---- the door: every request's Host, every change's token ------------------------------------------- */

/* Who asks, "127.0.0.1:53412" or "[::1]:53412", for the log lines of changes and refusals. */
static void peer_of(struct evhttp_request *req, char *out, size_t cap)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    char *host = NULL;
    ev_uint16_t port = 0;
    if (evcon != NULL)
        evhttp_connection_get_peer(evcon, &host, &port);
    bool v6 = host != NULL && strchr(host, ':') != NULL;
    snprintf(out, cap, "%s%s%s:%u", v6 ? "[" : "", host ? host : "?", v6 ? "]" : "", (unsigned)port);
}

/* The request's path for a log line: printable ASCII only, and short. */
static void path_of(struct evhttp_request *req, char *out, size_t cap)
{
    const char *p = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    size_t n = 0;
    for (; p != NULL && *p != '\0' && n + 1 < cap; p++)
        out[n++] = (*p > 0x20 && *p < 0x7f) ? *p : '?';
    out[n] = '\0';
}

static const char *method_of(struct evhttp_request *req)
{
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_POST:
        return "POST";
    default:
        return "?";
    }
}

/* A refusal at the door, logged with who was refused and why (a refused change is worth an operator's look). */
static void refuse(struct evhttp_request *req, int status, const char *code, const char *title, const char *detail)
{
    char peer[64], path[128];
    peer_of(req, peer, sizeof(peer));
    path_of(req, path, sizeof(path));
    lt_log_warn("admin: refused %s %s from %s: %d %s", method_of(req), path, peer, status, code);
    reply_problem(req, status, code, title, detail);
}

static size_t count_headers(struct evkeyvalq *headers, const char *name)
{
    size_t n = 0;
    for (const struct evkeyval *h = headers->tqh_first; h != NULL; h = h->next.tqe_next)
        if (name == NULL || strcasecmp(h->key, name) == 0)
            n++;
    return n;
}

static bool host_is_ours(const lt_admin_t *admin, const char *host)
{
    for (size_t i = 0; i < admin->nhosts; i++)
        if (strcasecmp(host, admin->hosts[i]) == 0)
            return true;
    return false;
}

/*
 * A web page can make the operator's browser send requests here under a DNS name of its own that it points at
 * 127.0.0.1 (DNS rebinding), and then read the answers as its own origin. The browser still names that DNS name in
 * Host: so only this listener's own names are answered (421 Misdirected Request otherwise).
 */
static bool admit_host(const lt_admin_t *admin, struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    size_t n = count_headers(in, "Host");
    const char *host = evhttp_find_header(in, "Host");
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    if (n > 1 || (n == 0 && req->major == 1 && req->minor >= 1)) {
        refuse(req, 400, "missing_host", "Bad Request",
               n > 1 ? "a request has one Host header" : "an HTTP/1.1 request needs a Host header");
        return false;
    }
    if (host != NULL && !host_is_ours(admin, host)) {
        refuse(req, 421, "misdirected_request", "Misdirected Request",
               "this admin listener does not answer to that Host (see listeners.admin.hosts)");
        return false;
    }
    /* An absolute request-target ("GET http://name/ HTTP/1.1") names the host too, and wins over Host. */
    const char *target = uri != NULL ? evhttp_uri_get_host(uri) : NULL;
    if (target != NULL) {
        char authority[300];
        int port = evhttp_uri_get_port(uri);
        bool v6 = strchr(target, ':') != NULL && target[0] != '[';
        snprintf(authority, sizeof(authority), "%s%s%s:%d", v6 ? "[" : "", target, v6 ? "]" : "", port < 0 ? 80 : port);
        if (!host_is_ours(admin, authority)) {
            refuse(req, 421, "misdirected_request", "Misdirected Request",
                   "this admin listener does not answer to that host (see listeners.admin.hosts)");
            return false;
        }
    }
    return true;
}

/* "Bearer <token>", the scheme in any case (RFC 9110, 11.1): the token, or NULL. */
static const char *bearer_token(const char *authorization, size_t *len)
{
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    const char *t = authorization + 7;
    while (*t == ' ')
        t++;
    size_t n = strlen(t);
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    *len = n;
    return n > 0 ? t : NULL;
}

/* Every change presents the token of listeners.admin.token_file (401 otherwise, with WWW-Authenticate: Bearer). */
static bool admit_change_token(const lt_admin_t *admin, struct evhttp_request *req)
{
    if (!admin->have_token) {
        refuse(req, 403, "admin_changes_disabled", "Forbidden",
               "admin changes are off: the configuration names no listeners.admin.token_file");
        return false;
    }
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    size_t len = 0;
    const char *token =
        count_headers(in, "Authorization") == 1 ? bearer_token(evhttp_find_header(in, "Authorization"), &len) : NULL;
    unsigned char digest[LT_ADMIN_TOKEN_DIGEST_LEN];
    if (token != NULL) {
        /* Digests of equal length whatever was sent: the comparison says nothing of the token's length either. */
        lt_admin_token_digest(token, len, digest);
        if (CRYPTO_memcmp(digest, admin->token_digest, sizeof(digest)) == 0)
            return true;
    }
    bool sent = evhttp_find_header(in, "Authorization") != NULL;
    evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                      sent ? ADMIN_REALM ", error=\"invalid_token\"" : ADMIN_REALM);
    refuse(req, 401, sent ? "admin_token_invalid" : "admin_token_required", "Unauthorized",
           sent ? "the bearer token is not this gateway's admin token"
                : "admin changes need Authorization: Bearer <the token of listeners.admin.token_file>");
    return false;
}

/*
 * Every request: bounded headers, one of our Host names. Every change (anything but GET and HEAD) also: the admin
 * token. Reads stay open to the box's own users (monitoring agents, health checks); they carry no personal data.
 */
static bool admit(const lt_admin_t *admin, struct evhttp_request *req)
{
    if (count_headers(evhttp_request_get_input_headers(req), NULL) > ADMIN_HEADERS_MAX) {
        refuse(req, 431, "too_many_headers", "Request Header Fields Too Large",
               "an admin request has at most 64 header fields");
        return false;
    }
    if (!admit_host(admin, req))
        return false;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    return cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD || admit_change_token(admin, req);
}

static void on_route(struct evhttp_request *req, void *arg)
{
    lt_admin_route_t *route = arg;
    if (admit(route->admin, req))
        route->handle(route->admin, req);
}

/* 200 while the process runs: a liveness probe must not depend on upstreams. */
static void on_healthz(lt_admin_t *admin, struct evhttp_request *req)
{
    (void)admin;
    reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

/* A degraded cache (Redis down) is reported, not a reason to refuse traffic: lookups still reach the national
 * systems, only without the shared copies. */
static void on_readyz(lt_admin_t *admin, struct evhttp_request *req)
{
    json_t *reasons = json_array();
    bool ready = admin->deps.is_ready(admin->deps.arg, reasons);
    json_t *body = json_pack("{s:s, s:o}", "status", ready ? "ready" : "not_ready", "reasons", reasons);
    if (admin->deps.cache != NULL)
        json_object_set_new(body, "cache", lt_cache_status(admin->deps.cache));
    reply_json(req, ready ? 200 : 503, body);
}

/* ---- GET /metrics: Prometheus text exposition 0.0.4 (docs/operations.md, "Metrics") ---------- */

/* name{upstream="..."<extra>} value: extra is already rendered (",reason=\"x\"") or "". */
static void upstream_sample(lt_buf_t *b, const char *name, const lt_upstream_state_t *st, const char *extra,
                            unsigned long long value)
{
    lt_buf_printf(b, "%s{upstream=\"", name);
    lt_mbuf_label_value(b, st->conf->name);
    lt_buf_printf(b, "\"%s} %llu\n", extra, value);
}

/* One upstream's histogram, labelled with its name. */
static void upstream_histogram(lt_buf_t *b, const char *name, const lt_upstream_state_t *st, const lt_histogram_t *h)
{
    lt_buf_t labels = {0};
    lt_buf_printf(&labels, "upstream=\"");
    lt_mbuf_label_value(&labels, st->conf->name);
    lt_buf_printf(&labels, "\"");
    lt_mbuf_histogram(b, name, labels.data, h);
    lt_buf_free(&labels);
}

static void render_upstreams(lt_buf_t *b, lt_upstream_state_t *states, size_t n)
{
    struct {
        const char *name, *help;
        size_t offset;
    } counters[] = {
        {"lienthong_upstream_calls_total", "Calls started towards the national system (admitted or refused).",
         offsetof(lt_upstream_state_t, calls)},
        {"lienthong_upstream_attempts_total",
         "Requests sent to the national system, retries and token fetches included.",
         offsetof(lt_upstream_state_t, attempts)},
        {"lienthong_upstream_retries_total", "Attempts repeated after a retryable failure.",
         offsetof(lt_upstream_state_t, retries)},
    };
    for (size_t c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
        lt_mbuf_family(b, counters[c].name, "counter", counters[c].help);
        for (size_t i = 0; i < n; i++)
            upstream_sample(b, counters[c].name, &states[i], "",
                            atomic_load((_Atomic uint64_t *)((char *)&states[i] + counters[c].offset)));
    }
    lt_mbuf_family(b, "lienthong_upstream_refused_total", "counter",
                   "Calls refused at once without reaching the national system, by reason.");
    for (size_t i = 0; i < n; i++) {
        upstream_sample(b, "lienthong_upstream_refused_total", &states[i], ",reason=\"circuit_open\"",
                        atomic_load(&states[i].refused_open));
        upstream_sample(b, "lienthong_upstream_refused_total", &states[i], ",reason=\"too_many_inflight\"",
                        atomic_load(&states[i].refused_busy));
    }
    lt_mbuf_family(b, "lienthong_upstream_outcomes_total", "counter",
                   "Attempts that reached an end, by how they ended.");
    for (size_t i = 0; i < n; i++)
        for (int o = 0; o < LT_OUTCOME_COUNT; o++) {
            char extra[64];
            snprintf(extra, sizeof(extra), ",outcome=\"%s\"", lt_outcome_name((lt_outcome_t)o));
            upstream_sample(b, "lienthong_upstream_outcomes_total", &states[i], extra,
                            atomic_load(&states[i].outcomes[o]));
        }
    lt_mbuf_family(b, "lienthong_upstream_inflight", "gauge", "Calls to the national system in progress now.");
    for (size_t i = 0; i < n; i++) {
        int v = atomic_load(&states[i].inflight);
        upstream_sample(b, "lienthong_upstream_inflight", &states[i], "", (unsigned long long)(v > 0 ? v : 0));
    }
    lt_mbuf_family(b, "lienthong_upstream_circuit_state", "gauge",
                   "The circuit breaker's state: 1 for the current state, 0 for the others.");
    static const lt_breaker_state_t all[] = {LT_BREAKER_CLOSED, LT_BREAKER_OPEN, LT_BREAKER_HALF_OPEN};
    for (size_t i = 0; i < n; i++) {
        int64_t since;
        lt_breaker_state_t now = lt_breaker_state(&states[i].breaker, &since);
        for (size_t k = 0; k < 3; k++) {
            char extra[64];
            snprintf(extra, sizeof(extra), ",state=\"%s\"", lt_breaker_state_name(all[k]));
            upstream_sample(b, "lienthong_upstream_circuit_state", &states[i], extra, all[k] == now);
        }
    }
    lt_mbuf_family(b, "lienthong_upstream_duration_seconds", "histogram",
                   "Time of each attempt at the national system, from send to answer or failure.");
    for (size_t i = 0; i < n; i++)
        upstream_histogram(b, "lienthong_upstream_duration_seconds", &states[i], &states[i].attempt_seconds);
    lt_mbuf_family(b, "lienthong_upstream_token_remaining_seconds", "gauge",
                   "Remaining life of the bearer token held for the national system (0 when none).");
    int64_t now_ms = lt_clock_ms();
    for (size_t i = 0; i < n; i++) {
        if (states[i].conf->adapter == NULL || states[i].conf->adapter->token_build == NULL)
            continue;
        int64_t left = lt_token_remaining_ms(&states[i].token, now_ms);
        lt_buf_printf(b, "lienthong_upstream_token_remaining_seconds{upstream=\"");
        lt_mbuf_label_value(b, states[i].conf->name);
        lt_buf_printf(b, "\"} %.3f\n", left > 0 ? (double)left / 1e3 : 0.0);
    }
}

static void render_cache(lt_buf_t *b, lt_cache_t *cache)
{
    json_t *st = cache != NULL ? lt_cache_status(cache) : json_pack("{s:s, s:s}", "backend", "off", "state", "off");
    static const char *const results[][2] = {
        {"hit", "hits"}, {"miss", "misses"}, {"stale", "stale"}, {"bypass", "bypass"}};
    lt_mbuf_family(b, "lienthong_cache_requests_total", "counter",
                   "Cache lookups by result (hit, miss, stale, bypass), every national system together.");
    for (size_t i = 0; i < 4; i++)
        lt_buf_printf(b, "lienthong_cache_requests_total{result=\"%s\"} %lld\n", results[i][0],
                      (long long)json_integer_value(json_object_get(st, results[i][1])));
    const char *state = json_string_value(json_object_get(st, "state"));
    const char *backend = json_string_value(json_object_get(st, "backend"));
    lt_mbuf_family(b, "lienthong_cache_state", "gauge",
                   "The cache's state: 1 for the current one of ok, degraded (Redis connections down) and off.");
    static const char *const states[] = {"ok", "degraded", "off"};
    for (size_t i = 0; i < 3; i++) {
        lt_buf_printf(b, "lienthong_cache_state{backend=\"");
        lt_mbuf_label_value(b, backend ? backend : "off");
        lt_buf_printf(b, "\",state=\"%s\"} %d\n", states[i], state != NULL && strcmp(state, states[i]) == 0);
    }
    lt_mbuf_family(b, "lienthong_cache_backend_up", "gauge",
                   "1 when the cache backend is usable (memory, or every Redis connection up), 0 otherwise.");
    lt_buf_printf(b, "lienthong_cache_backend_up %d\n", state != NULL && strcmp(state, "ok") == 0);
    lt_redis_stats_metrics(b, "lienthong_cache_redis", "the cache's", json_object_get(st, "redis"));
    json_decref(st);
}

/* Probe traffic, apart from citizens' traffic, and the health the probes conclude. */
static void render_probes(lt_buf_t *b, lt_upstream_state_t *states, size_t n, const lt_probes_t *probes)
{
    lt_mbuf_family(b, "lienthong_probe_attempts_total", "counter",
                   "Probe requests sent to the national system (never counted as citizens' traffic).");
    for (size_t i = 0; i < n; i++)
        upstream_sample(b, "lienthong_probe_attempts_total", &states[i], "", atomic_load(&states[i].probe_attempts));
    lt_mbuf_family(b, "lienthong_probe_outcomes_total", "counter", "Probe attempts that reached an end, by how.");
    for (size_t i = 0; i < n; i++)
        for (int o = 0; o < LT_OUTCOME_COUNT; o++) {
            char extra[64];
            snprintf(extra, sizeof(extra), ",outcome=\"%s\"", lt_outcome_name((lt_outcome_t)o));
            upstream_sample(b, "lienthong_probe_outcomes_total", &states[i], extra,
                            atomic_load(&states[i].probe_outcomes[o]));
        }
    lt_mbuf_family(b, "lienthong_probe_duration_seconds", "histogram", "Time of each probe attempt.");
    for (size_t i = 0; i < n; i++)
        upstream_histogram(b, "lienthong_probe_duration_seconds", &states[i], &states[i].probe_seconds);
    lt_mbuf_family(b, "lienthong_upstream_health", "gauge",
                   "The probes' verdict: 1 for the current one of unknown, up, degraded and down.");
    for (size_t i = 0; i < n; i++) {
        const lt_health_t *h = lt_probes_health(probes, i);
        if (h == NULL)
            continue;
        for (int k = LT_HEALTH_UNKNOWN; k <= LT_HEALTH_DOWN; k++) {
            char extra[64];
            snprintf(extra, sizeof(extra), ",state=\"%s\"", lt_health_state_name((lt_health_state_t)k));
            upstream_sample(b, "lienthong_upstream_health", &states[i], extra, h->state == (lt_health_state_t)k);
        }
    }
}

/* A certificate sample's name and labels, up to its value. */
static void cert_sample(lt_buf_t *b, const char *name, const lt_cert_info_t *c)
{
    lt_buf_printf(b, "%s{role=\"", name);
    lt_mbuf_label_value(b, c->role);
    lt_buf_printf(b, "\",owner=\"");
    lt_mbuf_label_value(b, c->owner);
    lt_buf_printf(b, "\",subject=\"");
    lt_mbuf_label_value(b, c->subject);
    lt_buf_printf(b, "\"}");
}

static void render_certificates(lt_buf_t *b)
{
    lt_cert_info_t certs[LT_CERTS_MAX];
    size_t n = lt_certs_snapshot(certs, LT_CERTS_MAX);
    int64_t now = (int64_t)time(NULL);
    lt_mbuf_family(b, "lienthong_certificate_expiry_seconds", "gauge",
                   "Seconds until a certificate expires (negative once expired): the ones the gateway holds, and "
                   "each national system's server certificate as its last new connection showed it.");
    for (size_t i = 0; i < n; i++) {
        cert_sample(b, "lienthong_certificate_expiry_seconds", &certs[i]);
        lt_buf_printf(b, " %lld\n", (long long)(certs[i].not_after - now));
    }
    lt_mbuf_family(b, "lienthong_certificate_expiry_timestamp_seconds", "gauge",
                   "When a certificate expires (its notAfter), as a Unix time: alert on it minus time().");
    for (size_t i = 0; i < n; i++) {
        cert_sample(b, "lienthong_certificate_expiry_timestamp_seconds", &certs[i]);
        lt_buf_printf(b, " %lld\n", (long long)certs[i].not_after);
    }
    lt_mbuf_family(b, "lienthong_certificate_verified", "gauge",
                   "1 when a certificate verified (always, for those the gateway holds), 0 when a national system's "
                   "server certificate failed verification at its last new connection.");
    for (size_t i = 0; i < n; i++) {
        cert_sample(b, "lienthong_certificate_verified", &certs[i]);
        lt_buf_printf(b, " %d\n", certs[i].verify_error[0] == '\0');
    }
}

/* Each module that is on renders its own families. */
static void render_modules(lt_buf_t *b, const lt_admin_deps_t *d)
{
    const lt_config_t *c = d->config;
    for (size_t m = 0; c != NULL && m < c->nmodules; m++)
        if (d->module_state[m] != NULL && c->modules[m]->metrics != NULL)
            c->modules[m]->metrics(d->module_state[m], b);
}

/* Reads only atomics and short mutex-held snapshots: never blocks the main loop. */
static void on_metrics(lt_admin_t *admin, struct evhttp_request *req)
{
    lt_buf_t b = {0};
    lt_mbuf_family(&b, "lienthong_build_info", "gauge", "Always 1; the version label says which build runs.");
    lt_buf_printf(&b, "lienthong_build_info{version=\"");
    lt_mbuf_label_value(&b, LT_VERSION);
    lt_buf_printf(&b, "\"} 1\n");
    lt_metrics_render_requests(&b);
    if (admin->deps.states != NULL) {
        render_upstreams(&b, admin->deps.states, admin->deps.nstates);
        render_probes(&b, admin->deps.states, admin->deps.nstates, admin->deps.probes);
    }
    render_cache(&b, admin->deps.cache);
    lt_audit_metrics(admin->deps.audit, &b);
    lt_ratelimit_metrics(admin->deps.ratelimit, &b);
    lt_metrics_render_listeners(&b);
    render_certificates(&b);
    lt_crl_render_metrics(&b, (int64_t)time(NULL));
    render_modules(&b, &admin->deps);
    if (admin->deps.process != NULL)
        lt_process_metrics(admin->deps.process, &b);
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, b.data, b.len);
    lt_buf_free(&b);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, 200, NULL, buf);
    evbuffer_free(buf);
}

/* ---- POST /cache/purge {"identifier", "system"?} ------------------------------------------- */

static void purge_unlink(purge_op_t *op)
{
    if (op->prev != NULL)
        op->prev->next = op->next;
    else
        op->admin->purges = op->next;
    if (op->next != NULL)
        op->next->prev = op->prev;
    if (op->evcon != NULL)
        evhttp_connection_set_closecb(op->evcon, NULL, NULL);
    free(op);
}

static void on_purged(void *arg, const lt_cache_purge_report_t *report)
{
    purge_op_t *op = arg;
    json_t *counts = json_pack("{s:I, s:I}", "memory", (json_int_t)report->memory, "redis", (json_int_t)report->redis);
    lt_log(report->failed ? LT_LOG_WARN : LT_LOG_INFO,
           "admin: purge of identifier %s (%s) for %s: %lld entr%s removed in memory, %lld in Redis%s%s", op->masked,
           op->system, op->peer, report->memory, report->memory == 1 ? "y" : "ies", report->redis,
           report->failed ? "; incomplete: " : "", report->failed ? report->detail : "");
    if (report->failed) {
        reply_json(op->req, 503, json_pack("{s:s, s:o}", "error", report->detail, "purged", counts));
    } else {
        reply_json(op->req, 200, json_pack("{s:o}", "purged", counts));
    }
    purge_unlink(op);
}

static void on_purge_client_gone(struct evhttp_connection *evcon, void *arg)
{
    purge_op_t *op = arg;
    lt_cache_purge_cancel(op->purge);
    /* As lt_request does: a request libevent detached from its connection is ours to free, which sending does. */
    if (evhttp_request_get_connection(op->req) == NULL)
        evhttp_send_reply(op->req, 500, "Client Closed", NULL);
    op->evcon = NULL;
    purge_unlink(op);
}

static json_t *read_body(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n == 0 || n > PURGE_BODY_MAX)
        return NULL;
    char buf[PURGE_BODY_MAX];
    evbuffer_copyout(in, buf, n);
    return json_loadb(buf, n, JSON_REJECT_DUPLICATES, NULL);
}

/* Identifiers are short printable strings; anything else is a mistake worth refusing loudly. */
static bool is_identifier(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 128)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

static int purge_args(const lt_config_t *config, json_t *body, const char **system, const char **identifier,
                      const char **why)
{
    *identifier = json_string_value(json_object_get(body, "identifier"));
    json_t *sys = json_object_get(body, "system");
    *system = json_string_value(sys);
    if (!json_is_object(body) || json_object_size(body) != (sys ? 2u : 1u))
        *why = "the body must be {\"identifier\": \"...\"} with an optional \"system\"";
    else if (!is_identifier(*identifier))
        *why = "identifier must be 1-128 printable characters without spaces";
    else if (sys != NULL && (*system == NULL || lt_adapter_table_find(config->adapters, *system) == NULL))
        *why = "system must name a national system this gateway knows";
    else
        return 0;
    return -1;
}

/*
 * Changes on the admin listener are asked for with Content-Type: application/json, as lienthong-ctl does. A web
 * page open in the operator's browser can send a "simple" cross-site POST (form or text/plain) to 127.0.0.1
 * without any preflight; requiring JSON forces a CORS preflight, which this listener never grants. Answers 415
 * and returns false otherwise.
 */
static bool post_comes_from_a_tool(struct evhttp_request *req)
{
    const char *ctype = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    size_t n = strlen("application/json");
    if (ctype != NULL && strncasecmp(ctype, "application/json", n) == 0 && (ctype[n] == '\0' || ctype[n] == ';'))
        return true;
    reply_json(req, 415, json_pack("{s:s}", "error", "admin changes need Content-Type: application/json"));
    return false;
}

/* An admin change: POST (405 otherwise, with Allow), sent as JSON by a tool (415 otherwise). */
static bool admit_change(struct evhttp_request *req)
{
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        reply_json(req, 405, json_pack("{s:s}", "error", "use POST"));
        return false;
    }
    return post_comes_from_a_tool(req);
}

static void on_purge(lt_admin_t *admin, struct evhttp_request *req)
{
    if (!admit_change(req))
        return;
    if (!lt_cache_enabled(admin->deps.cache)) {
        reply_json(req, 409, json_pack("{s:s}", "error", "the cache is off"));
        return;
    }
    json_t *body = read_body(req);
    const char *system, *identifier, *why = "the body must be JSON";
    if (body == NULL || purge_args(admin->deps.config, body, &system, &identifier, &why) != 0) {
        json_decref(body);
        reply_json(req, 400, json_pack("{s:s}", "error", why));
        return;
    }
    purge_op_t *op = calloc(1, sizeof(*op));
    lt_log_mask(identifier, op->masked, sizeof(op->masked));
    snprintf(op->system, sizeof(op->system), "%s", system ? system : "every system");
    peer_of(req, op->peer, sizeof(op->peer));
    lt_log_info("admin: purging cached entries for identifier %s (%s), asked from %s", op->masked, op->system,
                op->peer);
    op->admin = admin;
    op->req = req;
    op->evcon = evhttp_request_get_connection(req);
    op->next = admin->purges;
    if (admin->purges != NULL)
        admin->purges->prev = op;
    admin->purges = op;
    if (op->evcon != NULL)
        evhttp_connection_set_closecb(op->evcon, on_purge_client_gone, op);
    op->purge = lt_cache_purge_start(admin->deps.cache_loop, system, identifier, on_purged, op);
    json_decref(body);
}

/* ---- GET /status.json and GET /status -------------------------------------------------------- */

static void on_status_json(lt_admin_t *admin, struct evhttp_request *req)
{
    reply_json(req, 200, lt_status_build(admin->status));
}

static void on_status_page(lt_admin_t *admin, struct evhttp_request *req)
{
    json_t *doc = lt_status_build(admin->status);
    char *html = lt_status_html(doc, admin->deps.config, STATUS_REFRESH_S);
    json_decref(doc);
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, html, strlen(html));
    free(html);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-store");
    /* Self-contained by policy, and the browser is told so: nothing may load from elsewhere. */
    evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
    evhttp_send_reply(req, 200, NULL, buf);
    evbuffer_free(buf);
}

/* ---- POST /reload ---------------------------------------------------------------------------- */

static void on_reload(lt_admin_t *admin, struct evhttp_request *req)
{
    if (!admit_change(req))
        return;
    if (admin->deps.reload == NULL) {
        reply_json(req, 501, json_pack("{s:s}", "error", "this gateway cannot reload"));
        return;
    }
    char peer[64];
    peer_of(req, peer, sizeof(peer));
    json_t *report = json_object();
    int status = admin->deps.reload(admin->deps.arg, report);
    char *text = json_dumps(report, JSON_COMPACT);
    lt_log(status == 200 ? LT_LOG_INFO : LT_LOG_WARN, "admin: reload asked from %s: %d %s", peer, status, text);
    free(text);
    reply_json(req, status, report);
}

/* POST /drain and /undrain: the load balancer's health check (/readyz) turns 503 or back; nothing else changes, so
 * requests in flight, and new ones a balancer still sends, are served. */
static void set_drained(lt_admin_t *admin, struct evhttp_request *req, bool drained)
{
    if (!admit_change(req))
        return;
    if (admin->deps.process == NULL) {
        reply_json(req, 501, json_pack("{s:s}", "error", "this gateway cannot be drained"));
        return;
    }
    char peer[64];
    peer_of(req, peer, sizeof(peer));
    bool was = atomic_exchange(&admin->deps.process->drained, drained);
    lt_log_info("admin: %s asked from %s%s", drained ? "drain" : "undrain", peer,
                was == drained ? " (no change)"
                : drained      ? ": /readyz answers 503, requests are still served"
                               : ": /readyz answers as the gateway's state says");
    reply_json(req, 200, json_pack("{s:b, s:b}", "drained", drained, "changed", was != drained));
}

static void on_drain(lt_admin_t *admin, struct evhttp_request *req)
{
    set_drained(admin, req, true);
}

static void on_undrain(lt_admin_t *admin, struct evhttp_request *req)
{
    set_drained(admin, req, false);
}

/* ---- modules' admin routes and the rest ------------------------------------------------------------ */

/* The module whose admin prefix covers uri, or nmodules. */
static size_t admin_module(const lt_config_t *c, const char *uri)
{
    for (size_t m = 0; c != NULL && uri != NULL && m < c->nmodules; m++) {
        const char *prefix = c->modules[m]->admin_prefix;
        if (prefix != NULL && c->modules[m]->admin != NULL && strncmp(uri, prefix, strlen(prefix)) == 0)
            return m;
    }
    return c != NULL ? c->nmodules : 0;
}

static void on_other(lt_admin_t *admin, struct evhttp_request *req)
{
    const lt_config_t *c = admin->deps.config;
    size_t m = admin_module(c, evhttp_request_get_uri(req));
    if (c == NULL || m == c->nmodules) {
        reply_json(req, 404, json_pack("{s:s}", "error", "no such admin endpoint"));
        return;
    }
    if (evhttp_request_get_command(req) == EVHTTP_REQ_POST && !post_comes_from_a_tool(req))
        return;
    const lt_module_t *mod = c->modules[m];
    if (admin->deps.module_state[m] != NULL) {
        if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
            /* The module logs what the change did; this line says who asked for it. */
            char peer[64], path[128];
            peer_of(req, peer, sizeof(peer));
            path_of(req, path, sizeof(path));
            lt_log_info("admin: POST %s asked from %s (module %s)", path, peer, mod->name);
        }
        mod->admin(admin->deps.module_state[m], req);
        return;
    }
    char code[64], detail[160];
    snprintf(code, sizeof(code), "%s_not_configured", mod->name);
    snprintf(detail, sizeof(detail), "%s are not configured on this gateway (no %s section)", mod->name,
             mod->section ? mod->section : mod->name);
    reply_problem(req, 404, code, "Not Found", detail);
}

static void add_host(lt_admin_t *admin, const char *fmt, const char *name, unsigned port)
{
    char buf[300];
    snprintf(buf, sizeof(buf), fmt, name, port);
    if (admin->nhosts < ADMIN_HOSTS_MAX && !host_is_ours(admin, buf))
        admin->hosts[admin->nhosts++] = strdup(buf);
}

/* A configured name with a port ("name:8080", "[v6]:8080") is taken as it is; without one it gets ours. */
static bool has_port(const char *name)
{
    const char *bracket = strrchr(name, ']');
    return strchr(bracket != NULL ? bracket : name, ':') != NULL;
}

static void list_hosts(lt_admin_t *admin, const lt_admin_conf_t *conf, unsigned port)
{
    add_host(admin, "%s", admin->deps.bind, 0);
    static const char *const loopback[] = {"localhost", "127.0.0.1", "[::1]"};
    for (size_t i = 0; i < 3; i++) {
        add_host(admin, "%s:%u", loopback[i], port);
        if (port == 80) /* a browser leaves the default port out */
            add_host(admin, "%s", loopback[i], 0);
    }
    for (size_t i = 0; conf != NULL && i < conf->nhosts; i++)
        add_host(admin, has_port(conf->hosts[i]) ? "%s" : "%s:%u", conf->hosts[i], port);
}

int lt_admin_reload_token(lt_admin_t *admin, json_t *applied)
{
    const lt_admin_conf_t *conf = admin->deps.config != NULL ? &admin->deps.config->admin : NULL;
    if (conf == NULL || conf->token_file == NULL)
        return 0;
    unsigned char digest[LT_ADMIN_TOKEN_DIGEST_LEN];
    lt_error_t err;
    lt_error_clear(&err);
    if (lt_admin_token_file_digest(conf->token_file, digest, &err) != 0) {
        lt_log_warn("admin: keeping the admin token in force: %s", err.detail);
        return -1;
    }
    if (CRYPTO_memcmp(digest, admin->token_digest, sizeof(digest)) != 0) {
        memcpy(admin->token_digest, digest, sizeof(digest));
        lt_log_info("admin: a new admin token from %s is in force", conf->token_file);
        if (applied != NULL)
            json_array_append_new(applied, json_string("listeners.admin.token_file (a new token)"));
    }
    OPENSSL_cleanse(digest, sizeof(digest));
    return 0;
}

static int load_token(lt_admin_t *admin, lt_error_t *err)
{
    const lt_admin_conf_t *conf = admin->deps.config != NULL ? &admin->deps.config->admin : NULL;
    if (conf == NULL || conf->token_file == NULL) {
        lt_log_warn("admin: no listeners.admin.token_file: admin changes (purge, reload, module changes) are refused");
        return 0;
    }
    if (lt_admin_token_file_digest(conf->token_file, admin->token_digest, err) != 0)
        return -1;
    admin->have_token = true;
    return 0;
}

static void route(lt_admin_t *admin, size_t i, const char *path, admin_handler_t handle)
{
    admin->routes[i] = (lt_admin_route_t){.admin = admin, .handle = handle};
    evhttp_set_cb(admin->http, path, on_route, &admin->routes[i]);
}

lt_admin_t *lt_admin_new(const lt_admin_deps_t *deps, lt_error_t *err)
{
    struct sockaddr_storage ss;
    int sslen;
    if (lt_parse_bind(deps->bind, &ss, &sslen, err) != 0)
        return NULL;
    lt_admin_t *admin = calloc(1, sizeof(*admin));
    admin->deps = *deps;
    unsigned port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    list_hosts(admin, deps->config != NULL ? &deps->config->admin : NULL, port);
    if (load_token(admin, err) != 0) {
        lt_admin_free(admin);
        return NULL;
    }
    admin->http = evhttp_new(deps->base);
    evhttp_set_allowed_methods(admin->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
    evhttp_set_max_headers_size(admin->http, ADMIN_HEADERS_BYTES);
    evhttp_set_max_body_size(admin->http, ADMIN_BODY_MAX);
    evhttp_set_timeout(admin->http, ADMIN_TIMEOUT_S);
    route(admin, 0, "/healthz", on_healthz);
    route(admin, 1, "/readyz", on_readyz);
    route(admin, 2, "/metrics", on_metrics);
    route(admin, 3, "/cache/purge", on_purge);
    route(admin, 4, "/status.json", on_status_json);
    route(admin, 5, "/status", on_status_page);
    route(admin, 6, "/reload", on_reload);
    route(admin, 7, "/drain", on_drain);
    route(admin, 8, "/undrain", on_undrain);
    lt_status_deps_t sd = {.base = deps->base,
                           .states = deps->states,
                           .nstates = deps->states != NULL ? deps->nstates : 0,
                           .probes = deps->probes,
                           .cache = deps->cache,
                           .audit = deps->audit,
                           .ratelimit = deps->ratelimit,
                           .is_ready = deps->is_ready,
                           .arg = deps->arg,
                           .config = deps->config,
                           .module_state = deps->module_state,
                           .process = deps->process};
    admin->status = lt_status_new(&sd);
    admin->other = (lt_admin_route_t){.admin = admin, .handle = on_other};
    evhttp_set_gencb(admin->http, on_route, &admin->other);
    /* Bound here rather than by evhttp_bind_socket, so that a failure carries the system's reason. */
    unsigned flags = LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC;
    struct evconnlistener *l =
        evconnlistener_new_bind(deps->base, NULL, NULL, flags, 128, (struct sockaddr *)&ss, sslen);
    if (l == NULL || evhttp_bind_listener(admin->http, l) == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "listen", "listeners.admin.bind: cannot listen on %s: %s", deps->bind,
                     evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        if (l != NULL)
            evconnlistener_free(l);
        lt_admin_free(admin);
        return NULL;
    }
    return admin;
}

void lt_admin_free(lt_admin_t *admin)
{
    if (admin == NULL)
        return;
    while (admin->purges != NULL) {
        lt_cache_purge_cancel(admin->purges->purge);
        purge_unlink(admin->purges);
    }
    if (admin->http != NULL)
        evhttp_free(admin->http);
    lt_status_free(admin->status);
    for (size_t i = 0; i < admin->nhosts; i++)
        free(admin->hosts[i]);
    OPENSSL_cleanse(admin->token_digest, sizeof(admin->token_digest));
    free(admin);
}
