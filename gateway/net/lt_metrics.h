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
 * - Histograms (lt_histogram.h) are lock-free; an upstream's live in its
 *   lt_upstream_state_t (lt_call.h), next to its other shared counters, with
 *   how its attempts ended (lt_outcome.h). The text is written with
 *   lt_mbuf.h.
 * Includes only the ground floor.
 */
#ifndef LT_METRICS_H
#define LT_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_error.h"
#include "lt_histogram.h"
#include "lt_mbuf.h"
#include "lt_outcome.h"

#define LT_METRICS_MAX_SERIES 512                   /* (route, status, client) request series */
#define LT_METRICS_MAX_ROUTES 64                    /* latency histograms, one per route */
#define LT_METRICS_LABEL_MAX  64                    /* longest route or client label kept, in bytes */
#define LT_METRICS_NBUCKETS   LT_HISTOGRAM_NBUCKETS /* finite bucket bounds; +Inf is one more */

/* One finished northbound request (thread-safe). */
void lt_metrics_request(const char *route, int status, const char *client, double seconds);
/* Forget every northbound series (tests). */
void lt_metrics_reset(void);

/* ---- exposition ---------------------------------------------------------------------------- */

/* Appends the northbound request families (counter and latency histogram). */
void lt_metrics_render_requests(lt_buf_t *b);

/* ---- listeners: open connections and TLS handshake failures ------------------------------------ */

#define LT_METRICS_MAX_LISTENERS 4 /* api, callbacks, admin, and one spare */

/* Why a TLS handshake on one of our listeners failed (lt_tls.c reads it off the certificate check, else off the
 * alert OpenSSL sends). */
typedef enum {
    LT_TLS_FAIL_NO_CERTIFICATE,  /* the client sent no certificate */
    LT_TLS_FAIL_UNKNOWN_CA,      /* its certificate does not chain to our CA */
    LT_TLS_FAIL_BAD_CERTIFICATE, /* not yet valid, or otherwise unacceptable */
    LT_TLS_FAIL_PROTOCOL,        /* TLS older than 1.2, or not TLS at all */
    LT_TLS_FAIL_NO_SHARED_CIPHER,
    LT_TLS_FAIL_PEER_ALERT, /* the client refused us (for example it does not trust our certificate) */
    LT_TLS_FAIL_OTHER,
    LT_TLS_FAIL_EXPIRED,         /* its certificate (or one of its chain) is past its notAfter */
    LT_TLS_FAIL_REVOKED,         /* a revocation list in force lists it (or a CA of its chain) */
    LT_TLS_FAIL_CRL_EXPIRED,     /* a revocation list is past its nextUpdate, and crl_expired is "refuse" */
    LT_TLS_FAIL_CRL_UNAVAILABLE, /* no usable list for a CA of its chain (none, not yet valid, bad signature) */
    LT_TLS_FAIL_COUNT
} lt_tls_failure_t;

/* Why the server closed a connection of one of our listeners on its own (lt_conn). */
typedef enum {
    LT_CONN_CLOSE_HANDSHAKE_TIMEOUT, /* the TLS handshake did not finish in limits.handshake_timeout_s */
    LT_CONN_CLOSE_HEADER_TIMEOUT,    /* no complete request head in limits.header_timeout_s */
    LT_CONN_CLOSE_BODY_TOO_SLOW,     /* the body came slower than limits.body_min_rate_bytes_s */
    LT_CONN_CLOSE_IDLE_TIMEOUT,      /* keep-alive with no new request for limits.idle_timeout_s */
    LT_CONN_CLOSE_LISTENER_CAP,      /* refused at accept: limits.max_connections open on the listener */
    LT_CONN_CLOSE_ADDRESS_CAP,       /* refused at accept: limits.max_connections_per_address from that address */
    LT_CONN_CLOSE_REFUSED_REQUEST,   /* after answering a request head that failed the strict check */
    LT_CONN_CLOSE_COUNT
} lt_conn_close_t;
/* The reason's label in /metrics and in the log ("revoked"). */
const char *lt_metrics_tls_failure_name(lt_tls_failure_t f);

/* Slot of a listener by name ("api"), created on first use; -1 when the table is full. Thread-safe. */
int lt_metrics_listener(const char *name);
void lt_metrics_connection_opened(int listener);
void lt_metrics_connection_closed(int listener);
void lt_metrics_tls_failure(int listener, lt_tls_failure_t reason);
/* A handshake that resumed a session (by ticket) instead of checking a certificate again. */
void lt_metrics_tls_resumed(int listener);
/* The api listener's session ticket keys moved on by this many periods (lt_tls). */
void lt_metrics_ticket_keys_rotated(uint64_t periods);
void lt_metrics_connection_closed_by_us(int listener, lt_conn_close_t reason);
/* A request head refused before any module saw it (400, 411, 413, 414, 431), by status. */
void lt_metrics_head_refused(int listener, int status);
/* A listener slot's name ("?" for none). */
const char *lt_metrics_listener_name(int listener);
/* Open connections of a listener now (for /status and tests). */
long lt_metrics_open_connections(const char *name);
/* Appends lienthong_open_connections, lienthong_tls_handshake_failures_total,
 * lienthong_tls_resumed_handshakes_total, lienthong_tls_ticket_key_rotations_total,
 * lienthong_connections_closed_total and lienthong_http_heads_refused_total. */
void lt_metrics_render_listeners(lt_buf_t *b);

#endif
