/* Rate limits: the buckets, in this process or in Redis, and the fallback between them (lt_ratelimit.h). */
#include "lt_ratelimit.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_bucket.h"
#include "lt_log.h"
#include "lt_redis.h"

/*
 * The bucket in Redis: the same arithmetic as lt_bucket_take, on Redis's clock, so that instances whose clocks
 * disagree still share one bucket. KEYS[1] the bucket; ARGV interval and tolerance (µs). Returns {1, 0} admitted
 * or {0, wait_us}. The key expires once the bucket is full again, so idle buckets cost nothing. Numbers are
 * written with %.0f: Lua's tostring would round a microsecond time to 14 digits.
 */
static const char TAKE_SCRIPT[] = "local t = redis.call('TIME')\n"
                                  "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
                                  "local interval = tonumber(ARGV[1])\n"
                                  "local tolerance = tonumber(ARGV[2])\n"
                                  "local tat = tonumber(redis.call('GET', KEYS[1])) or now\n"
                                  "if tat < now then tat = now end\n"
                                  "local wait = tat - now - tolerance\n"
                                  "if wait > 0 then return {0, wait} end\n"
                                  "tat = tat + interval\n"
                                  "redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX',\n"
                                  "           string.format('%.0f', math.floor((tat - now) / 1000) + 1000))\n"
                                  "return {1, 0}\n";

typedef struct bucket {
    const lt_client_conf_t *client;
    char *operation;
    const lt_client_rate_t *rate;
    lt_bucket_limit_t limit;
    char *key;                /* in Redis */
    _Atomic int64_t tat;      /* the bucket in this process (lt_bucket.h) */
    _Atomic uint64_t limited; /* requests refused, whichever bucket decided */
} bucket_t;

struct lt_ratelimit {
    const lt_config_t *config;
    bucket_t *buckets;
    size_t nbuckets;
    lt_redis_server_t *redis; /* NULL: the buckets are this process's */
    const lt_redis_script_t *take;
    _Atomic uint64_t fallbacks; /* decisions this process's buckets took because Redis could not answer */
    _Atomic bool falling_back;  /* the last decision was one of them */
};

struct lt_ratelimit_loop {
    lt_ratelimit_t *rl;
    lt_redis_t *redis;
};

struct lt_ratelimit_check {
    lt_ratelimit_loop_t *loop;
    bucket_t *bucket;
    lt_ratelimit_fn fn;
    void *arg;
    lt_redis_cmd_t *cmd;
};

static int64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the buckets: every configured client and operation a limit covers ---------------------------------------- */

/* Every operation a request can be admitted for: each configured system's operations, each module's permission. */
static char **known_operations(const lt_config_t *c, size_t *n)
{
    size_t cap = 16;
    char **ops = calloc(cap, sizeof(char *));
    *n = 0;
    for (size_t u = 0; u < c->nupstreams; u++)
        for (const lt_operation_t *op = c->upstreams[u].adapter->operations; op->name != NULL; op++) {
            if (*n + 1 >= cap)
                ops = realloc(ops, (cap *= 2) * sizeof(char *));
            size_t len = strlen(c->upstreams[u].name) + strlen(op->name) + 2;
            ops[*n] = malloc(len);
            snprintf(ops[(*n)++], len, "%s.%s", c->upstreams[u].name, op->name);
        }
    for (size_t m = 0; m < c->nmodules; m++)
        for (const lt_module_route_t *r = c->modules[m]->routes; r && r->handle; r++) {
            bool seen = r->permission == NULL;
            for (size_t i = 0; i < *n && !seen; i++)
                seen = strcmp(ops[i], r->permission) == 0;
            if (seen)
                continue;
            if (*n + 1 >= cap)
                ops = realloc(ops, (cap *= 2) * sizeof(char *));
            ops[(*n)++] = strdup(r->permission);
        }
    return ops;
}

