/*
 * The upstream HTTP client (floor 3): libcurl's multi interface driven by the
 * worker's own libevent loop (curl's hiperfifo pattern). No blocking call and
 * no thread per request: every exchange is a curl easy handle in the worker's
 * multi handle, which also keeps finished connections alive for reuse.
 *
 * The done callback runs from the event loop, never from inside
 * lt_upstream_send(), and never after lt_upstream_cancel().
 *
 * Every new connection's handshake notes the server's certificate in
 * lt_certs ("upstream_server", the upstream's name), for its expiry.
 */
#ifndef LT_UPSTREAM_H
#define LT_UPSTREAM_H

#include <event2/event.h>

#include "lt_adapter.h"
#include "lt_config.h"
#include "lt_error.h"

typedef struct lt_upstream_client lt_upstream_client_t;
typedef struct lt_upstream_exchange lt_upstream_exchange_t;

/*
 * resp is NULL when the exchange failed below HTTP (connect, TLS, timeout,
 * reset, truncated or oversized body); err then says what, with the
 * northbound status it maps to. resp is valid only during the callback.
 */
typedef void (*lt_upstream_done_fn)(void *arg, const lt_upstream_response_t *resp, const lt_error_t *err);

lt_upstream_client_t *lt_upstream_client_new(struct event_base *base);
/* Cancels every exchange still in flight (their callbacks do not run). */
void lt_upstream_client_free(lt_upstream_client_t *client);

/* Sends req to conf's base_url. timeout_ms bounds the whole exchange. Returns NULL (err set) if it cannot start. */
lt_upstream_exchange_t *lt_upstream_send(lt_upstream_client_t *client, const lt_upstream_conf_t *conf,
                                         const lt_upstream_request_t *req, long timeout_ms, lt_upstream_done_fn done,
                                         void *arg, lt_error_t *err);
void lt_upstream_cancel(lt_upstream_exchange_t *exchange);

/*
 * A TLS handshake with conf's server and nothing more (a health probe where no request is safe): a fresh
 * connection, closed after. done gets a response with status 0 and an empty body on success.
 */
lt_upstream_exchange_t *lt_upstream_handshake(lt_upstream_client_t *client, const lt_upstream_conf_t *conf,
                                              long timeout_ms, lt_upstream_done_fn done, void *arg, lt_error_t *err);

/* Called once at start-up, before any thread starts. */
int lt_upstream_global_init(lt_error_t *err);

#endif
