/* The cache as a stage of a lookup: policy, the flight leader's steps (local, shared, upstream, store), the uncached
 * call, purges and status. */
#include "lt_cache.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_flight.h"
#include "lt_json_out.h"
#include "lt_cache_mem.h"
#include "lt_redis.h"
#include "lt_log.h"

#define SYSTEM_MAX 32

struct lt_cache {
    const lt_config_t *config;
    const lt_cache_conf_t *conf;
    lt_cache_keys_t keys;
    lt_cache_mem_t *mem; /* the memory backend, or the L1 in front of Redis; NULL when neither */
    int64_t l1_ms;       /* an L1 copy lives at most this long: other instances may purge or refresh */
    lt_flight_table_t *flights;
    bool redis;
    lt_redis_server_t *redis_server; /* each loop's connection is made from it, and reports to it */
    int64_t index_ttl_ms;            /* the longest any entry may live: the purge index lives as long */
    _Atomic uint64_t hits, misses, stale, bypass, unreadable;
};

struct lt_cache_worker {
    lt_cache_t *cache;
    struct event_base *base;
    lt_call_env_t *calls;
    lt_flight_loop_t *flights;
    lt_redis_t *redis;
    lt_cache_crypto_loop_t crypto; /* this loop's HMAC and GCM contexts: a hit makes none */
    bool closing;
};

/* ---- results ------------------------------------------------------------------ */

const char *lt_cache_source_name(lt_cache_source_t s)
{
    static const char *const names[] = {
        [LT_CACHE_NONE] = "miss",   [LT_CACHE_HIT] = "hit",       [LT_CACHE_MISS] = "miss",
        [LT_CACHE_STALE] = "stale", [LT_CACHE_BYPASS] = "bypass",
    };
    return names[s];
}

static lt_cache_result_t *result_new(lt_cache_source_t source)
{
    lt_cache_result_t *res = calloc(1, sizeof(*res));
    atomic_init(&res->refs, 1);
    res->source = source;
    return res;
}

/* An entry as a result (moved): its record, or the 404 it stands for. not_found: the national system's own, when
 * the entry was made from it just now (a miss), so that nothing made here is read back. */
static lt_cache_result_t *result_of_entry(lt_cache_source_t source, lt_cache_entry_t *e, const lt_error_t *not_found)
{
    lt_cache_result_t *res = result_new(source);
    res->entry = *e;
    memset(e, 0, sizeof(*e));
    if (res->entry.kind != LT_CACHE_NOT_FOUND)
        return res;
    if (not_found != NULL)
        lt_error_set(&res->err, LT_ERR_NOT_FOUND, not_found->code, "%s", not_found->detail);
    else
        lt_cache_entry_not_found_error(&res->entry, &res->err);
    return res;
}

static void set_unencodable(lt_error_t *err)
{
    lt_error_set(err, LT_ERR_INTERNAL, "internal", "cannot encode the answer");
}

static void result_ref(void *p)
{
    lt_cache_result_t *res = p;
    atomic_fetch_add(&res->refs, 1);
}

void lt_cache_result_unref(lt_cache_result_t *res)
{
    if (res == NULL || atomic_fetch_sub(&res->refs, 1) != 1)
        return;
    lt_cache_entry_clear(&res->entry);
    free(res);
}

static void result_unref(void *p)
{
    lt_cache_result_unref(p);
}

/* ---- the process ---------------------------------------------------------------- */

static int64_t longest_life_ms(const lt_cache_conf_t *cc)
{
    int64_t best = cc->defaults.ttl_s + cc->defaults.max_stale_s;
    if (cc->defaults.not_found_ttl_s > best)
        best = cc->defaults.not_found_ttl_s;
    for (size_t i = 0; i < cc->nops; i++) {
        const lt_cache_ttls_t *t = &cc->ops[i].ttls;
        if (t->ttl_s + t->max_stale_s > best)
            best = t->ttl_s + t->max_stale_s;
        if (t->not_found_ttl_s > best)
            best = t->not_found_ttl_s;
    }
    return best * 1000 + 1000;
}

