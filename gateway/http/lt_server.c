/* One listener's server on a worker: TLS accept, admission, dispatch to a module, access log, drain. */
#include "lt_server.h"

#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lt_audit.h"
#include "lt_conn.h"
#include "lt_log.h"
#include "lt_metrics.h"
#include "lt_request.h"
#include "lt_router.h"
#include "lt_tls.h"

struct lt_server {
    lt_server_deps_t deps;
    lt_request_env_t request_env; /* what each request of this server sees of it */
    lt_conn_env_t conn_env;       /* what each connection of this server sees of it */
    struct evconnlistener *listener;
    int inflight;
    bool draining;
    int metrics_slot; /* lt_metrics slot of this listener: open connections, handshake failures */
};

static void request_done(void *owner, lt_request_t *r, int status);

int lt_parse_bind(const char *bind, struct sockaddr_storage *ss, int *sslen, lt_error_t *err)
{
    *sslen = (int)sizeof(*ss);
    memset(ss, 0, sizeof(*ss));
    if (bind == NULL || evutil_parse_sockaddr_port(bind, (struct sockaddr *)ss, sslen) != 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "cannot parse listen address '%s' (want host:port)",
                            bind ? bind : "");
    return 0;
}

/* Every connection is TLS; the handshake (and client certificate check) happens before any HTTP, which lt_conn
 * reads: it checks each request head strictly, times every phase and caps the connections. */
static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr, int len, void *arg)
{
    lt_server_t *server = arg;
    SSL *ssl = SSL_new(server->deps.tls);
    if (ssl == NULL) {
        evutil_closesocket(fd);
        return;
    }
    lt_tls_track(ssl, server->metrics_slot);
    lt_conn_new(&server->conn_env, ssl, fd);
}

/* No module serves the path, or only under other methods, or the module that would is not configured. */
static void refuse_route(const lt_server_t *server, lt_request_t *r, const lt_module_match_t *m)
{
    lt_error_t err;
    if (m->route != NULL) {
        const lt_module_t *mod = server->deps.config->modules[m->module];
        lt_error_set(&err, LT_ERR_NOT_FOUND, "", "this gateway has no %s section in its configuration", mod->section);
        snprintf(err.code, sizeof(err.code), "%s_not_configured", mod->name);
    } else if (m->allow[0] != '\0') {
        lt_request_add_header(r, "Allow", m->allow);
        lt_error_set(&err, LT_ERR_METHOD, "method_not_allowed", "this path accepts %s", m->allow);
    } else {
        lt_error_set(&err, LT_ERR_NOT_FOUND, "no_route", "no operation at this path");
    }
    lt_request_reply_problem(r, &err);
}

/* The operation a refused request line named, for its audit record: "population.lookup", a personal-data route's
 * permission ("payments"), else "-". */
static const char *refused_operation(const lt_server_t *server, const lt_conn_refusal_t *f, char *buf, size_t len)
{
    lt_route_match_t op;
    if (lt_router_match(server->deps.config, f->method, f->path, &op) == 0 && op.op->personal_data) {
        snprintf(buf, len, "%s.%s", op.upstream->name, op.op->name);
        return buf;
    }
    lt_module_match_t m;
    if (lt_router_route(server->deps.config, server->deps.listener_name, f->method, f->path, &m) == 0 &&
        m.route->personal_data && m.route->permission != NULL)
        return m.route->permission;
    return "-";
}

static void on_refusal_audited(void *arg, bool accepted)
{
    (void)arg; /* the answer left already: a refusal discloses nothing, so it does not wait for its record */
    (void)accepted;
}

/*
 * A request the head check refused (a NUL in X-Purpose, two Content-Lengths...) never reaches admission, but on a
 * listener of the province's systems it is recorded as admission refusals are: who sent it (its certificate's
 * client), the operation its request line named, the status and the reason; no value of any header.
 */
static void on_head_refused(void *arg, SSL *ssl, const lt_conn_refusal_t *f)
{
    lt_server_t *server = arg;
    if (server->deps.audit == NULL || f->method == NULL)
        return;
    const lt_client_conf_t *client = ssl != NULL ? lt_tls_peer_client(ssl, server->deps.config) : NULL;
    char operation[160];
    lt_audit_record_t rec = {.request_id = f->request_id,
                             .client = client != NULL ? client->id : "-",
                             .operation = refused_operation(server, f, operation, sizeof(operation)),
                             .status = f->status,
                             .code = f->code};
    lt_audit_submit(server->deps.audit, &rec, on_refusal_audited, NULL);
}

/* A permitted request of a module route, once its rate limit let it through: to the module. */
typedef struct dispatch {
    const lt_module_route_t *route;
    void *module_ctx;
} dispatch_t;

static void dispatch(lt_request_t *r, void *arg, const lt_error_t *err)
{
    const dispatch_t *d = arg;
    if (err == NULL)
        d->route->handle(r, d->module_ctx);
    else if (d->route->personal_data)
        lt_request_reply_audited_problem(r, d->route->permission, NULL, err);
    else
        lt_request_reply_problem(r, err);
}

