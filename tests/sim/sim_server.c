/*
 * sim_server: HTTPS with mutual TLS on evhttp, a plain control listener, and
 * the lifetime of every service request.
 *
 * Every service request becomes a sim_pending_t that waits on its own evtimer
 * for the configured latency, so fifty delayed requests wait side by side and
 * the loop never sleeps. A client may hang up while its request waits: the
 * connection's close callback then cancels the timer and forgets the request,
 * so nothing touches freed memory. The timer path re-checks the connection for
 * the same reason, in case libevent detached the request without telling us.
 */
#include "sim_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SIM_MAX_BODY    (1024 * 1024)
#define SIM_MAX_HEADERS (64 * 1024)
#define SIM_IDLE_SECS   60 /* the ICD: the server closes idle connections after 60 s */

typedef struct sim_pending sim_pending_t;

struct sim_server {
    struct event_base *base;
    sim_server_config_t cfg;
    SSL_CTX *tls;
    struct evhttp *http;
    struct evhttp *control_http;
    char service_url[128];
    char control_url[128];
    sim_pending_t *pending; /* requests accepted and not answered yet */
};

struct sim_pending {
    sim_server_t *srv;
    struct evhttp_request *req;
    struct event *timer; /* NULL for a request that hangs on purpose */
    sim_fault_pick_t pick;
    sim_pending_t *prev, *next;
    /* evhttp's own callbacks on the connection, set aside while we watch it for a hang-up */
    struct bufferevent *bev;
    bufferevent_data_cb saved_read, saved_write;
    bufferevent_event_cb saved_event;
    void *saved_arg;
    short saved_enabled;
};

/* ---- adapting evhttp requests to the service interface ---- */

static const char *sim_header_of(const sim_request_t *r, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->header_ctx), name);
}

static const char *sim_method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    default:
        return "OTHER";
    }
}

/* The view stays valid while ehr is: the body is pulled up in ehr's own input buffer. */
static void sim_request_view(struct evhttp_request *ehr, sim_request_t *r)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ehr);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    struct evbuffer *in = evhttp_request_get_input_buffer(ehr);
    r->method = sim_method_name(evhttp_request_get_command(ehr));
    r->path = path && *path ? path : "/";
    r->query = uri ? evhttp_uri_get_query(uri) : NULL;
    r->header = sim_header_of;
    r->header_ctx = ehr;
    r->body_len = evbuffer_get_length(in);
    r->body = r->body_len ? evbuffer_pullup(in, -1) : (const unsigned char *)"";
}

void sim_reply_add_header(sim_reply_t *reply, const char *name, const char *value)
{
    if (reply->nheaders >= SIM_REPLY_MAX_HEADERS)
        return;
    snprintf(reply->headers[reply->nheaders].name, sizeof reply->headers[0].name, "%s", name);
    snprintf(reply->headers[reply->nheaders].value, sizeof reply->headers[0].value, "%s", value);
    reply->nheaders++;
}

static void sim_send(struct evhttp_request *ehr, sim_reply_t *reply)
{
    struct evbuffer *out = evbuffer_new();
    if (reply->content_type)
        evhttp_add_header(evhttp_request_get_output_headers(ehr), "Content-Type", reply->content_type);
    for (int i = 0; i < reply->nheaders; i++)
        evhttp_add_header(evhttp_request_get_output_headers(ehr), reply->headers[i].name, reply->headers[i].value);
    if (out != NULL)
        evbuffer_add(out, reply->body.data ? reply->body.data : "", reply->body.len);
    evhttp_send_reply(ehr, reply->status, reply->reason, out);
    if (out != NULL)
        evbuffer_free(out);
}

static void sim_send_text(struct evhttp_request *ehr, int status, const char *reason, const char *type,
                          const char *text)
{
    sim_reply_t reply = {.status = status, .reason = reason, .content_type = type};
    sim_buf_init(&reply.body);
    sim_buf_puts(&reply.body, text);
    sim_send(ehr, &reply);
    sim_buf_free(&reply.body);
}

