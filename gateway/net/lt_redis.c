/*
 * The Redis connection layer (lt_redis.h): hiredis 0.14 async on one loop, with its handshake, per-command
 * timeouts, reconnection with backoff, scripts, and answers delivered from a clean stack.
 *
 * A command's life: sent (hiredis holds it, its timer runs), then answered (its reply copied, or why it failed,
 * queued on r->answered), then delivered by the loop's deliver event. A timed-out command is answered at once but
 * stays with hiredis until its late reply or the connection's end, so it is freed by whichever comes last.
 */
#include "lt_redis.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "lt_log.h"
#include "lt_mbuf.h"

#define MAX_SCRIPTS 32

typedef enum { LINK_DOWN, LINK_CONNECTING, LINK_UP } link_state_t;

struct lt_redis_script {
    const char *text;
    char sha1[41];
    bool writes; /* its writes count once WAIT confirms them (lt_redis_server_write_script) */
};

typedef struct hostport {
    char host[64]; /* numeric */
    int port;
} hostport_t;

struct lt_redis_server {
    lt_redis_conf_t conf; /* the timings, defaults filled in; its strings are not kept */
    char *address;        /* as configured */
    /* Where to connect: one address resolved once, at start-up; or, with Sentinels, the primary a Sentinel names,
     * asked for before each connection by each link. */
    char host[64];
    int port;
    char *unix_path;
    hostport_t *sentinels;
    size_t nsentinels;
    char *master_name;
    char *username, *password;
    char *sentinel_username, *sentinel_password;
    long long wait_replicas, wait_timeout_ms;
    char wait_timeout_arg[24];
    _Atomic uint64_t wait_shortfalls;
    /* What the links saw, under lock: the primary they last reached, its ROLE, the failovers. */
    char primary[80], role[16];
    uint64_t failovers;
    int64_t last_failover_ms; /* wall clock */
    const char *config_path, *while_down;
    char label[300];
    lt_redis_script_t scripts[MAX_SCRIPTS];
    size_t nscripts;
    pthread_mutex_t lock; /* links, each link's last_error, retired, sealed */
    lt_redis_t *links;
    uint64_t retired_commands, retired_failures, retired_timeouts, retired_reconnects;
    bool sealed; /* a connection exists: the scripts are fixed */
};

struct lt_redis {
    lt_redis_server_t *srv;
    struct event_base *base;
    redisAsyncContext *ac; /* NULL while down */
    uint64_t gen;          /* which connection a command was sent on */
    /* Read by other threads through lt_redis_server_stats. */
    _Atomic int state;
    _Atomic uint64_t commands, failures, timeouts, reconnects;
    char last_error[160]; /* under srv->lock */
    lt_redis_t *next_link;
    struct event *retry_ev, *deliver_ev;
    const struct timeval *cmd_tv, *handshake_tv; /* libevent common timeouts: one queue each, not a heap */
    struct timeval cmd_tv_plain, handshake_tv_plain;
    int failed_attempts, timeouts_in_a_row;
    char handshake_error[160], auth_error[160];
    lt_redis_cmd_t *answered, *answered_tail; /* answered, not yet delivered: in order */
    const char *drop_why;                     /* while drop() frees a context: what its commands are told */
    const char *failure;                      /* during a callback given NULL */
    uint64_t delivering_gen;                  /* during a callback: the connection its command was sent on */
    bool closing, delivering, free_after_delivery, outage_logged, error_reply_logged;
    /* Sentinels: the session (watch_ac) asks one for the primary, then stays subscribed to +switch-master. */
    hostport_t target; /* the primary to connect to */
    bool target_fresh; /* a Sentinel just named it: the next connection need not ask again */
    redisAsyncContext *watch_ac;
    size_t sentinel_next, sentinel_tries, watch_index;
    bool awaiting_primary; /* the connection waits for this session's answer */
    int watch_failed_attempts;
    struct event *sentinel_timeout_ev, *rewatch_ev, *readonly_ev;
};

struct lt_redis_cmd {
    lt_redis_t *r;
    lt_redis_reply_fn fn; /* NULL once cancelled */
    void *arg;
    struct event *timer;
    uint64_t gen;
    int in_hiredis; /* how many callbacks hiredis still owes it as privdata (its command; its WAIT) */
    bool answered, queued;
    /* A write script's WAIT, sent right behind it: its reply is held until the WAIT confirms enough replicas. */
    bool waits, replied;
    redisReply *reply; /* once answered: a copy of the reply; NULL when it failed */
    char failure[160];
    lt_redis_cmd_t *next; /* in r->answered */
    /* Scripts: kept to send again as EVAL after NOSCRIPT. */
    const lt_redis_script_t *script;
    bool as_eval;
    int nkeys, nargs;
    char **args;
    size_t *lens;
};

static void schedule_reconnect(lt_redis_t *r);
static void drop(lt_redis_t *r, const char *why);

/* ---- health ------------------------------------------------------------------------------------------------- */

static void note_error(lt_redis_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note_error(lt_redis_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&r->srv->lock);
    vsnprintf(r->last_error, sizeof(r->last_error), fmt, ap);
    pthread_mutex_unlock(&r->srv->lock);
    va_end(ap);
}

static void set_state(lt_redis_t *r, link_state_t s)
{
    atomic_store(&r->state, (int)s);
}

static link_state_t state_of(const lt_redis_t *r)
{
    return (link_state_t)atomic_load(&r->state);
}

/* One warning per outage, saying what it means to this connection's user. */
static void outage(lt_redis_t *r, const char *what, const char *detail)
{
    note_error(r, "%s%s%s", what, detail[0] ? ": " : "", detail);
    if (!r->outage_logged) {
        const char *meaning = r->srv->while_down ? r->srv->while_down : "its commands fail until it is back";
        lt_log_warn("%s: %s%s%s; %s", r->srv->label, what, detail[0] ? ": " : "", detail, meaning);
    }
    r->outage_logged = true;
}

