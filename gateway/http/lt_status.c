/* The /status.json document: per national system, the cache, payments and certificates, with colours and reasons. */
#include "lt_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_certs.h"
#include "lt_clock.h"
#include "lt_config.h"
#include "lt_crl.h"
#include "lt_module.h"

#define NSNAPS (LT_STATUS_WINDOW_S / LT_STATUS_TICK_S + 1)

/* Counters of one upstream at one moment: citizens' traffic only (probes are counted apart). */
typedef struct {
    uint64_t calls, attempts, failed, refused;
    uint64_t buckets[LT_METRICS_NBUCKETS + 1];
} counts_t;

typedef struct {
    int64_t at_ms; /* monotonic; 0: empty */
    counts_t *per_upstream;
} snapshot_t;

struct lt_status {
    lt_status_deps_t deps;
    struct event *tick;
    snapshot_t snaps[NSNAPS];
    int next; /* the ring slot the next snapshot goes to */
};

/* Colours, worst last, so that max() is "the worst of". */
typedef enum { GREEN, AMBER, RED } color_t;
static const char *const color_names[] = {"green", "amber", "red"};

const char *lt_status_cert_color(long days_left)
{
    if (days_left < LT_STATUS_CERT_RED_DAYS)
        return "red";
    return days_left < LT_STATUS_CERT_AMBER_DAYS ? "amber" : "green";
}

static color_t color_of(const char *name)
{
    return strcmp(name, "red") == 0 ? RED : strcmp(name, "amber") == 0 ? AMBER : GREEN;
}

/* ---- counters and the five-minute window ------------------------------------------------------ */

static bool is_failure(int outcome)
{
    return outcome != LT_OUTCOME_OK && outcome != LT_OUTCOME_HTTP_4XX;
}

static void read_counts(lt_upstream_state_t *st, counts_t *c)
{
    c->calls = atomic_load(&st->calls);
    c->attempts = atomic_load(&st->attempts);
    c->refused = atomic_load(&st->refused_open) + atomic_load(&st->refused_busy);
    c->failed = 0;
    for (int o = 0; o < LT_OUTCOME_COUNT; o++)
        if (is_failure(o))
            c->failed += atomic_load(&st->outcomes[o]);
    for (int b = 0; b <= LT_METRICS_NBUCKETS; b++)
        c->buckets[b] = atomic_load(&st->attempt_seconds.buckets[b]);
}

static void take_snapshot(lt_status_t *s)
{
    snapshot_t *snap = &s->snaps[s->next];
    snap->at_ms = lt_clock_ms();
    for (size_t i = 0; i < s->deps.nstates; i++)
        read_counts(&s->deps.states[i], &snap->per_upstream[i]);
    s->next = (s->next + 1) % NSNAPS;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    take_snapshot(arg);
    lt_crl_watch((int64_t)time(NULL)); /* an expired revocation list is said again even when no client comes */
}

/* The oldest snapshot still in the ring: the start of the window. */
static const snapshot_t *window_start(const lt_status_t *s)
{
    const snapshot_t *oldest = NULL;
    for (int i = 0; i < NSNAPS; i++)
        if (s->snaps[i].at_ms != 0 && (oldest == NULL || s->snaps[i].at_ms < oldest->at_ms))
            oldest = &s->snaps[i];
    return oldest;
}

lt_status_t *lt_status_new(const lt_status_deps_t *deps)
{
    lt_status_t *s = calloc(1, sizeof(*s));
    s->deps = *deps;
    for (int i = 0; i < NSNAPS; i++)
        s->snaps[i].per_upstream = calloc(deps->nstates + 1, sizeof(counts_t));
    take_snapshot(s); /* the baseline: "recent" covers everything until the window fills */
    s->tick = event_new(deps->base, -1, EV_PERSIST, on_tick, s);
    struct timeval tv = {.tv_sec = LT_STATUS_TICK_S};
    event_add(s->tick, &tv);
    return s;
}

