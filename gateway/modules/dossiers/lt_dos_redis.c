/*
 * The Redis backend of the dossier store (lt_dos_store.h). Each operation is one Lua script, which Redis runs
 * atomically, so instances sharing one Redis see one store. Keys, under the prefix P (one Redis, not a cluster:
 * scripts build their keys from P):
 *   P d:<id>        hash: version, fp, text, at (the accepted snapshot), acked_version, acked_at, dead, dead_at,
 *                   error (the accepted snapshot refused), acked_seq, steps_acked_at, nsteps, last_seq, fee_rev,
 *                   acked_fee_rev (the gateway's fees listed, and with how many the portal holds the snapshot)
 *   P f:<id>        hash: the gateway's own fee entries, payment id → one canonical fee (JSON text)
 *   P s:<id>:<seq>  hash: fp, text (dropped once acknowledged), state (pending|dead|acked), at, dead_at, error
 *   P u:<id>        zset: the dossier's steps not acknowledged, by seq (what its sync answer lists)
 *   P due:v         zset: dossiers whose snapshot is due (a version or fees the portal lacks), by accepted_at
 *   P due:s         zset: dossiers whose next step is due, by that step's accepted_at
 *   P pending       zset: records not acknowledged and not dead ("<id>:v<n>", "<id>:s<n>"), by accepted_at
 *   P dead          zset: dead letters, by when they died
 *   P n             hash: dossiers, snap_pending, step_pending, snap_dead, step_dead
 *   P sender        string: the instance that sends to the portal now, with a lease (PX)
 * Texts and fingerprints are opaque strings to the scripts: nothing is JSON-decoded in Lua, and every number
 * stays the decimal string C wrote (versions and seqs have at most 14 digits, which Lua prints exactly).
 *
 * Durability is Redis's: appendonly yes with appendfsync always (docs/operations.md), or an acknowledged PUT can
 * be lost with Redis. Only the link (lt_dos_rlink.c) knows about connections.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_dos_answer.h"
#include "lt_dos_backend.h"
#include "lt_dos_rlink.h"

/* ---- the scripts -------------------------------------------------------------------------------------- */

#define LUA_HEAD                                                                                                       \
    "local P = ARGV[1]\n"                                                                                              \
    "local function num(x) return tonumber(x) or 0 end\n"                                                              \
    "local function dk(id) return P..'d:'..id end\n"                                                                   \
    "local function sk(id, n) return P..'s:'..id..':'..n end\n"                                                        \
    "local function count(f, by) redis.call('HINCRBY', P..'n', f, by) end\n" /* the step the portal should get next:   \
                                                                                the dossier is there, acked_seq + 1 is \
                                                                                here and pending */                    \
    "local function refresh_due(id)\n"                                                                                 \
    "  local d = redis.call('HMGET', dk(id), 'acked_version', 'acked_seq')\n"                                          \
    "  if num(d[1]) > 0 then\n"                                                                                        \
    "    local st = redis.call('HMGET', sk(id, num(d[2]) + 1), 'state', 'at')\n"                                       \
    "    if st[1] == 'pending' then redis.call('ZADD', P..'due:s', st[2], id) return end\n"                            \
    "  end\n"                                                                                                          \
    "  redis.call('ZREM', P..'due:s', id)\n"                                                                           \
    "end\n"                                                                                                            \
    "local function new_dossier(id)\n"                                                                                 \
    "  if redis.call('EXISTS', dk(id)) == 0 then\n"                                                                    \
    "    redis.call('HSET', dk(id), 'acked_version', '0', 'acked_seq', '0', 'nsteps', '0', 'last_seq', '0')\n"         \
    "    count('dossiers', 1)\n"                                                                                       \
    "  end\n"                                                                                                          \
    "end\n" /* the dossier's fee entries as one JSON array text, by payment id; '' when none */                        \
    "local function fees_of(id)\n"                                                                                     \
    "  local h = redis.call('HGETALL', P..'f:'..id)\n"                                                                 \
    "  if #h == 0 then return '' end\n"                                                                                \
    "  local keys, by = {}, {}\n"                                                                                      \
    "  for i = 1, #h, 2 do keys[#keys + 1] = h[i] by[h[i]] = h[i + 1] end\n"                                           \
    "  table.sort(keys)\n"                                                                                             \
    "  local out = {}\n"                                                                                               \
    "  for _, k in ipairs(keys) do out[#out + 1] = by[k] end\n"                                                        \
    "  return '['..table.concat(out, ',')..']'\n"                                                                      \
    "end\n"

/* ARGV: P, id, key (the payment id), entry, now. A new entry raises fee_rev; an accepted snapshot the portal had
 * whole is due again (pending, due:v), one pending already or dead stays as it is. */
