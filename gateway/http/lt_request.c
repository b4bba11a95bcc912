/* Request objects: refcounting, abort detection, and the reply paths (JSON and problem+json). */
#include "lt_request.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "lt_log.h"
#include "lt_server.h"

static void on_connection_close(struct evhttp_connection *evcon, void *arg)
{
    lt_request_t *r = arg;
    if (r->replied)
        return;
    r->aborted = true;
    r->evcon = NULL;
    lt_log_info("request %s: client closed the connection before the answer", r->ctx.request_id);
    if (r->on_abort != NULL)
        r->on_abort(r);
    /* libevent detached the request from its dead connection; sending now just frees it. */
    evhttp_send_reply(r->req, 500, "Client Closed", NULL);
    r->replied = true;
    lt_server_request_done(r->server, r, 499);
    lt_request_unref(r);
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
    /* The connection may outlive this request (keep-alive): stop it calling back into freed memory. */
    if (r->evcon != NULL)
        evhttp_connection_set_closecb(r->evcon, NULL, NULL);
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
    lt_server_request_done(r->server, r, status);
    lt_request_unref(r);
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
    json_object_set_new(p, "type", json_sprintf("https://lienthong.gov.vn/problems/%s", err->code[0] ? err->code
                                                                                    : lt_error_kind_name(err->kind)));
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
