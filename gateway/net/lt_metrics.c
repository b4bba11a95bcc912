/* Process-wide metrics: the northbound request table, lock-free histograms, exposition helpers. */
#include "lt_metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prometheus' default buckets, in seconds. */
static const double bounds[LT_METRICS_NBUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

void lt_histogram_observe(lt_histogram_t *h, double seconds)
{
    if (seconds < 0)
        seconds = 0;
    int i = 0;
    while (i < LT_METRICS_NBUCKETS && seconds > bounds[i])
        i++;
    atomic_fetch_add(&h->buckets[i], 1);
    atomic_fetch_add(&h->sum_ns, (uint64_t)(seconds * 1e9));
}

double lt_histogram_bound(int i)
{
    return i >= 0 && i < LT_METRICS_NBUCKETS ? bounds[i] : bounds[LT_METRICS_NBUCKETS - 1];
}

double lt_histogram_quantile(const uint64_t per_bucket[LT_METRICS_NBUCKETS + 1], double q)
{
    uint64_t total = 0;
    for (int i = 0; i <= LT_METRICS_NBUCKETS; i++)
        total += per_bucket[i];
    if (total == 0)
        return -1;
    double rank = q * (double)total, below = 0;
    for (int i = 0; i < LT_METRICS_NBUCKETS; i++) {
        double here = (double)per_bucket[i];
        if (here > 0 && below + here >= rank) {
            double lower = i == 0 ? 0 : bounds[i - 1];
            return lower + (bounds[i] - lower) * (rank - below) / here;
        }
        below += here;
    }
    return bounds[LT_METRICS_NBUCKETS - 1];
}

/* ---- outcomes ------------------------------------------------------------------------------ */

const char *lt_outcome_name(lt_outcome_t o)
{
    static const char *const names[LT_OUTCOME_COUNT] = {"ok",       "timeout",  "connect", "tls",
                                                        "http_4xx", "http_5xx", "fault",   "bad_response"};
    return (unsigned)o < LT_OUTCOME_COUNT ? names[o] : "fault";
}

lt_outcome_t lt_outcome_classify(const lt_error_t *err, long http_status)
{
    if (err == NULL)
        return LT_OUTCOME_OK;
    /* A business answer (no record, refused input): the system worked, and said no. */
    if (err->kind >= LT_ERR_BAD_REQUEST && err->kind < LT_ERR_INTERNAL)
        return LT_OUTCOME_HTTP_4XX;
    if (http_status == 0) { /* transport: no HTTP response */
        if (err->kind == LT_ERR_UPSTREAM_TIMEOUT || strcmp(err->code, "timeout") == 0)
            return LT_OUTCOME_TIMEOUT;
        if (strcmp(err->code, "tls") == 0)
            return LT_OUTCOME_TLS;
        if (strcmp(err->code, "truncated") == 0 || strcmp(err->code, "response_too_large") == 0)
            return LT_OUTCOME_BAD_RESPONSE;
        return LT_OUTCOME_CONNECT; /* connect, reset, other transport failures */
    }
    if (strcmp(err->code, "bad_response") == 0 || strcmp(err->code, "truncated") == 0 ||
        strcmp(err->code, "response_too_large") == 0)
        return LT_OUTCOME_BAD_RESPONSE;
    /* The adapter saw a bare HTTP error status (no fault document it could read). */
    if (strncmp(err->code, "upstream_http_", 14) == 0) {
        if (http_status >= 500)
            return LT_OUTCOME_HTTP_5XX;
        if (http_status >= 400)
            return LT_OUTCOME_HTTP_4XX;
    }
    return LT_OUTCOME_FAULT; /* a fault the system reported in its own format */
}

/* ---- northbound requests ------------------------------------------------------------------- */

typedef struct {
    char route[LT_METRICS_LABEL_MAX + 1];
    char client[LT_METRICS_LABEL_MAX + 1];
    int status;
    uint64_t count;
} series_t;

typedef struct {
    char route[LT_METRICS_LABEL_MAX + 1];
    lt_histogram_t h;
} route_hist_t;

#define OVERFLOW_SERIES 64 /* route="other", client="other", one per status */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static series_t series[LT_METRICS_MAX_SERIES + OVERFLOW_SERIES];
static size_t nseries, noverflow;
static route_hist_t routes[LT_METRICS_MAX_ROUTES + 1]; /* the last is route="other" */
static size_t nroutes;
static uint64_t dropped;

/* Cut to LT_METRICS_LABEL_MAX bytes, never inside a UTF-8 sequence (the text format must stay valid UTF-8). */
static void copy_label(char *dst, const char *src)
{
    if (src == NULL || *src == '\0')
        src = "-";
    size_t n = strlen(src);
    if (n > LT_METRICS_LABEL_MAX) {
        n = LT_METRICS_LABEL_MAX;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) /* src[n] continues the sequence we would cut */
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static series_t *find_series(const char *route, int status, const char *client)
{
    for (size_t i = 0; i < nseries; i++)
        if (series[i].status == status && strcmp(series[i].route, route) == 0 && strcmp(series[i].client, client) == 0)
            return &series[i];
    if (nseries < LT_METRICS_MAX_SERIES) {
        series_t *s = &series[nseries++];
        strcpy(s->route, route);
        strcpy(s->client, client);
        s->status = status;
        return s;
    }
    series_t *over = &series[LT_METRICS_MAX_SERIES];
    for (size_t i = 0; i < noverflow; i++)
        if (over[i].status == status)
            return &over[i];
    if (noverflow < OVERFLOW_SERIES) {
        series_t *s = &over[noverflow++];
        strcpy(s->route, "other");
        strcpy(s->client, "other");
        s->status = status;
        return s;
    }
    return NULL;
}

static route_hist_t *find_route(const char *route)
{
    for (size_t i = 0; i < nroutes; i++)
        if (strcmp(routes[i].route, route) == 0)
            return &routes[i];
    if (nroutes < LT_METRICS_MAX_ROUTES) {
        route_hist_t *r = &routes[nroutes++];
        strcpy(r->route, route);
        return r;
    }
    strcpy(routes[LT_METRICS_MAX_ROUTES].route, "other");
    return &routes[LT_METRICS_MAX_ROUTES];
}

void lt_metrics_request(const char *route, int status, const char *client, double seconds)
{
    char r[LT_METRICS_LABEL_MAX + 1], c[LT_METRICS_LABEL_MAX + 1];
    copy_label(r, route);
    copy_label(c, client);
    pthread_mutex_lock(&lock);
    series_t *s = find_series(r, status, c);
    if (s != NULL)
        s->count++;
    else
        dropped++;
    lt_histogram_observe(&find_route(r)->h, seconds);
    pthread_mutex_unlock(&lock);
}

void lt_metrics_reset(void)
{
    pthread_mutex_lock(&lock);
    memset(series, 0, sizeof(series));
    memset(routes, 0, sizeof(routes));
    nseries = noverflow = nroutes = 0;
    dropped = 0;
    pthread_mutex_unlock(&lock);
}

/* ---- exposition ---------------------------------------------------------------------------- */

static void reserve(lt_mbuf_t *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        abort();
    b->data = p;
    b->cap = cap;
}

void lt_mbuf_printf(lt_mbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void lt_mbuf_free(lt_mbuf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void lt_mbuf_label_value(lt_mbuf_t *b, const char *value)
{
    size_t n = strlen(value);
    reserve(b, 2 * n);
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"') {
            b->data[b->len++] = '\\';
            b->data[b->len++] = *p;
        } else if (*p == '\n') {
            b->data[b->len++] = '\\';
            b->data[b->len++] = 'n';
        } else {
            b->data[b->len++] = *p;
        }
    }
    b->data[b->len] = '\0';
}

void lt_mbuf_family(lt_mbuf_t *b, const char *name, const char *type, const char *help)
{
    lt_mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void lt_mbuf_histogram(lt_mbuf_t *b, const char *name, const char *labels, const lt_histogram_t *h)
{
    const char *sep = labels[0] ? "," : "";
    uint64_t cumulative = 0;
    for (int i = 0; i < LT_METRICS_NBUCKETS; i++) {
        cumulative += atomic_load(&h->buckets[i]);
        lt_mbuf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[i],
                       (unsigned long long)cumulative);
    }
    cumulative += atomic_load(&h->buckets[LT_METRICS_NBUCKETS]);
    lt_mbuf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)cumulative);
    const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";
    lt_mbuf_printf(b, "%s_sum%s%s%s %.9f\n", name, open, labels, close, (double)atomic_load(&h->sum_ns) / 1e9);
    lt_mbuf_printf(b, "%s_count%s%s%s %llu\n", name, open, labels, close, (unsigned long long)cumulative);
}