static int setup_redis(lt_cache_t *c, lt_error_t *err)
{
    const lt_cache_conf_t *cc = c->conf;
    static const lt_redis_use_t use = {.config_path = "cache.redis",
                                       .label = "cache redis",
                                       .while_down = "lookups go to the national systems until it is back"};
    if ((c->redis_server = lt_redis_server_new(&cc->redis.conn, &use, err)) == NULL)
        return -1;
    c->redis = true;
    c->index_ttl_ms = longest_life_ms(cc);
    if (cc->redis.l1_max_bytes > 0) {
        c->mem = lt_cache_mem_new((size_t)cc->redis.l1_max_bytes, (int)cc->shards);
        c->l1_ms = cc->redis.l1_ttl_s * 1000;
    }
    return 0;
}

lt_cache_t *lt_cache_new(const lt_config_t *config, lt_error_t *err)
{
    lt_cache_t *c = calloc(1, sizeof(*c));
    c->config = config;
    c->conf = &config->cache;
    c->flights = lt_flight_table_new(result_ref, result_unref);
    const lt_cache_conf_t *cc = c->conf;
    if (cc->backend == LT_CACHE_OFF)
        return c;
    if (cc->hmac_key_file != NULL) {
        if (lt_cache_crypto_keys_load(&c->keys, cc, err) != 0)
            goto fail;
    } else {
        lt_cache_crypto_keys_random(&c->keys);
    }
    if (cc->backend == LT_CACHE_MEMORY)
        c->mem = lt_cache_mem_new((size_t)cc->max_bytes, (int)cc->shards);
    else if (setup_redis(c, err) != 0)
        goto fail;
    return c;
fail:
    lt_cache_free(c);
    return NULL;
}

void lt_cache_free(lt_cache_t *c)
{
    if (c == NULL)
        return;
    lt_cache_mem_free(c->mem);
    lt_flight_table_free(c->flights);
    lt_redis_server_free(c->redis_server);
    lt_cache_crypto_keys_wipe(&c->keys);
    free(c);
}

bool lt_cache_enabled(const lt_cache_t *c)
{
    return c != NULL && c->conf->backend != LT_CACHE_OFF;
}

/* ---- one loop -------------------------------------------------------------------- */

lt_cache_worker_t *lt_cache_worker_new(lt_cache_t *c, struct event_base *base, lt_call_env_t *calls)
{
    lt_cache_worker_t *cw = calloc(1, sizeof(*cw));
    cw->cache = c;
    cw->base = base;
    cw->calls = calls;
    cw->flights = lt_flight_loop_new(c->flights, base);
    if (c->redis)
        cw->redis = lt_redis_new(c->redis_server, base);
    if (lt_cache_enabled(c))
        lt_cache_crypto_loop_init(&cw->crypto, &c->keys);
    return cw;
}

void lt_cache_worker_free(lt_cache_worker_t *cw)
{
    if (cw == NULL)
        return;
    cw->closing = true;
    lt_redis_free(cw->redis); /* pending writes are answered now, which releases their flights */
    cw->redis = NULL;
    lt_flight_loop_free(cw->flights);
    lt_cache_crypto_loop_free(&cw->crypto);
    free(cw);
}

int lt_cache_worker_busy(const lt_cache_worker_t *cw)
{
    return cw ? lt_flight_loop_owned(cw->flights) : 0;
}

void lt_cache_worker_on_idle(lt_cache_worker_t *cw, void (*idle)(void *arg), void *arg)
{
    lt_flight_loop_on_idle(cw->flights, idle, arg);
}

/* ---- names and the local store ------------------------------------------------------ */

typedef struct lt_cache_query {
    const lt_upstream_conf_t *upstream;
    const lt_operation_t *op;
    lt_cache_ttls_t ttls;
    unsigned char name[LT_CACHE_KEY_LEN]; /* HMAC(system | operation | normalised input) */
    unsigned char tag[LT_CACHE_KEY_LEN];  /* HMAC("index" | identifier), for purges: set by the flight leader */
    bool tagged;
} lt_cache_query_t;

/* Purges go by identifier: the path parameter, or the "id" of a JSON body. */
static const char *identifier_of(const lt_operation_t *op, const json_t *input)
{
    const char *field = op->input_kind == LT_INPUT_PATH_PARAM ? op->param_name : "id";
    return field ? json_string_value(json_object_get(input, field)) : NULL;
}

