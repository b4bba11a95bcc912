/* Request objects: refcounting, abort detection, and the reply paths (JSON and problem+json). */
#include "lt_request.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "lt_log.h"
#include "lt_server.h"

/*
 * A request ends once: when libevent has written the whole answer
 * (on_complete), or when the connection goes away first. Only then does the
 * worker stop counting it as in flight, so a draining worker never exits with
 * an answer still queued in a buffer.
 */
static void finish(lt_request_t *r, int status)
{
    if (r->finished)
        return;
    r->finished = true;
    if (r->close_watch != NULL) {
        event_free(r->close_watch);
        r->close_watch = NULL;
    }
    if (r->evcon != NULL)
        evhttp_connection_set_closecb(r->evcon, NULL, NULL);
    r->evcon = NULL;
    lt_server_request_done(r->server, r, status);
    lt_request_unref(r); /* the HTTP layer's reference */
}

static void on_complete(struct evhttp_request *req, void *arg)
{
    lt_request_t *r = arg;
    finish(r, r->status);
}

static void on_connection_close(struct evhttp_connection *evcon, void *arg)
{
    lt_request_t *r = arg;
    r->evcon = NULL; /* being freed */
    if (r->replied) {
        /* The answer was queued but could not be written. */
        finish(r, r->status);
        return;
    }
    r->aborted = true;
    lt_log_info("request %s: client closed the connection before the answer", r->ctx.request_id);
    if (r->on_abort != NULL)
        r->on_abort(r);
    /* A request still attached to its connection is freed with it; one that libevent detached (read EOF) is
     * ours to free, which sending on it does. After this, r->req is never touched again. */
    if (evhttp_request_get_connection(r->req) == NULL)
        evhttp_send_reply(r->req, 500, "Client Closed", NULL);
    r->req = NULL;
    r->replied = true;
    finish(r, 499);
}

/*
 * libevent 2.1 stops reading a connection while its request is handled, so it
 * would only notice a client that gave up when writing the answer. EV_CLOSED
 * (EPOLLRDHUP) sees the client's FIN without reading, so an abandoned request
 * stops its upstream call at once instead of holding it to the timeout.
 */
static void on_peer_closed(evutil_socket_t fd, short what, void *arg)
{
    lt_request_t *r = arg;
    if (r->replied || r->evcon == NULL)
        return;
    evhttp_connection_free(r->evcon); /* calls on_connection_close */
}

static evutil_socket_t connection_fd(const lt_request_t *r)
{
    struct bufferevent *bev = r->evcon ? evhttp_connection_get_bufferevent(r->evcon) : NULL;
    return bev ? bufferevent_getfd(bev) : -1;
}

/*
 * evhttp writes an answer's headers and body as two TLS records; with Nagle's
 * algorithm the second waits for the client's delayed ACK, about 40 ms per
 * keep-alive answer. Accepted sockets do not inherit the option from the
 * listener, and evhttp gives no hook at accept, so it is set per request.
 */
static void disable_nagle(const lt_request_t *r)
{
    int one = 1;
    evutil_socket_t fd = connection_fd(r);
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void watch_peer_close(lt_request_t *r, struct event_base *base)
{
    if (r->evcon == NULL || !(event_base_get_features(base) & EV_FEATURE_EARLY_CLOSE))
        return;
    evutil_socket_t fd = connection_fd(r);
    if (fd < 0)
        return;
    r->close_watch = event_new(base, fd, EV_CLOSED, on_peer_closed, r);
    event_add(r->close_watch, NULL);
}

lt_request_t *lt_request_new(struct lt_server *server, struct evhttp_request *req)
{
    lt_arena_t *arena = lt_arena_new();
    lt_request_t *r = lt_arena_alloc(arena, sizeof(*r));
    r->arena = arena;
    r->refs = 1; /* the HTTP layer's reference, dropped when the reply is sent */
    r->req = req;
    r->server = server;
    r->route = "-";
    clock_gettime(CLOCK_MONOTONIC, &r->started);
    r->evcon = evhttp_request_get_connection(req);
    if (r->evcon != NULL)
        evhttp_connection_set_closecb(r->evcon, on_connection_close, r);
    evhttp_request_set_on_complete_cb(req, on_complete, r);
    disable_nagle(r);
    watch_peer_close(r, lt_server_base(server));
    return r;
}

void lt_request_ref(lt_request_t *r)
{
    r->refs++;
}

void lt_request_unref(lt_request_t *r)
{
    if (--r->refs > 0)
        return;
    lt_arena_destroy(r->arena);
}

const char *lt_request_header(const lt_request_t *r, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->req), name);
}

const char *lt_request_path(lt_request_t *r)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    return lt_arena_strdup(r->arena, path && *path ? path : "/");
}

const char *lt_request_body(lt_request_t *r, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t n = evbuffer_get_length(in);
    char *body = lt_arena_alloc(r->arena, n + 1);
    evbuffer_copyout(in, body, n);
    *len = n;
    return body;
}

void lt_request_add_header(lt_request_t *r, const char *name, const char *value)
{
    if (!r->replied && !r->aborted)
        evhttp_add_header(evhttp_request_get_output_headers(r->req), name, value);
}

static void send_reply(lt_request_t *r, int status, const char *content_type, const char *body, size_t len)
{
    if (r->replied || r->aborted)
        return;
    r->replied = true;
    r->status = status;
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(h, "Content-Type", content_type);
    if (r->ctx.request_id != NULL)
        evhttp_add_header(h, "X-Request-Id", r->ctx.request_id);
    if (lt_server_is_draining(r->server))
        evhttp_add_header(h, "Connection", "close");
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, body, len);
    evhttp_send_reply(r->req, status, NULL, buf);
    evbuffer_free(buf);
    /* on_complete or on_connection_close ends the request once the bytes are out (or cannot be). */
}

void lt_request_reply_text(lt_request_t *r, int status, const char *content_type, const char *text)
{
    send_reply(r, status, content_type, text, strlen(text));
}

void lt_request_reply_json(lt_request_t *r, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL) {
        send_reply(r, 500, "text/plain", "internal error\n", 15);
        return;
    }
    send_reply(r, status, "application/json; charset=utf-8", text, strlen(text));
    free(text);
}

void lt_request_reply_problem(lt_request_t *r, const lt_error_t *err)
{
    int status = lt_error_http_status(err->kind);
    json_t *p = json_object();
    json_object_set_new(
        p, "type", json_sprintf("urn:lienthong:problem:%s", err->code[0] ? err->code : lt_error_kind_name(err->kind)));
    json_object_set_new(p, "title", json_string(lt_error_title(err->kind)));
    json_object_set_new(p, "status", json_integer(status));
    json_object_set_new(p, "detail", json_string(err->detail));
    if (r->ctx.request_id != NULL)
        json_object_set_new(p, "request_id", json_string(r->ctx.request_id));
    if (r->upstream != NULL)
        json_object_set_new(p, "upstream", json_string(r->upstream));
    if (err->retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%d", err->retry_after_s);
        lt_request_add_header(r, "Retry-After", v);
    }
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    send_reply(r, status, "application/problem+json; charset=utf-8", text, strlen(text));
    free(text);
}
