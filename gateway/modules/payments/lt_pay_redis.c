/*
 * The Redis backend (lt_pay_redis.h).
 *
 * Keys, under the configured prefix P (one Redis, not a cluster: scripts build their keys from P):
 *   P p:<id>         hash: rec (the payment's JSON as created), amount_vnd, state, and once settled
 *                    response_code, transaction_status, bank_code, transaction_no, pay_date, settled_by,
 *                    updated_at_ms. The fields settling changes live beside rec, so no script ever re-encodes JSON
 *                    (Redis's cjson keeps 14 significant digits) and every number stays the decimal C wrote.
 *   P idem:<sha256>  string: the payment id an idempotency scope+key created (hashed: keys are the caller's text)
 *   P unsettled      zset: pending payment ids by expires_at_ms
 *   P ev:<event_id>  hash: the outbox event's fields; deleted once delivered (the payment's final state remains)
 *   P due            zset: pending event ids by next_attempt_at_ms
 *   P backlog        zset: pending event ids by created_at_ms
 *   P dead           zset: dead-lettered event ids by created_at_ms
 *   P counts         hash: payments by state
 *   P fees           zset: paid payment ids not reported to their dossier yet (the hand-off), by settlement time
 *
 * Each change is one Lua script, which Redis runs atomically: two instances settling one payment at the same
 * moment run one after the other, and the second finds it final. The connection layer (lt_redis.h) loads the
 * scripts on every new connection and sends them as EVALSHA, and again as EVAL after a NOSCRIPT answer.
 *
 * Answers become callbacks through an event on the conn's loop, never inside the call: a callback may then free
 * the conn. A Redis that is not connected answers STORE_ERROR at once (on the next loop turn).
 */
#include "lt_pay_redis.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_redis.h"
#include "lt_log.h"

/* ---- the scripts ------------------------------------------------------------------------------ */

/* Shared head of every script: ARGV[1] is the prefix; pay() and ev() read a record in the order C parses it. */
#define LUA_HEAD                                                                                                       \
    "local P = ARGV[1]\n"                                                                                              \
    "local function pay(id) return redis.call('HMGET', P..'p:'..id, 'rec', 'state', 'response_code',"                  \
    " 'transaction_status', 'bank_code', 'transaction_no', 'pay_date', 'settled_by', 'updated_at_ms') end\n"           \
    "local function ev(id) return redis.call('HMGET', P..'ev:'..id, 'event_id', 'payment_id', 'type', 'state',"        \
    " 'attempts', 'created_at_ms', 'next_attempt_at_ms', 'updated_at_ms', 'last_error') end\n"

/* ARGV: P, id, rec, amount_vnd, expires_at_ms, idem hash or '', updated_at_ms */
static const char lua_create[] =
    LUA_HEAD "if ARGV[6] ~= '' then\n"
             "  local known = redis.call('GET', P..'idem:'..ARGV[6])\n"
             "  if known then return {'KNOWN', pay(known)} end\n"
             "end\n"
             "if redis.call('EXISTS', P..'p:'..ARGV[2]) == 1 then return {'DUPLICATE'} end\n"
             "redis.call('HSET', P..'p:'..ARGV[2], 'rec', ARGV[3], 'amount_vnd', ARGV[4], 'state', 'pending',"
             " 'updated_at_ms', ARGV[7])\n"
             "if ARGV[6] ~= '' then redis.call('SET', P..'idem:'..ARGV[6], ARGV[2]) end\n"
             "redis.call('ZADD', P..'unsettled', ARGV[5], ARGV[2])\n"
             "redis.call('HINCRBY', P..'counts', 'pending', 1)\n"
             "return {'OK'}\n";

/* ARGV: P, id, amount_x100 or '-1', state, response_code, transaction_status, bank_code, transaction_no, pay_date,
 * settled_by, now_ms, event_id, event type. The checks in the ICD's order: unknown, amount, already final. */