static const char lua_add_fee[] =
    LUA_HEAD "local id, k = ARGV[2], dk(ARGV[2])\n"
             "if redis.call('HEXISTS', P..'f:'..id, ARGV[3]) == 1 then return {'REPEAT'} end\n"
             "new_dossier(id)\n"
             "redis.call('HSET', P..'f:'..id, ARGV[3], ARGV[4])\n"
             "redis.call('HINCRBY', k, 'fee_rev', 1)\n"
             "local d = redis.call('HMGET', k, 'version', 'dead')\n"
             "if num(d[1]) > 0 and d[2] ~= '1' and not redis.call('ZSCORE', P..'due:v', id) then\n"
             "  redis.call('ZADD', P..'pending', ARGV[5], id..':v'..d[1])\n"
             "  count('snap_pending', 1)\n"
             "  redis.call('ZADD', P..'due:v', ARGV[5], id)\n"
             "end\n"
             "return {'OK'}\n";

/* ARGV: P, id, version, fp, text, now */
static const char lua_put_snapshot[] =
    LUA_HEAD "local id, k = ARGV[2], dk(ARGV[2])\n"
             "local cur = redis.call('HMGET', k, 'version', 'fp', 'dead', 'acked_version')\n"
             "if cur[1] and num(cur[1]) >= tonumber(ARGV[3]) then\n"
             "  if cur[1] == ARGV[3] and cur[2] == ARGV[4] then return {'REPEAT', cur[1]} end\n"
             "  return {'CONFLICT', cur[1]}\n"
             "end\n"
             "new_dossier(id)\n"
             /* the version it replaces leaves the outbox, pending or dead: newest wins */
             "if cur[3] == '1' then redis.call('ZREM', P..'dead', id..':v'..cur[1]) count('snap_dead', -1)\n"
             "elseif redis.call('ZSCORE', P..'due:v', id) then\n"
             "  redis.call('ZREM', P..'pending', id..':v'..cur[1]) count('snap_pending', -1)\n"
             "end\n"
             "redis.call('HSET', k, 'version', ARGV[3], 'fp', ARGV[4], 'text', ARGV[5], 'at', ARGV[6], 'dead', '0',"
             " 'dead_at', '0', 'error', '')\n"
             "redis.call('ZADD', P..'pending', ARGV[6], id..':v'..ARGV[3])\n"
             "count('snap_pending', 1)\n"
             "redis.call('ZADD', P..'due:v', ARGV[6], id)\n"
             "return {'OK', ARGV[3]}\n";

/* ARGV: P, id, seq, fp, text, now */
static const char lua_add_step[] =
    LUA_HEAD "local id, n = ARGV[2], ARGV[3]\n"
             "local known = redis.call('HGET', sk(id, n), 'fp')\n"
             "if known then\n"
             "  if known == ARGV[4] then return {'REPEAT'} end\n"
             "  return {'CONFLICT'}\n"
             "end\n"
             "new_dossier(id)\n"
             "redis.call('HSET', sk(id, n), 'fp', ARGV[4], 'text', ARGV[5], 'state', 'pending', 'at', ARGV[6],"
             " 'dead_at', '0', 'error', '')\n"
             "redis.call('HINCRBY', dk(id), 'nsteps', 1)\n"
             "if tonumber(n) > num(redis.call('HGET', dk(id), 'last_seq')) then"
             " redis.call('HSET', dk(id), 'last_seq', n) end\n"
             "redis.call('ZADD', P..'u:'..id, n, n)\n"
             "redis.call('ZADD', P..'pending', ARGV[6], id..':s'..n)\n"
             "count('step_pending', 1)\n"
             "refresh_due(id)\n"
             "return {'OK'}\n";

/* ARGV: P, 'v'|'s', max, owner, lease_ms. The sender's lease first: one instance at a time talks to the portal. */
static const char lua_claim[] =
    LUA_HEAD "local holder = redis.call('GET', P..'sender')\n"
             "if holder and holder ~= ARGV[4] then return {'BUSY', holder} end\n"
             "redis.call('SET', P..'sender', ARGV[4], 'PX', ARGV[5])\n"
             "local ids = redis.call('ZRANGE', P..'due:'..ARGV[2], 0, tonumber(ARGV[3]) - 1)\n"
             "local out = {}\n"
             "for _, id in ipairs(ids) do\n"
             "  if ARGV[2] == 'v' then\n"
             "    local d = redis.call('HMGET', dk(id), 'version', 'text', 'at', 'fee_rev')\n"
             "    out[#out + 1] = {id, d[1], d[2], d[3], d[4] or '0', fees_of(id)}\n"
             "  else\n"
             "    local n = tostring(num(redis.call('HGET', dk(id), 'acked_seq')) + 1)\n"
             "    local st = redis.call('HMGET', sk(id, n), 'text', 'at')\n"
             "    out[#out + 1] = {id, n, st[1], st[2]}\n"
             "  end\n"
             "end\n"
             "return {'OK', out}\n";

/* ARGV: P, 'v'|'s', now, then one call's records, acknowledged together: id, n pairs for steps, id, version,
 * fee_rev triples for snapshots. A snapshot leaves the outbox once the portal holds its version and its fees. */