/* ---- transport faults ---- */

/* What an overloaded or broken platform proxy returns: an HTML page, not SOAP. */
static void sim_send_html_error(struct evhttp_request *ehr, int status)
{
    const char *reason = status == 502 ? "Bad Gateway" : status == 503 ? "Service Unavailable" : "Gateway Timeout";
    char page[512];
    snprintf(page, sizeof page,
             "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>"
             "<body><h1>%d %s</h1><p>National data exchange platform (simulated)</p></body></html>\n",
             status, reason, status, reason);
    sim_send_text(ehr, status, reason, "text/html", page);
}

/*
 * Drops the connection with a TCP reset and no response. evhttp would shut
 * down the write side first and send a FIN, so the socket is disconnected
 * here (connect to AF_UNSPEC aborts a TCP connection on Linux with an RST);
 * SO_LINGER 0 makes the final close abortive as well, for other systems.
 */
static void sim_reset_connection(struct evhttp_connection *evcon)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    if (fd >= 0) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        struct sockaddr unspec = {.sa_family = AF_UNSPEC};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        if (connect(fd, &unspec, sizeof unspec) < 0) {
            /* best effort: SO_LINGER 0 still turns the close into a reset */
        }
    }
    evhttp_connection_free(evcon);
}

static void sim_on_truncated_sent(struct evhttp_connection *evcon, void *arg)
{
    evhttp_connection_free(evcon);
}

/* Announces the whole body's length, sends half of it, and closes once that half is out. */
static void sim_send_truncated(struct evhttp_request *ehr, sim_reply_t *reply)
{
    char len[32];
    snprintf(len, sizeof len, "%zu", reply->body.len);
    struct evkeyvalq *h = evhttp_request_get_output_headers(ehr);
    evhttp_add_header(h, "Content-Type", reply->content_type ? reply->content_type : "text/plain");
    evhttp_add_header(h, "Content-Length", len); /* an explicit length also keeps evhttp from chunking */
    evhttp_send_reply_start(ehr, reply->status, reply->reason);
    struct evbuffer *part = evbuffer_new();
    if (part != NULL)
        evbuffer_add(part, reply->body.data ? reply->body.data : "", reply->body.len / 2);
    evhttp_send_reply_chunk_with_cb(ehr, part, sim_on_truncated_sent, NULL);
    if (part != NULL)
        evbuffer_free(part);
}

/* ---- pending requests ---- */

/*
 * libevent 2.1 stops reading a connection once a request is complete, so it
 * never notices a client that hangs up while the reply is pending, and the
 * connection's close callback never runs. While a request waits we therefore
 * read the connection ourselves: bytes that arrive (a pipelined request) stay
 * in the input buffer for evhttp, and an EOF or error is handed back to
 * evhttp's own event callback, which tears the connection down the usual way
 * and calls sim_on_client_gone.
 */
static void sim_watch_read(struct bufferevent *bev, void *arg) {}

static void sim_watch_stop(sim_pending_t *p)
{
    if (p->bev == NULL)
        return;
    bufferevent_setcb(p->bev, p->saved_read, p->saved_write, p->saved_event, p->saved_arg);
    if (!(p->saved_enabled & EV_READ))
        bufferevent_disable(p->bev, EV_READ);
    p->bev = NULL;
}

static void sim_watch_event(struct bufferevent *bev, short what, void *arg)
{
    sim_pending_t *p = arg;
    if ((what & BEV_EVENT_TIMEOUT) && !(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
        /* The idle timeout does not apply to a request we are still answering. */
        bufferevent_enable(bev, EV_READ);
        return;
    }
    bufferevent_event_cb cb = p->saved_event;
    void *cb_arg = p->saved_arg;
    sim_watch_stop(p);
    if (cb != NULL)
        cb(bev, what, cb_arg); /* may free p through the close callback: do not touch it after this */
}

static void sim_watch_start(sim_pending_t *p, struct evhttp_connection *evcon)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    if (bev == NULL)
        return;
    bufferevent_getcb(bev, &p->saved_read, &p->saved_write, &p->saved_event, &p->saved_arg);
    p->saved_enabled = bufferevent_get_enabled(bev);
    p->bev = bev;
    bufferevent_setcb(bev, sim_watch_read, NULL, sim_watch_event, p);
    bufferevent_enable(bev, EV_READ);
}

