/* Request objects: refcounting, abort detection, and the reply paths (JSON and problem+json). */
#include "lt_request.h"

#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lt_audit.h"
#include "lt_clients.h"
#include "lt_conn.h"
#include "lt_ident.h"
#include "lt_log.h"
#include "lt_ratelimit.h"
#include "lt_text.h"
#include "lt_tls.h"
#include "lt_uuid.h"

/*
 * A request ends once: when the connection has written the whole answer, or when the connection goes away first.
 * Only then does the worker stop counting it as in flight, so a draining worker never exits with an answer still
 * queued in a buffer.
 */
static void finish(lt_request_t *r, int status)
{
    if (r->finished)
        return;
    r->finished = true;
    r->conn = NULL;
    r->env->done(r->env->owner, r, status);
    lt_request_unref(r); /* the HTTP layer's reference */
}

/* From the connection, once: the answer is written, or the connection is gone. */
static void on_connection_end(void *arg, bool written)
{
    lt_request_t *r = arg;
    r->conn = NULL;
    if (written || r->replied) {
        finish(r, r->status); /* written, or queued and then lost with the connection */
        return;
    }
    r->aborted = true;
    lt_log_info("request %s: client closed the connection before the answer", r->ctx.request_id);
    if (r->on_abort != NULL)
        r->on_abort(r);
    r->replied = true;
    finish(r, 499);
}

void lt_request_wait_abortable(lt_request_t *r, void (*on_abort)(lt_request_t *r), void *arg)
{
    r->on_abort = on_abort;
    r->on_abort_arg = arg;
}

lt_request_t *lt_request_new(const lt_request_env_t *env, lt_conn_t *conn, const lt_http_request_t *in,
                             lt_arena_t *arena)
{
    lt_request_t *r = lt_arena_alloc(arena, sizeof(*r));
    r->arena = arena;
    r->refs = 1; /* the HTTP layer's reference, dropped when the answer is written */
    r->conn = conn;
    r->in = in;
    r->env = env;
    r->route = "-";
    r->request_bytes = in->body_len;
    clock_gettime(CLOCK_MONOTONIC, &r->started);
    lt_conn_on_end(conn, on_connection_end, r);
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
    return lt_http_field_find(r->in->fields, r->in->nfields, name);
}

const char *lt_request_path(lt_request_t *r)
{
    return r->in->path;
}

const char *lt_request_query(const lt_request_t *r)
{
    return r->in->query;
}

bool lt_request_peer_address(const lt_request_t *r, char *buf, size_t len)
{
    return r->conn != NULL && lt_conn_peer_address(r->conn, buf, len);
}

const char *lt_request_body(lt_request_t *r, size_t *len)
{
    *len = r->in->body_len;
    return r->in->body;
}

/* A header value never carries a line break: one that would is dropped, with a complaint, rather than split the
 * answer's head. */
void lt_request_add_header(lt_request_t *r, const char *name, const char *value)
{
    if (r->replied || r->aborted)
        return;
    if (r->nheaders == LT_REQUEST_MAX_HEADERS || strpbrk(value, "\r\n") != NULL) {
        lt_log_error("request %s: the answer's %s header was dropped (too many headers, or a line break)",
                     r->ctx.request_id ? r->ctx.request_id : "-", name);
        return;
    }
    r->headers[r->nheaders++] = (lt_http_field_t){name, lt_arena_strdup(r->arena, value)};
}

static void send_now(lt_request_t *r, int status, const char *content_type, const char *body, size_t len)
{
    if (r->replied || r->aborted || r->conn == NULL)
        return;
    r->replied = true;
    r->status = status;
    r->response_bytes = len;
    lt_http_field_t headers[LT_REQUEST_MAX_HEADERS + 2];
    size_t n = 0;
    headers[n++] = (lt_http_field_t){"Content-Type", content_type};
    if (r->ctx.request_id != NULL)
        headers[n++] = (lt_http_field_t){"X-Request-Id", r->ctx.request_id};
    memcpy(headers + n, r->headers, r->nheaders * sizeof(headers[0]));
    n += r->nheaders;
    lt_conn_reply(r->conn, status, headers, n, body, len, r->env->draining);
    /* on_connection_end ends the request once the bytes are out (or cannot be). */
}

/* ---- answers that wait for their audit record ------------------------------------------------------------------ */

typedef struct lt_held_reply {
    int status;
    const char *content_type;
    char *body;
    size_t len;
} held_reply_t;

static char *problem_text(const lt_request_t *r, const lt_error_t *err);