void lt_redis_server_stats(lt_redis_server_t *s, lt_redis_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->lock);
    out->commands = s->retired_commands;
    out->failures = s->retired_failures;
    out->timeouts = s->retired_timeouts;
    out->reconnects = s->retired_reconnects;
    for (lt_redis_t *r = s->links; r != NULL; r = r->next_link) {
        out->connections++;
        if (state_of(r) == LINK_UP)
            out->up++;
        else if (out->last_error[0] == '\0')
            snprintf(out->last_error, sizeof(out->last_error), "%s", r->last_error);
        out->commands += atomic_load(&r->commands);
        out->failures += atomic_load(&r->failures);
        out->timeouts += atomic_load(&r->timeouts);
        out->reconnects += atomic_load(&r->reconnects);
    }
    out->sentinels = s->nsentinels > 0;
    snprintf(out->primary, sizeof(out->primary), "%s", s->primary);
    snprintf(out->role, sizeof(out->role), "%s", s->role);
    out->failovers = s->failovers;
    out->last_failover_ms = s->last_failover_ms;
    pthread_mutex_unlock(&s->lock);
    out->wait_shortfalls = atomic_load(&s->wait_shortfalls);
}

void lt_redis_stats_to_json(const lt_redis_stats_t *st, json_t *out)
{
    json_object_set_new(out, "sentinels", json_boolean(st->sentinels));
    json_object_set_new(out, "role", st->role[0] ? json_string(st->role) : json_null());
    json_object_set_new(out, "primary", st->primary[0] ? json_string(st->primary) : json_null());
    json_object_set_new(out, "failovers", json_integer((json_int_t)st->failovers));
    json_t *since = json_null();
    if (st->last_failover_ms > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        since = json_real(now > st->last_failover_ms ? (double)(now - st->last_failover_ms) / 1e3 : 0.0);
    }
    json_object_set_new(out, "seconds_since_failover", since);
    json_object_set_new(out, "wait_shortfalls", json_integer((json_int_t)st->wait_shortfalls));
}

/* A link reached a primary: a different one than the last any link reached is a failover seen. */
static void note_primary(lt_redis_server_t *s, const char *host, int port, const char *role)
{
    char now[80];
    snprintf(now, sizeof(now), "%s:%d", host, port);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    pthread_mutex_lock(&s->lock);
    if (s->primary[0] != '\0' && strcmp(s->primary, now) != 0) {
        s->failovers++;
        s->last_failover_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    snprintf(s->primary, sizeof(s->primary), "%s", now);
    snprintf(s->role, sizeof(s->role), "%s", role);
    pthread_mutex_unlock(&s->lock);
}

/* ---- commands ----------------------------------------------------------------------------------------------- */

static void on_timeout(evutil_socket_t fd, short what, void *arg);

static lt_redis_cmd_t *cmd_new(lt_redis_t *r, lt_redis_reply_fn fn, void *arg)
{
    lt_redis_cmd_t *cmd = calloc(1, sizeof(*cmd));
    cmd->r = r;
    cmd->fn = fn;
    cmd->arg = arg;
    cmd->timer = evtimer_new(r->base, on_timeout, cmd);
    return cmd;
}

static void cmd_free(lt_redis_cmd_t *cmd)
{
    event_free(cmd->timer);
    if (cmd->reply != NULL)
        freeReplyObject(cmd->reply);
    for (int i = 0; i < cmd->nargs; i++)
        free(cmd->args[i]);
    free(cmd->args);
    free(cmd->lens);
    free(cmd);
}

/* hiredis frees its reply when on_reply returns, and delivery comes later: keep a copy of our own. */
static redisReply *copy_reply(const redisReply *from)
{
    redisReply *to = calloc(1, sizeof(*to));
    to->type = from->type;
    to->integer = from->integer;
    if (from->str != NULL) {
        to->str = malloc(from->len + 1);
        memcpy(to->str, from->str, from->len);
        to->str[from->len] = '\0';
        to->len = from->len;
    }
    if (from->type == REDIS_REPLY_ARRAY && from->elements > 0) {
        to->element = calloc(from->elements, sizeof(*to->element));
        to->elements = from->elements;
        for (size_t i = 0; i < from->elements; i++)
            to->element[i] = copy_reply(from->element[i]);
    }
    return to;
}

/* Queues the answer; the deliver event runs the callbacks from a clean stack, in the order answered. */
static void answer(lt_redis_t *r, lt_redis_cmd_t *cmd)
{
    cmd->answered = true;
    cmd->queued = true;
    if (r->answered_tail != NULL)
        r->answered_tail->next = cmd;
    else
        r->answered = cmd;
    r->answered_tail = cmd;
    event_active(r->deliver_ev, EV_TIMEOUT, 1);
}

static void answer_failed(lt_redis_t *r, lt_redis_cmd_t *cmd, const char *fmt, const char *detail)
{
    atomic_fetch_add(&r->failures, 1);
    if (cmd->reply != NULL) { /* a write's reply held for its WAIT */
        freeReplyObject(cmd->reply);
        cmd->reply = NULL;
    }
    snprintf(cmd->failure, sizeof(cmd->failure), fmt, detail);
    answer(r, cmd);
}

static void on_reply(redisAsyncContext *ac, void *reply_, void *privdata);
static void on_wait_reply(redisAsyncContext *ac, void *reply_, void *privdata);

static bool send_argv(lt_redis_t *r, lt_redis_cmd_t *cmd, const struct timeval *tv, int argc, const char **argv,
                      const size_t *argvlen)
{
    if (r->ac == NULL || redisAsyncCommandArgv(r->ac, on_reply, cmd, argc, argv, argvlen) != REDIS_OK)
        return false;
    cmd->in_hiredis++;
    cmd->gen = r->gen;
    evtimer_add(cmd->timer, tv);
    atomic_fetch_add(&r->commands, 1);
    return true;
}

/* Pipelined right behind the write, so Redis answers it once the write has reached wait_replicas replicas or
 * wait_timeout_ms has passed. The command's own timer (timeout_ms, longer) still bounds the whole. */
static void send_wait(lt_redis_t *r, lt_redis_cmd_t *cmd)
{
    lt_redis_server_t *s = r->srv;
    char n[24];
    snprintf(n, sizeof(n), "%lld", s->wait_replicas);
    const char *argv[] = {"WAIT", n, s->wait_timeout_arg};
    cmd->waits = redisAsyncCommandArgv(r->ac, on_wait_reply, cmd, 3, argv, NULL) == REDIS_OK;
    if (cmd->waits)
        cmd->in_hiredis++;
}

static bool send_script(lt_redis_t *r, lt_redis_cmd_t *cmd)
{
    int n = cmd->nargs + 3;
    const char **argv = calloc((size_t)n, sizeof(*argv));
    size_t *lens = calloc((size_t)n, sizeof(*lens));
    char nkeys[16];
    snprintf(nkeys, sizeof(nkeys), "%d", cmd->nkeys);
    argv[0] = cmd->as_eval ? "EVAL" : "EVALSHA";
    argv[1] = cmd->as_eval ? cmd->script->text : cmd->script->sha1;
    argv[2] = nkeys;
    for (int i = 0; i < 3; i++)
        lens[i] = strlen(argv[i]);
    for (int i = 0; i < cmd->nargs; i++) {
        argv[i + 3] = cmd->args[i];
        lens[i + 3] = cmd->lens[i];
    }
    bool ok = send_argv(r, cmd, r->cmd_tv, n, argv, lens);
    free(argv);
    free(lens);
    cmd->replied = false;
    if (ok && cmd->script->writes && r->srv->wait_replicas > 0)
        send_wait(r, cmd);
    return ok;
}

/* Why the commands of a closing context failed. */
static const char *why_lost(const lt_redis_t *r, const redisAsyncContext *ac)
{
    if (r->closing)
        return "the client closed";
    if (r->drop_why != NULL)
        return r->drop_why;
    return ac->err ? ac->errstr : "closed by the server";
}

/* The last of hiredis's callbacks for an answered command frees it, unless it still waits for delivery. */
static bool released(lt_redis_cmd_t *cmd)
{
    cmd->in_hiredis--;
    if (!cmd->answered)
        return false;
    if (!cmd->queued && cmd->in_hiredis == 0)
        cmd_free(cmd);
    return true;
}

static void on_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    lt_redis_cmd_t *cmd = privdata;
    lt_redis_t *r = cmd->r;
    const redisReply *reply = reply_;
    if (released(cmd)) /* timed out: its late reply is dropped */
        return;
    if (reply == NULL) {
        evtimer_del(cmd->timer);
        if (cmd->gen == r->gen && state_of(r) == LINK_UP)
            set_state(r, LINK_DOWN); /* the connection is going: refuse new commands from now on */
        answer_failed(r, cmd, "connection lost: %s", why_lost(r, ac));
        return;
    }
    if (cmd->gen == r->gen)
        r->timeouts_in_a_row = 0;
    if (reply->type != REDIS_REPLY_ERROR) {
        cmd->reply = cmd->fn != NULL ? copy_reply(reply) : NULL;
        cmd->replied = true;
        if (cmd->waits)
            return; /* its WAIT decides; the timer still runs */
        evtimer_del(cmd->timer);
        answer(r, cmd);
        return;
    }
    /* NOSCRIPT: the script did not run, so sending it whole is safe, and caches it again. Not once cancelled:
     * nobody would hear what it did. Its first WAIT then answers before the EVAL does, and is ignored. */
    if (cmd->script != NULL && !cmd->as_eval && cmd->fn != NULL && strncmp(reply->str, "NOSCRIPT", 8) == 0 &&
        r->ac == ac) {
        cmd->as_eval = true;
        if (send_script(r, cmd))
            return;
    }
    evtimer_del(cmd->timer);
    /* A replica refuses writes: the primary has moved. Dropped from the loop, not from inside hiredis. */
    if (r->srv->nsentinels > 0 && strstr(reply->str, "READONLY") != NULL && cmd->gen == r->gen)
        event_active(r->readonly_ev, EV_TIMEOUT, 1);
    note_error(r, "%s", reply->str);
    if (!r->error_reply_logged && state_of(r) == LINK_UP) { /* the handshake's own warning says its refusals */
        lt_log_warn("%s: command refused: %s", r->srv->label, reply->str);
        r->error_reply_logged = true;
    }
    answer_failed(r, cmd, "%s", reply->str);
}

