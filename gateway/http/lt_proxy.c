/* Admission, the cache, and the adapter step loop for northbound operations. */
#include "lt_proxy.h"

#include <ctype.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <string.h>
#include <strings.h>

#include "lt_cache.h"
#include "lt_call.h"
#include "lt_date.h"
#include "lt_ident.h"
#include "lt_log.h"
#include "lt_payments.h"
#include "lt_router.h"
#include "lt_server.h"
#include "lt_tls.h"
#include "lt_uuid.h"

typedef struct proxy_call {
    lt_request_t *r;
    const lt_upstream_conf_t *upstream;
    const lt_operation_t *op;
    lt_call_t call;
    lt_call_run_t *run;      /* an uncached call */
    lt_cache_fetch_t *fetch; /* waiting on the cache's single flight */
} proxy_call_t;

/* ---- admission ---------------------------------------------------------- */

static const char *method_name(enum evhttp_cmd_type cmd)
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

static bool is_token(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && strchr(extra, *p) == NULL)
            return false;
    return true;
}

/* Header text that flows into upstream messages and the audit trail: printable, no control characters. */
static bool is_header_text(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return strspn(s, " \t") < n;
}

static void client_cn(lt_request_t *r)
{
    char cn[256];
    cn[0] = '\0';
    if (r->evcon != NULL) {
        struct bufferevent *bev = evhttp_connection_get_bufferevent(r->evcon);
        lt_tls_peer_cn(bev ? bufferevent_openssl_get_ssl(bev) : NULL, cn, sizeof(cn));
    }
    r->ctx.client = lt_arena_strdup(r->arena, cn);
}

/* X-Request-Id: echoed when the caller sent a well-formed one, generated otherwise. */
static int admit_request_id(lt_request_t *r, lt_error_t *err)
{
    const char *given = lt_request_header(r, "X-Request-Id");
    char uuid[LT_UUID_LEN + 1];
    lt_uuid_v4(uuid);
    if (given == NULL) {
        r->ctx.request_id = lt_arena_strdup(r->arena, uuid);
    } else if (is_token(given, 128, "._:-")) {
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

/* Decree 13/2023: who is acting and why travels with every personal-data request. */
static int admit_accountability(lt_request_t *r, lt_error_t *err)
{
    const char *officer = lt_request_header(r, "X-Officer-Id");
    const char *purpose = lt_request_header(r, "X-Purpose");
    const char *procedure = lt_request_header(r, "X-Procedure-Code");
    if (officer == NULL)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "missing_officer", "the X-Officer-Id header is required");
    if (!is_token(officer, 64, "._:@/-"))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_officer",
                            "X-Officer-Id must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', ':', '@', '/' or '-'");
    if (purpose == NULL)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "missing_purpose", "the X-Purpose header is required");
    if (!is_header_text(purpose, 256))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_purpose",
                            "X-Purpose must be 1-256 characters of text without control characters");
    if (procedure != NULL && !is_token(procedure, 32, ".-"))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_procedure_code",
                            "X-Procedure-Code must be 1-32 characters of A-Z, a-z, 0-9, '.' or '-'");
    r->ctx.officer_id = lt_arena_strdup(r->arena, officer);
    r->ctx.purpose = lt_arena_strdup(r->arena, purpose);
    r->ctx.procedure_code = lt_arena_strdup(r->arena, procedure);
    return 0;
}

