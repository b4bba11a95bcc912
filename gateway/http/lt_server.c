/* One worker's api server: TLS accept, admission, access log, drain. */
#include "lt_server.h"

#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lt_log.h"
#include "lt_metrics.h"
#include "lt_proxy.h"
#include "lt_request.h"
#include "lt_tls.h"

struct lt_server {
    lt_server_deps_t deps;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    int inflight;
    bool draining;
    int metrics_slot; /* lt_metrics slot of this listener: open connections, handshake failures */
};

int lt_parse_bind(const char *bind, struct sockaddr_storage *ss, int *sslen, lt_error_t *err)
{
    *sslen = (int)sizeof(*ss);
    memset(ss, 0, sizeof(*ss));
    if (bind == NULL || evutil_parse_sockaddr_port(bind, (struct sockaddr *)ss, sslen) != 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "cannot parse listen address '%s' (want host:port)",
                            bind ? bind : "");
    return 0;
}

/* Every api connection is TLS; the handshake (and client certificate check) happens before any HTTP. */
static struct bufferevent *make_tls_bufferevent(struct event_base *base, void *arg)
{
    lt_server_t *server = arg;
    SSL *ssl = SSL_new(server->deps.api_tls);
    lt_tls_track(ssl, server->metrics_slot);
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    lt_server_t *server = arg;
    lt_request_t *r = lt_request_new(server, req);
    server->inflight++;
    if (server->deps.handle != NULL)
        server->deps.handle(r);
    else
        lt_proxy_handle(r);
}

static int bind_api(lt_server_t *server, lt_error_t *err)
{
    struct sockaddr_storage ss;
    int sslen;
    const char *bind = server->deps.listener->bind;
    if (lt_parse_bind(bind, &ss, &sslen, err) != 0)
        return -1;
    unsigned flags = LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC;
    struct evconnlistener *l =
        evconnlistener_new_bind(server->deps.base, NULL, NULL, flags, 511, (struct sockaddr *)&ss, sslen);
    if (l == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "listen", "cannot listen on %s: %s", bind,
                            evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    server->bound = evhttp_bind_listener(server->http, l);
    return server->bound ? 0 : lt_error_set(err, LT_ERR_INTERNAL, "listen", "cannot serve HTTP on %s", bind);
}

lt_server_t *lt_server_new(const lt_server_deps_t *deps, lt_error_t *err)
{
    lt_server_t *server = calloc(1, sizeof(*server));
    server->deps = *deps;
    if (server->deps.listener == NULL)
        server->deps.listener = &deps->config->api;
    server->http = evhttp_new(deps->base);
    server->metrics_slot = lt_metrics_listener(server->deps.listener == &deps->config->api ? "api" : "callbacks");
    const lt_config_t *c = deps->config;
    evhttp_set_bevcb(server->http, make_tls_bufferevent, server);
    evhttp_set_gencb(server->http, on_request, server);
    /* libevent's own 413 is a bare HTML page, so it only guards memory at a hard cap well above the
     * configured limit; lt_proxy answers bodies over max_body_bytes with a problem document. */
    long long hard_cap = c->max_body_bytes * 4 > 65536 ? c->max_body_bytes * 4 : 65536;
    evhttp_set_max_body_size(server->http, (ev_ssize_t)hard_cap);
    evhttp_set_max_headers_size(server->http, 16384);
    evhttp_set_timeout(server->http, (int)c->idle_timeout_s);
    /* Admit every method so that a wrong one gets our 405 problem document, not libevent's bare 405. */
    evhttp_set_allowed_methods(server->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                                                 EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_default_content_type(server->http, "application/json");
    if (bind_api(server, err) != 0) {
        lt_server_free(server);
        return NULL;
    }
    return server;
}

void lt_server_free(lt_server_t *server)
{
    if (server == NULL)
        return;
    if (server->http != NULL)
        evhttp_free(server->http);
    free(server);
}

static void maybe_drained(lt_server_t *server)
{
    if (server->draining && server->inflight == 0 && server->deps.on_drained != NULL) {
        void (*cb)(void *) = server->deps.on_drained;
        server->deps.on_drained = NULL; /* once */
        cb(server->deps.on_drained_arg);
    }
}

void lt_server_drain(lt_server_t *server)
{
    if (server->draining)
        return;
    server->draining = true;
    if (server->bound != NULL) {
        evhttp_del_accept_socket(server->http, server->bound); /* closes the listening socket */
        server->bound = NULL;
    }
    maybe_drained(server);
}

bool lt_server_is_draining(const lt_server_t *server)
{
    return server->draining;
}

int lt_server_inflight(const lt_server_t *server)
{
    return server->inflight;
}

static double elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1e3 + (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

void lt_server_request_done(lt_server_t *server, lt_request_t *r, int status)
{
    /* The access log names no citizen: route, client, status and time only; so do the metrics. */
    double ms = elapsed_ms(&r->started);
    const char *client = r->ctx.client && *r->ctx.client ? r->ctx.client : "-";
    lt_log_info("access request_id=%s client=%s route=%s status=%d ms=%.1f",
                r->ctx.request_id ? r->ctx.request_id : "-", client, r->route, status, ms);
    lt_metrics_request(r->route, status, client, ms / 1e3);
    server->inflight--;
    maybe_drained(server);
}

lt_upstream_client_t *lt_server_upstreams(lt_server_t *server)
{
    return server->deps.upstreams;
}

struct lt_call_env *lt_server_calls(lt_server_t *server)
{
    return server->deps.calls;
}

struct lt_cache_worker *lt_server_cache(lt_server_t *server)
{
    return server->deps.cache;
}

const lt_config_t *lt_server_config(const lt_server_t *server)
{
    return server->deps.config;
}

struct event_base *lt_server_base(lt_server_t *server)
{
    return server->deps.base;
}

struct lt_pay_service *lt_server_payments(lt_server_t *server)
{
    return server->deps.payments;
}

struct lt_pay_conn *lt_server_pay_conn(lt_server_t *server)
{
    return server->deps.pay;
}