static const char lua_settle[] =
    LUA_HEAD "local key = P..'p:'..ARGV[2]\n"
             "local cur = redis.call('HMGET', key, 'amount_vnd', 'state')\n"
             "if not cur[2] then return {'NOT_FOUND'} end\n"
             "local x100 = cur[1] == '0' and '0' or cur[1]..'00'\n"
             "if ARGV[3] ~= '-1' and ARGV[3] ~= x100 then return {'AMOUNT_MISMATCH', pay(ARGV[2])} end\n"
             "if cur[2] ~= 'pending' then return {'ALREADY_FINAL', pay(ARGV[2])} end\n"
             "redis.call('HSET', key, 'state', ARGV[4], 'response_code', ARGV[5], 'transaction_status', ARGV[6],"
             " 'bank_code', ARGV[7], 'transaction_no', ARGV[8], 'pay_date', ARGV[9], 'settled_by', ARGV[10],"
             " 'updated_at_ms', ARGV[11])\n"
             "redis.call('ZREM', P..'unsettled', ARGV[2])\n"
             "redis.call('HINCRBY', P..'counts', 'pending', -1)\n"
             "redis.call('HINCRBY', P..'counts', ARGV[4], 1)\n"
             "redis.call('HSET', P..'ev:'..ARGV[12], 'event_id', ARGV[12], 'payment_id', ARGV[2], 'type', ARGV[13],"
             " 'state', 'pending', 'attempts', '0', 'created_at_ms', ARGV[11], 'next_attempt_at_ms', ARGV[11],"
             " 'updated_at_ms', ARGV[11], 'last_error', '')\n"
             "redis.call('ZADD', P..'due', ARGV[11], ARGV[12])\n"
             "redis.call('ZADD', P..'backlog', ARGV[11], ARGV[12])\n"
             /* a paid payment for a dossier is owed to its fee list: flagged in the same step as its final state
              * (rec is only read here, never encoded again) */
             "if ARGV[4] == 'paid' then\n"
             "  local ok, p = pcall(cjson.decode, redis.call('HGET', key, 'rec'))\n"
             "  if ok and type(p) == 'table' and type(p.dossier_id) == 'string' and p.dossier_id ~= '' then\n"
             "    redis.call('ZADD', P..'fees', ARGV[11], ARGV[2])\n"
             "  end\n"
             "end\n"
             "return {'OK', pay(ARGV[2]), ev(ARGV[12])}\n";

/* ARGV: P, max. The payments owed to their dossiers, oldest settlement first; an id whose payment is gone (deleted
 * by hand) leaves the set, or every later call would stop at it. */
static const char lua_fee_pending[] =
    LUA_HEAD "local ids = redis.call('ZRANGE', P..'fees', 0, tonumber(ARGV[2]) - 1)\n"
             "local out = {}\n"
             "for _, id in ipairs(ids) do\n"
             "  if redis.call('EXISTS', P..'p:'..id) == 1 then out[#out + 1] = pay(id)\n"
             "  else redis.call('ZREM', P..'fees', id) end\n"
             "end\n"
             "return {'OK', out}\n";

/* ARGV: P, id */
static const char lua_fee_reported[] = LUA_HEAD "redis.call('ZREM', P..'fees', ARGV[2])\n"
                                                "return {'OK'}\n";

/* ARGV: P, expired_before_ms, max */
static const char lua_unsettled[] = LUA_HEAD
    "local ids = redis.call('ZRANGEBYSCORE', P..'unsettled', '-inf', '('..ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))\n"
    "local out = {}\n"
    "for i, id in ipairs(ids) do out[i] = pay(id) end\n"
    "return {'OK', out}\n";

/* ARGV: P, now_ms, lease until (ms), max */
static const char lua_claim[] =
    LUA_HEAD "local ids = redis.call('ZRANGEBYSCORE', P..'due', '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))\n"
             "local evs, pays = {}, {}\n"
             "for _, id in ipairs(ids) do\n"
             /* An event whose record is gone (deleted by hand) cannot be sent: drop it from the schedule rather
              * than fail the whole batch, or every later claim would stop at it. */
             "  local e = ev(id)\n"
             "  if not e[1] or not e[2] then\n"
             "    redis.call('ZREM', P..'due', id)\n"
             "    redis.call('ZREM', P..'backlog', id)\n"
             "  else\n"
             "    redis.call('ZADD', P..'due', ARGV[3], id)\n"
             "    redis.call('HSET', P..'ev:'..id, 'next_attempt_at_ms', ARGV[3])\n"
             "    e[7] = ARGV[3]\n"
             "    evs[#evs + 1] = e\n"
             "    pays[#pays + 1] = pay(e[2])\n"
             "  end\n"
             "end\n"
             "return {'OK', evs, pays}\n";

/* ARGV: P, event_id, now_ms, payment_id. A gone event of a final payment was delivered already. */
static const char lua_delivered[] = LUA_HEAD "local key = P..'ev:'..ARGV[2]\n"
                                             "if redis.call('EXISTS', key) == 0 then\n"
                                             "  local ps = redis.call('HGET', P..'p:'..ARGV[4], 'state')\n"
                                             "  if ps and ps ~= 'pending' then return {'OK'} end\n"
                                             "  return {'NOT_FOUND'}\n"
                                             "end\n"
                                             "redis.call('HSET', key, 'state', 'delivered', 'updated_at_ms', ARGV[3])\n"
                                             "local e = ev(ARGV[2])\n"
                                             "redis.call('DEL', key)\n"
                                             "redis.call('ZREM', P..'due', ARGV[2])\n"
                                             "redis.call('ZREM', P..'backlog', ARGV[2])\n"
                                             "redis.call('ZREM', P..'dead', ARGV[2])\n"
                                             "return {'OK', e}\n";