static int audit_unavailable(lt_error_t *err)
{
    lt_error_set(err, LT_ERR_UPSTREAM_UNAVAILABLE, "audit_unavailable",
                 "the audit trail cannot be written now, and personal data is never served unaudited; retry later");
    err->retry_after_s = 5;
    return -1;
}

/* The record could not be written: the answer must not leave unaudited. What the reply had added goes too. */
static void reply_audit_unavailable(lt_request_t *r)
{
    if (r->replied || r->aborted)
        return;
    r->nheaders = 0;
    r->upstream = NULL; /* no national system is at fault */
    lt_error_t err;
    audit_unavailable(&err);
    char v[16];
    snprintf(v, sizeof(v), "%d", err.retry_after_s);
    lt_request_add_header(r, "Retry-After", v);
    char *text = problem_text(r, &err);
    send_now(r, lt_error_http_status(err.kind), "application/problem+json; charset=utf-8", text, strlen(text));
    free(text);
}

static void send_reply(lt_request_t *r, int status, const char *content_type, const char *body, size_t len)
{
    if (r->replied || r->aborted || r->held != NULL)
        return;
    if (r->audit == LT_REQ_AUDIT_REFUSED) {
        reply_audit_unavailable(r);
    } else if (r->audit == LT_REQ_AUDIT_WAITING) {
        held_reply_t *held = lt_arena_alloc(r->arena, sizeof(*held));
        held->status = status;
        held->content_type = content_type; /* one of this file's literals */
        held->body = lt_arena_alloc(r->arena, len + 1);
        memcpy(held->body, body, len);
        held->len = len;
        r->held = held;
    } else {
        send_now(r, status, content_type, body, len);
    }
}

/* On the request's loop, from the trail's writer. The request may have been aborted meanwhile. */
static void on_audited(void *arg, bool accepted)
{
    lt_request_t *r = arg;
    r->audit = accepted ? LT_REQ_AUDIT_ACCEPTED : LT_REQ_AUDIT_REFUSED;
    held_reply_t *held = r->held;
    r->held = NULL;
    if (held != NULL && accepted)
        send_now(r, held->status, held->content_type, held->body, held->len);
    else if (held != NULL)
        reply_audit_unavailable(r);
    lt_request_unref(r); /* the record's reference */
}

void lt_request_audit(lt_request_t *r, const lt_audit_record_t *rec)
{
    if (r->env->audit == NULL || r->audit != LT_REQ_AUDIT_NONE || r->replied || r->aborted)
        return;
    if (lt_audit_submit(r->env->audit, rec, on_audited, r) != 0) {
        r->audit = LT_REQ_AUDIT_REFUSED;
        return;
    }
    r->audit = LT_REQ_AUDIT_WAITING;
    lt_request_ref(r); /* until on_audited */
}

void lt_request_audit_record(const lt_request_t *r, lt_audit_record_t *rec, const char *operation)
{
    memset(rec, 0, sizeof(*rec));
    rec->request_id = r->ctx.request_id;
    rec->client = r->ctx.client != NULL ? r->ctx.client : "-";
    rec->officer = r->ctx.officer_id;
    rec->purpose = r->ctx.purpose;
    rec->procedure = r->ctx.procedure_code;
    rec->operation = operation;
}

void lt_request_reply_audited_problem(lt_request_t *r, const char *operation, const char *subject,
                                      const lt_error_t *err)
{
    lt_audit_record_t rec;
    lt_request_audit_record(r, &rec, operation);
    rec.subject = subject;
    rec.status = lt_error_http_status(err->kind);
    rec.code = err->code[0] ? err->code : lt_error_kind_name(err->kind);
    lt_request_audit(r, &rec);
    lt_request_reply_problem(r, err);
}

int lt_request_audit_ready(const lt_request_t *r, lt_error_t *err)
{
    if (r->env->audit == NULL || lt_audit_loop_available(r->env->audit))
        return 0;
    return audit_unavailable(err);
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
    lt_request_reply_json_text(r, status, text, strlen(text));
    free(text);
}

void lt_request_reply_json_text(lt_request_t *r, int status, const char *text, size_t len)
{
    send_reply(r, status, "application/json; charset=utf-8", text, len);
}

static char *problem_text(const lt_request_t *r, const lt_error_t *err)
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
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    return text;
}

void lt_request_reply_problem(lt_request_t *r, const lt_error_t *err)
{
    if (err->retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%d", err->retry_after_s);
        lt_request_add_header(r, "Retry-After", v);
    }
    char *text = problem_text(r, err);
    send_reply(r, lt_error_http_status(err->kind), "application/problem+json; charset=utf-8", text, strlen(text));
    free(text);
}

