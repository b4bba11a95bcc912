/* The /status.json document: per national system, the cache, payments and certificates, with colours and reasons. */
#include "lt_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_certs.h"
#include "lt_clock.h"

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

static json_t *iso_time(int64_t unix_ms)
{
    if (unix_ms <= 0)
        return json_null();
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
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

static json_t *cert_json(const lt_cert_info_t *c, int64_t now_s)
{
    long days = lt_certs_days_left(c->not_after, now_s);
    bool verified = c->verify_error[0] == '\0';
    json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:s, s:b}", "role", c->role, "owner", c->owner, "subject",
                          c->subject, "not_after", iso_time(c->not_after * 1000), "seconds_left",
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
    json_t *p =
        json_pack("{s:b, s:s, s:I, s:s, s:s, s:o, s:o}", "enabled", true, "kind", lt_probes_kind(s->deps.probes, i),
                  "interval_s", (json_int_t)u->probe.interval_s, "state", lt_health_state_name(h->state), "reason",
                  h->reason, "since", iso_time(h->since_ms), "last_at", iso_time(h->last_probe_ms));
    if (h->last_probe_ms > 0)
        json_object_set_new(p, "last_ms", json_real(h->last_seconds * 1e3));
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
    int64_t since;
    lt_breaker_state_t b = lt_breaker_state(&st->breaker, &since);
    int64_t for_s = (lt_clock_ms() - since) / 1000;
    if (b == LT_BREAKER_OPEN)
        consider(v, RED, "circuit open for %lld s after repeated failures: calls are refused", (long long)for_s);
    else if (b == LT_BREAKER_HALF_OPEN)
        consider(v, AMBER, "circuit half open: a trial call is testing the system");
    return json_pack("{s:s, s:I}", "state", lt_breaker_state_name(b), "for_s", (json_int_t)(for_s > 0 ? for_s : 0));
}

static json_t *last_error_json(lt_upstream_state_t *st)
{
    int64_t at;
    bool probe;
    char code[48], detail[320];
    lt_upstream_state_last_error(st, &at, &probe, code, sizeof(code), detail, sizeof(detail));
    if (at == 0)
        return json_null();
    return json_pack("{s:o, s:s, s:s, s:b}", "at", iso_time(at), "code", code, "detail", detail, "probe", probe);
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
    int64_t now_s;
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
            json_array_append_new(certs, cert_json(&x->certs[c], x->now_s));
            cert_verdict(&v, &x->certs[c], x->now_s);
        }
    json_object_set_new(sys, "recent", recent_json(&x->now[i], &x->then[i], x->window_s, &v));
    json_object_set_new(sys, "latency_ms", latency_json(&x->now[i], &x->then[i]));
    json_object_set_new(sys, "last_success", iso_time(atomic_load(&st->last_ok_ms)));
    json_object_set_new(sys, "last_error", last_error_json(st));
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

static json_t *payments_json(lt_status_t *s, verdict_t *overall)
{
    if (s->deps.payments_summary == NULL)
        return json_pack("{s:b, s:s}", "configured", false, "color", "grey");
    json_t *p = json_object();
    s->deps.payments_summary(s->deps.payments_arg, p);
    json_object_set_new(p, "configured", json_true());
    json_t *outbox = json_object_get(p, "outbox");
    color_t c = GREEN;
    if (json_is_false(json_object_get(p, "store_ok"))) {
        c = RED;
        consider(overall, RED, "payments: the payment store is unavailable");
    } else if (json_integer_value(json_object_get(outbox, "dead_letters")) > 0) {
        c = AMBER;
        consider(overall, AMBER, "payments: %lld webhook event(s) gave up (dead letters)",
                 (long long)json_integer_value(json_object_get(outbox, "dead_letters")));
    }
    json_object_set_new(p, "color", json_string(color_names[c]));
    return p;
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
                      .now_s = now_ms / 1000};
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
        json_array_append_new(all_certs, cert_json(&certs[c], x.now_s));
        cert_verdict(&overall, &certs[c], x.now_s);
    }
    json_t *reasons = json_array();
    bool ready = s->deps.is_ready == NULL || s->deps.is_ready(s->deps.arg, reasons);
    if (!ready)
        consider(&overall, RED, "not ready: the gateway is shutting down");
    json_t *doc = json_pack("{s:o, s:s, s:{s:b, s:o}, s:o, s:o, s:o, s:o}", "generated_at", iso_time(now_ms), "version",
                            LT_VERSION, "ready", "ready", ready, "reasons", reasons, "systems", systems, "cache",
                            cache_json(s->deps.cache, &overall), "payments", payments_json(s, &overall), "certificates",
                            all_certs);
    json_object_set_new(doc, "state", json_string(color_names[overall.color]));
    json_object_set_new(doc, "reason", json_string(overall.reason[0] ? overall.reason : "no problem seen"));
    json_object_set_new(doc, "window_s", json_integer(x.window_s));
    free(now);
    return doc;
}