static void add_bucket(lt_ratelimit_t *rl, const lt_client_conf_t *client, const char *operation,
                       const lt_client_rate_t *rate)
{
    bucket_t *b = &rl->buckets[rl->nbuckets++];
    b->client = client;
    b->operation = strdup(operation);
    b->rate = rate;
    b->limit = lt_bucket_limit(rate->rate, rate->period_s, rate->burst);
    atomic_init(&b->tat, 0);
    atomic_init(&b->limited, 0);
    const char *prefix = rl->config->ratelimit.prefix ? rl->config->ratelimit.prefix : "";
    size_t len = strlen(prefix) + strlen(client->id) + strlen(operation) + 2;
    b->key = malloc(len);
    snprintf(b->key, len, "%s%s:%s", prefix, client->id, operation);
}

static void make_buckets(lt_ratelimit_t *rl)
{
    const lt_config_t *c = rl->config;
    size_t nops;
    char **ops = known_operations(c, &nops);
    rl->buckets = calloc(c->nclients * nops + 1, sizeof(*rl->buckets));
    for (size_t i = 0; i < c->nclients; i++)
        for (size_t o = 0; o < nops; o++) {
            const lt_client_rate_t *rate = lt_client_rate_for(&c->clients[i], ops[o]);
            if (rate != NULL && lt_client_allows(&c->clients[i], ops[o]))
                add_bucket(rl, &c->clients[i], ops[o], rate);
        }
    for (size_t o = 0; o < nops; o++)
        free(ops[o]);
    free(ops);
}

static bucket_t *find_bucket(lt_ratelimit_t *rl, const lt_client_conf_t *client, const char *operation)
{
    for (size_t i = 0; client != NULL && i < rl->nbuckets; i++)
        if (rl->buckets[i].client == client && strcmp(rl->buckets[i].operation, operation) == 0)
            return &rl->buckets[i];
    return NULL;
}

lt_ratelimit_t *lt_ratelimit_new(const lt_config_t *config, lt_error_t *err)
{
    lt_ratelimit_t *rl = calloc(1, sizeof(*rl));
    rl->config = config;
    make_buckets(rl);
    if (!config->ratelimit.redis_on || rl->nbuckets == 0)
        return rl;
    static const lt_redis_use_t use = {
        .config_path = "rate_limits.redis",
        .label = "rate-limit redis",
        .while_down = "each instance enforces the rate limits with its own buckets until it is back"};
    if ((rl->redis = lt_redis_server_new(&config->ratelimit.conn, &use, err)) == NULL) {
        lt_ratelimit_free(rl);
        return NULL;
    }
    rl->take = lt_redis_server_script(rl->redis, TAKE_SCRIPT);
    return rl;
}

void lt_ratelimit_free(lt_ratelimit_t *rl)
{
    if (rl == NULL)
        return;
    for (size_t i = 0; i < rl->nbuckets; i++) {
        free(rl->buckets[i].operation);
        free(rl->buckets[i].key);
    }
    free(rl->buckets);
    lt_redis_server_free(rl->redis);
    free(rl);
}

lt_ratelimit_loop_t *lt_ratelimit_loop_new(lt_ratelimit_t *rl, struct event_base *base)
{
    if (rl == NULL)
        return NULL;
    lt_ratelimit_loop_t *l = calloc(1, sizeof(*l));
    l->rl = rl;
    if (rl->redis != NULL)
        l->redis = lt_redis_new(rl->redis, base);
    return l;
}

void lt_ratelimit_loop_free(lt_ratelimit_loop_t *l)
{
    if (l == NULL)
        return;
    lt_redis_free(l->redis); /* answers a check still waiting, which its own bucket then decides */
    free(l);
}

/* ---- deciding ------------------------------------------------------------------------------------------------ */

static int64_t refused(bucket_t *b, int64_t wait_us)
{
    atomic_fetch_add(&b->limited, 1);
    return lt_bucket_retry_after_s(wait_us);
}

