/*
 * The lookup module: every adapter operation of every configured national
 * system. Admission (route, accountability headers, body, the adapter's
 * validate), the cache, and the adapter step loop through lt_call.
 */
#include "lt_lookup.h"

#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "lt_cache.h"
#include "lt_call.h"
#include "lt_config.h"
#include "lt_date.h"
#include "lt_log.h"
#include "lt_module.h"
#include "lt_router.h"
#include "lt_server.h"
#include "lt_text.h"

/* The module on one worker: the clients its calls use on that loop. */
typedef struct lookup_worker {
    const lt_config_t *config;
    lt_call_env_t *calls;
    lt_cache_worker_t *cache;
} lookup_worker_t;

typedef struct proxy_call {
    lt_request_t *r;
    lookup_worker_t *w;
    const lt_upstream_conf_t *upstream;
    const lt_operation_t *op;
    lt_call_t call;
    lt_cache_lookup_t *lookup; /* the call, through the cache: until its answer or a cancel */
} proxy_call_t;

/* ---- admission ---------------------------------------------------------- */

static void free_json(void *v)
{
    json_decref(v);
}

static json_t *read_input(lt_request_t *r, const lt_route_match_t *m, lt_error_t *err)
{
    if (m->op->input_kind == LT_INPUT_JSON_BODY)
        return lt_request_read_json_body(r, err);
    json_t *input = json_object();
    lt_arena_on_destroy(r->arena, free_json, input);
    json_object_set_new(input, m->op->param_name, json_string_nocheck(m->param));
    return input;
}

/* "GET /v1/taxpayers/{tax_code}": the label logs and metrics share, never the path with its identifier. */
static const char *route_label(lt_request_t *r, const lt_operation_t *op)
{
    bool param = op->input_kind == LT_INPUT_PATH_PARAM;
    const char *parts[] = {op->method, " ", op->route, param ? "{" : "", param ? op->param_name : "", param ? "}" : ""};
    return lt_arena_join(r->arena, parts, sizeof(parts) / sizeof(parts[0]));
}

static int route(lt_request_t *r, const lookup_worker_t *w, lt_route_match_t *m, lt_error_t *err)
{
    const char *method = lt_request_method(r);
    const char *path = lt_request_path(r);
    if (lt_router_match(w->config, method, path, m) == 0) {
        r->route = route_label(r, m->op);
        return 0;
    }
    if (!m->path_known)
        return lt_error_set(err, LT_ERR_NOT_FOUND, "no_route", "no operation at this path");
    lt_request_add_header(r, "Allow", m->allow);
    return lt_error_set(err, LT_ERR_METHOD, "method_not_allowed", "this path accepts %s", m->allow);
}

/* The client must be allowed this operation: "<system>.<operation>", which from here on is r->operation, the name
 * the trail, the rate limits and the client's field lists all know it by. */
static int permit(lt_request_t *r, const lt_route_match_t *m, lt_error_t *err)
{
    const char *parts[] = {m->upstream->name, ".", m->op->name};
    return lt_request_permit(r, lt_arena_join(r->arena, parts, sizeof(parts) / sizeof(parts[0])), err);
}

/* ---- the audit trail: every answer of a personal-data operation, refusals and cache hits included ---------- */

/* The subject: the path parameter, or the body's "id" (as the cache's purge index names it). Only printable text of
 * at most 64 bytes can be someone's identifier; anything else is recorded as no subject. */
static const char *audit_subject(const lt_operation_t *op, const json_t *input)
{
    const char *field = op->input_kind == LT_INPUT_PATH_PARAM ? op->param_name : "id";
    const char *id = input != NULL && field != NULL ? json_string_value(json_object_get(input, field)) : NULL;
    return id != NULL && lt_text_is_header_text(id, 64) && lt_text_is_utf8(id) ? id : NULL;
}

