/* Process-wide metrics: the northbound request table and the listeners' connections and TLS failures. */
#include "lt_metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void lt_metrics_render_requests(lt_buf_t *b)
{
    pthread_mutex_lock(&lock);
    lt_mbuf_family(b, "lienthong_http_requests_total", "counter",
                   "Northbound requests answered, by route, HTTP status and client certificate CN.");
    for (size_t i = 0; i < LT_METRICS_MAX_SERIES + OVERFLOW_SERIES; i++) {
        const series_t *s = &series[i];
        if (i >= nseries && (i < LT_METRICS_MAX_SERIES || i >= LT_METRICS_MAX_SERIES + noverflow))
            continue;
        lt_buf_printf(b, "lienthong_http_requests_total{route=\"");
        lt_mbuf_label_value(b, s->route);
        lt_buf_printf(b, "\",status=\"%d\",client=\"", s->status);
        lt_mbuf_label_value(b, s->client);
        lt_buf_printf(b, "\"} %llu\n", (unsigned long long)s->count);
    }
    lt_mbuf_family(b, "lienthong_http_requests_dropped_total", "counter",
                   "Northbound requests not counted in lienthong_http_requests_total because its series table was "
                   "full.");
    lt_buf_printf(b, "lienthong_http_requests_dropped_total %llu\n", (unsigned long long)dropped);
    lt_mbuf_family(b, "lienthong_http_request_duration_seconds", "histogram",
                   "Northbound request latency, from request to answer, by route.");
    size_t n = nroutes + (routes[LT_METRICS_MAX_ROUTES].route[0] ? 1 : 0);
    for (size_t i = 0; i < n; i++) {
        const route_hist_t *r = i < nroutes ? &routes[i] : &routes[LT_METRICS_MAX_ROUTES];
        lt_buf_t labels = {0};
        lt_buf_printf(&labels, "route=\"");
        lt_mbuf_label_value(&labels, r->route);
        lt_buf_printf(&labels, "\"");
        lt_mbuf_histogram(b, "lienthong_http_request_duration_seconds", labels.data, &r->h);
        lt_buf_free(&labels);
    }
    pthread_mutex_unlock(&lock);
}

/* ---- listeners ----------------------------------------------------------------------------- */

/* The statuses a refused request head gets, in the order lienthong_http_heads_refused_total lists them. */
static const int head_refused_status[] = {400, 411, 413, 414, 431};
#define HEAD_REFUSED_COUNT (sizeof(head_refused_status) / sizeof(head_refused_status[0]))

typedef struct {
    char name[16];
    _Atomic long open;
    _Atomic uint64_t failures[LT_TLS_FAIL_COUNT];
    _Atomic uint64_t resumed;
    _Atomic uint64_t closed[LT_CONN_CLOSE_COUNT];
    _Atomic uint64_t refused[HEAD_REFUSED_COUNT];
} listener_t;

static listener_t listeners[LT_METRICS_MAX_LISTENERS];
static _Atomic int nlisteners;
static pthread_mutex_t listeners_lock = PTHREAD_MUTEX_INITIALIZER;

const char *lt_metrics_tls_failure_name(lt_tls_failure_t f)
{
    static const char *const names[LT_TLS_FAIL_COUNT] = {
        "no_certificate", "unknown_ca", "bad_certificate", "protocol_version", "no_shared_cipher", "peer_alert",
        "other",          "expired",    "revoked",         "crl_expired",      "crl_unavailable"};
    return (unsigned)f < LT_TLS_FAIL_COUNT ? names[f] : "other";
}

