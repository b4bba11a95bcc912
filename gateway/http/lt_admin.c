/* Admin endpoints: /healthz, /readyz, /metrics, /status(.json), POST /cache/purge, POST /reload, /payments/... */
#include "lt_admin.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lt_certs.h"
#include "lt_clock.h"
#include "lt_log.h"
#include "lt_metrics.h"
#include "lt_probe.h"
#include "lt_server.h"
#include "lt_status.h"

#define STATUS_REFRESH_S 10

#define PURGE_BODY_MAX 4096

typedef struct purge_op purge_op_t;

struct lt_admin {
    lt_admin_deps_t deps;
    struct evhttp *http;
    purge_op_t *purges; /* in flight, cancelled when the admin listener goes */
    lt_status_t *status;
};

/* One purge request: its HTTP request may go away (client hang-up) before the shared store answers. */
struct purge_op {
    purge_op_t *prev, *next;
    lt_admin_t *admin;
    struct evhttp_request *req; /* NULL once the client left */
    struct evhttp_connection *evcon;
    lt_cache_purge_t *purge;
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

/* 200 while the process runs: a liveness probe must not depend on upstreams. */
static void on_healthz(struct evhttp_request *req, void *arg)
{
    reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

/* A degraded cache (Redis down) is reported, not a reason to refuse traffic: lookups still reach the national
 * systems, only without the shared copies. */
static void on_readyz(struct evhttp_request *req, void *arg)
{
    lt_admin_t *admin = arg;
    json_t *reasons = json_array();
    bool ready = admin->deps.is_ready(admin->deps.arg, reasons);
    json_t *body = json_pack("{s:s, s:o}", "status", ready ? "ready" : "not_ready", "reasons", reasons);
    if (admin->deps.cache != NULL)
        json_object_set_new(body, "cache", lt_cache_status(admin->deps.cache));
    reply_json(req, ready ? 200 : 503, body);
}

/* ---- GET /metrics: Prometheus text exposition 0.0.4 (docs/operations.md, "Metrics") ---------- */

/* name{upstream="..."<extra>} value: extra is already rendered (",reason=\"x\"") or "". */
static void upstream_sample(lt_mbuf_t *b, const char *name, const lt_upstream_state_t *st, const char *extra,
                            unsigned long long value)
{
    lt_mbuf_printf(b, "%s{upstream=\"", name);
    lt_mbuf_label_value(b, st->conf->name);
    lt_mbuf_printf(b, "\"%s} %llu\n", extra, value);
}

/* One upstream's histogram, labelled with its name. */
static void upstream_histogram(lt_mbuf_t *b, const char *name, const lt_upstream_state_t *st, const lt_histogram_t *h)
{
    lt_mbuf_t labels = {0};
    lt_mbuf_printf(&labels, "upstream=\"");
    lt_mbuf_label_value(&labels, st->conf->name);
    lt_mbuf_printf(&labels, "\"");
    lt_mbuf_histogram(b, name, labels.data, h);
    lt_mbuf_free(&labels);
}

static void render_upstreams(lt_mbuf_t *b, lt_upstream_state_t *states, size_t n)
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
        lt_mbuf_printf(b, "lienthong_upstream_token_remaining_seconds{upstream=\"");
        lt_mbuf_label_value(b, states[i].conf->name);
        lt_mbuf_printf(b, "\"} %.3f\n", left > 0 ? (double)left / 1e3 : 0.0);
    }
}

