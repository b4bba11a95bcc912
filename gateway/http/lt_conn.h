/*
 * One client connection of a listener that lt_server serves (floor 4), as the bufferevent evhttp reads: a filter
 * on the connection's OpenSSL bufferevent that sees every byte before evhttp's parser does. It
 *  - holds each request head until lt_http_head_check has passed it, and answers a failed one itself (400, 411,
 *    413 for a body over limits.max_body_bytes, 414, 431) with a problem document, then closes the way nginx's
 *    lingering close does: reading and discarding what the client still sends, for a bounded time and size, so
 *    that the client reads its answer instead of a reset;
 *  - times each phase: the TLS handshake, the request head, the body (a minimum rate after a grace), and the
 *    idle keep-alive wait;
 *  - caps the connections open on its listener and from one client address, across workers.
 * A connection it gives up on is shut down at the socket; evhttp sees the end of stream and frees it the way it
 * frees any connection, so a request it was handling is aborted on the usual path.
 */
#ifndef LT_CONN_H
#define LT_CONN_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "lt_config.h"

/* A request the head check refused, as the server may record it: the request line's method and path (no query),
 * never a header's value. */
typedef struct lt_conn_refusal {
    const char *method, *path; /* NULL when the request line itself was refused */
    int status;
    const char *code;
    const char *request_id; /* the one the answer carries */
} lt_conn_refusal_t;

/* What every connection of one server shares; the server owns it and outlives its connections. */
typedef struct lt_conn_env {
    struct event_base *base;
    const lt_conn_limits_t *limits;
    long long max_body_bytes;
    long long idle_timeout_s;
    int listener; /* lt_metrics slot */
    /* Told of every request the head check answered itself, before the answer is sent (NULL: nobody). */
    void (*refused)(void *arg, SSL *ssl, const lt_conn_refusal_t *refusal);
    void *refused_arg;
} lt_conn_env_t;

/* The bufferevent evhttp gets for a newly accepted connection: a filter over an accepting OpenSSL bufferevent
 * that owns ssl. evhttp sets the socket on it (forwarded to the OpenSSL bufferevent). */
struct bufferevent *lt_conn_new(const lt_conn_env_t *env, SSL *ssl);

#endif