static void sim_pending_link(sim_server_t *srv, sim_pending_t *p)
{
    p->next = srv->pending;
    if (srv->pending)
        srv->pending->prev = p;
    srv->pending = p;
}

/* Unlinks p, cancels its timer and frees it. The request itself is the caller's business. */
static void sim_pending_drop(sim_pending_t *p)
{
    sim_server_t *srv = p->srv;
    if (p->prev)
        p->prev->next = p->next;
    else
        srv->pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
    sim_watch_stop(p);
    if (p->timer)
        event_free(p->timer);
    free(p);
}

/*
 * The client went away (or the server is shutting down) before we answered.
 * If libevent already detached the request from the dying connection it is
 * ours to free; otherwise the connection frees it right after this callback.
 */
static void sim_on_client_gone(struct evhttp_connection *evcon, void *arg)
{
    sim_pending_t *p = arg;
    if (evhttp_request_get_connection(p->req) == NULL)
        evhttp_request_free(p->req);
    sim_pending_drop(p);
}

static void sim_answer(sim_server_t *srv, struct evhttp_request *ehr, const sim_fault_pick_t *pick)
{
    const sim_service_t *svc = srv->cfg.service;
    switch (pick->kind) {
    case SIM_FAULT_HTML502:
        sim_send_html_error(ehr, 502);
        return;
    case SIM_FAULT_HTML503:
        sim_send_html_error(ehr, 503);
        return;
    case SIM_FAULT_HTML504:
        sim_send_html_error(ehr, 504);
        return;
    case SIM_FAULT_RESET:
        sim_reset_connection(evhttp_request_get_connection(ehr));
        return;
    case SIM_FAULT_HANG:
        return; /* not reached: hanging requests get no timer */
    default:
        break;
    }
    sim_request_t view;
    sim_request_view(ehr, &view);
    sim_reply_t reply = {.status = 500, .reason = "Internal Server Error"};
    sim_buf_init(&reply.body);
    svc->handle(srv->cfg.state, srv->cfg.people, &view, pick->kind == SIM_FAULT_SERVICE ? pick->name : NULL, &reply);
    if (reply.drop_connection)
        sim_reset_connection(evhttp_request_get_connection(ehr));
    else if (pick->kind == SIM_FAULT_TRUNCATE)
        sim_send_truncated(ehr, &reply);
    else
        sim_send(ehr, &reply);
    sim_buf_free(&reply.body);
}

static void sim_on_due(evutil_socket_t fd, short what, void *arg)
{
    sim_pending_t *p = arg;
    sim_server_t *srv = p->srv;
    struct evhttp_request *ehr = p->req;
    sim_fault_pick_t pick = p->pick;
    struct evhttp_connection *evcon = evhttp_request_get_connection(ehr);
    sim_pending_drop(p);
    if (evcon == NULL) {
        /* Detached from a dead connection without a close callback: nobody to answer. */
        evhttp_request_free(ehr);
        return;
    }
    /* From here on the reply path owns the connection; a later close is none of p's business. */
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    sim_answer(srv, ehr, &pick);
}

/*
 * evhttp writes headers and body as separate TLS records; with Nagle on, the
 * second waits for the client's delayed ACK and every keep-alive request
 * costs 40 ms. The listener's option is not inherited, so set it per connection.
 */