static const char lua_delivered[] = LUA_HEAD
    "local width = ARGV[2] == 'v' and 3 or 2\n"
    "for i = 4, #ARGV, width do\n"
    "  local id, n = ARGV[i], ARGV[i + 1]\n"
    "  local k = dk(id)\n"
    "  if ARGV[2] == 'v' then\n"
    "    local r = ARGV[i + 2]\n"
    "    local d = redis.call('HMGET', k, 'version', 'acked_version', 'fee_rev', 'acked_fee_rev')\n"
    "    if d[1] and (tonumber(n) > num(d[2]) or tonumber(r) > num(d[4])) then\n"
    "      if tonumber(n) > num(d[2]) then redis.call('HSET', k, 'acked_version', n, 'acked_at', ARGV[3]) end\n"
    "      if tonumber(r) > num(d[4]) then redis.call('HSET', k, 'acked_fee_rev', r) end\n"
    "      if d[1] == n and tonumber(r) >= num(d[3]) and redis.call('ZSCORE', P..'due:v', id) then\n"
    "        redis.call('ZREM', P..'pending', id..':v'..n)\n"
    "        redis.call('ZREM', P..'due:v', id)\n"
    "        count('snap_pending', -1)\n"
    "      end\n"
    "      refresh_due(id)\n"
    "    end\n"
    "  else\n"
    "    if tonumber(n) == num(redis.call('HGET', k, 'acked_seq')) + 1 and"
    " redis.call('HGET', sk(id, n), 'state') == 'pending' then\n"
    "      redis.call('HSET', sk(id, n), 'state', 'acked')\n"
    "      redis.call('HDEL', sk(id, n), 'text')\n"
    "      redis.call('HSET', k, 'acked_seq', n, 'steps_acked_at', ARGV[3])\n"
    "      redis.call('ZREM', P..'u:'..id, n)\n"
    "      redis.call('ZREM', P..'pending', id..':s'..n)\n"
    "      count('step_pending', -1)\n"
    "      refresh_due(id)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return {'OK'}\n";

/* ARGV: P, 'v'|'s', id, n, error, now */
static const char lua_dead[] =
    LUA_HEAD "local id, n, k = ARGV[3], ARGV[4], dk(ARGV[3])\n"
             "if ARGV[2] == 'v' then\n"
             "  local d = redis.call('HMGET', k, 'version', 'acked_version', 'dead')\n"
             "  if not d[1] then return {'NOT_FOUND'} end\n"
             "  if d[1] ~= n or d[3] == '1' or not redis.call('ZSCORE', P..'due:v', id) then return {'OK'} end\n"
             "  redis.call('HSET', k, 'dead', '1', 'dead_at', ARGV[6], 'error', ARGV[5])\n"
             "  redis.call('ZREM', P..'pending', id..':v'..n)\n"
             "  redis.call('ZREM', P..'due:v', id)\n"
             "  count('snap_pending', -1) count('snap_dead', 1)\n"
             "else\n"
             "  local st = redis.call('HGET', sk(id, n), 'state')\n"
             "  if not st then return {'NOT_FOUND'} end\n"
             "  if st ~= 'pending' then return {'OK'} end\n"
             "  redis.call('HSET', sk(id, n), 'state', 'dead', 'dead_at', ARGV[6], 'error', ARGV[5])\n"
             "  redis.call('ZREM', P..'pending', id..':s'..n)\n"
             "  count('step_pending', -1) count('step_dead', 1)\n"
             "  refresh_due(id)\n"
             "end\n"
             "redis.call('ZADD', P..'dead', ARGV[6], id..':'..ARGV[2]..n)\n"
             "return {'OK'}\n";

/* ARGV: P, 'v'|'s', id, n */
static const char lua_redrive[] =
    LUA_HEAD "local id, n, k = ARGV[3], ARGV[4], dk(ARGV[3])\n"
             "local at\n"
             "if ARGV[2] == 'v' then\n"
             "  local d = redis.call('HMGET', k, 'version', 'dead', 'at')\n"
             "  if d[2] ~= '1' or d[1] ~= n then return {'NOT_FOUND'} end\n"
             "  redis.call('HSET', k, 'dead', '0', 'dead_at', '0', 'error', '')\n"
             "  redis.call('ZADD', P..'due:v', d[3], id)\n"
             "  count('snap_dead', -1) count('snap_pending', 1)\n"
             "  at = d[3]\n"
             "else\n"
             "  local st = redis.call('HMGET', sk(id, n), 'state', 'at')\n"
             "  if st[1] ~= 'dead' then return {'NOT_FOUND'} end\n"
             "  redis.call('HSET', sk(id, n), 'state', 'pending', 'dead_at', '0', 'error', '')\n"
             "  count('step_dead', -1) count('step_pending', 1)\n"
             "  at = st[2]\n"
             "end\n"
             "redis.call('ZREM', P..'dead', id..':'..ARGV[2]..n)\n"
             "redis.call('ZADD', P..'pending', at, id..':'..ARGV[2]..n)\n"
             "refresh_due(id)\n"
             "return {'OK'}\n";