static void on_request(void *arg, lt_conn_t *conn, const lt_http_request_t *in, lt_arena_t *arena)
{
    lt_server_t *server = arg;
    lt_request_t *r = lt_request_new(&server->request_env, conn, in, arena);
    server->inflight++;
    lt_error_t err;
    lt_error_clear(&err);
    /* The province's systems are known by their certificates: name them and their request before anything. A
     * refusal here comes before the gateway knows what was asked: its audit record names the operation "-". */
    if (server->deps.listener->client_ca != NULL && lt_request_admit(r, &err) != 0) {
        lt_request_reply_audited_problem(r, "-", NULL, &err);
        return;
    }
    lt_module_match_t m;
    int routed =
        lt_router_route(server->deps.config, server->deps.listener_name, lt_request_method(r), lt_request_path(r), &m);
    /* A client that may not use a route does not learn whether this gateway has it configured. */
    if (routed == 0 && m.route->permission != NULL && lt_request_permit(r, m.route->permission, &err) != 0) {
        if (m.route->personal_data)
            lt_request_reply_audited_problem(r, m.route->permission, NULL, &err);
        else
            lt_request_reply_problem(r, &err);
        return;
    }
    if (routed != 0 || m.module_off) {
        refuse_route(server, r, &m);
        return;
    }
    if (m.route->permission == NULL) { /* the module admits each request itself (lookup: per operation) */
        m.route->handle(r, server->deps.module_ctx[m.module]);
        return;
    }
    dispatch_t *d = lt_arena_alloc(r->arena, sizeof(*d));
    *d = (dispatch_t){.route = m.route, .module_ctx = server->deps.module_ctx[m.module]};
    lt_request_limit(r, m.route->permission, dispatch, d);
}

static int bind_api(lt_server_t *server, lt_error_t *err)
{
    struct sockaddr_storage ss;
    int sslen;
    const char *bind = server->deps.listener->bind;
    if (lt_parse_bind(bind, &ss, &sslen, err) != 0)
        return -1;
    unsigned flags = LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC;
    server->listener =
        evconnlistener_new_bind(server->deps.base, on_accept, server, flags, 511, (struct sockaddr *)&ss, sslen);
    if (server->listener == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "listen", "listeners.%s.bind: cannot listen on %s: %s",
                            server->deps.listener_name, bind, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    return 0;
}

lt_server_t *lt_server_new(const lt_server_deps_t *deps, lt_error_t *err)
{
    lt_server_t *server = calloc(1, sizeof(*server));
    server->deps = *deps;
    server->request_env = (lt_request_env_t){.base = deps->base,
                                             .config = deps->config,
                                             .max_body_bytes = deps->config->max_body_bytes,
                                             .done = request_done,
                                             .owner = server,
                                             .audit = deps->audit,
                                             .ratelimit = deps->ratelimit};
    server->metrics_slot = lt_metrics_listener(deps->listener_name);
    const lt_config_t *c = deps->config;
    server->conn_env = (lt_conn_env_t){.base = deps->base,
                                       .limits = &c->conn,
                                       .max_body_bytes = c->max_body_bytes,
                                       .idle_timeout_s = c->idle_timeout_s,
                                       .listener = server->metrics_slot,
                                       .request = on_request,
                                       .request_arg = server};
    if (deps->listener->client_ca != NULL) { /* the province's systems: their refusals are audited too */
        server->conn_env.refused = on_head_refused;
        server->conn_env.refused_arg = server;
    }
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
    if (server->listener != NULL)
        evconnlistener_free(server->listener);
    lt_conn_close_all(&server->conn_env);
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
    server->request_env.draining = true;
    if (server->listener != NULL) {
        evconnlistener_free(server->listener); /* closes the listening socket */
        server->listener = NULL;
    }
    lt_conn_close_idle(&server->conn_env); /* the others close once their answer (Connection: close) is out */
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

/*
 * One access record per request, with X-Road's operational monitoring fields where they apply. It names no
 * citizen: the route template, never the path (which may hold an identifier); so do the metrics.
 */
static void log_access(const lt_server_t *server, const lt_request_t *r, const char *client, int status, double ms)
{
    if (!lt_log_enabled(LT_LOG_INFO)) /* log_level warn or error: the record would be built for nothing */
        return;
    json_t *f =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:f}", "request_id",
                  r->ctx.request_id ? r->ctx.request_id : "-", "listener", server->deps.listener_name, "client", client,
                  "method", lt_request_method(r), "route", r->route, "status", status, "request_bytes",
                  (json_int_t)r->request_bytes, "response_bytes", (json_int_t)r->response_bytes, "duration_ms", ms);
    if (r->operation != NULL)
        json_object_set_new(f, "operation", json_string(r->operation));
    if (r->upstream != NULL)
        json_object_set_new(f, "upstream", json_string(r->upstream));
    if (r->cache != NULL)
        json_object_set_new(f, "cache", json_string(r->cache));
    lt_log_record(LT_LOG_INFO, "access", f);
    json_decref(f);
}

static void request_done(void *owner, lt_request_t *r, int status)
{
    lt_server_t *server = owner;
    double ms = elapsed_ms(&r->started);
    const char *client = r->ctx.client && *r->ctx.client ? r->ctx.client : "-";
    log_access(server, r, client, status, ms);
    lt_metrics_request(r->route, status, client, ms / 1e3);
    server->inflight--;
    maybe_drained(server);
}
