/*
 * One northbound request's life (floor 4). The request object owns the arena
 * and a reference count: the HTTP layer holds one reference, and every
 * pending callback (an upstream exchange, a timer, later a Redis reply) holds
 * another. A client hang-up marks the request aborted and cancels what it
 * can; whichever callback then runs checks lt_request_is_aborted() and drops
 * its reference. Nothing is freed while a reference remains, so a callback
 * that arrives after the abort still finds valid memory.
 */
#ifndef LT_REQUEST_H
#define LT_REQUEST_H

#include <event2/http.h>
#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "lt_adapter.h"
#include "lt_arena.h"
#include "lt_error.h"

struct lt_server;

typedef struct lt_request {
    int refs;
    bool aborted;  /* the client went away: nothing will be sent */
    bool replied;  /* the answer is queued */
    bool finished; /* the answer is written, or the connection is gone: the HTTP layer let go */
    int status;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    struct event *close_watch; /* sees the client leave while its request is handled */
    struct lt_server *server;
    lt_arena_t *arena;
    struct timespec started;
    lt_call_context_t ctx;
    const char *route;    /* for logs and metrics: the matched route or "-" */
    const char *upstream; /* set once an upstream is involved, for problem documents */
    /* Called when the request is aborted, so the owner of an in-flight operation can cancel it. */
    void (*on_abort)(struct lt_request *r);
    void *on_abort_arg;
} lt_request_t;

lt_request_t *lt_request_new(struct lt_server *server, struct evhttp_request *req);
void lt_request_ref(lt_request_t *r);
void lt_request_unref(lt_request_t *r);
static inline bool lt_request_is_aborted(const lt_request_t *r)
{
    return r->aborted;
}

/* Reads one request header (NULL when absent). */
const char *lt_request_header(const lt_request_t *r, const char *name);
/* The request path without the query string (arena copy). */
const char *lt_request_path(lt_request_t *r);
/* The whole body as a NUL-terminated arena string. */
const char *lt_request_body(lt_request_t *r, size_t *len);

/* Replies. Each sends once, adds X-Request-Id, and is a no-op after an abort. The HTTP layer's reference is
 * dropped once libevent has written the answer. */
void lt_request_reply_json(lt_request_t *r, int status, json_t *body); /* steals body */
void lt_request_reply_problem(lt_request_t *r, const lt_error_t *err);
void lt_request_reply_text(lt_request_t *r, int status, const char *content_type, const char *text);
void lt_request_add_header(lt_request_t *r, const char *name, const char *value);

#endif