/* A refusal after the operation is known: recorded when the operation carries personal data. */
static void refuse(lt_request_t *r, const lt_route_match_t *m, const json_t *input, const lt_error_t *err)
{
    if (!m->op->personal_data) {
        lt_request_reply_problem(r, err);
        return;
    }
    lt_request_reply_audited_problem(r, r->operation, audit_subject(m->op, input), err); /* permit() named it */
}

/* ---- the call and the answer ------------------------------------------------ */

static json_t *source_object(const proxy_call_t *pc, const char *at, const char *cache)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "system", pc->upstream->name, "request_id", pc->r->ctx.request_id,
                     "fetched_at", at, "cache", cache);
}

static void reply_error(proxy_call_t *pc, const lt_error_t *err)
{
    lt_request_t *r = pc->r;
    if (!lt_error_is(err->kind, LT_ERRF_ANSWER)) /* ours or the national system's failure, not a business answer */
        lt_log_warn("request %s: %s %s failed: %s: %s", r->ctx.request_id, pc->upstream->name, pc->op->name, err->code,
                    err->detail);
    lt_request_reply_problem(r, err);
}

/* ---- field projection: what this client may see of the record ------------------------------------ */

static bool in_list(const char *const *list, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], key) == 0)
            return true;
    return false;
}

static bool is_sensitive(const lt_operation_t *op, const char *key)
{
    for (const char *const *f = op->sensitive_fields; f != NULL && *f != NULL; f++)
        if (strcmp(*f, key) == 0)
            return true;
    return false;
}

/*
 * Is a top-level field released to this client? With a field list: the fields it names ("*" naming every field
 * that is not sensitive). Without one: every field but the sensitive ones. A sensitive field is released only
 * where the list names it.
 */
static bool field_released(const lt_client_fields_t *list, const lt_operation_t *op, const char *key)
{
    if (list != NULL && in_list((const char *const *)list->fields, list->nfields, key))
        return true;
    if (is_sensitive(op, key))
        return false;
    return list == NULL || in_list((const char *const *)list->fields, list->nfields, "*");
}

/* Could anything be withheld from this client? If not, the stored bytes go out as they are. */
static bool may_withhold(const lt_client_fields_t *list, const lt_operation_t *op)
{
    if (list != NULL)
        return !in_list((const char *const *)list->fields, list->nfields, "*") || op->sensitive_fields != NULL;
    return op->sensitive_fields != NULL;
}

static const lt_client_fields_t *client_fields(const proxy_call_t *pc)
{
    return lt_client_fields_for(pc->r->client, pc->r->operation);
}

/*
 * The record as this client may see it: the withheld fields removed, and named in source.withheld. It works on
 * the shared copy's bytes (a cached copy is the same for every client), so each client gets its own view.
 */
static char *projected_answer(const proxy_call_t *pc, const lt_cache_entry_t *e, json_t *source, size_t *len)
{
    const lt_client_fields_t *list = client_fields(pc);
    if (!may_withhold(list, pc->op))
        return lt_cache_entry_answer(e, source, len);
    json_t *record = json_loadb(e->body, e->body_len, 0, NULL);
    if (!json_is_object(record)) {
        json_decref(record);
        return NULL;
    }
    json_t *withheld = json_array();
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(record, tmp, key, v)
    {
        if (!field_released(list, pc->op, key)) {
            json_array_append_new(withheld, json_string(key));
            json_object_del(record, key);
        }
    }
    if (json_array_size(withheld) > 0)
        json_object_set_new(source, "withheld", withheld);
    else
        json_decref(withheld);
    json_object_set(record, "source", source);
    char *out = json_dumps(record, JSON_COMPACT);
    json_decref(record);
    *len = out ? strlen(out) : 0;
    return out;
}

