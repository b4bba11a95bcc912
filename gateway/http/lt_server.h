/*
 * The api server of one worker (floor 4): its evhttp instance on the worker's
 * event loop, the TLS accept path, admission of requests, and draining on
 * shutdown. Each worker binds its own listening socket with SO_REUSEPORT, so
 * the kernel spreads connections across workers (h2o, nginx).
 */
#ifndef LT_SERVER_H
#define LT_SERVER_H

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdbool.h>

#include "lt_config.h"
#include "lt_error.h"
#include "lt_upstream.h"

struct lt_request;

typedef struct lt_server lt_server_t;

typedef struct lt_server_deps {
    struct event_base *base;
    const lt_config_t *config;
    SSL_CTX *api_tls; /* shared, read-only: this listener's TLS context */
    /* Which listener this server is: NULL means the api listener (config->api, lt_proxy_handle). The callbacks
     * listener passes its own (lt_callbacks_handle). */
    const lt_listener_conf_t *listener;
    void (*handle)(struct lt_request *r);
    struct lt_pay_service *payments; /* NULL when payments are not configured */
    struct lt_pay_conn *pay;         /* this worker's store conn */
    lt_upstream_client_t *upstreams; /* this worker's */
    struct lt_call_env *calls;       /* this worker's view of the upstreams' shared state */
    struct lt_cache_worker *cache;   /* this worker's handle on the cache */
    void (*on_drained)(void *arg);   /* draining finished: no request in flight */
    void *on_drained_arg;
} lt_server_deps_t;

lt_server_t *lt_server_new(const lt_server_deps_t *deps, lt_error_t *err);
void lt_server_free(lt_server_t *server);

/* Stop accepting; call on_drained once the last in-flight request has been answered. */
void lt_server_drain(lt_server_t *server);
bool lt_server_is_draining(const lt_server_t *server);
int lt_server_inflight(const lt_server_t *server);

/* For the request layer: every admitted request reports its end exactly once. */
void lt_server_request_done(lt_server_t *server, struct lt_request *r, int status);
lt_upstream_client_t *lt_server_upstreams(lt_server_t *server);
struct lt_call_env *lt_server_calls(lt_server_t *server);
struct lt_cache_worker *lt_server_cache(lt_server_t *server);
const lt_config_t *lt_server_config(const lt_server_t *server);
struct event_base *lt_server_base(lt_server_t *server);
struct lt_pay_service *lt_server_payments(lt_server_t *server);
struct lt_pay_conn *lt_server_pay_conn(lt_server_t *server);

/* Parses "host:port" ("0.0.0.0:8443", "[::1]:8443") into a socket address. */
int lt_parse_bind(const char *bind, struct sockaddr_storage *ss, int *sslen, lt_error_t *err);

#endif