void lt_status_free(lt_status_t *s)
{
    if (s == NULL)
        return;
    event_free(s->tick);
    for (int i = 0; i < NSNAPS; i++)
        free(s->snaps[i].per_upstream);
    free(s);
}

/* ---- pieces ------------------------------------------------------------------------------------ */

/* Seconds since a wall-clock time, for "5 min ago"; null for never. */
static json_t *ago_s(int64_t now_ms, int64_t then_ms)
{
    return then_ms > 0 ? json_integer((json_int_t)((now_ms - then_ms) / 1000)) : json_null();
}

/* Every time in the document is in one zone, the configuration's time_zone (+07:00 by default). */
static json_t *iso_time(const lt_process_t *p, int64_t unix_ms)
{
    return lt_process_time(p, unix_ms);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A verdict being built: the worst colour seen, and the reason of the first problem of that colour. */
typedef struct {
    color_t color;
    char reason[600];
} verdict_t;

static void consider(verdict_t *v, color_t c, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void consider(verdict_t *v, color_t c, const char *fmt, ...)
{
    if (c <= v->color && v->reason[0] != '\0')
        return;
    if (c < v->color)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
    v->color = c;
}

static json_t *cert_json(const lt_process_t *p, const lt_cert_info_t *c, int64_t now_s)
{
    long days = lt_certs_days_left(c->not_after, now_s);
    bool verified = c->verify_error[0] == '\0';
    json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:s, s:b}", "role", c->role, "owner", c->owner, "subject",
                          c->subject, "not_after", iso_time(p, c->not_after * 1000), "seconds_left",
                          (json_int_t)(c->not_after - now_s), "days_left", (json_int_t)days, "state",
                          verified ? lt_status_cert_color(days) : "red", "verified", verified);
    if (!verified)
        json_object_set_new(j, "verify_error", json_string(c->verify_error));
    return j;
}

static const char *role_words(const char *role)
{
    if (strcmp(role, "upstream_client") == 0)
        return "our client certificate";
    if (strcmp(role, "upstream_server") == 0)
        return "its server certificate";
    if (strcmp(role, "api_server") == 0)
        return "the api listener's certificate";
    return role;
}

static void cert_verdict(verdict_t *v, const lt_cert_info_t *c, int64_t now_s)
{
    if (c->verify_error[0] != '\0') {
        consider(v, RED, "%s (%s) failed verification: %s", role_words(c->role), c->subject, c->verify_error);
        return;
    }
    long days = lt_certs_days_left(c->not_after, now_s);
    color_t color = color_of(lt_status_cert_color(days));
    if (color == GREEN)
        return;
    if (days < 0)
        consider(v, color, "%s (%s) expired %ld day%s ago", role_words(c->role), c->subject, -days,
                 days == -1 ? "" : "s");
    else
        consider(v, color, "%s (%s) expires in %ld day%s", role_words(c->role), c->subject, days, days == 1 ? "" : "s");
}

static json_t *probe_json(const lt_status_t *s, size_t i, verdict_t *v)
{
    const lt_health_t *h = lt_probes_health(s->deps.probes, i);
    if (h == NULL)
        return json_pack("{s:b}", "enabled", false);
    const lt_upstream_conf_t *u = s->deps.states[i].conf;
    json_t *p = json_pack(
        "{s:b, s:s, s:I, s:s, s:s, s:o, s:o}", "enabled", true, "kind", lt_probes_kind(s->deps.probes, i), "interval_s",
        (json_int_t)u->probe.interval_s, "state", lt_health_state_name(h->state), "reason", h->reason, "since",
        iso_time(s->deps.process, h->since_ms), "last_at", iso_time(s->deps.process, h->last_probe_ms));
    if (h->last_probe_ms > 0)
        json_object_set_new(p, "last_ms", json_real(h->last_seconds * 1e3));
    json_object_set_new(p, "since_ago_s", ago_s(wall_ms(), h->since_ms));
    /* A handshake proves the system answers TLS, not that a call would work: never say "up" for it. */
    bool tls_only = strcmp(lt_probes_kind(s->deps.probes, i), "tls") == 0;
    json_object_set_new(
        p, "summary",
        json_string(h->state == LT_HEALTH_UP && tls_only ? "reachable (TLS only)" : lt_health_state_name(h->state)));
    if (h->state == LT_HEALTH_DOWN)
        consider(v, RED, "down: %s", h->reason);
    else if (h->state == LT_HEALTH_DEGRADED)
        consider(v, AMBER, "degraded: %s", h->reason);
    else if (h->state == LT_HEALTH_UNKNOWN)
        consider(v, AMBER, "no probe result yet");
    return p;
}