/* ARGV: P, event_id, attempts, next_attempt_at_ms, dead '1'|'0', error, now_ms, payment_id */
static const char lua_failed[] =
    LUA_HEAD "local key = P..'ev:'..ARGV[2]\n"
             "local st = redis.call('HGET', key, 'state')\n"
             "if not st then\n"
             "  local ps = redis.call('HGET', P..'p:'..ARGV[8], 'state')\n"
             "  if ps and ps ~= 'pending' then return {'ALREADY_FINAL'} end\n"
             "  return {'NOT_FOUND'}\n"
             "end\n"
             "if st ~= 'pending' then return {'ALREADY_FINAL', ev(ARGV[2])} end\n"
             "redis.call('HSET', key, 'attempts', ARGV[3], 'next_attempt_at_ms', ARGV[4], 'updated_at_ms', ARGV[7],"
             " 'last_error', ARGV[6])\n"
             "if ARGV[5] == '1' then\n"
             "  redis.call('HSET', key, 'state', 'dead')\n"
             "  redis.call('ZREM', P..'due', ARGV[2])\n"
             "  redis.call('ZREM', P..'backlog', ARGV[2])\n"
             "  redis.call('ZADD', P..'dead', redis.call('HGET', key, 'created_at_ms'), ARGV[2])\n"
             "else\n"
             "  redis.call('ZADD', P..'due', ARGV[4], ARGV[2])\n"
             "end\n"
             "return {'OK', ev(ARGV[2])}\n";

/* ARGV: P, event_id, now_ms */
static const char lua_redrive[] =
    LUA_HEAD "local key = P..'ev:'..ARGV[2]\n"
             "if redis.call('HGET', key, 'state') ~= 'dead' then return {'NOT_FOUND'} end\n"
             "redis.call('HSET', key, 'state', 'pending', 'attempts', '0', 'next_attempt_at_ms', ARGV[3],"
             " 'updated_at_ms', ARGV[3])\n"
             "redis.call('ZREM', P..'dead', ARGV[2])\n"
             "redis.call('ZADD', P..'due', ARGV[3], ARGV[2])\n"
             "redis.call('ZADD', P..'backlog', redis.call('HGET', key, 'created_at_ms'), ARGV[2])\n"
             "return {'OK', ev(ARGV[2])}\n";

/* ARGV: P, 'pending' | 'dead' | 'all', max. Oldest first by created_at, ties by id (a sorted set's order). */
static const char lua_list[] =
    LUA_HEAD "local max = tonumber(ARGV[3])\n"
             "local function take(z) if max < 1 then return {} end"
             " return redis.call('ZRANGE', P..z, 0, max - 1, 'WITHSCORES') end\n"
             "local a = (ARGV[2] ~= 'dead') and take('backlog') or {}\n"
             "local b = (ARGV[2] ~= 'pending') and take('dead') or {}\n"
             "local out, i, j = {}, 1, 1\n"
             "while #out < max and (i <= #a or j <= #b) do\n"
             "  local pick_a = j > #b or (i <= #a and (tonumber(a[i+1]) < tonumber(b[j+1])"
             " or (tonumber(a[i+1]) == tonumber(b[j+1]) and a[i] < b[j])))\n"
             "  if pick_a then out[#out+1] = ev(a[i]); i = i + 2 else out[#out+1] = ev(b[j]); j = j + 2 end\n"
             "end\n"
             "return {'OK', out}\n";

/* ARGV: P */
static const char lua_counts[] =
    LUA_HEAD "local oldest = redis.call('ZRANGE', P..'backlog', 0, 0, 'WITHSCORES')\n"
             "return {'OK', redis.call('HGETALL', P..'counts'), redis.call('ZCARD', P..'backlog'),"
             " redis.call('ZCARD', P..'dead'), oldest[2] or '0', redis.call('ZCARD', P..'fees')}\n";

enum {
    S_CREATE,
    S_SETTLE,
    S_UNSETTLED,
    S_CLAIM,
    S_DELIVERED,
    S_FAILED,
    S_REDRIVE,
    S_LIST,
    S_COUNTS,
    S_FEE_PENDING,
    S_FEE_REPORTED,
    S_COUNT
};

static const char *const scripts[S_COUNT] = {lua_create,    lua_settle,      lua_unsettled,   lua_claim,
                                             lua_delivered, lua_failed,      lua_redrive,     lua_list,
                                             lua_counts,    lua_fee_pending, lua_fee_reported};

static bool script_writes(int script)
{
    return script != S_UNSETTLED && script != S_LIST && script != S_COUNTS;
}

/* ---- the store and its conns ------------------------------------------------------------------- */

struct lt_pay_redis {
    lt_redis_server_t *server; /* each conn's connection is made from it, and reports to it */
    const lt_redis_script_t *scripts[S_COUNT];
    char *prefix;
};

typedef struct rop rop_t;

typedef struct rconn {
    lt_pay_redis_t *store;
    struct event_base *base;
    lt_redis_t *r;
    rop_t *ops; /* outstanding */
} rconn_t;