/* ---- request helpers and admission ------------------------------------------------------------- */

const char *lt_request_method(const lt_request_t *r)
{
    return r->in->method;
}

static void free_json(void *v)
{
    json_decref(v);
}

static bool is_json_media_type(const char *ctype)
{
    if (ctype == NULL)
        return false;
    size_t n = strlen("application/json");
    return strncasecmp(ctype, "application/json", n) == 0 && (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

json_t *lt_request_read_json_body(lt_request_t *r, lt_error_t *err)
{
    if (!is_json_media_type(lt_request_header(r, "Content-Type"))) {
        lt_error_set(err, LT_ERR_MEDIA_TYPE, "unsupported_media_type", "the body must be application/json");
        return NULL;
    }
    size_t len;
    const char *body = lt_request_body(r, &len);
    long long max = r->env->max_body_bytes;
    if ((long long)len > max) {
        lt_error_set(err, LT_ERR_TOO_LARGE, "body_too_large", "the body is over %lld bytes", max);
        return NULL;
    }
    json_error_t jerr;
    json_t *input = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (input == NULL) {
        lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_body", "the body is not valid JSON: %s (line %d, column %d)",
                     jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    lt_arena_on_destroy(r->arena, free_json, input);
    if (!json_is_object(input)) {
        lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_body", "the body must be a JSON object");
        return NULL;
    }
    return input;
}

static SSL *peer_ssl(const lt_request_t *r)
{
    return r->conn != NULL ? lt_conn_ssl(r->conn) : NULL;
}

/* Default deny: a certificate of the provincial CA that no client entry names may do nothing. */
static int admit_client(lt_request_t *r, lt_error_t *err)
{
    SSL *ssl = peer_ssl(r);
    r->client = lt_tls_peer_client(ssl, r->env->config);
    if (r->client != NULL) {
        r->ctx.client = r->client->id;
        return 0;
    }
    X509 *peer = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
    char cn[256] = "", fingerprint[65];
    if (peer != NULL)
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof(cn));
    lt_clients_fingerprint(peer, fingerprint);
    if (!lt_text_is_header_text(cn, sizeof(cn)))
        snprintf(cn, sizeof(cn), "?"); /* never write a control character into the log */
    lt_log_warn("request %s: refused: the certificate (CN=%s, SHA-256 %s) matches no client", r->ctx.request_id, cn,
                fingerprint);
    r->ctx.client = "-";
    return lt_error_set(err, LT_ERR_FORBIDDEN, "client_not_listed",
                        "this client certificate is not listed among the gateway's clients");
}

/* X-Request-Id: echoed when the caller sent a well-formed one, generated otherwise. */
static int admit_request_id(lt_request_t *r, lt_error_t *err)
{
    const char *given = lt_request_header(r, "X-Request-Id");
    char uuid[LT_UUID_LEN + 1];
    lt_uuid_v4(uuid);
    if (given == NULL) {
        r->ctx.request_id = lt_arena_strdup(r->arena, uuid);
    } else if (lt_text_is_token(given, 128, "._:-")) {
        r->ctx.request_id = lt_arena_strdup(r->arena, given);
    } else {
        r->ctx.request_id = lt_arena_strdup(r->arena, uuid);
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_request_id",
                            "X-Request-Id must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'");
    }
    /* Upstream message ids must be UUIDs (X-Road): reuse the request id when it is one. */
    r->ctx.message_id = lt_ident_is_uuid(r->ctx.request_id) ? r->ctx.request_id : lt_arena_strdup(r->arena, uuid);
    return 0;
}

int lt_request_admit(lt_request_t *r, lt_error_t *err)
{
    /* A bad X-Request-Id is the answer (400), but logs and metrics still name the client that sent it. */
    lt_error_t client_err;
    int id_rc = admit_request_id(r, err);
    int client_rc = admit_client(r, id_rc == 0 ? err : &client_err);
    return id_rc != 0 || client_rc != 0 ? -1 : 0;
}

int lt_request_permit(lt_request_t *r, const char *permission, lt_error_t *err)
{
    r->operation = permission;
    if (lt_client_allows(r->client, permission))
        return 0;
    return lt_error_set(err, LT_ERR_FORBIDDEN, "operation_not_allowed", "client %s may not use %s",
                        r->ctx.client ? r->ctx.client : "-", permission);
}

/* ---- the rate limit: asked once the client is permitted, before the module does any work ----------------------- */

/* A request waiting for Redis's decision: what to do with it, and the check to cancel if the client leaves. */
typedef struct limit_wait {
    lt_request_t *r;
    lt_request_next_fn next;
    void *arg;
    const char *operation;
    lt_ratelimit_check_t *check;
} limit_wait_t;

static void decided(lt_request_t *r, const char *operation, int64_t retry_after_s, lt_request_next_fn next, void *arg)
{
    if (retry_after_s == 0) {
        next(r, arg, NULL);
        return;
    }
    lt_error_t err;
    lt_error_set(&err, LT_ERR_RATE_LIMITED, "rate_limited", "client %s is over its rate limit for %s",
                 r->ctx.client ? r->ctx.client : "-", operation);
    err.retry_after_s = retry_after_s > 86400 * 365 ? 86400 * 365 : (int)retry_after_s;
    /* debug: the access line already says 429 for each one, and a runaway client must not flood the log */
    lt_log_debug("request %s: rate limited: client %s, %s, Retry-After %d", r->ctx.request_id,
                 r->ctx.client ? r->ctx.client : "-", operation, err.retry_after_s);
    next(r, arg, &err);
}

static void on_limit_abort(lt_request_t *r)
{
    limit_wait_t *w = r->on_abort_arg;
    r->on_abort = NULL;
    lt_ratelimit_cancel(w->check);
    w->check = NULL;
    lt_request_unref(r); /* the check's reference; the HTTP layer still holds its own */
}

static void on_limit_decided(void *arg, int64_t retry_after_s)
{
    limit_wait_t *w = arg;
    lt_request_t *r = w->r;
    r->on_abort = NULL;
    r->on_abort_arg = NULL;
    w->check = NULL;
    if (!lt_request_is_aborted(r))
        decided(r, w->operation, retry_after_s, w->next, w->arg);
    lt_request_unref(r);
}

void lt_request_limit(lt_request_t *r, const char *operation, lt_request_next_fn next, void *arg)
{
    limit_wait_t *w = lt_arena_alloc(r->arena, sizeof(*w));
    *w = (limit_wait_t){.r = r, .next = next, .arg = arg, .operation = lt_arena_strdup(r->arena, operation)};
    int64_t retry_after_s;
    if (lt_ratelimit_take(r->env->ratelimit, r->client, w->operation, on_limit_decided, w, &w->check, &retry_after_s) ==
        0) {
        decided(r, w->operation, retry_after_s, next, arg);
        return;
    }
    lt_request_ref(r); /* held by the check until its decision or the client's leaving */
    lt_request_wait_abortable(r, on_limit_abort, w);
}

/* Decree 13/2023: who is acting and why travels with every personal-data request. Each value is kept on the request
 * once it passed its own check, so that the audit record of a refusal names what was valid; a purpose is kept only
 * once it is accepted, since a refused one may be free text about someone. */
int lt_request_admit_accountability(lt_request_t *r, lt_error_t *err)
{
    const char *officer = lt_request_header(r, "X-Officer-Id");
    const char *purpose = lt_request_header(r, "X-Purpose");
    const char *procedure = lt_request_header(r, "X-Procedure-Code");
    if (officer == NULL)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "missing_officer", "the X-Officer-Id header is required");
    if (!lt_text_is_token(officer, 64, "._:@/-"))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_officer",
                            "X-Officer-Id must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', ':', '@', '/' or '-'");
    r->ctx.officer_id = lt_arena_strdup(r->arena, officer);
    if (purpose == NULL)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "missing_purpose", "the X-Purpose header is required");
    if (!lt_text_is_header_text(purpose, 256) || !lt_text_is_utf8(purpose))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_purpose",
                            "X-Purpose must be 1-256 bytes of UTF-8 text without control characters");
    if (procedure != NULL && !lt_text_is_token(procedure, 32, ".-"))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_procedure_code",
                            "X-Procedure-Code must be 1-32 characters of A-Z, a-z, 0-9, '.' or '-'");
    r->ctx.procedure_code = lt_arena_strdup(r->arena, procedure);
    if (procedure == NULL && r->client != NULL && r->client->require_procedure_code)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "missing_procedure_code",
                            "this client must name the procedure (X-Procedure-Code) of every personal-data request");
    if (r->client != NULL && r->client->purpose_pattern != NULL &&
        regexec(&r->client->purpose_re, purpose, 0, NULL, 0) != 0)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "purpose_not_accepted",
                            "X-Purpose does not have the form this client's configuration requires (a dossier id)");
    r->ctx.purpose = lt_arena_strdup(r->arena, purpose);
    return 0;
}