/* The write ran; it counts only if WAIT says enough replicas have it. A WAIT that answers before the write's own
 * reply belongs to an EVALSHA that got NOSCRIPT, and is ignored. */
static void on_wait_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    lt_redis_cmd_t *cmd = privdata;
    lt_redis_t *r = cmd->r;
    const redisReply *reply = reply_;
    if (released(cmd) || (!cmd->replied && reply != NULL))
        return;
    evtimer_del(cmd->timer);
    if (reply == NULL) {
        answer_failed(r, cmd, "connection lost before the replicas confirmed the write: %s", why_lost(r, ac));
        return;
    }
    long long want = r->srv->wait_replicas;
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer >= want) {
        answer(r, cmd);
        return;
    }
    atomic_fetch_add(&r->srv->wait_shortfalls, 1);
    char why[160];
    if (reply->type == REDIS_REPLY_INTEGER)
        snprintf(why, sizeof(why), "%lld of %lld replicas confirmed the write within %s ms", reply->integer, want,
                 r->srv->wait_timeout_arg);
    else
        snprintf(why, sizeof(why), "WAIT refused: %s", reply->str != NULL ? reply->str : "unexpected reply");
    note_error(r, "%s", why);
    answer_failed(r, cmd, "not durable: %s", why);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    lt_redis_cmd_t *cmd = arg;
    lt_redis_t *r = cmd->r;
    atomic_fetch_add(&r->timeouts, 1);
    bool stuck = cmd->gen == r->gen && r->ac != NULL && ++r->timeouts_in_a_row >= r->srv->conf.max_timeouts;
    answer_failed(r, cmd, "%s", "timeout: no answer in time"); /* hiredis keeps it until its reply comes */
    if (stuck) {
        char why[96];
        snprintf(why, sizeof(why), "%lld commands in a row got no answer within their timeout",
                 r->srv->conf.max_timeouts);
        drop(r, why);
    }
}

/* Runs one answered command's callback. The command is freed first, unless hiredis still holds it. */
static void deliver_one(lt_redis_t *r, lt_redis_cmd_t *cmd)
{
    lt_redis_reply_fn fn = cmd->fn;
    void *arg = cmd->arg;
    redisReply *reply = cmd->reply;
    uint64_t gen = cmd->gen;
    char failure[sizeof(cmd->failure)];
    memcpy(failure, cmd->failure, sizeof(failure));
    cmd->reply = NULL;
    cmd->queued = false;
    if (!cmd->in_hiredis)
        cmd_free(cmd);
    if (fn != NULL) {
        r->failure = reply == NULL ? failure : NULL;
        r->delivering_gen = gen;
        fn(arg, reply);
        r->failure = NULL; /* r lives on: lt_redis_free defers its end while we deliver */
    }
    if (reply != NULL)
        freeReplyObject(reply);
}