/* -1 when this operation's answers are not cached (backend off, payments, not idempotent, ttl 0). */
static int query_init(lt_cache_worker_t *cw, const lt_upstream_conf_t *u, const lt_operation_t *op, const json_t *input,
                      lt_cache_query_t *q)
{
    if (cw == NULL || !lt_cache_enabled(cw->cache) || lt_config_cache_forbidden(u->name, op))
        return -1;
    lt_cache_t *c = cw->cache;
    const lt_cache_ttls_t *ttls = lt_config_cache_ttls(c->config, u->name, op->name);
    if (ttls->ttl_s <= 0)
        return -1;
    memset(q, 0, sizeof(*q));
    q->upstream = u;
    q->op = op;
    q->ttls = *ttls;
    /* The validated input (names already NFC), keys sorted: equal questions get equal names. A flat object of
     * strings is written directly, in the bytes json_dumps would give, without a tree walk through jansson. */
    lt_buf_t o;
    lt_buf_init(&o, 256);
    char *text;
    if (lt_json_out_flat_sorted(&o, input) == 0) {
        text = o.data;
    } else {
        free(o.data);
        if ((text = json_dumps(input, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
            return -1;
    }
    size_t len = strlen(text);
    lt_cache_crypto_key_derive_on(&cw->crypto, u->name, op->name, text, len, q->name);
    OPENSSL_cleanse(text, len);
    free(text);
    return 0;
}

/* The purge index name: only a store needs it, so hits never pay for it. */
static void tag_query(const lt_cache_t *c, lt_cache_query_t *q, const json_t *input)
{
    const char *id = identifier_of(q->op, input);
    if (id != NULL && *id != '\0') {
        lt_cache_crypto_index_derive(&c->keys, id, q->tag);
        q->tagged = true;
    }
}

static void log_unreadable(lt_cache_t *c, const unsigned char name[LT_CACHE_KEY_LEN], const char *where,
                           const lt_error_t *err)
{
    char hex[LT_CACHE_HEX_LEN + 1];
    lt_cache_crypto_hex(name, hex);
    atomic_fetch_add(&c->unreadable, 1);
    /* The name is an HMAC: safe to log, and it lets an operator find the entry. */
    lt_log_warn("cache: %s entry %.16s... cannot be opened (%s); treated as a miss", where, hex, err->detail);
}

/* 1: fresh, 0: only usable as stale, -1: nothing. */
static int local_get(lt_cache_worker_t *cw, const lt_cache_query_t *q, lt_cache_entry_t *e)
{
    lt_cache_t *c = cw->cache;
    if (c->mem == NULL)
        return -1;
    size_t len;
    int64_t now = lt_cache_entry_now_ms();
    unsigned char *sealed = lt_cache_mem_get(c->mem, q->name, now, &len);
    if (sealed == NULL)
        return -1;
    lt_error_t err;
    int rc = lt_cache_entry_open_on(&cw->crypto, &c->keys, q->name, sealed, len, e, &err);
    free(sealed);
    if (rc != 0) {
        log_unreadable(c, q->name, "an in-process", &err);
        lt_cache_mem_delete(c->mem, q->name);
        return -1;
    }
    if (lt_cache_entry_is_fresh(e, now))
        return 1;
    if (lt_cache_entry_is_usable(e, now))
        return 0;
    lt_cache_entry_clear(e);
    return -1;
}

/* A fresh copy held in this process (a new reference), or NULL. */
static lt_cache_result_t *get_fresh(lt_cache_worker_t *cw, const lt_cache_query_t *q)
{
    lt_cache_entry_t e;
    int rc = local_get(cw, q, &e);
    if (rc < 0)
        return NULL;
    if (rc == 0) {
        lt_cache_entry_clear(&e);
        return NULL;
    }
    atomic_fetch_add(&cw->cache->hits, 1);
    return result_of_entry(LT_CACHE_HIT, &e, NULL);
}

static void local_put(lt_cache_t *c, const lt_cache_query_t *q, const unsigned char *sealed, size_t len,
                      const lt_cache_entry_t *e, int64_t now)
{
    if (c->mem == NULL)
        return;
    int64_t expires = e->stale_until_ms;
    if (c->l1_ms > 0 && now + c->l1_ms < expires)
        expires = now + c->l1_ms;
    lt_cache_mem_put(c->mem, q->name, q->tagged ? q->tag : NULL, q->upstream->name, sealed, len, expires, now);
}

static void redis_key(const lt_cache_t *c, char kind, const unsigned char name[LT_CACHE_KEY_LEN], char *out,
                      size_t outlen)
{
    char hex[LT_CACHE_HEX_LEN + 1];
    lt_cache_crypto_hex(name, hex);
    snprintf(out, outlen, "%s%c:%s", c->conf->redis.prefix, kind, hex);
}

/* ---- the flight leader ------------------------------------------------------------------ */

typedef struct leader {
    lt_cache_worker_t *cw;
    lt_flight_t *flight;
    lt_cache_query_t q;
    bool bypass, completed;
    lt_arena_t *arena; /* the call's: input copy, context, the lt_call run */
    lt_call_t call;
    lt_call_context_t ctx;
    lt_call_run_t *run;
    lt_redis_cmd_t *get;
    lt_cache_entry_t stale;
    bool has_stale;
    int writes; /* Redis writes not yet answered: the flight lingers until then */
} leader_t;

static void leader_free(leader_t *l)
{
    lt_cache_entry_clear(&l->stale);
    lt_arena_destroy(l->arena);
    free(l);
}

static void leader_release(leader_t *l)
{
    lt_flight_t *f = l->flight;
    leader_free(l);
    lt_flight_release(f);
}

static void on_abandoned(void *arg)
{
    leader_t *l = arg;
    if (l->run != NULL)
        lt_call_cancel(l->run);
    lt_redis_cancel(l->get);
    /* Writes in flight keep their callbacks: a completed flight is never abandoned, so there are none here. */
    leader_release(l);
}

static void complete(leader_t *l, lt_cache_result_t *res)
{
    l->completed = true;
    lt_flight_complete(l->flight, res);
    if (l->writes == 0)
        leader_release(l);
}

static void complete_entry(leader_t *l, lt_cache_source_t source, lt_cache_entry_t *e)
{
    complete(l, result_of_entry(source, e, NULL));
}

static void complete_error(leader_t *l, const lt_error_t *err)
{
    lt_cache_result_t *res = result_new(l->bypass ? LT_CACHE_BYPASS : LT_CACHE_MISS);
    res->err = *err;
    complete(l, res);
}

static void on_write(void *arg, const redisReply *reply)
{
    leader_t *l = arg;
    if (--l->writes == 0 && l->completed)
        leader_release(l);
}

static void redis_write(leader_t *l, const unsigned char *sealed, size_t len, int64_t life_ms)
{
    lt_cache_t *c = l->cw->cache;
    lt_redis_t *r = l->cw->redis;
    char key[128], idx[128], member[SYSTEM_MAX + LT_CACHE_HEX_LEN + 2], px[24], ipx[24], hex[LT_CACHE_HEX_LEN + 1];
    redis_key(c, 'c', l->q.name, key, sizeof(key));
    snprintf(px, sizeof(px), "%lld", (long long)(life_ms > 0 ? life_ms : 1));
    const char *set[] = {"SET", key, (const char *)sealed, "PX", px};
    size_t setlen[] = {3, strlen(key), len, 2, strlen(px)};
    if (lt_redis_command(r, on_write, l, 5, set, setlen) == NULL)
        return;
    l->writes++;
    if (!l->q.tagged)
        return;
    /* The purge index: identifier's HMAC -> "system:entry name". Nothing in it names anyone. */
    redis_key(c, 'i', l->q.tag, idx, sizeof(idx));
    lt_cache_crypto_hex(l->q.name, hex);
    snprintf(member, sizeof(member), "%s:%s", l->q.upstream->name, hex);
    snprintf(ipx, sizeof(ipx), "%lld", (long long)c->index_ttl_ms);
    const char *sadd[] = {"SADD", idx, member};
    const char *pexpire[] = {"PEXPIRE", idx, ipx};
    if (lt_redis_command(r, on_write, l, 3, sadd, NULL) != NULL)
        l->writes++;
    if (lt_redis_command(r, on_write, l, 3, pexpire, NULL) != NULL)
        l->writes++;
}

static void store(leader_t *l, const lt_cache_entry_t *e)
{
    lt_cache_t *c = l->cw->cache;
    unsigned char *sealed;
    size_t len;
    if (lt_cache_entry_seal(&c->keys, l->q.name, e, &sealed, &len) != 0) {
        lt_log_error("cache: cannot seal an entry; it is not stored");
        return;
    }
    int64_t now = lt_cache_entry_now_ms();
    local_put(c, &l->q, sealed, len, e, now);
    if (l->cw->redis != NULL)
        redis_write(l, sealed, len, e->stale_until_ms - now);
    free(sealed);
}

static bool serves_stale(const lt_error_t *err)
{
    /* The national system failed (502, 503 with an open circuit or not, 504): not a business answer. */
    return lt_error_is(err->kind, LT_ERRF_STALE);
}

static void on_upstream_done(void *arg, json_t *record, const lt_error_t *err)
{
    leader_t *l = arg;
    l->run = NULL;
    int64_t now = lt_cache_entry_now_ms();
    lt_cache_source_t source = l->bypass ? LT_CACHE_BYPASS : LT_CACHE_MISS;
    lt_cache_entry_t e;
    lt_error_t failed;
    if (err == NULL) {
        /* The record's one serialisation: the store and every waiter's answer use this text. */
        int rc = lt_cache_entry_from_record(&e, record, now);
        json_decref(record);
        if (rc != 0) {
            set_unencodable(&failed);
            complete_error(l, &failed);
            return;
        }
        e.fresh_until_ms = now + l->q.ttls.ttl_s * 1000;
        e.stale_until_ms = e.fresh_until_ms + l->q.ttls.max_stale_s * 1000;
    } else if (err->kind == LT_ERR_NOT_FOUND && l->q.ttls.not_found_ttl_s > 0) {
        if (lt_cache_entry_from_not_found(&e, err, now) != 0) {
            set_unencodable(&failed);
            complete_error(l, &failed);
            return;
        }
        e.fresh_until_ms = e.stale_until_ms = now + l->q.ttls.not_found_ttl_s * 1000;
    } else if (l->has_stale && serves_stale(err) && lt_cache_entry_is_usable(&l->stale, now)) {
        lt_log_info("cache: %s %s failed (%s); serving a copy kept past its TTL", l->q.upstream->name, l->q.op->name,
                    err->code);
        complete_entry(l, LT_CACHE_STALE, &l->stale);
        return;
    } else {
        complete_error(l, err);
        return;
    }
    store(l, &e);
    complete(l, result_of_entry(source, &e, err));
}

static void call_upstream(leader_t *l)
{
    if (l->cw->closing || l->cw->calls == NULL) {
        lt_error_t err;
        lt_error_set(&err, LT_ERR_UPSTREAM_UNAVAILABLE, "shutting_down", "the gateway is stopping");
        complete_error(l, &err);
        return;
    }
    l->run = lt_call_start(l->cw->calls, l->q.upstream, l->q.op, &l->call, on_upstream_done, l);
}

static void keep_stale(leader_t *l, lt_cache_entry_t *e)
{
    if (l->has_stale && l->stale.fetched_ms >= e->fetched_ms) {
        lt_cache_entry_clear(e);
        return;
    }
    lt_cache_entry_clear(&l->stale);
    l->stale = *e;
    l->has_stale = true;
}

static void on_shared_get(void *arg, const redisReply *reply)
{
    leader_t *l = arg;
    lt_cache_t *c = l->cw->cache;
    l->get = NULL;
    if (reply != NULL && reply->type == REDIS_REPLY_STRING) {
        lt_cache_entry_t e;
        lt_error_t err;
        int64_t now = lt_cache_entry_now_ms();
        if (lt_cache_entry_open_on(&l->cw->crypto, &c->keys, l->q.name, (const unsigned char *)reply->str, reply->len,
                                   &e, &err) != 0) {
            log_unreadable(c, l->q.name, "a shared", &err);
        } else if (lt_cache_entry_is_fresh(&e, now)) {
            local_put(c, &l->q, (const unsigned char *)reply->str, reply->len, &e, now);
            complete_entry(l, LT_CACHE_HIT, &e);
            return;
        } else if (lt_cache_entry_is_usable(&e, now)) {
            keep_stale(l, &e);
        } else {
            lt_cache_entry_clear(&e);
        }
    }
    call_upstream(l);
}

static void leader_start(leader_t *l)
{
    if (l->bypass) {
        call_upstream(l);
        return;
    }
    /* Again, now inside the flight: an answer stored between the caller's look and its join is found here. */
    lt_cache_entry_t e;
    int rc = local_get(l->cw, &l->q, &e);
    if (rc == 1) {
        complete_entry(l, LT_CACHE_HIT, &e);
        return;
    }
    if (rc == 0)
        keep_stale(l, &e);
    if (l->cw->redis != NULL) {
        char key[128];
        redis_key(l->cw->cache, 'c', l->q.name, key, sizeof(key));
        const char *argv[] = {"GET", key};
        if ((l->get = lt_redis_command(l->cw->redis, on_shared_get, l, 2, argv, NULL)) != NULL)
            return;
    }
    call_upstream(l);
}

static const char *arena_dup(lt_arena_t *a, const char *s)
{
    return lt_arena_strdup(a, s);
}

static void free_json(void *v)
{
    json_decref(v);
}

/* The leader runs for every waiter, so it owns copies of what it needs, not the first request's memory. */
static leader_t *leader_new(lt_cache_worker_t *cw, lt_flight_t *f, const lt_cache_query_t *q, const lt_call_t *call,
                            bool bypass)
{
    leader_t *l = calloc(1, sizeof(*l));
    l->cw = cw;
    l->flight = f;
    l->q = *q;
    l->bypass = bypass;
    l->arena = lt_arena_new();
    const lt_call_context_t *ctx = call->ctx;
    l->ctx.request_id = arena_dup(l->arena, ctx->request_id);
    l->ctx.message_id = arena_dup(l->arena, ctx->message_id);
    l->ctx.officer_id = arena_dup(l->arena, ctx->officer_id);
    l->ctx.purpose = arena_dup(l->arena, ctx->purpose);
    l->ctx.procedure_code = arena_dup(l->arena, ctx->procedure_code);
    l->ctx.client = arena_dup(l->arena, ctx->client);
    l->call.arena = l->arena;
    l->call.ctx = &l->ctx;
    l->call.settings = call->settings;
    l->call.input = json_deep_copy(call->input);
    lt_arena_on_destroy(l->arena, free_json, l->call.input);
    tag_query(cw->cache, &l->q, l->call.input);
    lt_flight_on_abandon(f, on_abandoned, l);
    return l;
}

/* ---- a lookup ---------------------------------------------------------------------------- */

struct lt_cache_lookup {
    lt_flight_wait_t wait; /* a cached operation: its place in the flight */
    lt_call_run_t *run;    /* an operation that is not cached: its call */
    lt_cache_t *cache;
    lt_cache_done_fn done;
    void *arg;
};

static void count(lt_cache_t *c, const lt_cache_result_t *res)
{
    switch (res->source) {
    case LT_CACHE_NONE:
        break;
    case LT_CACHE_HIT:
        atomic_fetch_add(&c->hits, 1);
        break;
    case LT_CACHE_MISS:
        atomic_fetch_add(&c->misses, 1);
        break;
    case LT_CACHE_STALE:
        atomic_fetch_add(&c->stale, 1);
        break;
    case LT_CACHE_BYPASS:
        atomic_fetch_add(&c->bypass, 1);
        break;
    }
}

static void on_flight_done(lt_flight_wait_t *w, void *result)
{
    lt_cache_lookup_t *k = w->arg;
    count(k->cache, result);
    k->done(k->arg, result);
}

/* Not cached: the same answer as a miss would give (its record serialised once), without the store. */
static void on_uncached_done(void *arg, json_t *record, const lt_error_t *err)
{
    lt_cache_lookup_t *k = arg;
    k->run = NULL;
    lt_cache_result_t *res = result_new(LT_CACHE_NONE);
    if (err != NULL)
        res->err = *err;
    else if (lt_cache_entry_from_record(&res->entry, record, lt_cache_entry_now_ms()) != 0)
        set_unencodable(&res->err);
    json_decref(record);
    k->done(k->arg, res);
    lt_cache_result_unref(res);
}

lt_cache_result_t *lt_cache_lookup_start(lt_cache_worker_t *cw, const lt_upstream_conf_t *u, const lt_operation_t *op,
                                         lt_call_t *call, bool bypass, lt_cache_done_fn done, void *arg,
                                         lt_cache_lookup_t **lookup)
{
    *lookup = NULL;
    lt_cache_query_t q;
    bool cached = query_init(cw, u, op, call->input, &q) == 0;
    if (cached && !bypass) {
        lt_cache_result_t *res = get_fresh(cw, &q);
        if (res != NULL)
            return res;
    }
    lt_cache_lookup_t *k = lt_arena_alloc(call->arena, sizeof(*k));
    k->cache = cw->cache;
    k->done = done;
    k->arg = arg;
    *lookup = k;
    if (!cached) {
        k->run = lt_call_start(cw->calls, u, op, call, on_uncached_done, k);
        return NULL;
    }
    k->wait.done = on_flight_done;
    k->wait.arg = k;
    bool leads = false;
    lt_flight_t *flight = lt_flight_join(cw->flights, q.name, bypass, &k->wait, &leads);
    if (leads)
        leader_start(leader_new(cw, flight, &q, call, bypass));
    return NULL;
}

void lt_cache_lookup_cancel(lt_cache_lookup_t *k)
{
    if (k == NULL)
        return;
    if (k->run != NULL) {
        lt_call_cancel(k->run);
        k->run = NULL;
        return;
    }
    lt_flight_wait_cancel(&k->wait);
}

/* ---- purge ------------------------------------------------------------------------------ */

struct lt_cache_purge {
    lt_cache_worker_t *cw;
    lt_cache_purge_fn fn;
    void *arg;
    lt_cache_purge_report_t report;
    char system[SYSTEM_MAX];
    bool all_systems;
    char idx[128];
    int pending;
    struct event *timer;
};

static void purge_free(lt_cache_purge_t *p)
{
    if (p->timer != NULL)
        event_free(p->timer);
    free(p);
}

static void purge_finish(lt_cache_purge_t *p)
{
    lt_cache_purge_fn fn = p->fn;
    p->fn = NULL;
    if (fn != NULL)
        fn(p->arg, &p->report);
    purge_free(p);
}

static void purge_failed(lt_cache_purge_t *p, const char *why)
{
    p->report.failed = true;
    if (p->report.detail[0] == '\0')
        snprintf(p->report.detail, sizeof(p->report.detail), "%s", why);
}

static void on_purge_timer(evutil_socket_t fd, short what, void *arg)
{
    purge_finish(arg);
}

static void on_purge_step(void *arg, const redisReply *reply)
{
    lt_cache_purge_t *p = arg;
    if (reply == NULL)
        purge_failed(p, "the shared store failed to answer while purging");
    if (--p->pending == 0)
        purge_finish(p);
}

static void on_purge_del(void *arg, const redisReply *reply)
{
    lt_cache_purge_t *p = arg;
    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER)
        p->report.redis += reply->integer; /* how many of the entries still existed */
    on_purge_step(arg, reply);
}

/* Deletes the entries the index names (of the chosen system), then the index members themselves. */
static void on_purge_members(void *arg, const redisReply *reply)
{
    lt_cache_purge_t *p = arg;
    p->pending--;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        purge_failed(p, "the shared store failed to list the identifier's entries");
        purge_finish(p);
        return;
    }
    lt_cache_t *c = p->cw->cache;
    size_t n = reply->elements, keep = 0;
    const char **del = calloc(n + 1, sizeof(*del));
    const char **srem = calloc(n + 2, sizeof(*srem));
    char **keys = calloc(n + 1, sizeof(*keys));
    del[0] = "DEL";
    srem[0] = "SREM";
    srem[1] = p->idx;
    size_t slen = strlen(p->system);
    for (size_t i = 0; i < n; i++) {
        const redisReply *m = reply->element[i];
        const char *colon = m->type == REDIS_REPLY_STRING ? strchr(m->str, ':') : NULL;
        if (colon == NULL || strlen(colon + 1) != LT_CACHE_HEX_LEN)
            continue;
        if (!p->all_systems && ((size_t)(colon - m->str) != slen || strncmp(m->str, p->system, slen) != 0))
            continue;
        if (asprintf(&keys[keep], "%sc:%s", c->conf->redis.prefix, colon + 1) < 0)
            break;
        del[keep + 1] = keys[keep];
        srem[keep + 2] = m->str;
        keep++;
    }
    if (keep > 0) {
        /* One pipeline: the entries, then their index members. */
        if (lt_redis_command(p->cw->redis, on_purge_del, p, (int)keep + 1, del, NULL) != NULL)
            p->pending++;
        if (lt_redis_command(p->cw->redis, on_purge_step, p, (int)keep + 2, srem, NULL) != NULL)
            p->pending++;
        if (p->pending < 2)
            purge_failed(p, "the shared store went away while purging");
    }
    for (size_t i = 0; i < keep; i++)
        free(keys[i]);
    free(keys);
    free(del);
    free(srem);
    if (p->pending == 0)
        purge_finish(p);
}

lt_cache_purge_t *lt_cache_purge_start(lt_cache_worker_t *cw, const char *system, const char *identifier,
                                       lt_cache_purge_fn fn, void *arg)
{
    lt_cache_t *c = cw->cache;
    lt_cache_purge_t *p = calloc(1, sizeof(*p));
    p->cw = cw;
    p->fn = fn;
    p->arg = arg;
    p->all_systems = system == NULL;
    snprintf(p->system, sizeof(p->system), "%s", system ? system : "");
    p->timer = evtimer_new(cw->base, on_purge_timer, p);
    unsigned char tag[LT_CACHE_KEY_LEN];
    lt_cache_crypto_index_derive(&c->keys, identifier, tag);
    if (c->mem != NULL)
        p->report.memory = (long long)lt_cache_mem_purge(c->mem, tag, system);
    if (c->redis) {
        redis_key(c, 'i', tag, p->idx, sizeof(p->idx));
        const char *argv[] = {"SMEMBERS", p->idx};
        if (lt_redis_command(cw->redis, on_purge_members, p, 2, argv, NULL) != NULL) {
            p->pending = 1;
            return p;
        }
        purge_failed(p, "the shared store (Redis) is unreachable");
    }
    struct timeval now = {0, 0};
    evtimer_add(p->timer, &now);
    return p;
}

void lt_cache_purge_cancel(lt_cache_purge_t *p)
{
    if (p == NULL)
        return;
    p->fn = NULL;
    if (p->pending == 0)
        purge_free(p); /* only its timer was pending */
}

/* ---- status ------------------------------------------------------------------------------ */

static json_t *memory_status(lt_cache_t *c)
{
    lt_cache_mem_stats_t s;
    lt_cache_mem_stats(c->mem, &s);
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "role", c->redis ? "l1" : "store", "bytes", (json_int_t)s.bytes,
                     "max_bytes", (json_int_t)s.max_bytes, "entries", (json_int_t)s.entries, "inserted_bytes",
                     (json_int_t)s.inserted_bytes, "evictions", (json_int_t)s.evictions);
}