static bool is_json_media_type(const char *ctype)
{
    if (ctype == NULL)
        return false;
    size_t n = strlen("application/json");
    return strncasecmp(ctype, "application/json", n) == 0 && (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

static void free_json(void *v)
{
    json_decref(v);
}

json_t *lt_proxy_read_json_body(lt_request_t *r, lt_error_t *err)
{
    if (!is_json_media_type(lt_request_header(r, "Content-Type"))) {
        lt_error_set(err, LT_ERR_MEDIA_TYPE, "unsupported_media_type", "the body must be application/json");
        return NULL;
    }
    size_t len;
    const char *body = lt_request_body(r, &len);
    long long max = lt_server_config(r->server)->max_body_bytes;
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

static json_t *read_input(lt_request_t *r, const lt_route_match_t *m, lt_error_t *err)
{
    if (m->op->input_kind == LT_INPUT_JSON_BODY)
        return lt_proxy_read_json_body(r, err);
    json_t *input = json_object();
    lt_arena_on_destroy(r->arena, free_json, input);
    json_object_set_new(input, m->op->param_name, json_string_nocheck(m->param));
    return input;
}

const char *lt_proxy_method(const lt_request_t *r)
{
    return method_name(evhttp_request_get_command(r->req));
}

static int route(lt_request_t *r, lt_route_match_t *m, lt_error_t *err)
{
    const char *method = lt_proxy_method(r);
    const char *path = lt_request_path(r);
    if (lt_router_match(lt_server_config(r->server), method, path, m) == 0) {
        r->route = m->op->route;
        return 0;
    }
    if (!m->path_known)
        return lt_error_set(err, LT_ERR_NOT_FOUND, "no_route", "no operation at this path");
    lt_request_add_header(r, "Allow", m->allow);
    return lt_error_set(err, LT_ERR_METHOD, "method_not_allowed", "this path accepts %s", m->allow);
}

/* ---- the call and the answer ------------------------------------------------ */

static json_t *source_object(const proxy_call_t *pc, time_t fetched, const char *cache)
{
    char at[32];
    lt_date_format_iso8601(fetched, at);
    return json_pack("{s:s, s:s, s:s, s:s}", "system", pc->upstream->name, "request_id", pc->r->ctx.request_id,
                     "fetched_at", at, "cache", cache);
}

static void reply_error(proxy_call_t *pc, const lt_error_t *err)
{
    lt_request_t *r = pc->r;
    if (err->kind >= LT_ERR_INTERNAL)
        lt_log_warn("request %s: %s %s failed: %s: %s", r->ctx.request_id, pc->upstream->name, pc->op->name, err->code,
                    err->detail);
    lt_request_reply_problem(r, err);
}

static void on_call_done(void *arg, json_t *result, const lt_error_t *err)
{
    proxy_call_t *pc = arg;
    lt_request_t *r = pc->r;
    pc->run = NULL;
    lt_request_add_header(r, "X-Cache", "miss");
    if (err != NULL) {
        reply_error(pc, err);
    } else {
        if (json_is_object(result))
            json_object_set_new(result, "source", source_object(pc, time(NULL), "miss"));
        lt_request_reply_json(r, 200, result);
    }
    lt_request_unref(r); /* the call's reference */
}

/* A cached "not found" answers as the national system did: the same problem code and detail. */
static void reply_not_found(proxy_call_t *pc, json_t *body)
{
    lt_error_t err;
    const char *code = json_string_value(json_object_get(body, "code"));
    const char *detail = json_string_value(json_object_get(body, "detail"));
    lt_error_set(&err, LT_ERR_NOT_FOUND, code ? code : "not_found", "%s", detail ? detail : "no such record");
    lt_request_reply_problem(pc->r, &err);
}

static void answer_cached(proxy_call_t *pc, const lt_cache_result_t *res)
{
    lt_request_t *r = pc->r;
    const char *how = lt_cache_source_name(res->source);
    lt_request_add_header(r, "X-Cache", how);
    if (!res->has_entry) {
        reply_error(pc, &res->err);
        return;
    }
    const lt_cache_entry_t *e = &res->entry;
    if (res->source == LT_CACHE_HIT || res->source == LT_CACHE_STALE) {
        char age[24];
        snprintf(age, sizeof(age), "%lld", lt_cache_entry_age_s(e, lt_cache_now_ms()));
        lt_request_add_header(r, "Age", age);
    }
    json_t *body = json_loadb(e->body, e->body_len, 0, NULL);
    if (!json_is_object(body)) {
        json_decref(body);
        lt_error_t err;
        lt_error_set(&err, LT_ERR_INTERNAL, "internal", "a cached answer could not be read");
        reply_error(pc, &err);
        return;
    }
    if (e->kind == LT_CACHE_NOT_FOUND) {
        reply_not_found(pc, body);
        json_decref(body);
        return;
    }
    json_object_set_new(body, "source", source_object(pc, (time_t)(e->fetched_ms / 1000), how));
    lt_request_reply_json(r, 200, body);
}

static void on_cache_done(void *arg, const lt_cache_result_t *res)
{
    proxy_call_t *pc = arg;
    pc->fetch = NULL;
    answer_cached(pc, res);
    lt_request_unref(pc->r); /* the fetch's reference */
}

static void on_abort(lt_request_t *r)
{
    proxy_call_t *pc = r->on_abort_arg;
    if (pc->run != NULL) {
        lt_call_cancel(pc->run);
        pc->run = NULL;
        lt_request_unref(r); /* the call's reference: its callback will not run now */
    }
    if (pc->fetch != NULL) {
        lt_cache_fetch_cancel(pc->fetch); /* the last waiter to leave also stops the upstream call */
        pc->fetch = NULL;
        lt_request_unref(r);
    }
}

/* Cache-Control: no-cache (RFC 9111 5.2.1.4): the caller wants the national system's answer, not a copy. */
static bool wants_no_cache(const lt_request_t *r)
{
    const char *v = lt_request_header(r, "Cache-Control");
    while (v != NULL && *v != '\0') {
        v += strspn(v, " \t,");
        size_t n = strcspn(v, ",");
        size_t len = n;
        while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
            len--;
        if (len == 8 && strncasecmp(v, "no-cache", 8) == 0)
            return true;
        v += n;
    }
    return false;
}

/* Returns false when the operation is not cached: the caller then calls the national system itself. */
static bool start_cached(proxy_call_t *pc)
{
    lt_request_t *r = pc->r;
    lt_cache_worker_t *cw = lt_server_cache(r->server);
    lt_cache_query_t q;
    if (lt_cache_query_init(cw, pc->upstream, pc->op, pc->call.input, &q) != 0)
        return false;
    bool bypass = wants_no_cache(r);
    if (!bypass) {
        lt_cache_result_t *res = lt_cache_get_fresh(cw, &q);
        if (res != NULL) {
            answer_cached(pc, res);
            lt_cache_result_unref(res);
            return true;
        }
    }
    lt_request_ref(r); /* held by the fetch until on_cache_done or a cancel */
    pc->fetch = lt_cache_fetch_start(cw, &q, &pc->call, bypass, on_cache_done, pc);
    return true;
}

static void start_call(lt_request_t *r, const lt_route_match_t *m, json_t *input)
{
    proxy_call_t *pc = lt_arena_alloc(r->arena, sizeof(*pc));
    pc->r = r;
    pc->upstream = m->upstream;
    pc->op = m->op;
    pc->call.arena = r->arena;
    pc->call.ctx = &r->ctx;
    pc->call.settings = m->upstream->settings;
    pc->call.input = input;
    r->upstream = m->upstream->name;
    r->on_abort = on_abort;
    r->on_abort_arg = pc;
    if (start_cached(pc))
        return;
    lt_request_ref(r); /* held by the call until on_call_done or a cancel */
    pc->run = lt_call_start(lt_server_calls(r->server), pc->upstream, pc->op, &pc->call, on_call_done, pc);
}

void lt_proxy_handle(lt_request_t *r)
{
    lt_error_t err;
    lt_error_clear(&err);
    lt_route_match_t m;
    json_t *input = NULL;
    client_cn(r);
    if (admit_request_id(r, &err) != 0)
        goto fail;
    if (lt_payments_owns_path(lt_request_path(r))) {
        lt_payments_handle(r);
        return;
    }
    if (route(r, &m, &err) != 0)
        goto fail;
    if (m.op->personal_data && admit_accountability(r, &err) != 0)
        goto fail;
    if ((input = read_input(r, &m, &err)) == NULL || m.op->validate(input, &err) != 0)
        goto fail;
    start_call(r, &m, input);
    return;
fail:
    lt_request_reply_problem(r, &err);
}