static json_t *circuit_json(lt_upstream_state_t *st, verdict_t *v)
{
    int64_t since, retry_in_ms;
    lt_breaker_state_t b = lt_breaker_view(&st->breaker, lt_clock_ms(), &since, &retry_in_ms);
    int64_t for_s = (lt_clock_ms() - since) / 1000;
    long long retry_in_s = (long long)((retry_in_ms + 999) / 1000);
    if (b == LT_BREAKER_OPEN)
        consider(v, RED, "circuit open (retrying in %lld s) after repeated failures: calls are refused", retry_in_s);
    else if (b == LT_BREAKER_HALF_OPEN)
        consider(v, AMBER, "circuit half-open: the next probe or call decides");
    json_t *c =
        json_pack("{s:s, s:I}", "state", lt_breaker_state_name(b), "for_s", (json_int_t)(for_s > 0 ? for_s : 0));
    if (b == LT_BREAKER_OPEN)
        json_object_set_new(c, "retry_in_s", json_integer(retry_in_s));
    return c;
}

static json_t *last_error_json(const lt_process_t *p, lt_upstream_state_t *st, int64_t now_ms)
{
    int64_t at;
    bool probe;
    char code[48], detail[320];
    lt_call_state_last_error(st, &at, &probe, code, sizeof(code), detail, sizeof(detail));
    if (at == 0)
        return json_null();
    return json_pack("{s:o, s:o, s:s, s:s, s:b}", "at", iso_time(p, at), "ago_s", ago_s(now_ms, at), "code", code,
                     "detail", detail, "probe", probe);
}

static json_t *latency_json(const counts_t *now, const counts_t *then)
{
    uint64_t d[LT_METRICS_NBUCKETS + 1];
    for (int b = 0; b <= LT_METRICS_NBUCKETS; b++)
        d[b] = now->buckets[b] - then->buckets[b];
    double p50 = lt_histogram_quantile(d, 0.5);
    if (p50 < 0)
        return json_null();
    return json_pack("{s:f, s:f, s:f}", "p50", p50 * 1e3, "p95", lt_histogram_quantile(d, 0.95) * 1e3, "p99",
                     lt_histogram_quantile(d, 0.99) * 1e3);
}

static json_t *recent_json(const counts_t *now, const counts_t *then, int64_t window_s, verdict_t *v)
{
    uint64_t attempts = now->attempts - then->attempts, failed = now->failed - then->failed;
    uint64_t refused = now->refused - then->refused;
    /* A fifth of attempts failing is worth a look even while probes pass: real traffic sees what probes may not. */
    if (attempts >= 5 && failed * 5 >= attempts)
        consider(v, AMBER, "%llu of %llu recent attempts failed", (unsigned long long)failed,
                 (unsigned long long)attempts);
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "window_s", (json_int_t)window_s, "calls",
                     (json_int_t)(now->calls - then->calls), "attempts", (json_int_t)attempts, "failed_attempts",
                     (json_int_t)failed, "refused", (json_int_t)refused, "errors", (json_int_t)(failed + refused));
}