/* The record's top-level fields as this client's projection splits them (borrowed from `record`). */
static void split_fields(const proxy_call_t *pc, json_t *record, lt_audit_record_t *rec)
{
    const lt_client_fields_t *list = client_fields(pc);
    size_t n = json_object_size(record) + 1;
    const char **released = lt_arena_alloc(pc->r->arena, n * sizeof(char *));
    const char **withheld = lt_arena_alloc(pc->r->arena, n * sizeof(char *));
    const char *key;
    json_t *v;
    json_object_foreach(record, key, v)
    {
        if (field_released(list, pc->op, key))
            released[rec->nreleased++] = key;
        else
            withheld[rec->nwithheld++] = key;
    }
    rec->released = released;
    rec->withheld = withheld;
}

/* The same split from the record's members as stored (arena copies of their keys); -1 when a key has an escape
 * (the caller parses the record instead). */
static int split_members(const proxy_call_t *pc, const lt_cache_member_t *members, int n, lt_audit_record_t *rec)
{
    const lt_client_fields_t *list = client_fields(pc);
    const char **released = lt_arena_alloc(pc->r->arena, ((size_t)n + 1) * sizeof(char *));
    const char **withheld = lt_arena_alloc(pc->r->arena, ((size_t)n + 1) * sizeof(char *));
    size_t nreleased = 0, nwithheld = 0;
    for (int i = 0; i < n; i++) {
        if (!members[i].key_plain)
            return -1;
        const char *key = lt_arena_strndup(pc->r->arena, members[i].key, members[i].key_len);
        if (field_released(list, pc->op, key))
            released[nreleased++] = key;
        else
            withheld[nwithheld++] = key;
    }
    rec->released = released;
    rec->nreleased = nreleased;
    rec->withheld = withheld;
    rec->nwithheld = nwithheld;
    return 0;
}

/*
 * The record of a lookup's answer, before the answer leaves (lt_request_audit holds it until the record is
 * written): the status, where the answer came from, and the fields released and withheld, as the projection of
 * reply_record splits them for this client (from the members split once for the answer too; nmembers -1: the record
 * is parsed). The message id is this request's upstream message id unless the answer is a stored copy.
 */
static void audit_answer(const proxy_call_t *pc, const lt_cache_result_t *res, const lt_cache_member_t *members,
                         int nmembers)
{
    lt_request_t *r = pc->r;
    if (!pc->op->personal_data)
        return;
    lt_audit_record_t rec;
    lt_request_audit_record(r, &rec, r->operation);
    rec.subject = audit_subject(pc->op, pc->call.input);
    rec.cache = res->source == LT_CACHE_NONE ? NULL : lt_cache_source_name(res->source);
    rec.message_id = res->source == LT_CACHE_HIT ? NULL : r->ctx.message_id;
    json_t *record = NULL;
    if (res->err.kind != LT_ERR_NONE) {
        rec.status = lt_error_http_status(res->err.kind);
        rec.code = res->err.code[0] ? res->err.code : lt_error_kind_name(res->err.kind);
    } else if (nmembers >= 0 && split_members(pc, members, nmembers, &rec) == 0) {
        rec.status = 200;
    } else if ((record = json_loadb(res->entry.body, res->entry.body_len, 0, NULL)) != NULL && json_is_object(record)) {
        rec.status = 200;
        rec.nreleased = rec.nwithheld = 0;
        split_fields(pc, record, &rec);
    } else {
        rec.status = 500; /* reply_record cannot build an answer from this body either */
        rec.code = "internal";
    }
    lt_request_audit(r, &rec);
    json_decref(record);
}

/*
 * The same answer from the record's members as stored, without parsing it or serialising it again: the members
 * this client may see, and source. NULL when a key has an escape (the caller parses the record instead).
 */
