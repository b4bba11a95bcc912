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

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "lt_adapter.h"
#include "lt_arena.h"
#include "lt_audit_format.h"
#include "lt_config.h"
#include "lt_error.h"
#include "lt_http_head.h"

struct lt_request;
struct lt_conn;
struct lt_http_request;
struct lt_audit_loop;
struct lt_held_reply;
struct lt_ratelimit_loop;

/*
 * What a request needs from the server that accepted it, handed down at creation so that the request never calls
 * up into its server: the loop, the body limit, whether the server drains (answers then close their connection),
 * and the call that reports the request's end to the server exactly once.
 */
typedef struct lt_request_env {
    struct event_base *base;
    const lt_config_t *config; /* its clients, for admission */
    long long max_body_bytes;
    bool draining;
    void (*done)(void *owner, struct lt_request *r, int status);
    void *owner;
    struct lt_audit_loop *audit;         /* this loop's handle on the audit trail (lt_audit.h); NULL: no trail */
    struct lt_ratelimit_loop *ratelimit; /* this loop's handle on the rate limits (lt_ratelimit.h); NULL: none */
} lt_request_env_t;

/* Where a request stands with its audit record (lt_request_audit). */
typedef enum {
    LT_REQ_AUDIT_NONE,     /* no record: the reply goes out as it is made */
    LT_REQ_AUDIT_WAITING,  /* the writer has the record: the reply is held until it answers */
    LT_REQ_AUDIT_ACCEPTED, /* written: the reply goes out */
    LT_REQ_AUDIT_REFUSED,  /* the trail could not take it: the reply is 503 audit_unavailable instead */
} lt_request_audit_t;

/* The most headers a reply adds of its own, beside Content-Type and X-Request-Id (Allow, Retry-After, Location...). */
#define LT_REQUEST_MAX_HEADERS 8

typedef struct lt_request {
    int refs;
    bool aborted;  /* the client went away: nothing will be sent */
    bool replied;  /* the answer is queued */
    bool finished; /* the answer is written, or the connection is gone: the HTTP layer let go */
    int status;
    struct lt_conn *conn;             /* the connection it came on; NULL once it went, or the answer is written */
    const struct lt_http_request *in; /* what the client sent, in the arena */
    lt_http_field_t headers[LT_REQUEST_MAX_HEADERS]; /* the answer's own headers so far (lt_request_add_header) */
    size_t nheaders;
    const lt_request_env_t *env; /* the accepting server's, outlives the request */
    lt_arena_t *arena;
    struct timespec started;
    lt_call_context_t ctx;
    const lt_client_conf_t *client; /* the listed client the certificate matched (admission), NULL before */
    const char *route;              /* for logs and metrics: "METHOD /template" of the matched route, or "-" */
    const char *upstream;           /* set once an upstream is involved, for problem documents */
    const char *operation; /* the permission it used ("population.lookup", "payments"), for the access record */
    const char *cache;     /* the answer's X-Cache (hit, miss, stale, bypass), NULL for none */
    size_t request_bytes, response_bytes;
    lt_request_audit_t audit;
    struct lt_held_reply *held; /* the reply made while its record was with the writer */
    /* Called when the request is aborted, so the owner of an in-flight operation can cancel it
     * (lt_request_wait_abortable). */
    void (*on_abort)(struct lt_request *r);
    void *on_abort_arg;
} lt_request_t;

/* A request the connection read: takes over the arena the request lives in. */
lt_request_t *lt_request_new(const lt_request_env_t *env, struct lt_conn *conn, const struct lt_http_request *in,
                             lt_arena_t *arena);
void lt_request_ref(lt_request_t *r);
void lt_request_unref(lt_request_t *r);
static inline bool lt_request_is_aborted(const lt_request_t *r)
{
    return r->aborted;
}

/*
 * The request now waits on something it can cancel (an upstream call, a shared rate-limit decision): on_abort(r)
 * runs if the client leaves first (the connection keeps reading while a request is handled, so its leaving is
 * seen at once), so such a wait stops then rather than at its timeout.
 */
void lt_request_wait_abortable(lt_request_t *r, void (*on_abort)(lt_request_t *r), void *arg);