/* ARGV: P, id. The dossier, then its steps not acknowledged (at most 1000), each with whether it is due. */
static const char lua_view[] =
    LUA_HEAD "local id, k = ARGV[2], dk(ARGV[2])\n"
             "if redis.call('EXISTS', k) == 0 then return {'NOT_FOUND'} end\n"
             "local d = redis.call('HMGET', k, 'version', 'text', 'at', 'acked_version', 'acked_at', 'dead',"
             " 'dead_at', 'error', 'nsteps', 'last_seq', 'acked_seq', 'steps_acked_at', 'fee_rev', 'acked_fee_rev')\n"
             "local nxt = num(d[11]) + 1\n"
             "local steps = {}\n"
             "for _, n in ipairs(redis.call('ZRANGE', P..'u:'..id, 0, 999)) do\n"
             "  local st = redis.call('HMGET', sk(id, n), 'state', 'at', 'dead_at', 'error')\n"
             "  local due = (st[1] == 'pending' and num(d[4]) > 0 and tonumber(n) == nxt) and '1' or '0'\n"
             "  steps[#steps + 1] = {n, st[1], st[2], st[3], st[4], due}\n"
             "end\n"
             "return {'OK', d, steps}\n";

/* ARGV: P, 'dead'|'pending', max. Oldest first. */
static const char lua_list[] =
    LUA_HEAD "local ids = redis.call('ZRANGE', P..ARGV[2], 0, tonumber(ARGV[3]) - 1)\n"
             "local out = {}\n"
             "for _, rid in ipairs(ids) do\n"
             "  local id, kind, n = string.match(rid, '^(.*):([vs])(%d+)$')\n"
             "  if id then\n"
             "    local f\n"
             "    if kind == 'v' then f = redis.call('HMGET', dk(id), 'at', 'dead_at', 'error')\n"
             "    else f = redis.call('HMGET', sk(id, n), 'at', 'dead_at', 'error') end\n"
             "    local due = '0'\n"
             "    if ARGV[2] == 'pending' then\n"
             "      local z = kind == 'v' and 'due:v' or 'due:s'\n"
             "      if redis.call('ZSCORE', P..z, id) then\n"
             "        if kind == 'v' then due = '1'\n"
             "        elseif tonumber(n) == num(redis.call('HGET', dk(id), 'acked_seq')) + 1 then due = '1' end\n"
             "      end\n"
             "    end\n"
             "    out[#out + 1] = {id, kind, n, f[1], f[2], f[3], due}\n"
             "  end\n"
             "end\n"
             "return {'OK', out}\n";

/* ARGV: P */
static const char lua_counts[] =
    LUA_HEAD "local c = redis.call('HMGET', P..'n', 'dossiers', 'snap_pending', 'step_pending', 'snap_dead',"
             " 'step_dead')\n"
             "local oldest = redis.call('ZRANGE', P..'pending', 0, 0, 'WITHSCORES')\n"
             "local due = redis.call('ZCARD', P..'due:v') + redis.call('ZCARD', P..'due:s')\n"
             "return {'OK', c, due, oldest[2] or '0'}\n";

/* ARGV: P, cursor ('' to start), count. One SCAN step over the dossiers' hashes (the prefix's glob characters
 * escaped): their accepted versions and texts, and the next cursor ('' at the end). Reads only. */
static const char lua_snapshots[] =
    LUA_HEAD "local cursor = ARGV[2] == '' and '0' or ARGV[2]\n"
             "local pattern = string.gsub(P, '([%*%?%[%]\\\\])', '\\\\%1')..'d:*'\n"
             "local r = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', tonumber(ARGV[3]))\n"
             "local out = {}\n"
             "for _, k in ipairs(r[2]) do\n"
             "  local f = redis.call('HMGET', k, 'version', 'text', 'at', 'fee_rev')\n"
             "  local id = string.sub(k, #P + 3)\n"
             "  local fees = fees_of(id)\n"
             "  if (f[1] and f[2] and num(f[1]) > 0) or fees ~= '' then\n"
             "    out[#out + 1] = {id, f[1] or '0', f[2] or '', f[3] or '0', f[4] or '0', fees}\n"
             "  end\n"
             "end\n"
             "local nxt = r[1]\n"
             "if nxt == '0' then nxt = '' end\n"
             "return {'OK', nxt, out}\n";

/* ARGV: P, owner */
static const char lua_release[] = LUA_HEAD "if redis.call('GET', P..'sender') == ARGV[2] then"
                                           " redis.call('DEL', P..'sender') end\n"
                                           "return {'OK'}\n";

