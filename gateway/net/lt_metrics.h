/*
 * Process-wide metrics (floor 3): counters and histograms that every worker
 * thread updates, and the Prometheus text exposition (format 0.0.4) helpers
 * the admin listener renders them with.
 *
 * - Northbound requests live in a small fixed table keyed by (route, status,
 *   client) under a mutex: at most LT_METRICS_MAX_SERIES series, never more.
 *   Once the table is full, new combinations are counted under route="other",
 *   client="other" (one series per status), so a misbehaving client cannot
 *   grow memory or the scrape. Client names are certificate CNs (organisation
 *   system names, never personal data), cut to LT_METRICS_LABEL_MAX bytes.
 * - Histograms are lock-free (atomics); an upstream's live in its
 *   lt_upstream_state_t (lt_call.h), next to its other shared counters.
 * Includes only the ground floor.
 */
#ifndef LT_METRICS_H
#define LT_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_error.h"

#define LT_METRICS_MAX_SERIES 512 /* (route, status, client) request series */
#define LT_METRICS_MAX_ROUTES 64  /* latency histograms, one per route */
#define LT_METRICS_LABEL_MAX  64  /* longest route or client label kept, in bytes */
#define LT_METRICS_NBUCKETS   11  /* finite bucket bounds; +Inf is one more */

/* A seconds histogram; buckets are stored per bucket (not cumulative) and summed when rendered. */
typedef struct lt_histogram {
    _Atomic uint64_t buckets[LT_METRICS_NBUCKETS + 1]; /* the last is (largest bound, +Inf) */
    _Atomic uint64_t sum_ns;
} lt_histogram_t;

void lt_histogram_observe(lt_histogram_t *h, double seconds);
/* The upper bound of finite bucket i (0 <= i < LT_METRICS_NBUCKETS), in seconds. */
double lt_histogram_bound(int i);
/*
 * The q-quantile (0 < q < 1) of observations counted per bucket (not cumulative; the last is +Inf), interpolated
 * linearly inside its bucket as Prometheus' histogram_quantile() does. An answer in the +Inf bucket is the largest
 * finite bound. Returns -1 when there is no observation.
 */
double lt_histogram_quantile(const uint64_t per_bucket[LT_METRICS_NBUCKETS + 1], double q);

/* How one upstream attempt ended; see docs/operations.md "Metrics" for the classification. */
typedef enum {
    LT_OUTCOME_OK,
    LT_OUTCOME_TIMEOUT,
    LT_OUTCOME_CONNECT,
    LT_OUTCOME_TLS,
    LT_OUTCOME_HTTP_4XX,
    LT_OUTCOME_HTTP_5XX,
    LT_OUTCOME_FAULT,
    LT_OUTCOME_BAD_RESPONSE,
    LT_OUTCOME_COUNT
} lt_outcome_t;

const char *lt_outcome_name(lt_outcome_t o);
/* err NULL: the attempt got a usable answer. http_status 0: no HTTP response (transport failure). */
lt_outcome_t lt_outcome_classify(const lt_error_t *err, long http_status);

/* One finished northbound request (thread-safe). */
void lt_metrics_request(const char *route, int status, const char *client, double seconds);
/* Forget every northbound series (tests). */
void lt_metrics_reset(void);

/* ---- exposition ---------------------------------------------------------------------------- */

/* A growing text buffer; data is NUL-terminated. Allocation failure aborts (as the rest of the process does). */
typedef struct lt_mbuf {
    char *data;
    size_t len, cap;
} lt_mbuf_t;

void lt_mbuf_printf(lt_mbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lt_mbuf_free(lt_mbuf_t *b);
/* Appends a label value escaped for the text format: \ as \\, " as \", newline as \n. */
void lt_mbuf_label_value(lt_mbuf_t *b, const char *value);
/* "# HELP name help\n# TYPE name type\n" */
void lt_mbuf_family(lt_mbuf_t *b, const char *name, const char *type, const char *help);
/* name_bucket{labels,le=...}, name_sum, name_count; labels is already rendered (may be ""). */
void lt_mbuf_histogram(lt_mbuf_t *b, const char *name, const char *labels, const lt_histogram_t *h);

/* Appends the northbound request families (counter and latency histogram). */
void lt_metrics_render_requests(lt_mbuf_t *b);

/* ---- listeners: open connections and TLS handshake failures ------------------------------------ */

#define LT_METRICS_MAX_LISTENERS 4 /* api, callbacks, admin, and one spare */

/* Why a TLS handshake on one of our listeners failed (lt_tls.c reads it off the alert OpenSSL sends). */
typedef enum {
    LT_TLS_FAIL_NO_CERTIFICATE,  /* the client sent no certificate */
    LT_TLS_FAIL_UNKNOWN_CA,      /* its certificate does not chain to our CA */
    LT_TLS_FAIL_BAD_CERTIFICATE, /* expired, not yet valid, or otherwise unacceptable */
    LT_TLS_FAIL_PROTOCOL,        /* TLS older than 1.2, or not TLS at all */
    LT_TLS_FAIL_NO_SHARED_CIPHER,
    LT_TLS_FAIL_PEER_ALERT, /* the client refused us (for example it does not trust our certificate) */
    LT_TLS_FAIL_OTHER,
    LT_TLS_FAIL_COUNT
} lt_tls_failure_t;

const char *lt_tls_failure_name(lt_tls_failure_t f);
/* Slot of a listener by name ("api"), created on first use; -1 when the table is full. Thread-safe. */
int lt_metrics_listener(const char *name);
void lt_metrics_connection_opened(int listener);
void lt_metrics_connection_closed(int listener);
void lt_metrics_tls_failure(int listener, lt_tls_failure_t reason);
/* Open connections of a listener now (for /status and tests). */
long lt_metrics_open_connections(const char *name);
/* Appends lienthong_open_connections and lienthong_tls_handshake_failures_total. */
void lt_metrics_render_listeners(lt_mbuf_t *b);

#endif