/* Reads one request header (NULL when absent). */
const char *lt_request_header(const lt_request_t *r, const char *name);
/* The request path without the query string. */
const char *lt_request_path(lt_request_t *r);
/* The query string after '?', NULL without one. */
const char *lt_request_query(const lt_request_t *r);
/* The client's address, numeric; false once the connection is gone. */
bool lt_request_peer_address(const lt_request_t *r, char *buf, size_t len);
/* The whole body as a NUL-terminated arena string. */
const char *lt_request_body(lt_request_t *r, size_t *len);
/* "GET", "POST"... of the request. */
const char *lt_request_method(const lt_request_t *r);
/* The body as a JSON object (415, 413 and 400 problems otherwise); owned by the request's arena. */
json_t *lt_request_read_json_body(lt_request_t *r, lt_error_t *err);

/*
 * Admission common to every route of a listener with client certificates: X-Request-Id, echoed when well-formed,
 * generated otherwise (400 for a malformed one), and the caller: the listed client its certificate matches
 * (r->client; r->ctx.client is its id), or 403 for a certificate that matches none.
 */
int lt_request_admit(lt_request_t *r, lt_error_t *err);
/*
 * Who acts and why, for a personal-data request (Decree 13/2023, Law 91/2025): X-Officer-Id, X-Purpose (UTF-8
 * text, no control character, bounded) and X-Procedure-Code, each checked before it can reach an upstream or the
 * audit trail; the client's own rules on top (a procedure code required, a purpose pattern). 400 otherwise.
 */
int lt_request_admit_accountability(lt_request_t *r, lt_error_t *err);
/* 403 unless the request's client may use `permission` ("population.verify", "payments"). */
int lt_request_permit(lt_request_t *r, const char *permission, lt_error_t *err);
/*
 * The rest of admission, right after lt_request_permit and before any upstream or store work: the client's rate
 * limit for `operation` (lt_ratelimit.h). next is called once with err NULL when the request may go on, or with a
 * 429 rate_limited (Retry-After in whole seconds) for the caller to answer as it answers its other refusals. It may
 * be called before lt_request_limit returns (no limit, or the buckets of this process), or later from the loop
 * when Redis decides; never after the client went away (the request is then only let go).
 */
typedef void (*lt_request_next_fn)(lt_request_t *r, void *arg, const lt_error_t *err);
void lt_request_limit(lt_request_t *r, const char *operation, lt_request_next_fn next, void *arg);

/*
 * The audit trail (gateway/net/lt_audit.h): every answer of a personal-data route, refusals included, is recorded
 * before it leaves. lt_request_audit hands the record to the trail's writer; the next reply is then held until the
 * writer accepted it (written, and fsynced with fsync "always"), and replaced by 503 audit_unavailable (with
 * Retry-After) if the record was refused or could not be written. One record per request: later calls do nothing.
 * Without a trail (no audit section) nothing is held.
 */
/* A record with what the request knows: its ids, client, officer, purpose and procedure code (what admission
 * accepted), and `operation`. The caller adds the subject, the fields, status, cache and code. */
void lt_request_audit_record(const lt_request_t *r, lt_audit_record_t *rec, const char *operation);
void lt_request_audit(lt_request_t *r, const lt_audit_record_t *rec);
/* A refusal of a personal-data route: its record (status and code from err, nothing released), then the problem. */
void lt_request_reply_audited_problem(lt_request_t *r, const char *operation, const char *subject,
                                      const lt_error_t *err);
/* 503 audit_unavailable when the trail cannot take records now, so that a personal-data route calls no one whose
 * answer it could not give. 0 when it can, or there is no trail. */
int lt_request_audit_ready(const lt_request_t *r, lt_error_t *err);

/* Replies. Each sends once, adds X-Request-Id, and is a no-op after an abort. The HTTP layer's reference is
 * dropped once the connection has written the answer. */
void lt_request_reply_json(lt_request_t *r, int status, json_t *body); /* steals body */
/* A JSON document already serialised (a lookup's answer, built from its record's one serialisation). */
void lt_request_reply_json_text(lt_request_t *r, int status, const char *text, size_t len);
void lt_request_reply_problem(lt_request_t *r, const lt_error_t *err);
void lt_request_reply_text(lt_request_t *r, int status, const char *content_type, const char *text);
void lt_request_add_header(lt_request_t *r, const char *name, const char *value);

#endif