enum {
    S_FEE,
    S_PUT,
    S_STEP,
    S_CLAIM,
    S_DELIVERED,
    S_DEAD,
    S_REDRIVE,
    S_VIEW,
    S_LIST,
    S_COUNTS,
    S_RELEASE,
    S_SNAPSHOTS,
    S_COUNT
};

static const char *const scripts[S_COUNT] = {lua_add_fee,   lua_put_snapshot, lua_add_step, lua_claim,
                                             lua_delivered, lua_dead,         lua_redrive,  lua_view,
                                             lua_list,      lua_counts,       lua_release,  lua_snapshots};
/* The outbox's writes count once a replica has them (WAIT, with Sentinels); the reads never wait. */
static const bool script_writes[S_COUNT] = {true, true, true, true, true, true, true, false, false, false, true, false};

/* ---- the store, its conns and operations ------------------------------------------------------------ */

typedef struct {
    lt_dos_rserver_t *server;
    char *prefix;
} store_t;

typedef struct op op_t;

typedef struct {
    store_t *store;
    lt_dos_rlink_t *link;
    op_t *waiting; /* the ops sent and not answered: freed with the conn, whose link answers none of them */
} conn_t;

typedef void (*parse_fn)(op_t *op, const redisReply *reply);

struct op {
    parse_fn parse;
    lt_dos_answer_t a;          /* what the call answers, and to which callback */
    char id[LT_DOS_ID_MAX + 1]; /* view: the dossier asked about */
    conn_t *conn;
    op_t *prev, *next; /* in conn->waiting */
};

static void fail_op(op_t *op, const char *why)
{
    lt_dos_answer_fail(&op->a, "dossier store: ", why);
}

static void free_op(op_t *op)
{
    lt_dos_answer_release(&op->a);
    free(op);
}

static void unlink_op(op_t *op)
{
    if (op->prev)
        op->prev->next = op->next;
    else
        op->conn->waiting = op->next;
    if (op->next)
        op->next->prev = op->prev;
}

static void on_answer(void *arg, const redisReply *reply, const char *failure)
{
    op_t *op = arg;
    unlink_op(op); /* before the callback, which may free the conn */
    if (reply == NULL)
        fail_op(op, failure);
    else if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1)
        fail_op(op, "an unexpected answer from Redis");
    else
        op->parse(op, reply);
    lt_dos_answer_deliver(&op->a);
    free_op(op);
}

static op_t *op_new(lt_dos_answer_kind_t kind, parse_fn parse, void *arg)
{
    op_t *op = calloc(1, sizeof(*op));
    op->a.kind = kind;
    op->parse = parse;
    op->a.arg = arg;
    return op;
}

/* argv[0] is always the prefix; the rest are the script's. */
static void run(conn_t *c, op_t *op, int script, int argc, const char **argv)
{
    argv[0] = c->store->prefix;
    op->conn = c;
    op->next = c->waiting;
    if (c->waiting)
        c->waiting->prev = op;
    c->waiting = op;
    lt_dos_rlink_eval(c->link, script, argc, argv, NULL, on_answer, op);
}

/* ---- reading replies ---------------------------------------------------------------------------------- */

static const redisReply *elem(const redisReply *r, size_t i)
{
    return r != NULL && r->type == REDIS_REPLY_ARRAY && i < r->elements ? r->element[i] : NULL;
}

static const char *str(const redisReply *r)
{
    return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) ? r->str : NULL;
}