static void deliver_all(lt_redis_t *r)
{
    lt_redis_cmd_t *cmd;
    while ((cmd = r->answered) != NULL) {
        r->answered = cmd->next;
        if (r->answered == NULL)
            r->answered_tail = NULL;
        deliver_one(r, cmd);
    }
}

static void really_free(lt_redis_t *r);

static void on_deliver(evutil_socket_t fd, short what, void *arg)
{
    lt_redis_t *r = arg;
    r->delivering = true;
    deliver_all(r);
    r->delivering = false;
    if (r->free_after_delivery)
        really_free(r);
}

static lt_redis_cmd_t *command_or_null(lt_redis_t *r, lt_redis_cmd_t *cmd, bool sent)
{
    if (sent)
        return cmd;
    cmd_free(cmd);
    return NULL;
}

static bool accepting(const lt_redis_t *r)
{
    return r != NULL && !r->closing && r->ac != NULL && state_of(r) == LINK_UP;
}

lt_redis_cmd_t *lt_redis_command(lt_redis_t *r, lt_redis_reply_fn fn, void *arg, int argc, const char **argv,
                                 const size_t *argvlen)
{
    if (!accepting(r))
        return NULL;
    lt_redis_cmd_t *cmd = cmd_new(r, fn, arg);
    return command_or_null(r, cmd, send_argv(r, cmd, r->cmd_tv, argc, argv, argvlen));
}

lt_redis_cmd_t *lt_redis_eval(lt_redis_t *r, const lt_redis_script_t *script, int nkeys, lt_redis_reply_fn fn,
                              void *arg, int argc, const char **argv, const size_t *argvlen)
{
    if (!accepting(r))
        return NULL;
    lt_redis_cmd_t *cmd = cmd_new(r, fn, arg);
    cmd->script = script;
    cmd->nkeys = nkeys;
    cmd->nargs = argc;
    cmd->args = calloc(argc > 0 ? (size_t)argc : 1, sizeof(*cmd->args));
    cmd->lens = calloc(argc > 0 ? (size_t)argc : 1, sizeof(*cmd->lens));
    for (int i = 0; i < argc; i++) {
        size_t len = argvlen != NULL ? argvlen[i] : strlen(argv[i]);
        cmd->args[i] = malloc(len + 1);
        memcpy(cmd->args[i], argv[i], len);
        cmd->args[i][len] = '\0';
        cmd->lens[i] = len;
    }
    return command_or_null(r, cmd, send_script(r, cmd));
}

void lt_redis_cancel(lt_redis_cmd_t *cmd)
{
    if (cmd != NULL)
        cmd->fn = NULL;
}

bool lt_redis_is_up(const lt_redis_t *r)
{
    return r != NULL && !r->closing && state_of(r) == LINK_UP;
}

const char *lt_redis_failure(const lt_redis_t *r)
{
    return r != NULL && r->failure != NULL ? r->failure : "";
}

/* ---- connecting ---------------------------------------------------------------------------------------------- */

/* Drops the connection: every command on it fails now, and a new one is tried after a backoff. */
static void drop(lt_redis_t *r, const char *why)
{
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    r->gen++;
    set_state(r, LINK_DOWN);
    outage(r, why, "");
    if (ac != NULL) {
        r->drop_why = why;
        redisAsyncFree(ac); /* answers its commands now; its on_disconnect finds r->ac != ac and stays out */
        r->drop_why = NULL;
    }
    schedule_reconnect(r);
}

/* Handshake steps are commands like any other, delivered in order, ahead of the PING that decides. */
static bool handshake_current(const lt_redis_t *r)
{
    return !r->closing && r->delivering_gen == r->gen && state_of(r) == LINK_CONNECTING && r->ac != NULL;
}

/* A wrong password fails the PING too (NOAUTH), and this says why. An AUTH refused because Redis has no password
 * is harmless: the PING then answers. */
static void on_auth(void *arg, const redisReply *reply)
{
    lt_redis_t *r = arg;
    if (handshake_current(r) && reply == NULL)
        snprintf(r->auth_error, sizeof(r->auth_error), "AUTH refused: %s", r->failure);
}

/* A refused SELECT would leave the connection on database 0, among another user's keys: it must fail the handshake. */
static void on_select(void *arg, const redisReply *reply)
{
    lt_redis_t *r = arg;
    if (handshake_current(r) && reply == NULL && r->handshake_error[0] == '\0')
        snprintf(r->handshake_error, sizeof(r->handshake_error), "SELECT %lld refused: %s", r->srv->conf.db,
                 r->failure);
}

/* A script that does not load is not fatal here: EVALSHA then gets NOSCRIPT, EVAL the same error, for that user. */
static void on_script_loaded(void *arg, const redisReply *reply) {}

/* With Sentinels, the named primary must say it is one: a Sentinel's answer can be out of date, and a replica must
 * never take this user's writes. */
static void on_role(void *arg, const redisReply *reply)
{
    lt_redis_t *r = arg;
    if (!handshake_current(r) || r->handshake_error[0] != '\0')
        return;
    const char *role = reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                               reply->element[0]->type == REDIS_REPLY_STRING
                           ? reply->element[0]->str
                           : NULL;
    if (role == NULL)
        snprintf(r->handshake_error, sizeof(r->handshake_error), "ROLE refused: %s",
                 reply == NULL ? r->failure : "unexpected reply");
    else if (strcmp(role, "master") != 0)
        snprintf(r->handshake_error, sizeof(r->handshake_error),
                 "%s:%d says ROLE %s, not master: the Sentinel's answer was out of date", r->target.host,
                 r->target.port, role);
}

static void on_ping(void *arg, const redisReply *reply)
{
    lt_redis_t *r = arg;
    if (!handshake_current(r))
        return; /* an older connection's, or closing */
    if (reply == NULL || r->handshake_error[0] != '\0') {
        const char *cause = r->handshake_error[0] ? r->handshake_error : r->auth_error[0] ? r->auth_error : r->failure;
        char why[200];
        snprintf(why, sizeof(why), "handshake failed: %s", cause);
        drop(r, why);
        return;
    }
    set_state(r, LINK_UP);
    if (r->srv->nsentinels > 0)
        note_primary(r->srv, r->target.host, r->target.port, "master");
    r->failed_attempts = 0;
    r->timeouts_in_a_row = 0;
    r->error_reply_logged = false;
    note_error(r, "%s", "");
    lt_log_info("%s: connected", r->srv->label);
    r->outage_logged = false;
}