static void render_cache(lt_mbuf_t *b, lt_cache_t *cache)
{
    json_t *st = cache != NULL ? lt_cache_status(cache) : json_pack("{s:s, s:s}", "backend", "off", "state", "off");
    static const char *const results[][2] = {
        {"hit", "hits"}, {"miss", "misses"}, {"stale", "stale"}, {"bypass", "bypass"}};
    lt_mbuf_family(b, "lienthong_cache_requests_total", "counter",
                   "Cache lookups by result (hit, miss, stale, bypass), every national system together.");
    for (size_t i = 0; i < 4; i++)
        lt_mbuf_printf(b, "lienthong_cache_requests_total{result=\"%s\"} %lld\n", results[i][0],
                       (long long)json_integer_value(json_object_get(st, results[i][1])));
    const char *state = json_string_value(json_object_get(st, "state"));
    const char *backend = json_string_value(json_object_get(st, "backend"));
    lt_mbuf_family(b, "lienthong_cache_state", "gauge",
                   "The cache's state: 1 for the current one of ok, degraded (Redis connections down) and off.");
    static const char *const states[] = {"ok", "degraded", "off"};
    for (size_t i = 0; i < 3; i++) {
        lt_mbuf_printf(b, "lienthong_cache_state{backend=\"");
        lt_mbuf_label_value(b, backend ? backend : "off");
        lt_mbuf_printf(b, "\",state=\"%s\"} %d\n", states[i], state != NULL && strcmp(state, states[i]) == 0);
    }
    lt_mbuf_family(b, "lienthong_cache_backend_up", "gauge",
                   "1 when the cache backend is usable (memory, or every Redis connection up), 0 otherwise.");
    lt_mbuf_printf(b, "lienthong_cache_backend_up %d\n", state != NULL && strcmp(state, "ok") == 0);
    json_decref(st);
}

/* Probe traffic, apart from citizens' traffic, and the health the probes conclude. */
static void render_probes(lt_mbuf_t *b, lt_upstream_state_t *states, size_t n, const lt_probes_t *probes)
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
static void cert_sample(lt_mbuf_t *b, const char *name, const lt_cert_info_t *c)
{
    lt_mbuf_printf(b, "%s{role=\"", name);
    lt_mbuf_label_value(b, c->role);
    lt_mbuf_printf(b, "\",owner=\"");
    lt_mbuf_label_value(b, c->owner);
    lt_mbuf_printf(b, "\",subject=\"");
    lt_mbuf_label_value(b, c->subject);
    lt_mbuf_printf(b, "\"}");
}

static void render_certificates(lt_mbuf_t *b)
{
    lt_cert_info_t certs[LT_CERTS_MAX];
    size_t n = lt_certs_snapshot(certs, LT_CERTS_MAX);
    int64_t now = (int64_t)time(NULL);
    lt_mbuf_family(b, "lienthong_certificate_expiry_seconds", "gauge",
                   "Seconds until a certificate expires (negative once expired): the ones the gateway holds, and "
                   "each national system's server certificate as its last new connection showed it.");
    for (size_t i = 0; i < n; i++) {
        cert_sample(b, "lienthong_certificate_expiry_seconds", &certs[i]);
        lt_mbuf_printf(b, " %lld\n", (long long)(certs[i].not_after - now));
    }
    lt_mbuf_family(b, "lienthong_certificate_verified", "gauge",
                   "1 when a certificate verified (always, for those the gateway holds), 0 when a national system's "
                   "server certificate failed verification at its last new connection.");
    for (size_t i = 0; i < n; i++) {
        cert_sample(b, "lienthong_certificate_verified", &certs[i]);
        lt_mbuf_printf(b, " %d\n", certs[i].verify_error[0] == '\0');
    }
}

static long long int_at(const json_t *obj, const char *a, const char *b)
{
    const json_t *v = json_object_get(obj, a);
    return (long long)json_integer_value(b ? json_object_get(v, b) : v);
}