static long long num(const redisReply *r)
{
    if (r != NULL && r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    return str(r) ? strtoll(str(r), NULL, 10) : 0;
}

static bool status_is(const redisReply *r, const char *word)
{
    const char *s = str(elem(r, 0));
    return s != NULL && strcmp(s, word) == 0;
}

static void parse_result(op_t *op, const redisReply *r)
{
    static const struct {
        const char *word;
        lt_dos_outcome_t outcome;
    } words[] = {{"OK", LT_DOS_OK},
                 {"REPEAT", LT_DOS_REPEAT},
                 {"CONFLICT", LT_DOS_CONFLICT},
                 {"NOT_FOUND", LT_DOS_NOT_FOUND},
                 {"BUSY", LT_DOS_BUSY}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (status_is(r, words[i].word)) {
            op->a.res.outcome = words[i].outcome;
            op->a.res.version = num(elem(r, 1));
            return;
        }
    }
    fail_op(op, "an unexpected answer from a script");
}

static lt_dos_record_t *add_record(op_t *op, bool step, const char *id, long long number)
{
    op->a.records = realloc(op->a.records, (op->a.nrecords + 1) * sizeof(*op->a.records));
    lt_dos_record_t *rec = &op->a.records[op->a.nrecords++];
    memset(rec, 0, sizeof(*rec));
    rec->step = step;
    snprintf(rec->dossier_id, sizeof(rec->dossier_id), "%s", id ? id : "");
    rec->number = number;
    return rec;
}

static void set_error(lt_dos_record_t *rec, const char *error)
{
    snprintf(rec->error, sizeof(rec->error), "%s", error ? error : "");
}

/* A snapshot's fee revision and entries, the fifth and sixth of its fields ('' when it has none). */
static void set_fees(lt_dos_record_t *rec, const redisReply *e)
{
    const char *fees = str(elem(e, 5));
    rec->fee_rev = num(elem(e, 4));
    rec->fees = fees != NULL && fees[0] != '\0' ? strdup(fees) : NULL;
}

static void parse_claim_for(op_t *op, const redisReply *r, bool step)
{
    if (status_is(r, "BUSY")) {
        op->a.list.outcome = LT_DOS_BUSY;
        snprintf(op->a.list.detail, sizeof(op->a.list.detail), "instance %s sends to the portal now",
                 str(elem(r, 1)) ? str(elem(r, 1)) : "?");
        return;
    }
    const redisReply *out = elem(r, 1);
    if (!status_is(r, "OK") || out == NULL || out->type != REDIS_REPLY_ARRAY) {
        fail_op(op, "an unexpected answer from a script");
        return;
    }
    for (size_t i = 0; i < out->elements; i++) {
        const redisReply *e = out->element[i];
        if (str(elem(e, 2)) == NULL)
            continue; /* a record deleted by hand: nothing to send */
        lt_dos_record_t *rec = add_record(op, step, str(elem(e, 0)), num(elem(e, 1)));
        rec->text = strdup(str(elem(e, 2)));
        rec->accepted_at_ms = num(elem(e, 3));
        rec->due = true;
        set_fees(rec, e);
    }
    op->a.list.n = op->a.nrecords;
}

static void parse_claim_steps(op_t *op, const redisReply *r)
{
    parse_claim_for(op, r, true);
}

static void parse_claim_snapshots(op_t *op, const redisReply *r)
{
    parse_claim_for(op, r, false);
}

static void parse_view(op_t *op, const redisReply *r)
{
    if (status_is(r, "NOT_FOUND")) {
        op->a.view.outcome = LT_DOS_NOT_FOUND;
        return;
    }
    const redisReply *d = elem(r, 1), *steps = elem(r, 2);
    if (!status_is(r, "OK") || d == NULL || d->elements != 14 || steps == NULL) {
        fail_op(op, "an unexpected answer from a script");
        return;
    }
    lt_dos_view_t *v = &op->a.view;
    v->version = num(elem(d, 0));
    op->a.snapshot_text = str(elem(d, 1)) ? strdup(str(elem(d, 1))) : NULL;
    v->accepted_at_ms = num(elem(d, 2));
    v->acked_version = num(elem(d, 3));
    v->acked_at_ms = num(elem(d, 4));
    v->snapshot_dead = num(elem(d, 5)) == 1;
    v->snapshot_dead_at_ms = num(elem(d, 6));
    snprintf(v->snapshot_error, sizeof(v->snapshot_error), "%s", str(elem(d, 7)) ? str(elem(d, 7)) : "");
    v->steps = num(elem(d, 8));
    v->last_seq = num(elem(d, 9));
    v->acked_seq = num(elem(d, 10));
    v->steps_acked_at_ms = num(elem(d, 11));
    v->fee_rev = num(elem(d, 12));
    v->acked_fee_rev = num(elem(d, 13));
    for (size_t i = 0; i < steps->elements; i++) {
        const redisReply *e = steps->element[i];
        lt_dos_record_t *rec = add_record(op, true, op->id, num(elem(e, 0)));
        rec->dead = str(elem(e, 1)) != NULL && strcmp(str(elem(e, 1)), "dead") == 0;
        rec->accepted_at_ms = num(elem(e, 2));
        rec->dead_at_ms = num(elem(e, 3));
        set_error(rec, str(elem(e, 4)));
        rec->due = num(elem(e, 5)) == 1;
    }
    v->npending = op->a.nrecords;
}

static void parse_list(op_t *op, const redisReply *r)
{
    const redisReply *out = elem(r, 1);
    if (!status_is(r, "OK") || out == NULL || out->type != REDIS_REPLY_ARRAY) {
        fail_op(op, "an unexpected answer from a script");
        return;
    }
    for (size_t i = 0; i < out->elements; i++) {
        const redisReply *e = out->element[i];
        const char *kind = str(elem(e, 1));
        lt_dos_record_t *rec = add_record(op, kind && kind[0] == 's', str(elem(e, 0)), num(elem(e, 2)));
        rec->accepted_at_ms = num(elem(e, 3));
        rec->dead_at_ms = num(elem(e, 4));
        rec->dead = rec->dead_at_ms > 0;
        set_error(rec, str(elem(e, 5)));
        rec->due = num(elem(e, 6)) == 1;
    }
    op->a.list.n = op->a.nrecords;
}

static void parse_snapshots(op_t *op, const redisReply *r)
{
    const redisReply *out = elem(r, 2);
    if (!status_is(r, "OK") || str(elem(r, 1)) == NULL || out == NULL || out->type != REDIS_REPLY_ARRAY) {
        fail_op(op, "an unexpected answer from a script");
        return;
    }
    snprintf(op->a.list.cursor, sizeof(op->a.list.cursor), "%s", str(elem(r, 1)));
    for (size_t i = 0; i < out->elements; i++) {
        const redisReply *e = out->element[i];
        if (str(elem(e, 0)) == NULL || str(elem(e, 2)) == NULL)
            continue;
        lt_dos_record_t *rec = add_record(op, false, str(elem(e, 0)), num(elem(e, 1)));
        rec->text = num(elem(e, 1)) > 0 ? strdup(str(elem(e, 2))) : NULL; /* 0: the gateway's fees only */
        rec->accepted_at_ms = num(elem(e, 3));
        set_fees(rec, e);
    }
    op->a.list.n = op->a.nrecords;
}

static void parse_counts(op_t *op, const redisReply *r)
{
    const redisReply *c = elem(r, 1);
    if (!status_is(r, "OK") || c == NULL || c->elements != 5) {
        fail_op(op, "an unexpected answer from a script");
        return;
    }
    op->a.counts.dossiers = num(elem(c, 0));
    op->a.counts.snapshots_pending = num(elem(c, 1));
    op->a.counts.steps_pending = num(elem(c, 2));
    op->a.counts.snapshots_dead = num(elem(c, 3));
    op->a.counts.steps_dead = num(elem(c, 4));
    op->a.counts.due = num(elem(r, 2));
    op->a.counts.oldest_pending_ms = num(elem(r, 3));
}

/* ---- operations ---------------------------------------------------------------------------------------- */

#define NUM(buf, v) (snprintf(buf, sizeof(buf), "%lld", (long long)(v)), buf)

static void rput_snapshot(void *conn, const char *id, long long version, const char *fp, const char *text,
                          int64_t now_ms, lt_dos_done_fn fn, void *arg)
{
    op_t *op = op_new(LT_DOS_ANSWER_DONE, parse_result, arg);
    op->a.done = fn;
    char v[24], now[24];
    const char *argv[] = {NULL, id, NUM(v, version), fp, text, NUM(now, now_ms)};
    run(conn, op, S_PUT, 6, argv);
}

static void radd_step(void *conn, const char *id, long long seq, const char *fp, const char *text, int64_t now_ms,
                      lt_dos_done_fn fn, void *arg)
{
    op_t *op = op_new(LT_DOS_ANSWER_DONE, parse_result, arg);
    op->a.done = fn;
    char n[24], now[24];
    const char *argv[] = {NULL, id, NUM(n, seq), fp, text, NUM(now, now_ms)};
    run(conn, op, S_STEP, 6, argv);
}

static void radd_fee(void *conn, const char *id, const char *key, const char *entry, int64_t now_ms, lt_dos_done_fn fn,
                     void *arg)
{
    op_t *op = op_new(LT_DOS_ANSWER_DONE, parse_result, arg);
    op->a.done = fn;
    char now[24];
    const char *argv[] = {NULL, id, key, entry, NUM(now, now_ms)};
    run(conn, op, S_FEE, 5, argv);
}

static void rview(void *conn, const char *id, lt_dos_view_fn fn, void *arg)
{
    op_t *op = op_new(LT_DOS_ANSWER_VIEW, parse_view, arg);
    op->a.view_fn = fn;
    snprintf(op->id, sizeof(op->id), "%s", id);
    const char *argv[] = {NULL, id};
    run(conn, op, S_VIEW, 2, argv);
}

static void rclaim(void *conn, bool step, size_t max, const char *owner, int64_t lease_ms, int64_t now_ms,
                   lt_dos_list_fn fn, void *arg)
{
    op_t *op = op_new(LT_DOS_ANSWER_LIST, step ? parse_claim_steps : parse_claim_snapshots, arg);
    op->a.list_fn = fn;
    char n[24], lease[24];
    const char *argv[] = {NULL, step ? "s" : "v", NUM(n, max), owner ? owner : "-", NUM(lease, lease_ms)};
    run(conn, op, S_CLAIM, 5, argv);
}

static void rdelivered(void *conn, bool step, const lt_dos_ref_t *refs, size_t n, int64_t now_ms, lt_dos_done_fn fn,
                       void *arg)
{
    op_t *op = op_new(LT_DOS_ANSWER_DONE, parse_result, arg);
    op->a.done = fn;
    char now[24];
    size_t width = step ? 2 : 3; /* id, seq; or id, version, fee_rev */
    int argc = 3 + (int)(width * n);
    const char **argv = calloc((size_t)argc, sizeof(char *));
    char(*numbers)[2][24] = calloc(n ? n : 1, sizeof(*numbers));
    argv[1] = step ? "s" : "v";
    argv[2] = NUM(now, now_ms);
    for (size_t i = 0; i < n; i++) {
        argv[3 + width * i] = refs[i].dossier_id;
        argv[4 + width * i] = NUM(numbers[i][0], refs[i].number);
        if (!step)
            argv[5 + width * i] = NUM(numbers[i][1], refs[i].fee_rev);
    }
    run(conn, op, S_DELIVERED, argc, argv);
    free(numbers);
    free(argv);
}

static void rdead(void *conn, bool step, const char *id, long long number, const char *error, int64_t now_ms,
                  lt_dos_done_fn fn, void *arg)
{
    op_t *op = op_new(LT_DOS_ANSWER_DONE, parse_result, arg);
    op->a.done = fn;
    char n[24], now[24], err[LT_DOS_ERROR_MAX + 1];
    snprintf(err, sizeof(err), "%s", error ? error : ""); /* stored as the journal stores it: capped */
    const char *argv[] = {NULL, step ? "s" : "v", id, NUM(n, number), err, NUM(now, now_ms)};
    run(conn, op, S_DEAD, 6, argv);
}

static void rredrive(void *conn, bool step, const char *id, long long number, int64_t now_ms, lt_dos_done_fn fn,
                     void *arg)
{
    op_t *op = op_new(LT_DOS_ANSWER_DONE, parse_result, arg);
    op->a.done = fn;
    char n[24];
    const char *argv[] = {NULL, step ? "s" : "v", id, NUM(n, number)};
    run(conn, op, S_REDRIVE, 4, argv);
}

static void rlist(void *conn, bool dead, size_t max, lt_dos_list_fn fn, void *arg)
{
    op_t *op = op_new(LT_DOS_ANSWER_LIST, parse_list, arg);
    op->a.list_fn = fn;
    char n[24];
    const char *argv[] = {NULL, dead ? "dead" : "pending", NUM(n, max)};
    run(conn, op, S_LIST, 3, argv);
}

static void rcounts(void *conn, lt_dos_counts_fn fn, void *arg)
{
    op_t *op = op_new(LT_DOS_ANSWER_COUNTS, parse_counts, arg);
    op->a.counts_fn = fn;
    const char *argv[] = {NULL};
    run(conn, op, S_COUNTS, 1, argv);
}

static void rsnapshots(void *conn, const char *cursor, size_t max, lt_dos_list_fn fn, void *arg)
{
    op_t *op = op_new(LT_DOS_ANSWER_LIST, parse_snapshots, arg);
    op->a.list_fn = fn;
    char n[24];
    const char *argv[] = {NULL, cursor, NUM(n, max)};
    run(conn, op, S_SNAPSHOTS, 3, argv);
}

static void rrelease(void *conn, const char *owner, lt_dos_done_fn fn, void *arg)
{
    op_t *op = op_new(LT_DOS_ANSWER_DONE, parse_result, arg);
    op->a.done = fn;
    const char *argv[] = {NULL, owner ? owner : "-"};
    run(conn, op, S_RELEASE, 2, argv);
}

static void *rconn_new(void *store, struct event_base *base)
{
    store_t *s = store;
    conn_t *c = calloc(1, sizeof(*c));
    c->store = s;
    c->link = lt_dos_rlink_new(s->server, base);
    return c;
}

static void rconn_free(void *conn)
{
    conn_t *c = conn;
    if (c == NULL)
        return;
    lt_dos_rlink_free(c->link);
    while (c->waiting != NULL) {
        op_t *op = c->waiting;
        c->waiting = op->next;
        free_op(op);
    }
    free(c);
}

void *lt_dos_redis_open(const lt_dossiers_conf_t *conf, lt_error_t *err)
{
    lt_dos_rserver_conf_t rc = {
        .conn = &conf->store.redis.conn,
        .config_path = "dossiers.store.redis",
        .label = "dossiers redis",
        .while_down = "dossier PUTs and steps answer 503 and nothing is sent to the portal until it is back",
    };
    rc.writes = script_writes;
    lt_dos_rserver_t *server = lt_dos_rserver_new(&rc, scripts, S_COUNT, err);
    if (server == NULL)
        return NULL;
    store_t *s = calloc(1, sizeof(*s));
    s->server = server;
    s->prefix = strdup(conf->store.redis.prefix);
    return s;
}

static void rclose(void *store)
{
    store_t *s = store;
    lt_dos_rserver_free(s->server);
    free(s->prefix);
    free(s);
}

static bool rok(const void *store)
{
    return lt_dos_rserver_up(((const store_t *)store)->server);
}

const lt_dos_backend_ops_t lt_dos_redis_ops = {
    .name = "redis",
    .close = rclose,
    .ok = rok,
    .conn_new = rconn_new,
    .conn_free = rconn_free,
    .put_snapshot = rput_snapshot,
    .add_step = radd_step,
    .view = rview,
    .add_fee = radd_fee,
    .claim = rclaim,
    .delivered = rdelivered,
    .dead = rdead,
    .redrive = rredrive,
    .list = rlist,
    .counts = rcounts,
    .snapshots = rsnapshots,
    .release = rrelease,
};