static void sim_set_nodelay(struct evhttp_request *ehr)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(ehr);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void sim_on_service_request(struct evhttp_request *ehr, void *arg)
{
    sim_server_t *srv = arg;
    const sim_service_t *svc = srv->cfg.service;
    sim_request_t view;
    sim_set_nodelay(ehr);
    sim_request_view(ehr, &view);
    if (svc->owns_path ? !svc->owns_path(view.path) : strcmp(view.path, svc->path) != 0) {
        sim_send_text(ehr, 404, "Not Found", "text/plain; charset=utf-8", "not found\n");
        return;
    }
    /* Counted before any fault applies, so tests can see what reached the system. */
    sim_control_count(srv->cfg.control, svc->operation_of(&view));
    sim_pending_t *p = calloc(1, sizeof *p);
    if (p == NULL) {
        sim_send_text(ehr, 503, "Service Unavailable", "text/plain", "out of memory\n");
        return;
    }
    p->srv = srv;
    p->req = ehr;
    p->pick = sim_control_take(srv->cfg.control);
    sim_pending_link(srv, p);
    evhttp_connection_set_closecb(evhttp_request_get_connection(ehr), sim_on_client_gone, p);
    sim_watch_start(p, evhttp_request_get_connection(ehr));
    if (p->pick.kind == SIM_FAULT_HANG)
        return; /* never answered; dropped when the client gives up or the server stops */
    struct timeval tv = {.tv_sec = p->pick.latency_ms / 1000, .tv_usec = (p->pick.latency_ms % 1000) * 1000};
    p->timer = evtimer_new(srv->base, sim_on_due, p);
    if (p->timer == NULL || evtimer_add(p->timer, &tv) < 0) {
        evhttp_connection_set_closecb(evhttp_request_get_connection(ehr), NULL, NULL);
        sim_pending_drop(p);
        sim_send_text(ehr, 503, "Service Unavailable", "text/plain", "cannot schedule reply\n");
    }
}

static void sim_on_control_request(struct evhttp_request *ehr, void *arg)
{
    sim_server_t *srv = arg;
    sim_request_t view;
    sim_request_view(ehr, &view);
    sim_reply_t reply = {.status = 500, .reason = "Internal Server Error"};
    sim_buf_init(&reply.body);
    sim_control_handle(srv->cfg.control, &view, &reply);
    sim_send(ehr, &reply);
    sim_buf_free(&reply.body);
}

/* ---- TLS ---- */

static void sim_tls_error(char *err, size_t errlen, const char *what, const char *file)
{
    char detail[256] = "";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, detail, sizeof detail);
    snprintf(err, errlen, "%s %s: %s", what, file, detail[0] ? detail : "failed");
    ERR_clear_error();
}

/* TLS 1.2+, our certificate, and (as the service's ICD asks) a client certificate that chains to client_ca. */
static SSL_CTX *sim_tls_context(const sim_server_config_t *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        sim_tls_error(err, errlen, "cannot create", "TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert) != 1) {
        sim_tls_error(err, errlen, "cannot load certificate", cfg->cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        sim_tls_error(err, errlen, "cannot load key (or it does not match the certificate)", cfg->key);
        goto fail;
    }
    if (cfg->service->client_auth == SIM_CLIENT_CERT_NONE)
        return ctx; /* server authentication only, as that ICD says */
    if (SSL_CTX_load_verify_locations(ctx, cfg->client_ca, NULL) != 1) {
        sim_tls_error(err, errlen, "cannot load client CA", cfg->client_ca);
        goto fail;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->client_ca);
    if (names != NULL)
        SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx,
                       cfg->service->client_auth == SIM_CLIENT_CERT_OPTIONAL
                           ? SSL_VERIFY_PEER
                           : SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       NULL);
    /* Without a session id context, resumed sessions of verified clients fail with an error. */
    static const unsigned char sid[] = "lienthong-sim";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

static struct bufferevent *sim_on_tls_connection(struct event_base *base, void *arg)
{
    SSL *ssl = SSL_new(arg);
    if (ssl == NULL)
        return NULL;
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    /* Clients that close without close_notify are common; treat that as a plain EOF. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

/* ---- listeners ---- */

int sim_server_parse_address(const char *s, char *host, size_t hostlen, unsigned *port)
{
    const char *colon;
    const char *h = s;
    size_t hlen;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return -1;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= hostlen)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || p > 65535)
        return -1;
    *port = (unsigned)p;
    return 0;
}