typedef enum { OP_DONE, OP_LIST, OP_COUNTS } op_kind_t;

typedef void (*parse_fn)(rop_t *op, const redisReply *reply);

struct rop {
    rop_t *prev, *next;
    rconn_t *conn;
    int script; /* S_*, or -1: a plain command */
    int argc;
    char **argv;         /* the script's arguments, or the plain command */
    lt_redis_cmd_t *cmd; /* while waiting for Redis */
    struct event *done_ev;
    parse_fn parse;
    op_kind_t kind;
    lt_pay_done_fn done;
    lt_pay_list_fn list_fn;
    lt_pay_counts_fn counts_fn;
    void *arg;
    lt_pay_result_t res;
    lt_pay_list_t list;
    lt_pay_counts_t counts;
};

/* ---- op lifecycle ------------------------------------------------------------------------------ */

static void op_free(rop_t *op)
{
    for (int i = 0; i < op->argc; i++)
        free(op->argv[i]);
    free(op->argv);
    if (op->done_ev != NULL)
        event_free(op->done_ev);
    free((void *)op->list.events);
    free((void *)op->list.payments);
    free(op);
}

static void unlink_op(rop_t *op)
{
    if (op->prev != NULL)
        op->prev->next = op->next;
    else
        op->conn->ops = op->next;
    if (op->next != NULL)
        op->next->prev = op->prev;
}

/* On the conn's loop, from a clean stack: the op is unlinked and freed after its callback. */
static void on_done(evutil_socket_t fd, short what, void *arg)
{
    rop_t *op = arg;
    unlink_op(op);
    if (op->kind == OP_DONE)
        op->done(op->arg, &op->res);
    else if (op->kind == OP_LIST)
        op->list_fn(op->arg, &op->list);
    else
        op->counts_fn(op->arg, &op->counts);
    op_free(op);
}

static void finish(rop_t *op)
{
    event_active(op->done_ev, EV_TIMEOUT, 0);
}

static void fail(rop_t *op, const char *fmt, const char *why)
{
    free((void *)op->list.events);
    free((void *)op->list.payments);
    memset(&op->list, 0, sizeof(op->list));
    op->res.outcome = op->list.outcome = op->counts.outcome = LT_PAY_STORE_ERROR;
    snprintf(op->res.detail, sizeof(op->res.detail), fmt, why);
    snprintf(op->list.detail, sizeof(op->list.detail), fmt, why);
}

static rop_t *op_new(rconn_t *c, op_kind_t kind, void *arg, int script, parse_fn parse)
{
    rop_t *op = calloc(1, sizeof(*op));
    op->conn = c;
    op->kind = kind;
    op->arg = arg;
    op->script = script;
    op->parse = parse;
    op->done_ev = event_new(c->base, -1, 0, on_done, op);
    op->next = c->ops;
    if (c->ops != NULL)
        c->ops->prev = op;
    c->ops = op;
    return op;
}

static void op_args(rop_t *op, int argc, const char *const *argv)
{
    op->argc = argc;
    op->argv = calloc((size_t)argc, sizeof(char *));
    for (int i = 0; i < argc; i++)
        op->argv[i] = strdup(argv[i] != NULL ? argv[i] : "");
}

/* ---- talking to Redis ---------------------------------------------------------------------------- */

static void on_reply(void *arg, const redisReply *reply);

static bool send_op(rop_t *op)
{
    rconn_t *c = op->conn;
    const char **argv = (const char **)op->argv;
    if (op->script >= 0)
        op->cmd = lt_redis_eval(c->r, c->store->scripts[op->script], 0, on_reply, op, op->argc, argv, NULL);
    else
        op->cmd = lt_redis_command(c->r, on_reply, op, op->argc, argv, NULL);
    return op->cmd != NULL;
}

static void start(rop_t *op)
{
    if (!send_op(op)) {
        fail(op, "payment store: %s", "Redis is not connected");
        finish(op);
    }
}

static void on_reply(void *arg, const redisReply *reply)
{
    rop_t *op = arg;
    op->cmd = NULL;
    if (reply == NULL)
        fail(op, "payment store: Redis did not answer: %s", lt_redis_failure(op->conn->r));
    else if (reply->type != REDIS_REPLY_ARRAY)
        fail(op, "payment store: %s", "unexpected reply from Redis");
    else
        op->parse(op, reply);
    finish(op);
}

/* ---- reading replies ------------------------------------------------------------------------------ */

static const char *const pay_fields[] = {"rec",          "state",          "response_code", "transaction_status",
                                         "bank_code",    "transaction_no", "pay_date",      "settled_by",
                                         "updated_at_ms"};
static const char *const ev_fields[] = {"event_id",      "payment_id",         "type",          "state",     "attempts",
                                        "created_at_ms", "next_attempt_at_ms", "updated_at_ms", "last_error"};