void lt_metrics_render_requests(lt_mbuf_t *b)
{
    pthread_mutex_lock(&lock);
    lt_mbuf_family(b, "lienthong_http_requests_total", "counter",
                   "Northbound requests answered, by route, HTTP status and client certificate CN.");
    for (size_t i = 0; i < LT_METRICS_MAX_SERIES + OVERFLOW_SERIES; i++) {
        const series_t *s = &series[i];
        if (i >= nseries && (i < LT_METRICS_MAX_SERIES || i >= LT_METRICS_MAX_SERIES + noverflow))
            continue;
        lt_mbuf_printf(b, "lienthong_http_requests_total{route=\"");
        lt_mbuf_label_value(b, s->route);
        lt_mbuf_printf(b, "\",status=\"%d\",client=\"", s->status);
        lt_mbuf_label_value(b, s->client);
        lt_mbuf_printf(b, "\"} %llu\n", (unsigned long long)s->count);
    }
    lt_mbuf_family(b, "lienthong_http_requests_dropped_total", "counter",
                   "Northbound requests not counted in lienthong_http_requests_total because its series table was "
                   "full.");
    lt_mbuf_printf(b, "lienthong_http_requests_dropped_total %llu\n", (unsigned long long)dropped);
    lt_mbuf_family(b, "lienthong_http_request_duration_seconds", "histogram",
                   "Northbound request latency, from request to answer, by route.");
    size_t n = nroutes + (routes[LT_METRICS_MAX_ROUTES].route[0] ? 1 : 0);
    for (size_t i = 0; i < n; i++) {
        const route_hist_t *r = i < nroutes ? &routes[i] : &routes[LT_METRICS_MAX_ROUTES];
        lt_mbuf_t labels = {0};
        lt_mbuf_printf(&labels, "route=\"");
        lt_mbuf_label_value(&labels, r->route);
        lt_mbuf_printf(&labels, "\"");
        lt_mbuf_histogram(b, "lienthong_http_request_duration_seconds", labels.data, &r->h);
        lt_mbuf_free(&labels);
    }
    pthread_mutex_unlock(&lock);
}