static int sim_bound_port(struct evhttp_bound_socket *bound)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int sim_bind(struct evhttp *http, const char *what, const char *spec, const char *scheme, char *url,
                    size_t urllen, char *err, size_t errlen)
{
    char host[96];
    unsigned port;
    if (sim_server_parse_address(spec, host, sizeof host, &port) < 0) {
        snprintf(err, errlen, "%s address \"%s\" is not host:port", what, spec);
        return -1;
    }
    errno = 0;
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port);
    if (bound == NULL) {
        snprintf(err, errlen, "cannot listen on %s (%s): %s", spec, what,
                 errno ? strerror(errno) : "cannot resolve or bind the address");
        return -1;
    }
    int real = sim_bound_port(bound);
    snprintf(url, urllen, strchr(host, ':') ? "%s://[%s]:%d" : "%s://%s:%d", scheme, host, real);
    return 0;
}

static struct evhttp *sim_http_new(struct event_base *base)
{
    struct evhttp *http = evhttp_new(base);
    if (http == NULL)
        return NULL;
    evhttp_set_timeout(http, SIM_IDLE_SECS);
    evhttp_set_max_body_size(http, SIM_MAX_BODY);
    evhttp_set_max_headers_size(http, SIM_MAX_HEADERS);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_HEAD |
                                         EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    return http;
}

sim_server_t *sim_server_new(struct event_base *base, const sim_server_config_t *cfg, char *err, size_t errlen)
{
    sim_server_t *srv = calloc(1, sizeof *srv);
    if (srv == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv->base = base;
    srv->cfg = *cfg;
    if ((srv->tls = sim_tls_context(cfg, err, errlen)) == NULL)
        goto fail;
    srv->http = sim_http_new(base);
    srv->control_http = sim_http_new(base);
    if (srv->http == NULL || srv->control_http == NULL) {
        snprintf(err, errlen, "cannot create HTTP servers");
        goto fail;
    }
    evhttp_set_bevcb(srv->http, sim_on_tls_connection, srv->tls);
    evhttp_set_gencb(srv->http, sim_on_service_request, srv);
    evhttp_set_gencb(srv->control_http, sim_on_control_request, srv);
    if (sim_bind(srv->http, "service", cfg->listen, "https", srv->service_url, sizeof srv->service_url, err, errlen) <
        0)
        goto fail;
    if (sim_bind(srv->control_http, "control", cfg->control_listen, "http", srv->control_url, sizeof srv->control_url,
                 err, errlen) < 0)
        goto fail;
    return srv;
fail:
    sim_server_free(srv);
    return NULL;
}

const char *sim_server_service_url(const sim_server_t *srv)
{
    return srv->service_url;
}

const char *sim_server_control_url(const sim_server_t *srv)
{
    return srv->control_url;
}

/*
 * Pending requests go first, each with its connection, and with the close
 * callback cleared so that freeing the connection does not call back into a
 * record being freed. evhttp_free then closes whatever is left.
 */
void sim_server_free(sim_server_t *srv)
{
    if (srv == NULL)
        return;
    while (srv->pending) {
        sim_pending_t *p = srv->pending;
        struct evhttp_request *ehr = p->req;
        struct evhttp_connection *evcon = evhttp_request_get_connection(ehr);
        sim_pending_drop(p);
        if (evcon != NULL) {
            evhttp_connection_set_closecb(evcon, NULL, NULL);
            evhttp_connection_free(evcon);
        } else {
            evhttp_request_free(ehr);
        }
    }
    if (srv->http)
        evhttp_free(srv->http);
    if (srv->control_http)
        evhttp_free(srv->control_http);
    if (srv->tls)
        SSL_CTX_free(srv->tls);
    free(srv);
}