static bool is_str(const redisReply *r)
{
    return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

static bool is_num_field(const char *name)
{
    size_t n = strlen(name);
    return strcmp(name, "attempts") == 0 || (n > 3 && strcmp(name + n - 3, "_ms") == 0);
}

/* Puts the hash fields that are present over obj; the numeric ones as integers. */
static void overlay(json_t *obj, const redisReply *arr, const char *const *names, size_t from)
{
    for (size_t i = from; i < arr->elements; i++) {
        const redisReply *v = arr->element[i];
        if (!is_str(v))
            continue;
        if (is_num_field(names[i]))
            json_object_set_new(obj, names[i], json_integer(strtoll(v->str, NULL, 10)));
        else
            json_object_set_new(obj, names[i], json_stringn(v->str, v->len));
    }
}

/* A payment from pay()'s fields: rec, with what settling changed laid over it. */
static int read_payment(const redisReply *arr, lt_payment_t *p)
{
    if (arr == NULL || arr->type != REDIS_REPLY_ARRAY || arr->elements != 9 || !is_str(arr->element[0]))
        return -1;
    json_t *obj = json_loadb(arr->element[0]->str, arr->element[0]->len, 0, NULL);
    if (obj == NULL)
        return -1;
    overlay(obj, arr, pay_fields, 1);
    int rc = lt_payment_from_json(obj, p);
    json_decref(obj);
    return rc;
}

static int read_event(const redisReply *arr, lt_pay_event_t *ev)
{
    if (arr == NULL || arr->type != REDIS_REPLY_ARRAY || arr->elements != 9 || !is_str(arr->element[0]))
        return -1;
    json_t *obj = json_object();
    overlay(obj, arr, ev_fields, 0);
    int rc = lt_pay_event_from_json(obj, ev);
    json_decref(obj);
    return rc;
}

static const redisReply *elem(const redisReply *r, size_t i)
{
    return r != NULL && r->type == REDIS_REPLY_ARRAY && i < r->elements ? r->element[i] : NULL;
}

static bool status_is(const redisReply *r, const char *s)
{
    const redisReply *st = elem(r, 0);
    return is_str(st) && strcmp(st->str, s) == 0;
}

static void bad_reply(rop_t *op)
{
    fail(op, "payment store: %s", "a record in Redis does not parse");
}

/* The status word scripts answer with, for the outcomes every script shares. */
static bool common_status(rop_t *op, const redisReply *r)
{
    static const struct {
        const char *word;
        lt_pay_outcome_t outcome;
    } words[] = {{"OK", LT_PAY_OK},
                 {"NOT_FOUND", LT_PAY_NOT_FOUND},
                 {"AMOUNT_MISMATCH", LT_PAY_AMOUNT_MISMATCH},
                 {"ALREADY_FINAL", LT_PAY_ALREADY_FINAL}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (status_is(r, words[i].word)) {
            op->res.outcome = words[i].outcome;
            return true;
        }
    }
    fail(op, "payment store: %s", "unexpected answer from a script");
    return false;
}

static void parse_create(rop_t *op, const redisReply *r)
{
    if (status_is(r, "OK")) {
        op->res.outcome = LT_PAY_OK; /* res.payment was filled when the op was made */
        return;
    }
    if (status_is(r, "DUPLICATE")) {
        fail(op, "payment store: %s", "payment id already exists");
        return;
    }
    char fingerprint[sizeof(op->res.payment.fingerprint)];
    memcpy(fingerprint, op->res.payment.fingerprint, sizeof(fingerprint));
    if (!status_is(r, "KNOWN") || read_payment(elem(r, 1), &op->res.payment) != 0) {
        bad_reply(op);
        return;
    }
    op->res.outcome = strcmp(fingerprint, op->res.payment.fingerprint) == 0 ? LT_PAY_EXISTS : LT_PAY_KEY_REUSED;
}

/* get is a plain HMGET: one command is atomic without a script. */
static void parse_get(rop_t *op, const redisReply *r)
{
    if (!is_str(elem(r, 0))) {
        op->res.outcome = LT_PAY_NOT_FOUND;
        return;
    }
    op->res.outcome = LT_PAY_OK;
    if (read_payment(r, &op->res.payment) != 0)
        bad_reply(op);
}

/* Settle and the outbox changes: a status, then the payment (settle) or the event, then settle's event. */
static void parse_settle(rop_t *op, const redisReply *r)
{
    if (!common_status(op, r) || op->res.outcome == LT_PAY_NOT_FOUND)
        return;
    if (read_payment(elem(r, 1), &op->res.payment) != 0 ||
        (op->res.outcome == LT_PAY_OK && read_event(elem(r, 2), &op->res.event) != 0))
        bad_reply(op);
}

static void parse_event_change(rop_t *op, const redisReply *r)
{
    if (common_status(op, r) && elem(r, 1) != NULL && read_event(elem(r, 1), &op->res.event) != 0)
        bad_reply(op);
}

static void parse_payments(rop_t *op, const redisReply *r)
{
    const redisReply *arr = elem(r, 1);
    if (!status_is(r, "OK") || arr == NULL || arr->type != REDIS_REPLY_ARRAY) {
        bad_reply(op);
        return;
    }
    lt_payment_t *out = calloc(arr->elements ? arr->elements : 1, sizeof(*out));
    op->list.payments = out;
    for (size_t i = 0; i < arr->elements; i++) {
        if (read_payment(arr->element[i], &out[i]) != 0) {
            bad_reply(op);
            return;
        }
    }
    op->list.n = arr->elements;
}

static int read_events(const redisReply *arr, lt_pay_list_t *list)
{
    if (arr == NULL || arr->type != REDIS_REPLY_ARRAY)
        return -1;
    lt_pay_event_t *out = calloc(arr->elements ? arr->elements : 1, sizeof(*out));
    list->events = out;
    list->n = arr->elements;
    for (size_t i = 0; i < arr->elements; i++)
        if (read_event(arr->element[i], &out[i]) != 0)
            return -1;
    return 0;
}

static void parse_events(rop_t *op, const redisReply *r)
{
    if (!status_is(r, "OK") || read_events(elem(r, 1), &op->list) != 0)
        bad_reply(op);
}

static void parse_claim(rop_t *op, const redisReply *r)
{
    const redisReply *pays = elem(r, 2);
    if (!status_is(r, "OK") || read_events(elem(r, 1), &op->list) != 0 || pays == NULL ||
        pays->type != REDIS_REPLY_ARRAY || pays->elements != op->list.n) {
        bad_reply(op);
        return;
    }
    lt_payment_t *out = calloc(op->list.n ? op->list.n : 1, sizeof(*out));
    op->list.payments = out;
    for (size_t i = 0; i < op->list.n; i++)
        if (read_payment(pays->element[i], &out[i]) != 0) {
            bad_reply(op); /* frees the list: stop here */
            return;
        }
}

static long long int_of(const redisReply *r)
{
    if (r == NULL)
        return 0;
    return r->type == REDIS_REPLY_INTEGER ? r->integer : is_str(r) ? strtoll(r->str, NULL, 10) : 0;
}

static void parse_counts(rop_t *op, const redisReply *r)
{
    const redisReply *byst = elem(r, 1);
    if (!status_is(r, "OK") || byst == NULL || byst->type != REDIS_REPLY_ARRAY) {
        fail(op, "payment store: %s", "unexpected answer from a script");
        return;
    }
    for (size_t i = 0; i + 1 < byst->elements; i += 2) {
        lt_pay_state_t s;
        if (is_str(byst->element[i]) && lt_pay_state_parse(byst->element[i]->str, &s) == 0)
            op->counts.by_state[s] = int_of(byst->element[i + 1]);
    }
    op->counts.outbox_backlog = int_of(elem(r, 2));
    op->counts.dead_letters = int_of(elem(r, 3));
    op->counts.oldest_backlog_created_ms = int_of(elem(r, 4));
    op->counts.dossier_reports_owed = int_of(elem(r, 5));
}

/* ---- operations ------------------------------------------------------------------------------------- */

#define NUM(buf, v) (snprintf(buf, sizeof(buf), "%lld", (long long)(v)), buf)

static void sha256_hex(const char *s, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void rcreate(void *conn, const lt_payment_t *p, lt_pay_done_fn fn, void *arg)
{
    rconn_t *c = conn;
    rop_t *op = op_new(c, OP_DONE, arg, S_CREATE, parse_create);
    op->done = fn;
    op->res.payment = *p;
    op->res.payment.state = LT_PAY_PENDING;
    json_t *obj = lt_payment_to_json(&op->res.payment);
    char *rec = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    char amount[24], expires[24], updated[24], idem[65] = "";
    if (p->idempotency[0] != '\0')
        sha256_hex(p->idempotency, idem);
    const char *argv[] = {c->store->prefix,
                          p->id,
                          rec,
                          NUM(amount, p->amount_vnd),
                          NUM(expires, p->expires_at_ms),
                          idem,
                          NUM(updated, p->updated_at_ms)};
    op_args(op, 7, argv);
    free(rec);
    start(op);
}

static void rget(void *conn, const char *payment_id, lt_pay_done_fn fn, void *arg)
{
    rconn_t *c = conn;
    rop_t *op = op_new(c, OP_DONE, arg, -1, parse_get);
    op->done = fn;
    char key[160];
    snprintf(key, sizeof(key), "%sp:%s", c->store->prefix, payment_id);
    const char *argv[11] = {"HMGET", key};
    memcpy(argv + 2, pay_fields, sizeof(pay_fields));
    op_args(op, 11, argv);
    start(op);
}

static void rsettle(void *conn, const lt_pay_settlement_t *s, lt_pay_done_fn fn, void *arg)
{
    rconn_t *c = conn;
    rop_t *op = op_new(c, OP_DONE, arg, S_SETTLE, parse_settle);
    op->done = fn;
    if (!lt_pay_state_is_final(s->state)) {
        fail(op, "payment store: %s", "settle needs a final state");
        finish(op);
        return;
    }
    lt_payment_t shape = {.state = s->state};
    snprintf(shape.id, sizeof(shape.id), "%s", s->payment_id);
    lt_pay_event_t ev;
    lt_pay_event_for(&shape, s->now_ms, &ev);
    char x100[24], now[24];
    const char *argv[] = {c->store->prefix,
                          s->payment_id,
                          NUM(x100, s->amount_x100 < 0 ? -1 : s->amount_x100),
                          lt_pay_state_name(s->state),
                          s->response_code,
                          s->transaction_status,
                          s->bank_code,
                          s->transaction_no,
                          s->pay_date,
                          s->settled_by,
                          NUM(now, s->now_ms),
                          ev.event_id,
                          ev.type};
    op_args(op, 13, argv);
    start(op);
}

static void runsettled(void *conn, int64_t expired_before_ms, size_t max, lt_pay_list_fn fn, void *arg)
{
    rconn_t *c = conn;
    rop_t *op = op_new(c, OP_LIST, arg, S_UNSETTLED, parse_payments);
    op->list_fn = fn;
    char before[24], n[24];
    const char *argv[] = {c->store->prefix, NUM(before, expired_before_ms), NUM(n, max)};
    op_args(op, 3, argv);
    start(op);
}

static void rclaim(void *conn, int64_t now_ms, int64_t lease_ms, size_t max, lt_pay_list_fn fn, void *arg)
{
    rconn_t *c = conn;
    rop_t *op = op_new(c, OP_LIST, arg, S_CLAIM, parse_claim);
    op->list_fn = fn;
    char now[24], until[24], n[24];
    const char *argv[] = {c->store->prefix, NUM(now, now_ms), NUM(until, now_ms + lease_ms), NUM(n, max)};
    op_args(op, 4, argv);
    start(op);
}

static void rfee_pending(void *conn, size_t max, lt_pay_list_fn fn, void *arg)
{
    rconn_t *c = conn;
    rop_t *op = op_new(c, OP_LIST, arg, S_FEE_PENDING, parse_payments);
    op->list_fn = fn;
    char n[24];
    const char *argv[] = {c->store->prefix, NUM(n, max)};
    op_args(op, 2, argv);
    start(op);
}

static void rfee_reported(void *conn, const char *payment_id, lt_pay_done_fn fn, void *arg)
{
    rconn_t *c = conn;
    rop_t *op = op_new(c, OP_DONE, arg, S_FEE_REPORTED, parse_event_change);
    op->done = fn;
    const char *argv[] = {c->store->prefix, payment_id};
    op_args(op, 2, argv);
    start(op);
}

static const char *payment_of(const char *event_id)
{
    const char *pid = lt_pay_event_payment_id(event_id);
    return pid != NULL ? pid : "";
}

static void rdelivered(void *conn, const char *event_id, int64_t now_ms, lt_pay_done_fn fn, void *arg)
{
    rconn_t *c = conn;
    rop_t *op = op_new(c, OP_DONE, arg, S_DELIVERED, parse_event_change);
    op->done = fn;
    char now[24];
    const char *argv[] = {c->store->prefix, event_id, NUM(now, now_ms), payment_of(event_id)};
    op_args(op, 4, argv);
    start(op);
}

static void rfailed(void *conn, const char *event_id, int attempts, int64_t next_attempt_at_ms, bool dead,
                    const char *error, int64_t now_ms, lt_pay_done_fn fn, void *arg)
{
    rconn_t *c = conn;
    rop_t *op = op_new(c, OP_DONE, arg, S_FAILED, parse_event_change);
    op->done = fn;
    char n[24], next[24], now[24], err[sizeof(op->res.event.last_error)];
    snprintf(err, sizeof(err), "%s", error ? error : ""); /* stored as the journal stores it: truncated */
    const char *argv[] = {c->store->prefix, event_id, NUM(n, attempts), NUM(next, next_attempt_at_ms),
                          dead ? "1" : "0", err,      NUM(now, now_ms), payment_of(event_id)};
    op_args(op, 8, argv);
    start(op);
}

static void rredrive(void *conn, const char *event_id, int64_t now_ms, lt_pay_done_fn fn, void *arg)
{
    rconn_t *c = conn;
    rop_t *op = op_new(c, OP_DONE, arg, S_REDRIVE, parse_event_change);
    op->done = fn;
    char now[24];
    const char *argv[] = {c->store->prefix, event_id, NUM(now, now_ms)};
    op_args(op, 3, argv);
    start(op);
}

static void rlist(void *conn, int state, size_t max, lt_pay_list_fn fn, void *arg)
{
    rconn_t *c = conn;
    rop_t *op = op_new(c, OP_LIST, arg, S_LIST, parse_events);
    op->list_fn = fn;
    char n[24];
    const char *which = state == LT_EVENT_PENDING ? "pending" : state == LT_EVENT_DEAD ? "dead" : "all";
    const char *argv[] = {c->store->prefix, which, NUM(n, max)};
    op_args(op, 3, argv);
    start(op);
}

static void rcounts(void *conn, lt_pay_counts_fn fn, void *arg)
{
    rconn_t *c = conn;
    rop_t *op = op_new(c, OP_COUNTS, arg, S_COUNTS, parse_counts);
    op->counts_fn = fn;
    const char *argv[] = {c->store->prefix};
    op_args(op, 1, argv);
    start(op);
}

/* ---- conns --------------------------------------------------------------------------------------- */

static void *rconn_new(void *store, struct event_base *base)
{
    lt_pay_redis_t *s = store;
    rconn_t *c = calloc(1, sizeof(*c));
    c->store = s;
    c->base = base;
    c->r = lt_redis_new(s->server, base);
    return c;
}

static void rconn_free(void *conn)
{
    rconn_t *c = conn;
    if (c == NULL)
        return;
    for (rop_t *op = c->ops, *next; op != NULL; op = next) {
        next = op->next;
        lt_redis_cancel(op->cmd);
        op_free(op);
    }
    lt_redis_free(c->r);
    free(c);
}

static bool rok(const void *store)
{
    const lt_pay_redis_t *s = store;
    lt_redis_stats_t st;
    lt_redis_server_stats(s->server, &st);
    return st.up > 0;
}

static json_t *rredis_status(void *store)
{
    lt_pay_redis_t *s = store;
    lt_redis_stats_t st;
    lt_redis_server_stats(s->server, &st);
    json_t *o = json_pack("{s:s, s:i, s:i}", "address", lt_redis_server_address(s->server), "connections",
                          st.connections, "up", st.up);
    lt_redis_stats_to_json(&st, o);
    return o;
}

/* ---- open and close -------------------------------------------------------------------------------- */

static void free_store(lt_pay_redis_t *s)
{
    lt_redis_server_free(s->server);
    free(s->prefix);
    free(s);
}

/* The configuration's values, and the defaults of its table where a caller left them 0. Payments wait for Redis
 * rather than go elsewhere: a long timeout, and a quick reconnection that does not hammer a Redis that is down. */
static lt_redis_conf_t connection_conf(const lt_payments_conf_t *conf)
{
    lt_redis_conf_t rc = conf->store.redis.conn;
    rc.timeout_ms = rc.timeout_ms > 0 ? rc.timeout_ms : 1500;
    rc.connect_timeout_ms = rc.connect_timeout_ms > 0 ? rc.connect_timeout_ms : 1000;
    rc.reconnect_min_ms = rc.reconnect_min_ms > 0 ? rc.reconnect_min_ms : 100;
    rc.reconnect_max_ms = rc.reconnect_max_ms > 0 ? rc.reconnect_max_ms : 2000;
    rc.max_timeouts = rc.max_timeouts > 0 ? rc.max_timeouts : 3;
    return rc;
}

lt_pay_redis_t *lt_pay_redis_open(const lt_payments_conf_t *conf, lt_error_t *err)
{
    static const lt_redis_use_t use = {
        .config_path = "payments.store.redis",
        .label = "payments redis",
        .while_down = "new payments answer 503 and IPNs 99 (the payment gateway re-sends) until it is back",
    };
    lt_pay_redis_t *s = calloc(1, sizeof(*s));
    s->prefix = strdup(conf->store.redis.prefix ? conf->store.redis.prefix : "lt:pay:");
    lt_redis_conf_t rc = connection_conf(conf);
    if ((s->server = lt_redis_server_new(&rc, &use, err)) == NULL) {
        free_store(s);
        return NULL;
    }
    /* A payment's outcome and its webhook's bookkeeping count once a replica has them (WAIT, with Sentinels): an
     * IPN is answered 00 only for an outcome that survives a failover. */
    for (int i = 0; i < S_COUNT; i++)
        s->scripts[i] = script_writes(i) ? lt_redis_server_write_script(s->server, scripts[i])
                                         : lt_redis_server_script(s->server, scripts[i]);
    return s;
}

static void rclose(void *store)
{
    free_store(store);
}

const lt_pay_backend_ops_t lt_pay_redis_ops = {
    .name = "redis",
    .close = rclose,
    .ok = rok,
    .redis_status = rredis_status,
    .conn_new = rconn_new,
    .conn_free = rconn_free,
    .create = rcreate,
    .get = rget,
    .settle = rsettle,
    .list_unsettled = runsettled,
    .outbox_claim = rclaim,
    .outbox_delivered = rdelivered,
    .outbox_failed = rfailed,
    .outbox_redrive = rredrive,
    .outbox_list = rlist,
    .counts = rcounts,
    .fee_pending = rfee_pending,
    .fee_reported = rfee_reported,
};