/* From the payments module's summary (lt_admin.h): nothing when payments are not configured. */
static void render_payments(lt_mbuf_t *b, const lt_admin_deps_t *d)
{
    if (d->payments_summary == NULL)
        return;
    json_t *p = json_object();
    d->payments_summary(d->payments_arg, p);
    const char *k;
    json_t *v;
    lt_mbuf_family(b, "lienthong_payments", "gauge", "Payments in the store, by state.");
    json_object_foreach(json_object_get(p, "by_state"), k, v)
    {
        lt_mbuf_printf(b, "lienthong_payments{state=\"");
        lt_mbuf_label_value(b, k);
        lt_mbuf_printf(b, "\"} %lld\n", (long long)json_integer_value(v));
    }
    lt_mbuf_family(b, "lienthong_payment_outbox_backlog", "gauge", "Webhook events waiting to be delivered.");
    lt_mbuf_printf(b, "lienthong_payment_outbox_backlog %lld\n", int_at(p, "outbox", "backlog"));
    lt_mbuf_family(b, "lienthong_payment_outbox_dead_letters", "gauge",
                   "Webhook events that gave up after every attempt (redrive them with lienthong-ctl).");
    lt_mbuf_printf(b, "lienthong_payment_outbox_dead_letters %lld\n", int_at(p, "outbox", "dead_letters"));
    lt_mbuf_family(b, "lienthong_payment_ipn_answers_total", "counter",
                   "IPN callbacks answered, by the RspCode of the answer.");
    json_object_foreach(json_object_get(p, "ipn_answers"), k, v)
    {
        lt_mbuf_printf(b, "lienthong_payment_ipn_answers_total{rsp_code=\"");
        lt_mbuf_label_value(b, k);
        lt_mbuf_printf(b, "\"} %lld\n", (long long)json_integer_value(v));
    }
    json_decref(p);
}