const char *lt_metrics_listener_name(int listener)
{
    return listener >= 0 && listener < atomic_load(&nlisteners) ? listeners[listener].name : "?";
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

void lt_metrics_tls_resumed(int listener)
{
    if (listener >= 0 && listener < LT_METRICS_MAX_LISTENERS)
        atomic_fetch_add(&listeners[listener].resumed, 1);
}

static _Atomic uint64_t ticket_key_rotations;

void lt_metrics_ticket_keys_rotated(uint64_t periods)
{
    atomic_fetch_add(&ticket_key_rotations, periods);
}

void lt_metrics_connection_closed_by_us(int listener, lt_conn_close_t reason)
{
    if (listener >= 0 && listener < LT_METRICS_MAX_LISTENERS && (unsigned)reason < LT_CONN_CLOSE_COUNT)
        atomic_fetch_add(&listeners[listener].closed[reason], 1);
}

void lt_metrics_head_refused(int listener, int status)
{
    if (listener < 0 || listener >= LT_METRICS_MAX_LISTENERS)
        return;
    for (size_t i = 0; i < HEAD_REFUSED_COUNT; i++)
        if (head_refused_status[i] == status)
            atomic_fetch_add(&listeners[listener].refused[i], 1);
}

static const char *close_reason_name(lt_conn_close_t r)
{
    static const char *const names[LT_CONN_CLOSE_COUNT] = {
        [LT_CONN_CLOSE_HANDSHAKE_TIMEOUT] = "handshake_timeout", [LT_CONN_CLOSE_HEADER_TIMEOUT] = "header_timeout",
        [LT_CONN_CLOSE_BODY_TOO_SLOW] = "body_too_slow",         [LT_CONN_CLOSE_IDLE_TIMEOUT] = "idle_timeout",
        [LT_CONN_CLOSE_LISTENER_CAP] = "listener_cap",           [LT_CONN_CLOSE_ADDRESS_CAP] = "address_cap",
        [LT_CONN_CLOSE_REFUSED_REQUEST] = "refused_request",
    };
    return names[r];
}

long lt_metrics_open_connections(const char *name)
{
    int n = atomic_load(&nlisteners);
    for (int i = 0; i < n; i++)
        if (strcmp(listeners[i].name, name) == 0)
            return atomic_load(&listeners[i].open);
    return 0;
}

void lt_metrics_render_listeners(lt_buf_t *b)
{
    int n = atomic_load(&nlisteners);
    lt_mbuf_family(b, "lienthong_open_connections", "gauge", "Connections open now on a listener of ours.");
    for (int i = 0; i < n; i++)
        lt_buf_printf(b, "lienthong_open_connections{listener=\"%s\"} %ld\n", listeners[i].name,
                      atomic_load(&listeners[i].open));
    lt_mbuf_family(b, "lienthong_tls_handshake_failures_total", "counter",
                   "TLS handshakes on a listener of ours that failed, by reason.");
    for (int i = 0; i < n; i++)
        for (int r = 0; r < LT_TLS_FAIL_COUNT; r++)
            lt_buf_printf(b, "lienthong_tls_handshake_failures_total{listener=\"%s\",reason=\"%s\"} %llu\n",
                          listeners[i].name, lt_metrics_tls_failure_name((lt_tls_failure_t)r),
                          (unsigned long long)atomic_load(&listeners[i].failures[r]));
    lt_mbuf_family(b, "lienthong_tls_resumed_handshakes_total", "counter",
                   "TLS handshakes on a listener of ours that resumed a session by ticket.");
    for (int i = 0; i < n; i++)
        lt_buf_printf(b, "lienthong_tls_resumed_handshakes_total{listener=\"%s\"} %llu\n", listeners[i].name,
                      (unsigned long long)atomic_load(&listeners[i].resumed));
    lt_mbuf_family(b, "lienthong_tls_ticket_key_rotations_total", "counter",
                   "Periods the api listener's session ticket keys have moved on by since start-up.");
    lt_buf_printf(b, "lienthong_tls_ticket_key_rotations_total %llu\n",
                  (unsigned long long)atomic_load(&ticket_key_rotations));
    lt_mbuf_family(b, "lienthong_connections_closed_total", "counter",
                   "Connections of a listener of ours that the gateway closed on its own, by reason.");
    for (int i = 0; i < n; i++)
        for (int r = 0; r < LT_CONN_CLOSE_COUNT; r++)
            lt_buf_printf(b, "lienthong_connections_closed_total{listener=\"%s\",reason=\"%s\"} %llu\n",
                          listeners[i].name, close_reason_name((lt_conn_close_t)r),
                          (unsigned long long)atomic_load(&listeners[i].closed[r]));
    lt_mbuf_family(b, "lienthong_http_heads_refused_total", "counter",
                   "Request heads refused by the strict HTTP check before any module saw them, by status.");
    for (int i = 0; i < n; i++)
        for (size_t r = 0; r < HEAD_REFUSED_COUNT; r++)
            lt_buf_printf(b, "lienthong_http_heads_refused_total{listener=\"%s\",status=\"%d\"} %llu\n",
                          listeners[i].name, head_refused_status[r],
                          (unsigned long long)atomic_load(&listeners[i].refused[r]));
}