static char *projected_members(const proxy_call_t *pc, const lt_cache_member_t *members, int n, const char *fetched_at,
                               const char *cache, size_t *len)
{
    const lt_client_fields_t *list = client_fields(pc);
    bool filter = may_withhold(list, pc->op);
    const lt_cache_member_t **released = lt_arena_alloc(pc->r->arena, ((size_t)n + 1) * sizeof(*released));
    const lt_cache_member_t **withheld = lt_arena_alloc(pc->r->arena, ((size_t)n + 1) * sizeof(*withheld));
    size_t nreleased = 0, nwithheld = 0;
    for (int i = 0; i < n; i++) {
        char key[256];
        if (filter && (!members[i].key_plain || members[i].key_len >= sizeof(key)))
            return NULL;
        if (filter) {
            memcpy(key, members[i].key, members[i].key_len);
            key[members[i].key_len] = '\0';
        }
        if (!filter || field_released(list, pc->op, key))
            released[nreleased++] = &members[i];
        else
            withheld[nwithheld++] = &members[i];
    }
    lt_cache_answer_source_t source = {.system = pc->upstream->name,
                                       .request_id = pc->r->ctx.request_id,
                                       .fetched_at = fetched_at,
                                       .cache = cache,
                                       .withheld = withheld,
                                       .nwithheld = nwithheld};
    char *out = lt_cache_entry_answer_members(released, nreleased, &source, len);
    return out;
}

/* 200: the record as this client may see it, with where it came from. */
static void reply_record(proxy_call_t *pc, const lt_cache_result_t *res, const lt_cache_member_t *members, int nmembers)
{
    const lt_cache_entry_t *e = &res->entry;
    char at[32];
    lt_date_format_iso8601((time_t)(e->fetched_ms / 1000), at);
    const char *cache = lt_cache_source_name(res->source);
    size_t len;
    char *body = nmembers >= 0 ? projected_members(pc, members, nmembers, at, cache, &len) : NULL;
    if (body == NULL) {
        json_t *source = source_object(pc, at, cache);
        body = projected_answer(pc, e, source, &len);
        json_decref(source);
    }
    if (body == NULL) {
        lt_error_t err;
        lt_error_set(&err, LT_ERR_INTERNAL, "internal", "a cached answer could not be read");
        reply_error(pc, &err);
        return;
    }
    lt_request_reply_json_text(pc->r, 200, body, len);
    free(body);
}

/* Top-level fields of a record answered from its stored text; a record with more is parsed instead. */
#define RECORD_MEMBERS_MAX 128

/* The one answer of a lookup, however it was found: cached or not, a record or a problem. */
static void answer(proxy_call_t *pc, const lt_cache_result_t *res)
{
    lt_request_t *r = pc->r;
    if (res->source != LT_CACHE_NONE) /* only an operation that is cached says where its answer came from */
    {
        r->cache = lt_cache_source_name(res->source);
        lt_request_add_header(r, "X-Cache", r->cache);
    }
    if (res->source == LT_CACHE_HIT || res->source == LT_CACHE_STALE) {
        char age[24];
        snprintf(age, sizeof(age), "%lld", lt_cache_entry_age_s(&res->entry, lt_cache_entry_now_ms()));
        lt_request_add_header(r, "Age", age);
    }
    /* The record's members, split once for its audit record and its answer; -1: parse it instead. */
    lt_cache_member_t members[RECORD_MEMBERS_MAX];
    int nmembers = res->err.kind == LT_ERR_NONE ? lt_cache_entry_members(&res->entry, members, RECORD_MEMBERS_MAX) : -1;
    audit_answer(pc, res, members, nmembers);
    if (res->err.kind != LT_ERR_NONE)
        reply_error(pc, &res->err);
    else
        reply_record(pc, res, members, nmembers);
}

static void on_lookup_done(void *arg, const lt_cache_result_t *res)
{
    proxy_call_t *pc = arg;
    pc->lookup = NULL;
    answer(pc, res);
    lt_request_unref(pc->r); /* the lookup's reference */
}