static json_t *token_json(lt_upstream_state_t *st)
{
    if (st->conf->adapter == NULL || st->conf->adapter->token_build == NULL)
        return json_null();
    int64_t left = lt_token_remaining_ms(&st->token, lt_clock_ms());
    return json_pack("{s:s, s:I, s:I}", "state", left > 0 ? "valid" : "none", "remaining_s",
                     (json_int_t)(left > 0 ? left / 1000 : 0), "fetches", (json_int_t)lt_token_fetch_count(&st->token));
}

typedef struct {
    const counts_t *now, *then;
    int64_t window_s;
    const lt_cert_info_t *certs;
    size_t ncerts;
    int64_t now_s, now_ms;
} system_ctx_t;

static json_t *system_json(lt_status_t *s, size_t i, const system_ctx_t *x)
{
    lt_upstream_state_t *st = &s->deps.states[i];
    verdict_t v = {GREEN, ""};
    json_t *sys = json_pack("{s:s}", "name", st->conf->name);
    json_object_set_new(sys, "probe", probe_json(s, i, &v));
    json_object_set_new(sys, "circuit", circuit_json(st, &v));
    json_t *certs = json_array();
    for (size_t c = 0; c < x->ncerts; c++)
        if (strcmp(x->certs[c].owner, st->conf->name) == 0) {
            json_array_append_new(certs, cert_json(s->deps.process, &x->certs[c], x->now_s));
            cert_verdict(&v, &x->certs[c], x->now_s);
        }
    json_object_set_new(sys, "recent", recent_json(&x->now[i], &x->then[i], x->window_s, &v));
    json_object_set_new(sys, "latency_ms", latency_json(&x->now[i], &x->then[i]));
    int64_t last_ok = atomic_load(&st->last_ok_ms);
    json_object_set_new(sys, "last_success", iso_time(s->deps.process, last_ok));
    json_object_set_new(sys, "last_success_ago_s", ago_s(x->now_ms, last_ok));
    json_object_set_new(sys, "last_error", last_error_json(s->deps.process, st, x->now_ms));
    json_object_set_new(sys, "inflight", json_integer(atomic_load(&st->inflight)));
    json_object_set_new(
        sys, "totals",
        json_pack("{s:I, s:I}", "calls", (json_int_t)x->now[i].calls, "attempts", (json_int_t)x->now[i].attempts));
    json_object_set_new(sys, "certificates", certs);
    json_object_set_new(sys, "token", token_json(st));
    json_object_set_new(sys, "state", json_string(color_names[v.color]));
    json_object_set_new(sys, "reason", json_string(v.reason[0] ? v.reason : "no problem seen"));
    return sys;
}

static json_t *cache_json(lt_cache_t *cache, verdict_t *overall)
{
    json_t *c = cache != NULL ? lt_cache_status(cache) : json_pack("{s:s, s:s}", "backend", "off", "state", "off");
    const char *state = json_string_value(json_object_get(c, "state"));
    if (state != NULL && strcmp(state, "degraded") == 0)
        consider(overall, AMBER, "cache degraded: lookups go to the national systems");
    json_object_set_new(c, "color",
                        json_string(state == NULL || strcmp(state, "ok") == 0 ? "green"
                                    : strcmp(state, "off") == 0               ? "grey"
                                                                              : "amber"));
    return c;
}

/* ---- the api listener's revocation lists ------------------------------------------------------------ */

static json_t *crl_list_json(const lt_process_t *p, const lt_crl_info_t *c, int64_t now_s, lt_crl_time_t t)
{
    json_t *j = json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:s}", "file", c->file, "issuer", c->issuer, "number",
        c->number[0] ? json_string(c->number) : json_null(), "last_update", iso_time(p, c->last_update * 1000),
        "next_update", c->next_update ? iso_time(p, c->next_update * 1000) : json_null(), "age_s",
        (json_int_t)(now_s - c->last_update), "revoked", (json_int_t)c->revoked, "state", lt_crl_time_name(t));
    json_object_set_new(j, "seconds_to_next_update",
                        c->next_update ? json_integer((json_int_t)(c->next_update - now_s)) : json_null());
    return j;
}