static json_t *redis_status(lt_cache_t *c, lt_redis_stats_t *st)
{
    lt_redis_server_stats(c->redis_server, st);
    json_t *o = json_pack("{s:s, s:i, s:i, s:I, s:I, s:I}", "address", lt_redis_server_address(c->redis_server),
                          "connections", st->connections, "up", st->up, "commands", (json_int_t)st->commands,
                          "failures", (json_int_t)st->failures, "timeouts", (json_int_t)st->timeouts);
    lt_redis_stats_to_json(st, o);
    return o;
}

json_t *lt_cache_status(lt_cache_t *c)
{
    static const char *const backends[] = {"off", "memory", "redis"};
    if (!lt_cache_enabled(c))
        return json_pack("{s:s, s:s}", "backend", "off", "state", "off");
    uint64_t hits = atomic_load(&c->hits), misses = atomic_load(&c->misses), stale = atomic_load(&c->stale),
             bypass = atomic_load(&c->bypass);
    uint64_t all = hits + misses + stale + bypass;
    json_t *s = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:I}", "backend", backends[c->conf->backend], "state", "ok", "hits",
        (json_int_t)hits, "misses", (json_int_t)misses, "stale", (json_int_t)stale, "bypass", (json_int_t)bypass,
        "unreadable", (json_int_t)atomic_load(&c->unreadable), "hit_ratio",
        all ? (double)(hits + stale) / (double)all : 0.0, "flights", (json_int_t)lt_flight_table_size(c->flights));
    if (c->mem != NULL)
        json_object_set_new(s, "memory", memory_status(c));
    if (c->redis) {
        lt_redis_stats_t st;
        json_object_set_new(s, "redis", redis_status(c, &st));
        if (st.up < st.connections) {
            json_object_set_new(s, "state", json_string("degraded"));
            json_object_set_new(s, "detail",
                                json_sprintf("%d of %d Redis connections are down (%s); lookups go to the national "
                                             "systems until Redis is back",
                                             st.connections - st.up, st.connections,
                                             st.last_error[0] ? st.last_error : "connecting"));
        }
    }
    return s;
}