static void handshake_step(lt_redis_t *r, lt_redis_reply_fn fn, int argc, const char **argv)
{
    lt_redis_cmd_t *cmd = cmd_new(r, fn, r);
    if (!send_argv(r, cmd, r->handshake_tv, argc, argv, NULL))
        cmd_free(cmd); /* the PING will not go either, and that drops the connection */
}

static void handshake(lt_redis_t *r)
{
    lt_redis_server_t *s = r->srv;
    char db[24];
    snprintf(db, sizeof(db), "%lld", s->conf.db);
    r->handshake_error[0] = r->auth_error[0] = '\0';
    if (s->password != NULL && s->username != NULL)
        handshake_step(r, on_auth, 3, (const char *[]){"AUTH", s->username, s->password});
    else if (s->password != NULL)
        handshake_step(r, on_auth, 2, (const char *[]){"AUTH", s->password});
    if (s->conf.db != 0)
        handshake_step(r, on_select, 2, (const char *[]){"SELECT", db});
    if (s->nsentinels > 0)
        handshake_step(r, on_role, 1, (const char *[]){"ROLE"});
    for (size_t i = 0; i < s->nscripts; i++)
        handshake_step(r, on_script_loaded, 3, (const char *[]){"SCRIPT", "LOAD", s->scripts[i].text});
    lt_redis_cmd_t *ping = cmd_new(r, on_ping, r);
    if (!send_argv(r, ping, r->handshake_tv, 1, (const char *[]){"PING"}, NULL)) {
        cmd_free(ping);
        drop(r, "cannot queue the handshake");
    }
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    lt_redis_t *r = ac->data;
    if (r->ac != ac || status == REDIS_OK)
        return;
    /* hiredis frees ac after this returns, and fails its commands (the handshake) then. */
    r->ac = NULL;
    r->gen++;
    set_state(r, LINK_DOWN);
    outage(r, "cannot connect", ac->errstr);
    schedule_reconnect(r);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    lt_redis_t *r = ac->data;
    if (r->ac != ac)
        return;
    r->ac = NULL;
    r->gen++;
    set_state(r, LINK_DOWN);
    outage(r, "connection lost", status == REDIS_OK ? "closed" : ac->errstr);
    schedule_reconnect(r);
}