/* Red when the lists refuse every client (expired with crl_expired "refuse", or not valid yet), amber when one is
 * past its nextUpdate but accepted ("warn"), or near it. */
static color_t crl_list_verdict(verdict_t *v, const lt_crl_info_t *c, int64_t now_s, lt_crl_time_t t, bool warn)
{
    long hours = (long)((c->next_update - now_s) / 3600);
    switch (t) {
    case LT_CRL_EXPIRED:
        consider(v, warn ? AMBER : RED, "the revocation list of %s is past its nextUpdate (%ld h ago): %s", c->issuer,
                 -hours, warn ? "clients are accepted on it (crl_expired=warn)" : "every client is refused");
        return warn ? AMBER : RED;
    case LT_CRL_NOT_YET_VALID:
        consider(v, RED, "the revocation list of %s is not valid yet: every client is refused", c->issuer);
        return RED;
    case LT_CRL_DUE_SOON:
        consider(v, AMBER, "the revocation list of %s reaches its nextUpdate in %ld h: fetch the new one and reload",
                 c->issuer, hours);
        return AMBER;
    default:
        return GREEN;
    }
}

static json_t *crl_json(const lt_process_t *p, int64_t now_s, verdict_t *overall)
{
    lt_crl_state_t st;
    lt_crl_snapshot(&st);
    if (!st.configured)
        return json_pack("{s:b, s:s, s:s}", "configured", false, "color", "grey", "reason",
                         "no revocation lists: client certificates are not checked for revocation");
    verdict_t v = {GREEN, ""};
    json_t *lists = json_array();
    for (size_t i = 0; i < st.n; i++) {
        lt_crl_time_t t = lt_crl_time_state(&st.lists[i], now_s);
        json_t *j = crl_list_json(p, &st.lists[i], now_s, t);
        json_object_set_new(j, "color",
                            json_string(color_names[crl_list_verdict(&v, &st.lists[i], now_s, t, st.warn_expired)]));
        json_array_append_new(lists, j);
    }
    if (v.color != GREEN)
        consider(overall, v.color, "crl: %s", v.reason);
    return json_pack("{s:b, s:s, s:s, s:s, s:o, s:I, s:{s:I, s:I}, s:o}", "configured", true, "color",
                     color_names[v.color], "reason", v.reason[0] ? v.reason : "every list is current", "on_expired",
                     st.warn_expired ? "warn" : "refuse", "loaded_at", iso_time(p, st.loaded_at * 1000), "loads",
                     (json_int_t)st.loads, "expired_handshakes", "accepted", (json_int_t)st.expired_accepted, "refused",
                     (json_int_t)st.expired_refused, "lists", lists);
}

/* The trail: red while it cannot be written (personal-data routes answer 503), amber for unusual reading. */
static json_t *audit_json(lt_audit_t *audit, verdict_t *overall)
{
    json_t *a = lt_audit_status(audit);
    color_t color = color_of(json_string_value(json_object_get(a, "color")));
    if (color != GREEN)
        consider(overall, color, "audit: %s", json_string_value(json_object_get(a, "reason")));
    return a;
}

/* The rate limits: amber while Redis does not answer and each instance enforces them alone. */
static json_t *ratelimit_json(lt_ratelimit_t *rl, verdict_t *overall)
{
    json_t *part = lt_ratelimit_status(rl);
    if (color_of(json_string_value(json_object_get(part, "color"))) == AMBER)
        consider(overall, AMBER, "rate limits: %s", json_string_value(json_object_get(part, "reason")));
    return part;
}