/* The bucket of this process: one compare-and-swap, so workers never wait on each other. */
static int64_t take_local(bucket_t *b)
{
    int64_t now = monotonic_us();
    int64_t tat = atomic_load(&b->tat);
    for (;;) {
        int64_t next;
        int64_t wait = lt_bucket_take(&b->limit, tat, now, &next);
        if (wait > 0)
            return refused(b, wait);
        if (atomic_compare_exchange_weak(&b->tat, &tat, next))
            return 0;
    }
}

/* Redis could not answer: this process's bucket decides, and the outage is counted (and said once). */
static int64_t take_fallback(lt_ratelimit_t *rl, bucket_t *b, const char *why)
{
    atomic_fetch_add(&rl->fallbacks, 1);
    if (!atomic_exchange(&rl->falling_back, true))
        lt_log_warn("rate limits: Redis did not answer (%s): this instance's own buckets decide until it does", why);
    return take_local(b);
}

static void shared_again(lt_ratelimit_t *rl)
{
    if (atomic_load(&rl->falling_back) && atomic_exchange(&rl->falling_back, false))
        lt_log_info("rate limits: Redis answers again: the buckets are shared");
}

/* {1, 0} or {0, wait_us}; anything else is not our script's answer. */
static bool read_answer(const redisReply *reply, bool *admitted, int64_t *wait_us)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER || reply->element[1]->type != REDIS_REPLY_INTEGER)
        return false;
    *admitted = reply->element[0]->integer == 1;
    *wait_us = reply->element[1]->integer;
    return true;
}

static void on_reply(void *arg, const redisReply *reply)
{
    lt_ratelimit_check_t *check = arg;
    lt_ratelimit_t *rl = check->loop->rl;
    bool admitted;
    int64_t wait_us, retry_after_s;
    if (read_answer(reply, &admitted, &wait_us)) {
        shared_again(rl);
        retry_after_s = admitted ? 0 : refused(check->bucket, wait_us > 0 ? wait_us : 1);
    } else {
        const char *why = reply == NULL ? lt_redis_failure(check->loop->redis) : "an answer that is not the script's";
        retry_after_s = take_fallback(rl, check->bucket, why[0] ? why : "no answer");
    }
    lt_ratelimit_fn fn = check->fn;
    void *fn_arg = check->arg;
    free(check);
    fn(fn_arg, retry_after_s);
}

int lt_ratelimit_take(lt_ratelimit_loop_t *l, const lt_client_conf_t *client, const char *operation, lt_ratelimit_fn fn,
                      void *arg, lt_ratelimit_check_t **pending, int64_t *retry_after_s)
{
    *pending = NULL;
    *retry_after_s = 0;
    bucket_t *b = l != NULL ? find_bucket(l->rl, client, operation) : NULL;
    if (b == NULL)
        return 0;
    if (l->redis == NULL) {
        *retry_after_s = take_local(b);
        return 0;
    }
    lt_ratelimit_check_t *check = calloc(1, sizeof(*check));
    *check = (lt_ratelimit_check_t){.loop = l, .bucket = b, .fn = fn, .arg = arg};
    char interval[24], tolerance[24];
    snprintf(interval, sizeof(interval), "%lld", (long long)b->limit.interval_us);
    snprintf(tolerance, sizeof(tolerance), "%lld", (long long)b->limit.tolerance_us);
    const char *argv[] = {b->key, interval, tolerance};
    check->cmd = lt_redis_eval(l->redis, l->rl->take, 1, on_reply, check, 3, argv, NULL);
    if (check->cmd == NULL) { /* not connected: refused at once */
        free(check);
        *retry_after_s = take_fallback(l->rl, b, "not connected");
        return 0;
    }
    *pending = check;
    return 1;
}

void lt_ratelimit_cancel(lt_ratelimit_check_t *check)
{
    if (check == NULL)
        return;
    lt_redis_cancel(check->cmd);
    free(check);
}

/* ---- what operators see ------------------------------------------------------------------------------------- */

static const char *period_name(long long period_s)
{
    return period_s == 1 ? "second" : period_s == 60 ? "minute" : "hour";
}