/* Reads only atomics and short mutex-held snapshots: never blocks the main loop. */
static void on_metrics(struct evhttp_request *req, void *arg)
{
    lt_admin_t *admin = arg;
    lt_mbuf_t b = {0};
    lt_mbuf_family(&b, "lienthong_build_info", "gauge", "Always 1; the version label says which build runs.");
    lt_mbuf_printf(&b, "lienthong_build_info{version=\"");
    lt_mbuf_label_value(&b, LT_VERSION);
    lt_mbuf_printf(&b, "\"} 1\n");
    lt_metrics_render_requests(&b);
    if (admin->deps.states != NULL) {
        render_upstreams(&b, admin->deps.states, admin->deps.nstates);
        render_probes(&b, admin->deps.states, admin->deps.nstates, admin->deps.probes);
    }
    render_cache(&b, admin->deps.cache);
    lt_metrics_render_listeners(&b);
    render_certificates(&b);
    render_payments(&b, &admin->deps);
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, b.data, b.len);
    lt_mbuf_free(&b);
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
    if (report->failed) {
        lt_log_warn("admin: cache purge incomplete: %s", report->detail);
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

static int purge_args(json_t *body, const char **system, const char **identifier, const char **why)
{
    *identifier = json_string_value(json_object_get(body, "identifier"));
    json_t *sys = json_object_get(body, "system");
    *system = json_string_value(sys);
    if (!json_is_object(body) || json_object_size(body) != (sys ? 2u : 1u))
        *why = "the body must be {\"identifier\": \"...\"} with an optional \"system\"";
    else if (!is_identifier(*identifier))
        *why = "identifier must be 1-128 printable characters without spaces";
    else if (sys != NULL && (*system == NULL || lt_adapter_find(*system) == NULL))
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

static void on_purge(struct evhttp_request *req, void *arg)
{
    lt_admin_t *admin = arg;
    if (!admit_change(req))
        return;
    if (!lt_cache_enabled(admin->deps.cache)) {
        reply_json(req, 409, json_pack("{s:s}", "error", "the cache is off"));
        return;
    }
    json_t *body = read_body(req);
    const char *system, *identifier, *why = "the body must be JSON";
    if (body == NULL || purge_args(body, &system, &identifier, &why) != 0) {
        json_decref(body);
        reply_json(req, 400, json_pack("{s:s}", "error", why));
        return;
    }
    char masked[64];
    lt_log_info("admin: purging cached entries for identifier %s (%s)", lt_mask(identifier, masked, sizeof(masked)),
                system ? system : "every system");
    purge_op_t *op = calloc(1, sizeof(*op));
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

static void on_status_json(struct evhttp_request *req, void *arg)
{
    lt_admin_t *admin = arg;
    reply_json(req, 200, lt_status_build(admin->status));
}

static void on_status_page(struct evhttp_request *req, void *arg)
{
    lt_admin_t *admin = arg;
    json_t *doc = lt_status_build(admin->status);
    char *html = lt_status_html(doc, STATUS_REFRESH_S);
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

static void on_reload(struct evhttp_request *req, void *arg)
{
    lt_admin_t *admin = arg;
    if (!admit_change(req))
        return;
    if (admin->deps.reload == NULL) {
        reply_json(req, 501, json_pack("{s:s}", "error", "this gateway cannot reload"));
        return;
    }
    json_t *report = json_object();
    int status = admin->deps.reload(admin->deps.arg, report);
    reply_json(req, status, report);
}

/* ---- /payments/... and the rest ------------------------------------------------------------ */

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
    evhttp_send_reply(req, status, NULL, buf);
    evbuffer_free(buf);
}

static void on_other(struct evhttp_request *req, void *arg)
{
    lt_admin_t *admin = arg;
    const char *uri = evhttp_request_get_uri(req);
    if (uri != NULL && strncmp(uri, "/payments/", 10) == 0) {
        if (evhttp_request_get_command(req) == EVHTTP_REQ_POST && !post_comes_from_a_tool(req))
            return;
        if (admin->deps.payments_admin != NULL)
            admin->deps.payments_admin(admin->deps.payments_arg, req);
        else
            reply_problem(req, 404, "payments_not_configured", "Not Found",
                          "payments are not configured on this gateway");
        return;
    }
    reply_json(req, 404, json_pack("{s:s}", "error", "no such admin endpoint"));
}

lt_admin_t *lt_admin_new(const lt_admin_deps_t *deps, lt_error_t *err)
{
    struct sockaddr_storage ss;
    int sslen;
    if (lt_parse_bind(deps->bind, &ss, &sslen, err) != 0)
        return NULL;
    lt_admin_t *admin = calloc(1, sizeof(*admin));
    admin->deps = *deps;
    admin->http = evhttp_new(deps->base);
    evhttp_set_allowed_methods(admin->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
    evhttp_set_cb(admin->http, "/healthz", on_healthz, admin);
    evhttp_set_cb(admin->http, "/readyz", on_readyz, admin);
    evhttp_set_cb(admin->http, "/metrics", on_metrics, admin);
    evhttp_set_cb(admin->http, "/cache/purge", on_purge, admin);
    evhttp_set_cb(admin->http, "/status.json", on_status_json, admin);
    evhttp_set_cb(admin->http, "/status", on_status_page, admin);
    evhttp_set_cb(admin->http, "/reload", on_reload, admin);
    lt_status_deps_t sd = {.base = deps->base,
                           .states = deps->states,
                           .nstates = deps->states != NULL ? deps->nstates : 0,
                           .probes = deps->probes,
                           .cache = deps->cache,
                           .is_ready = deps->is_ready,
                           .arg = deps->arg,
                           .payments_summary = deps->payments_summary,
                           .payments_arg = deps->payments_arg};
    admin->status = lt_status_new(&sd);
    evhttp_set_gencb(admin->http, on_other, admin);
    evhttp_set_timeout(admin->http, 30);
    char host[256];
    snprintf(host, sizeof(host), "%s", deps->bind);
    char *colon = strrchr(host, ':');
    *colon = '\0';
    const char *h = host;
    if (host[0] == '[') { /* [::1]:9090 */
        h = host + 1;
        host[strlen(host) - 1] = '\0';
    }
    if (evhttp_bind_socket_with_handle(admin->http, h, (ev_uint16_t)atoi(colon + 1)) == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "listen", "cannot listen on admin address %s", deps->bind);
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
    evhttp_free(admin->http);
    lt_status_free(admin->status);
    free(admin);
}