static void connect_data(lt_redis_t *r)
{
    lt_redis_server_t *s = r->srv;
    /* A numeric address: hiredis's getaddrinfo() then never asks DNS, so the loop never blocks here. */
    redisAsyncContext *ac = s->unix_path        ? redisAsyncConnectUnix(s->unix_path)
                            : s->nsentinels > 0 ? redisAsyncConnect(r->target.host, r->target.port)
                                                : redisAsyncConnect(s->host, s->port);
    if (ac == NULL || ac->err) {
        set_state(r, LINK_DOWN);
        outage(r, "cannot connect", ac ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        schedule_reconnect(r);
        return;
    }
    ac->data = r;
    redisLibeventAttach(ac, r->base);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    r->ac = ac;
    handshake(r);
}

/* ---- Sentinels ----------------------------------------------------------------------------------------------- */

static void sentinel_session(lt_redis_t *r);

/* Frees the session. Its callbacks, run now or (inside one of them) once it returns, find it is no longer ours. */
static void watch_close(lt_redis_t *r)
{
    redisAsyncContext *ac = r->watch_ac;
    r->watch_ac = NULL;
    evtimer_del(r->sentinel_timeout_ev);
    if (ac != NULL)
        redisAsyncFree(ac);
}

static void schedule_rewatch(lt_redis_t *r)
{
    const lt_redis_conf_t *c = &r->srv->conf;
    int64_t ms = c->reconnect_min_ms;
    for (int i = 0; i < r->watch_failed_attempts && ms < c->reconnect_max_ms; i++)
        ms *= 2;
    if (ms > c->reconnect_max_ms)
        ms = c->reconnect_max_ms;
    r->watch_failed_attempts++;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(r->rewatch_ev, &tv);
}

/* This Sentinel did not help: the next one in turn, or, once every one has failed, a pause. */
static void session_next(lt_redis_t *r, const char *why)
{
    const hostport_t *sen = &r->srv->sentinels[r->watch_index];
    char detail[220];
    snprintf(detail, sizeof(detail), "Sentinel %s:%d: %s", sen->host, sen->port, why);
    watch_close(r);
    if (++r->sentinel_tries < r->srv->nsentinels) {
        sentinel_session(r);
        return;
    }
    r->sentinel_tries = 0;
    if (!r->awaiting_primary) {
        note_error(r, "no Sentinel to follow failovers with (%s)", detail);
        schedule_rewatch(r);
        return;
    }
    r->awaiting_primary = false;
    r->gen++;
    set_state(r, LINK_DOWN);
    outage(r, "no Sentinel named the primary", detail);
    schedule_reconnect(r);
}

/* ["host", "port"] for master_name. The host must be numeric (Sentinels announce addresses), so that connecting
 * never waits for DNS. */
static bool primary_from_reply(const lt_redis_t *r, const redisReply *reply, hostport_t *out, char *why, size_t n)
{
    if (reply == NULL) {
        snprintf(why, n, "connection lost");
        return false;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(why, n, "%s", reply->str);
        return false;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_STRING) {
        snprintf(why, n, "does not know a primary named '%s'", r->srv->master_name);
        return false;
    }
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int port = atoi(reply->element[1]->str);
    bool numeric = strlen(reply->element[0]->str) < sizeof(out->host) &&
                   getaddrinfo(reply->element[0]->str, NULL, &hints, &ai) == 0;
    if (ai != NULL)
        freeaddrinfo(ai);
    if (!numeric || port <= 0 || port > 65535) {
        snprintf(why, n, "names '%.64s', not a numeric address: set the Sentinels' announce-ip",
                 reply->element[0]->str);
        return false;
    }
    snprintf(out->host, sizeof(out->host), "%s", reply->element[0]->str);
    out->port = port;
    return true;
}

static bool same_place(const hostport_t *a, const hostport_t *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* The primary moved: the connection to the old one goes, and the next goes straight to the new one. */
static void follow(lt_redis_t *r, const hostport_t *primary, const char *how)
{
    r->target = *primary;
    r->target_fresh = true;
    r->failed_attempts = 0;
    char why[200];
    snprintf(why, sizeof(why), "%s: the primary is now %s:%d", how, primary->host, primary->port);
    if (r->ac != NULL) {
        lt_log_info("%s: %s", r->srv->label, why);
        drop(r, why);
    } else if (evtimer_pending(r->retry_ev, NULL)) {
        evtimer_del(r->retry_ev); /* waiting out a backoff: try the new primary soon */
        schedule_reconnect(r);
    }
}

static void on_master_addr(redisAsyncContext *ac, void *reply_, void *privdata)
{
    lt_redis_t *r = privdata;
    if (r->watch_ac != ac)
        return;
    evtimer_del(r->sentinel_timeout_ev);
    hostport_t primary;
    char why[160];
    if (!primary_from_reply(r, reply_, &primary, why, sizeof(why))) {
        session_next(r, why);
        return;
    }
    r->sentinel_tries = 0;
    r->watch_failed_attempts = 0;
    if (r->awaiting_primary) {
        r->awaiting_primary = false;
        r->target = primary;
        connect_data(r);
    } else if (r->ac != NULL && !same_place(&primary, &r->target)) {
        follow(r, &primary, "a failover happened while no Sentinel was followed");
    }
}

/* "+switch-master <name> <old ip> <old port> <new ip> <new port>", on every Sentinel's channel. */
static void on_switch(redisAsyncContext *ac, void *reply_, void *privdata)
{
    lt_redis_t *r = privdata;
    const redisReply *reply = reply_;
    if (r->watch_ac != ac || reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING || strcmp(reply->element[0]->str, "message") != 0 ||
        reply->element[2]->type != REDIS_REPLY_STRING)
        return;
    char name[128], old_host[64], new_host[64];
    int old_port, new_port;
    if (sscanf(reply->element[2]->str, "%127s %63s %d %63s %d", name, old_host, &old_port, new_host, &new_port) != 5 ||
        strcmp(name, r->srv->master_name) != 0)
        return;
    hostport_t primary = {.port = new_port};
    snprintf(primary.host, sizeof(primary.host), "%s", new_host);
    follow(r, &primary, "failover");
}

/* A Sentinel that does not answer is treated as down. */
static void on_sentinel_timeout(evutil_socket_t fd, short what, void *arg)
{
    session_next(arg, "no answer in time");
}

static void on_watch_connect(const redisAsyncContext *ac, int status)
{
    lt_redis_t *r = ac->data;
    if (r->watch_ac != ac || status == REDIS_OK)
        return;
    r->watch_ac = NULL; /* hiredis frees it after this returns */
    session_next(r, ac->errstr);
}

static void on_watch_disconnect(const redisAsyncContext *ac, int status)
{
    lt_redis_t *r = ac->data;
    if (r->watch_ac != ac)
        return;
    r->watch_ac = NULL; /* hiredis is freeing it */
    if (r->awaiting_primary)
        session_next(r, status == REDIS_OK ? "closed" : ac->errstr);
    else if (!r->closing)
        schedule_rewatch(r);
}

/* The followed Sentinel went away while the connection stayed up: follow another one (and ask it where the primary
 * is, in case a failover came in between). */
static void on_rewatch(evutil_socket_t fd, short what, void *arg)
{
    lt_redis_t *r = arg;
    if (!r->closing && r->watch_ac == NULL && !r->awaiting_primary)
        sentinel_session(r);
}

/* A refused AUTH shows in the next reply (NOAUTH), which says why. */
static void on_sentinel_auth(redisAsyncContext *ac, void *reply, void *privdata) {}

/* One Sentinel, in turn: AUTH, where is master_name, then SUBSCRIBE +switch-master on the same connection (hiredis
 * answers the regular commands queued before it first). */
static void sentinel_session(lt_redis_t *r)
{
    lt_redis_server_t *s = r->srv;
    watch_close(r);
    evtimer_del(r->rewatch_ev);
    r->watch_index = r->sentinel_next++ % s->nsentinels;
    const hostport_t *sen = &s->sentinels[r->watch_index];
    redisAsyncContext *ac = redisAsyncConnect(sen->host, sen->port);
    if (ac == NULL || ac->err) {
        char why[160];
        snprintf(why, sizeof(why), "%s", ac ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        session_next(r, why);
        return;
    }
    ac->data = r;
    redisLibeventAttach(ac, r->base);
    redisAsyncSetConnectCallback(ac, on_watch_connect);
    redisAsyncSetDisconnectCallback(ac, on_watch_disconnect);
    r->watch_ac = ac;
    if (s->sentinel_password != NULL && s->sentinel_username != NULL)
        redisAsyncCommandArgv(ac, on_sentinel_auth, r, 3,
                              (const char *[]){"AUTH", s->sentinel_username, s->sentinel_password}, NULL);
    else if (s->sentinel_password != NULL)
        redisAsyncCommandArgv(ac, on_sentinel_auth, r, 2, (const char *[]){"AUTH", s->sentinel_password}, NULL);
    redisAsyncCommandArgv(ac, on_master_addr, r, 3,
                          (const char *[]){"SENTINEL", "get-master-addr-by-name", s->master_name}, NULL);
    redisAsyncCommandArgv(ac, on_switch, r, 2, (const char *[]){"SUBSCRIBE", "+switch-master"}, NULL);
    evtimer_add(r->sentinel_timeout_ev, r->handshake_tv);
}

static void on_readonly(evutil_socket_t fd, short what, void *arg)
{
    lt_redis_t *r = arg;
    if (r->ac != NULL && !r->closing)
        drop(r, "the server answered READONLY: it is a replica now; asking the Sentinels for the primary");
}

static void connect_now(evutil_socket_t fd, short what, void *arg)
{
    lt_redis_t *r = arg;
    r->gen++;
    set_state(r, LINK_CONNECTING);
    if (r->srv->nsentinels > 0 && !r->target_fresh) {
        r->awaiting_primary = true;
        r->sentinel_tries = 0;
        sentinel_session(r);
        return;
    }
    r->target_fresh = false; /* once: a connection that fails asks a Sentinel again */
    connect_data(r);
}

/* Exponential, capped, half of it random: workers and instances do not all knock at the same instant. */
static int64_t backoff_ms(lt_redis_t *r)
{
    const lt_redis_conf_t *c = &r->srv->conf;
    int64_t d = c->reconnect_min_ms;
    for (int i = 0; i < r->failed_attempts && d < c->reconnect_max_ms; i++)
        d *= 2;
    if (d > c->reconnect_max_ms)
        d = c->reconnect_max_ms;
    uint32_t rnd = 0;
    RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
    return d / 2 + (int64_t)(rnd % (uint32_t)(d / 2 + 1));
}

static void schedule_reconnect(lt_redis_t *r)
{
    if (r->closing)
        return;
    int64_t ms = backoff_ms(r);
    r->failed_attempts++;
    atomic_fetch_add(&r->reconnects, 1);
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(r->retry_ev, &tv);
}

/* Every command shares one duration, so libevent can keep them in a queue instead of its heap. */
static const struct timeval *common_timeout(struct event_base *base, int64_t ms, struct timeval *plain)
{
    plain->tv_sec = ms / 1000;
    plain->tv_usec = (ms % 1000) * 1000;
    const struct timeval *common = event_base_init_common_timeout(base, plain);
    return common != NULL ? common : plain;
}

lt_redis_t *lt_redis_new(lt_redis_server_t *s, struct event_base *base)
{
    lt_redis_t *r = calloc(1, sizeof(*r));
    r->srv = s;
    r->base = base;
    r->cmd_tv = common_timeout(base, s->conf.timeout_ms, &r->cmd_tv_plain);
    r->handshake_tv = common_timeout(base, s->conf.connect_timeout_ms, &r->handshake_tv_plain);
    r->retry_ev = evtimer_new(base, connect_now, r);
    r->deliver_ev = event_new(base, -1, 0, on_deliver, r);
    r->sentinel_timeout_ev = evtimer_new(base, on_sentinel_timeout, r);
    r->rewatch_ev = evtimer_new(base, on_rewatch, r);
    r->readonly_ev = event_new(base, -1, 0, on_readonly, r);
    uint32_t rnd = 0; /* the links of a server start at different Sentinels, and go round from there */
    RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
    r->sentinel_next = rnd;
    set_state(r, LINK_CONNECTING);
    pthread_mutex_lock(&s->lock);
    s->sealed = true;
    r->next_link = s->links;
    s->links = r;
    pthread_mutex_unlock(&s->lock);
    struct timeval now = {0, 0};
    evtimer_add(r->retry_ev, &now);
    return r;
}

static void really_free(lt_redis_t *r)
{
    lt_redis_server_t *s = r->srv;
    event_free(r->deliver_ev);
    event_free(r->retry_ev);
    event_free(r->sentinel_timeout_ev);
    event_free(r->rewatch_ev);
    event_free(r->readonly_ev);
    pthread_mutex_lock(&s->lock);
    for (lt_redis_t **at = &s->links; *at != NULL; at = &(*at)->next_link) {
        if (*at == r) {
            *at = r->next_link;
            break;
        }
    }
    s->retired_commands += atomic_load(&r->commands);
    s->retired_failures += atomic_load(&r->failures);
    s->retired_timeouts += atomic_load(&r->timeouts);
    s->retired_reconnects += atomic_load(&r->reconnects);
    pthread_mutex_unlock(&s->lock);
    free(r);
}

void lt_redis_free(lt_redis_t *r)
{
    if (r == NULL || r->closing)
        return;
    r->closing = true;
    event_del(r->retry_ev);
    event_del(r->rewatch_ev);
    event_del(r->readonly_ev);
    watch_close(r);
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    r->gen++;
    set_state(r, LINK_DOWN);
    if (ac != NULL)
        redisAsyncFree(ac); /* hiredis answers each of its commands now (on_reply, NULL): they join the queue */
    bool inside_delivery = r->delivering;
    r->delivering = true;
    deliver_all(r);
    if (inside_delivery)
        r->free_after_delivery = true; /* on_deliver ends it once the callback that called us returns */
    else
        really_free(r);
}

/* ---- the server ---------------------------------------------------------------------------------------------- */

/* The trailing line end and spaces an editor leaves are not part of the password. */
static int read_password(lt_redis_server_t *s, const char *key, const char *path, char **out, lt_error_t *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.%s: cannot read '%s'", s->config_path, key, path);
    char buf[512];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    *out = strdup(buf);
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

/* "host:port" or "[v6]:port" into a numeric host, here, once, so that no loop waits for DNS. key: for messages. */
static int resolve_hostport(const lt_redis_server_t *s, const char *key, const char *address, hostport_t *out,
                            lt_error_t *err)
{
    char host[256];
    snprintf(host, sizeof(host), "%s", address);
    char *colon = strrchr(host, ':');
    int port = colon ? atoi(colon + 1) : 0;
    if (colon == NULL || port <= 0 || port > 65535)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.%s: want host:port%s", s->config_path, key,
                            strcmp(key, "address") == 0 ? " or unix:/path" : "");
    *colon = '\0';
    char *h = host;
    if (h[0] == '[' && colon > host && colon[-1] == ']') {
        h++;
        colon[-1] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(h, NULL, &hints, &ai);
    if (rc != 0 || ai == NULL) {
        if (ai != NULL)
            freeaddrinfo(ai);
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.%s: cannot resolve '%s': %s", s->config_path, key, h,
                            rc != 0 ? gai_strerror(rc) : "no address");
    }
    rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, out->host, sizeof(out->host), NULL, 0, NI_NUMERICHOST);
    freeaddrinfo(ai);
    if (rc != 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.%s: cannot use '%s'", s->config_path, key, h);
    out->port = port;
    return 0;
}

/* The address, or every Sentinel (each resolved once). */
static int resolve(lt_redis_server_t *s, const lt_redis_conf_t *conf, lt_error_t *err)
{
    if (conf->nsentinels > 0) {
        s->sentinels = calloc(conf->nsentinels, sizeof(*s->sentinels));
        for (size_t i = 0; i < conf->nsentinels; i++) {
            char key[32];
            snprintf(key, sizeof(key), "sentinels[%zu]", i);
            if (resolve_hostport(s, key, conf->sentinels[i], &s->sentinels[i], err) != 0)
                return -1;
            s->nsentinels++;
        }
        return 0;
    }
    if (strncmp(s->address, "unix:", 5) == 0) {
        s->unix_path = strdup(s->address + 5);
        return 0;
    }
    hostport_t hp;
    if (resolve_hostport(s, "address", s->address, &hp, err) != 0)
        return -1;
    snprintf(s->host, sizeof(s->host), "%s", hp.host);
    s->port = hp.port;
    return 0;
}

static long long or_default(long long v, long long def)
{
    return v > 0 ? v : def;
}

lt_redis_server_t *lt_redis_server_new(const lt_redis_conf_t *conf, const lt_redis_use_t *use, lt_error_t *err)
{
    lt_redis_server_t *s = calloc(1, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    s->config_path = use->config_path ? use->config_path : "redis";
    s->while_down = use->while_down;
    bool sentinels = conf->nsentinels > 0 && conf->master_name != NULL;
    if (sentinels) {
        s->master_name = strdup(conf->master_name);
        size_t n = strlen(conf->master_name) + 16;
        s->address = malloc(n);
        snprintf(s->address, n, "sentinels:%s", conf->master_name);
    } else {
        s->address = strdup(conf->address ? conf->address : "127.0.0.1:6379");
    }
    snprintf(s->label, sizeof(s->label), "%s %s", use->label ? use->label : "redis", s->address);
    s->conf = *conf;
    s->conf.address = s->conf.password_file = s->conf.master_name = s->conf.username = NULL;
    s->conf.sentinel_password_file = s->conf.sentinel_username = NULL;
    s->conf.sentinels = NULL;
    s->conf.nsentinels = 0;
    s->conf.sentinels_list = NULL;
    s->username = conf->username ? strdup(conf->username) : NULL;
    s->sentinel_username = conf->sentinel_username ? strdup(conf->sentinel_username) : NULL;
    /* -1: not read from a config (a test's or a user's own struct): the configuration's default. */
    s->wait_replicas = conf->wait_replicas >= 0 ? conf->wait_replicas : sentinels ? 1 : 0;
    s->wait_timeout_ms = or_default(conf->wait_timeout_ms, 500);
    snprintf(s->wait_timeout_arg, sizeof(s->wait_timeout_arg), "%lld", s->wait_timeout_ms);
    s->conf.timeout_ms = or_default(conf->timeout_ms, 1000);
    s->conf.connect_timeout_ms = or_default(conf->connect_timeout_ms, 1000);
    s->conf.reconnect_min_ms = or_default(conf->reconnect_min_ms, 100);
    s->conf.reconnect_max_ms = or_default(conf->reconnect_max_ms, 5000);
    if (s->conf.reconnect_max_ms < s->conf.reconnect_min_ms)
        s->conf.reconnect_max_ms = s->conf.reconnect_min_ms;
    s->conf.max_timeouts = or_default(conf->max_timeouts, 3);
    if (resolve(s, conf, err) != 0 ||
        (conf->password_file != NULL &&
         read_password(s, "password_file", conf->password_file, &s->password, err) != 0) ||
        (sentinels && conf->sentinel_password_file != NULL &&
         read_password(s, "sentinel_password_file", conf->sentinel_password_file, &s->sentinel_password, err) != 0)) {
        lt_redis_server_free(s);
        return NULL;
    }
    return s;
}

void lt_redis_server_free(lt_redis_server_t *s)
{
    if (s == NULL)
        return;
    char *secrets[] = {s->password, s->sentinel_password};
    for (size_t i = 0; i < 2; i++)
        if (secrets[i] != NULL) {
            OPENSSL_cleanse(secrets[i], strlen(secrets[i]));
            free(secrets[i]);
        }
    free(s->unix_path);
    free(s->sentinels);
    free(s->master_name);
    free(s->username);
    free(s->sentinel_username);
    free(s->address);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *lt_redis_server_address(const lt_redis_server_t *s)
{
    return s->address;
}

static void sha1_hex(const char *text, char out[41])
{
    unsigned char md[20];
    unsigned int n = 0;
    EVP_Digest(text, strlen(text), md, &n, EVP_sha1(), NULL);
    for (unsigned i = 0; i < 20; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

const lt_redis_script_t *lt_redis_server_write_script(lt_redis_server_t *s, const char *text)
{
    lt_redis_script_t *sc = (lt_redis_script_t *)lt_redis_server_script(s, text);
    sc->writes = true;
    return sc;
}

bool lt_redis_server_waits(const lt_redis_server_t *s)
{
    return s->wait_replicas > 0;
}

const lt_redis_script_t *lt_redis_server_script(lt_redis_server_t *s, const char *text)
{
    pthread_mutex_lock(&s->lock);
    bool refused = s->sealed || s->nscripts == MAX_SCRIPTS;
    pthread_mutex_unlock(&s->lock);
    if (refused) {
        lt_log_error("%s: a script registered after its first connection, or too many: a bug", s->label);
        abort();
    }
    lt_redis_script_t *sc = &s->scripts[s->nscripts++];
    sc->text = text;
    sha1_hex(text, sc->sha1);
    return sc;
}

void lt_redis_stats_metrics(lt_buf_t *b, const char *family, const char *whose, const json_t *status)
{
    if (!json_is_true(json_object_get(status, "sentinels")))
        return;
    const json_t *primary = json_object_get(status, "primary"), *role = json_object_get(status, "role");
    char name[128], help[256];
    snprintf(name, sizeof(name), "%s_primary", family);
    snprintf(help, sizeof(help),
             "1 for the Redis primary %s connections last reached through the Sentinels, with the ROLE it answered.",
             whose);
    lt_mbuf_family(b, name, "gauge", help);
    lt_buf_printf(b, "%s{address=\"", name);
    lt_mbuf_label_value(b, json_is_string(primary) ? json_string_value(primary) : "");
    lt_buf_printf(b, "\",role=\"");
    lt_mbuf_label_value(b, json_is_string(role) ? json_string_value(role) : "");
    lt_buf_printf(b, "\"} %d\n", json_is_string(primary));
    snprintf(name, sizeof(name), "%s_failovers_total", family);
    snprintf(help, sizeof(help), "Failovers %s Redis connections followed to a new primary.", whose);
    lt_mbuf_family(b, name, "counter", help);
    lt_buf_printf(b, "%s %lld\n", name, (long long)json_integer_value(json_object_get(status, "failovers")));
    const json_t *since = json_object_get(status, "seconds_since_failover");
    if (json_is_number(since)) {
        snprintf(name, sizeof(name), "%s_seconds_since_failover", family);
        snprintf(help, sizeof(help), "Seconds since %s Redis connections last followed a failover.", whose);
        lt_mbuf_family(b, name, "gauge", help);
        lt_buf_printf(b, "%s %.3f\n", name, json_number_value(since));
    }
}