static void on_abort(lt_request_t *r)
{
    proxy_call_t *pc = r->on_abort_arg;
    if (pc->lookup != NULL) {
        lt_cache_lookup_cancel(pc->lookup); /* a flight's last waiter to leave also stops the upstream call */
        pc->lookup = NULL;
        lt_request_unref(r); /* the lookup's reference: its callback will not run now */
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

static void start_call(lt_request_t *r, lookup_worker_t *w, const lt_route_match_t *m, json_t *input)
{
    proxy_call_t *pc = lt_arena_alloc(r->arena, sizeof(*pc));
    pc->r = r;
    pc->w = w;
    pc->upstream = m->upstream;
    pc->op = m->op;
    pc->call.arena = r->arena;
    pc->call.ctx = &r->ctx;
    pc->call.settings = m->upstream->settings;
    pc->call.input = input;
    r->upstream = m->upstream->name;
    lt_cache_result_t *now = lt_cache_lookup_start(w->cache, pc->upstream, pc->op, &pc->call, wants_no_cache(r),
                                                   on_lookup_done, pc, &pc->lookup);
    if (now != NULL) { /* a fresh copy in this process */
        answer(pc, now);
        lt_cache_result_unref(now);
        return;
    }
    lt_request_ref(r); /* held by the lookup until on_lookup_done or a cancel */
    lt_request_wait_abortable(r, on_abort, pc);
}

/* A permitted request, kept while its rate limit is decided. */
typedef struct admitted {
    lookup_worker_t *w;
    lt_route_match_t m;
} admitted_t;

/* Within its rate: who acts and why, the input, then the call. Over it: the 429, recorded like any refusal. */
static void on_admitted(lt_request_t *r, void *arg, const lt_error_t *limited)
{
    admitted_t *a = arg;
    lt_error_t err;
    lt_error_clear(&err);
    json_t *input = NULL;
    if (limited != NULL) {
        refuse(r, &a->m, NULL, limited);
        return;
    }
    /* Redis may have taken a while: the trail is asked again, so that nothing is fetched unaudited. */
    if (a->m.op->personal_data && lt_request_audit_ready(r, &err) != 0) {
        lt_request_reply_problem(r, &err);
        return;
    }
    if (a->m.op->personal_data && lt_request_admit_accountability(r, &err) != 0)
        goto fail;
    if ((input = read_input(r, &a->m, &err)) == NULL || a->m.op->validate(input, &err) != 0)
        goto fail;
    start_call(r, a->w, &a->m, input);
    return;
fail:
    refuse(r, &a->m, input, &err);
}

void lt_lookup_handle(lt_request_t *r, void *worker_ctx)
{
    lookup_worker_t *w = worker_ctx;
    lt_error_t err;
    lt_error_clear(&err);
    lt_route_match_t m;
    /* A trail that cannot take records answers 503 before anyone is called: nothing is fetched unaudited. */
    if (route(r, w, &m, &err) != 0 || (m.op->personal_data && lt_request_audit_ready(r, &err) != 0)) {
        lt_request_reply_problem(r, &err);
        return;
    }
    if (permit(r, &m, &err) != 0) {
        refuse(r, &m, NULL, &err);
        return;
    }
    admitted_t *a = lt_arena_alloc(r->arena, sizeof(*a));
    *a = (admitted_t){.w = w, .m = m};
    lt_request_limit(r, r->operation, on_admitted, a); /* the client's rate for this operation, before any work */
}

/* ---- the table entry ------------------------------------------------------------------------------ */

static void *lookup_worker_new(const lt_worker_env_t *env)
{
    lookup_worker_t *w = calloc(1, sizeof(*w));
    w->config = env->config;
    w->calls = env->calls;
    w->cache = env->cache;
    return w;
}

static void lookup_worker_free(void *worker_ctx)
{
    free(worker_ctx);
}

static const lt_module_route_t lookup_routes[] = {
    /* Every /v1 path that no other module claims: the adapters' operations, or 404/405 problems. */
    {.listener = LT_LISTENER_API, .path = "/v1/", .prefix = true, .handle = lt_lookup_handle},
    {.handle = NULL},
};

const lt_module_t lt_lookup_module = {
    .name = "lookup",
    .title = "Tra cứu · Lookups",
    .worker_new = lookup_worker_new,
    .worker_free = lookup_worker_free,
    .routes = lookup_routes,
};