/* Falling back: the last decision was the process's own, or a connection is down now (even with no traffic). */
static bool is_falling_back(lt_ratelimit_t *rl, lt_redis_stats_t *st)
{
    memset(st, 0, sizeof(*st));
    if (rl->redis == NULL)
        return false;
    lt_redis_server_stats(rl->redis, st);
    return atomic_load(&rl->falling_back) || st->up < st->connections;
}

static json_t *limits_json(lt_ratelimit_t *rl, uint64_t *total)
{
    json_t *list = json_array();
    *total = 0;
    for (size_t i = 0; i < rl->nbuckets; i++) {
        const bucket_t *b = &rl->buckets[i];
        uint64_t limited = atomic_load(&b->limited);
        *total += limited;
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:I}", "client", b->client->id,
                                              "operation", b->operation, "pattern", b->rate->pattern, "rate",
                                              (json_int_t)b->rate->rate, "per", period_name(b->rate->period_s), "burst",
                                              (json_int_t)b->rate->burst, "limited", (json_int_t)limited));
    }
    return list;
}

json_t *lt_ratelimit_status(lt_ratelimit_t *rl)
{
    if (rl == NULL || rl->nbuckets == 0)
        return json_pack("{s:b, s:s, s:s}", "configured", false, "color", "grey", "reason",
                         "no client has a rate limit");
    lt_redis_stats_t st;
    bool fallback = is_falling_back(rl, &st);
    uint64_t total;
    json_t *limits = limits_json(rl, &total);
    const char *state = rl->redis == NULL ? "local" : fallback ? "fallback" : "shared";
    const char *reason = rl->redis == NULL ? "buckets in this process"
                         : fallback ? "Redis does not answer: each instance enforces the limits with its own buckets"
                                    : "buckets shared through Redis";
    json_t *doc = json_pack("{s:b, s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:o}", "configured", true, "backend",
                            rl->redis ? "redis" : "local", "state", state, "color", fallback ? "amber" : "green",
                            "reason", reason, "fallback", fallback, "fallback_decisions",
                            (json_int_t)atomic_load(&rl->fallbacks), "limited", (json_int_t)total, "limits", limits);
    if (rl->redis != NULL) {
        json_object_set_new(doc, "redis",
                            json_pack("{s:s, s:i, s:i}", "address", lt_redis_server_address(rl->redis), "connections",
                                      st.connections, "up", st.up));
        if (st.last_error[0] != '\0')
            json_object_set_new(json_object_get(doc, "redis"), "last_error", json_string(st.last_error));
    }
    return doc;
}

void lt_ratelimit_metrics(lt_ratelimit_t *rl, lt_buf_t *b)
{
    lt_mbuf_family(b, "lienthong_rate_limited_total", "counter",
                   "Requests refused with 429 because the client's bucket for the operation was empty.");
    for (size_t i = 0; rl != NULL && i < rl->nbuckets; i++) {
        lt_buf_printf(b, "lienthong_rate_limited_total{client=\"");
        lt_mbuf_label_value(b, rl->buckets[i].client->id);
        lt_buf_printf(b, "\",operation=\"");
        lt_mbuf_label_value(b, rl->buckets[i].operation);
        lt_buf_printf(b, "\"} %llu\n", (unsigned long long)atomic_load(&rl->buckets[i].limited));
    }
    lt_redis_stats_t st;
    bool fallback = rl != NULL && is_falling_back(rl, &st);
    lt_mbuf_family(b, "lienthong_rate_limit_fallback", "gauge",
                   "1 while Redis does not answer and this instance's own buckets enforce the rate limits.");
    lt_buf_printf(b, "lienthong_rate_limit_fallback %d\n", fallback);
    lt_mbuf_family(b, "lienthong_rate_limit_fallback_total", "counter",
                   "Rate-limit decisions this instance's own buckets took because Redis could not answer.");
    lt_buf_printf(b, "lienthong_rate_limit_fallback_total %llu\n",
                  (unsigned long long)(rl ? atomic_load(&rl->fallbacks) : 0));
}