/* ---- listeners ----------------------------------------------------------------------------- */

typedef struct {
    char name[16];
    _Atomic long open;
    _Atomic uint64_t failures[LT_TLS_FAIL_COUNT];
} listener_t;

static listener_t listeners[LT_METRICS_MAX_LISTENERS];
static _Atomic int nlisteners;
static pthread_mutex_t listeners_lock = PTHREAD_MUTEX_INITIALIZER;

const char *lt_tls_failure_name(lt_tls_failure_t f)
{
    static const char *const names[LT_TLS_FAIL_COUNT] = {
        "no_certificate", "unknown_ca", "bad_certificate", "protocol_version", "no_shared_cipher",
        "peer_alert",     "other"};
    return (unsigned)f < LT_TLS_FAIL_COUNT ? names[f] : "other";
}

int lt_metrics_listener(const char *name)
{
    pthread_mutex_lock(&listeners_lock);
    int n = atomic_load(&nlisteners), found = -1;
    for (int i = 0; i < n && found < 0; i++)
        if (strcmp(listeners[i].name, name) == 0)
            found = i;
    if (found < 0 && n < LT_METRICS_MAX_LISTENERS) {
        snprintf(listeners[n].name, sizeof(listeners[n].name), "%s", name);
        found = n;
        atomic_store(&nlisteners, n + 1); /* published after its name: readers never see a half-made slot */
    }
    pthread_mutex_unlock(&listeners_lock);
    return found;
}

void lt_metrics_connection_opened(int listener)
{
    if (listener >= 0 && listener < LT_METRICS_MAX_LISTENERS)
        atomic_fetch_add(&listeners[listener].open, 1);
}

void lt_metrics_connection_closed(int listener)
{
    if (listener >= 0 && listener < LT_METRICS_MAX_LISTENERS)
        atomic_fetch_sub(&listeners[listener].open, 1);
}

void lt_metrics_tls_failure(int listener, lt_tls_failure_t reason)
{
    if (listener >= 0 && listener < LT_METRICS_MAX_LISTENERS && (unsigned)reason < LT_TLS_FAIL_COUNT)
        atomic_fetch_add(&listeners[listener].failures[reason], 1);
}

long lt_metrics_open_connections(const char *name)
{
    int n = atomic_load(&nlisteners);
    for (int i = 0; i < n; i++)
        if (strcmp(listeners[i].name, name) == 0)
            return atomic_load(&listeners[i].open);
    return 0;
}

void lt_metrics_render_listeners(lt_mbuf_t *b)
{
    int n = atomic_load(&nlisteners);
    lt_mbuf_family(b, "lienthong_open_connections", "gauge", "Connections open now on a listener of ours.");
    for (int i = 0; i < n; i++)
        lt_mbuf_printf(b, "lienthong_open_connections{listener=\"%s\"} %ld\n", listeners[i].name,
                       atomic_load(&listeners[i].open));
    lt_mbuf_family(b, "lienthong_tls_handshake_failures_total", "counter",
                   "TLS handshakes on a listener of ours that failed, by reason.");
    for (int i = 0; i < n; i++)
        for (int r = 0; r < LT_TLS_FAIL_COUNT; r++)
            lt_mbuf_printf(b, "lienthong_tls_handshake_failures_total{listener=\"%s\",reason=\"%s\"} %llu\n",
                           listeners[i].name, lt_tls_failure_name((lt_tls_failure_t)r),
                           (unsigned long long)atomic_load(&listeners[i].failures[r]));
}