/* A module with a section shows whether it is configured; one that is on and has a status hook fills its part. */
static void add_modules(lt_status_t *s, json_t *doc, verdict_t *overall)
{
    const lt_config_t *c = s->deps.config;
    for (size_t m = 0; c != NULL && m < c->nmodules; m++) {
        const lt_module_t *mod = c->modules[m];
        if (mod->section == NULL && mod->status == NULL)
            continue;
        if (s->deps.module_state[m] == NULL || mod->status == NULL) {
            json_object_set_new(doc, mod->name, json_pack("{s:b, s:s}", "configured", false, "color", "grey"));
            continue;
        }
        json_t *part = json_object();
        mod->status(s->deps.module_state[m], part);
        json_object_set_new(part, "configured", json_true());
        color_t color = color_of(json_string_value(json_object_get(part, "color")));
        if (color != GREEN)
            consider(overall, color, "%s: %s", mod->name, json_string_value(json_object_get(part, "reason")));
        json_object_set_new(doc, mod->name, part);
    }
}

json_t *lt_status_build(lt_status_t *s)
{
    size_t n = s->deps.nstates;
    counts_t *now = calloc(n + 1, sizeof(*now));
    for (size_t i = 0; i < n; i++)
        read_counts(&s->deps.states[i], &now[i]);
    const snapshot_t *start = window_start(s);
    lt_cert_info_t certs[LT_CERTS_MAX];
    int64_t now_ms = wall_ms();
    system_ctx_t x = {.now = now,
                      .then = start->per_upstream,
                      .window_s = (lt_clock_ms() - start->at_ms) / 1000,
                      .certs = certs,
                      .ncerts = lt_certs_snapshot(certs, LT_CERTS_MAX),
                      .now_s = now_ms / 1000,
                      .now_ms = now_ms};
    verdict_t overall = {GREEN, ""};
    json_t *systems = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *sys = system_json(s, i, &x);
        color_t color = color_of(json_string_value(json_object_get(sys, "state")));
        if (color != GREEN)
            consider(&overall, color, "%s: %s", s->deps.states[i].conf->name,
                     json_string_value(json_object_get(sys, "reason")));
        json_array_append_new(systems, sys);
    }
    json_t *all_certs = json_array();
    for (size_t c = 0; c < x.ncerts; c++) {
        json_array_append_new(all_certs, cert_json(s->deps.process, &certs[c], x.now_s));
        cert_verdict(&overall, &certs[c], x.now_s);
    }
    json_t *audit = audit_json(s->deps.audit, &overall);
    json_t *reasons = json_array();
    bool ready = s->deps.is_ready == NULL || s->deps.is_ready(s->deps.arg, reasons);
    /* Drained is an operator's choice, not a fault: amber, so a drained instance is never mistaken for a healthy one
     * nor paged about as a broken one. */
    bool drained = s->deps.process != NULL && atomic_load(&s->deps.process->drained);
    if (!ready)
        consider(&overall, drained && json_array_size(reasons) == 1 ? AMBER : RED, "not ready: %s",
                 json_string_value(json_array_get(reasons, 0)));
    json_t *doc =
        json_pack("{s:o, s:s, s:{s:b, s:o}, s:o, s:o, s:o}", "generated_at", iso_time(s->deps.process, now_ms),
                  "version", LT_VERSION, "ready", "ready", ready, "reasons", reasons, "systems", systems, "cache",
                  cache_json(s->deps.cache, &overall), "audit", audit);
    if (s->deps.process != NULL)
        json_object_set_new(doc, "instance", lt_process_json(s->deps.process, now_ms));
    json_object_set_new(doc, "rate_limits", ratelimit_json(s->deps.ratelimit, &overall));
    add_modules(s, doc, &overall);
    json_object_set_new(doc, "crl", crl_json(s->deps.process, x.now_s, &overall));
    json_object_set_new(doc, "certificates", all_certs);
    json_object_set_new(doc, "state", json_string(color_names[overall.color]));
    json_object_set_new(doc, "reason", json_string(overall.reason[0] ? overall.reason : "no problem seen"));
    json_object_set_new(doc, "window_s", json_integer(x.window_s));
    free(now);
    return doc;
}
