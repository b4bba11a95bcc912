/*
 * One listener's server on one worker (floor 4): its listening socket on the
 * worker's event loop, the TLS accept path (each connection then lt_conn's),
 * admission of requests and their dispatch to the module whose route covers
 * them (lt_router_route), and draining on shutdown. Each worker binds its own listening socket with SO_REUSEPORT, so
 * the kernel spreads connections across workers (h2o, nginx).
 */
#ifndef LT_SERVER_H
#define LT_SERVER_H

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdbool.h>

#include "lt_config.h"
#include "lt_error.h"

struct lt_request;
struct lt_audit_loop;
struct lt_ratelimit_loop;

typedef struct lt_server lt_server_t;

typedef struct lt_server_deps {
    struct event_base *base;
    const lt_config_t *config;
    SSL_CTX *tls; /* shared, read-only: this listener's TLS context */
    /* Which listener this server is: LT_LISTENER_API (config->api, mutual TLS) or a module's listener. */
    const char *listener_name;
    const lt_listener_conf_t *listener;
    /* Per module of config->modules: its context on this worker (NULL for a module without one, or off). */
    void *const *module_ctx;
    struct lt_audit_loop *audit;         /* this worker's handle on the audit trail; NULL: no trail */
    struct lt_ratelimit_loop *ratelimit; /* this worker's handle on the rate limits; NULL: no limit */
    void (*on_drained)(void *arg);       /* draining finished: no request in flight */
    void *on_drained_arg;
} lt_server_deps_t;

lt_server_t *lt_server_new(const lt_server_deps_t *deps, lt_error_t *err);
void lt_server_free(lt_server_t *server);

/* Stop accepting; call on_drained once the last in-flight request has been answered. */
void lt_server_drain(lt_server_t *server);
bool lt_server_is_draining(const lt_server_t *server);
int lt_server_inflight(const lt_server_t *server);

/* Parses "host:port" ("0.0.0.0:8443", "[::1]:8443") into a socket address. */
int lt_parse_bind(const char *bind, struct sockaddr_storage *ss, int *sslen, lt_error_t *err);

#endif
