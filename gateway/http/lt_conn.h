/*
 * One client connection of a listener that lt_server serves (floor 4): HTTP/1.1 over the connection's OpenSSL
 * bufferevent, read and written here and nowhere else. It
 *  - reads each request head only once lt_http_head_check has passed it, and answers a failed one itself (400,
 *    411, 413 for a body over limits.max_body_bytes, 414, 431, 501 for a method no route can have) with a problem
 *    document, then closes the way nginx's lingering close does: reading and discarding what the client still
 *    sends, for a bounded time and size, so that the client reads its answer instead of a reset;
 *  - hands each whole request (head and body) to the server, one at a time, and writes its answer as one buffer:
 *    one TLS record and one write(2) for an answer that fits in a record;
 *  - keeps reading while a request is handled, so that a client that leaves is seen at once (the request is
 *    aborted), and a pipelined request waits in the input until the answer before it is written; a client that
 *    ends its side of the stream has left (half-closed connections are not served);
 *  - times each phase: the TLS handshake, the request head, the body (a minimum rate after a grace), and the
 *    idle keep-alive wait;
 *  - caps the connections open on its listener and from one client address, across workers.
 */
#ifndef LT_CONN_H
#define LT_CONN_H

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdbool.h>

#include "lt_arena.h"
#include "lt_config.h"
#include "lt_http_head.h"

typedef struct lt_conn lt_conn_t;

/* A request the head check refused, as the server may record it: the request line's method and path (no query),
 * never a header's value. */
typedef struct lt_conn_refusal {
    const char *method, *path; /* NULL when the request line itself was refused */
    int status;
    const char *code;
    const char *request_id; /* the one the answer carries */
} lt_conn_refusal_t;

/* One whole request as the connection read it. Everything lives in the arena handed over with it. */
typedef struct lt_http_request {
    const char *method; /* as sent: a token */
    const char *target; /* the request target as sent */
    const char *path;   /* the target's path, without the query ("/" for none) */
    const char *query;  /* what follows '?', NULL without one */
    int minor_version;  /* HTTP/1.<minor_version> */
    const lt_http_field_t *fields;
    size_t nfields;
    const char *body; /* NUL-terminated, body_len bytes ("" without a body) */
    size_t body_len;
} lt_http_request_t;

/* What every connection of one server shares; the server owns it and outlives its connections, which it closes
 * with lt_conn_close_all before it goes. */
typedef struct lt_conn_env {
    struct event_base *base;
    const lt_conn_limits_t *limits;
    long long max_body_bytes;
    long long idle_timeout_s;
    int listener; /* lt_metrics slot */
    /* Told of every request the head check answered itself, before the answer is sent (NULL: nobody). */
    void (*refused)(void *arg, SSL *ssl, const lt_conn_refusal_t *refusal);
    void *refused_arg;
    /* A whole request: the receiver owns the arena from here on, and answers with lt_conn_reply. */
    void (*request)(void *arg, lt_conn_t *conn, const lt_http_request_t *req, lt_arena_t *arena);
    void *request_arg;
    lt_conn_t *open; /* the server's open connections, for lt_conn_close_all */
} lt_conn_env_t;

/* Serves a newly accepted socket: the handshake (an accepting OpenSSL bufferevent that owns ssl and fd), then its
 * requests. NULL when the connection could not even be set up (fd and ssl are then freed). */
lt_conn_t *lt_conn_new(lt_conn_env_t *env, SSL *ssl, evutil_socket_t fd);

/*
 * Who hears how the connection's current request ends: ended(arg, true) once its answer is written, or
 * ended(arg, false) when the connection goes first (the client left, or the answer could not be written). Called
 * exactly once, from the loop and never from inside lt_conn_reply; the connection must not be used after it.
 */
void lt_conn_on_end(lt_conn_t *conn, void (*ended)(void *arg, bool written), void *arg);

/*
 * The current request's answer: the status line and the framing (Content-Length, Date, Connection) are the
 * connection's, the other headers the caller's; no body for HEAD. close: the connection closes once it is written
 * (a draining server). Once per request; later calls do nothing.
 */
void lt_conn_reply(lt_conn_t *conn, int status, const lt_http_field_t *headers, size_t nheaders, const char *body,
                   size_t body_len, bool close);

/* The connection's TLS session: the client's certificate. */
SSL *lt_conn_ssl(const lt_conn_t *conn);

/* The client's address, numeric ("192.0.2.1", "::1"); false when the socket no longer has one. */
bool lt_conn_peer_address(const lt_conn_t *conn, char *buf, size_t len);

/* Closes the connections that have no request in hand (a draining server: the others close after their answer). */
void lt_conn_close_idle(lt_conn_env_t *env);

/* Closes every connection the server still has (at its end, with no request in flight). */
void lt_conn_close_all(lt_conn_env_t *env);

#endif
