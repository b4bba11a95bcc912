/* hiredis 0.14 async on a worker's loop: handshake, per-command timeouts, reconnection with backoff. */
#include "lt_cache_redis.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_log.h"

struct lt_redis {
    struct event_base *base;
    lt_redis_conf_t conf;
    lt_redis_health_t *health;
    redisAsyncContext *ac; /* NULL while down */
    uint64_t gen;          /* which connection a command belongs to */
    lt_redis_state_t state;
    struct event *retry_ev;
    const struct timeval *cmd_tv, *handshake_tv; /* libevent common timeouts: one queue each, not a heap */
    struct timeval cmd_tv_plain, handshake_tv_plain;
    int failed_attempts;
    int timeouts_in_a_row;
    bool freeing, outage_logged, error_reply_logged;
};

struct lt_redis_cmd {
    lt_redis_t *r;
    lt_redis_reply_fn fn; /* NULL once answered (timeout) or cancelled */
    void *arg;
    struct event *timer;
    uint64_t gen;
};

static void schedule_reconnect(lt_redis_t *r);

/* ---- health ---------------------------------------------------------------- */

void lt_redis_health_init(lt_redis_health_t *h)
{
    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->lock, NULL);
    atomic_store(&h->state, LT_REDIS_DOWN);
}

void lt_redis_health_destroy(lt_redis_health_t *h)
{
    pthread_mutex_destroy(&h->lock);
}

void lt_redis_health_last_error(lt_redis_health_t *h, char *out, size_t outlen)
{
    pthread_mutex_lock(&h->lock);
    snprintf(out, outlen, "%s", h->last_error);
    pthread_mutex_unlock(&h->lock);
}

static void note_error(lt_redis_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note_error(lt_redis_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&r->health->lock);
    vsnprintf(r->health->last_error, sizeof(r->health->last_error), fmt, ap);
    pthread_mutex_unlock(&r->health->lock);
    va_end(ap);
}

static void set_state(lt_redis_t *r, lt_redis_state_t s)
{
    r->state = s;
    atomic_store(&r->health->state, (int)s);
}

/* ---- commands -------------------------------------------------------------- */

static void on_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    lt_redis_cmd_t *cmd = privdata;
    lt_redis_t *r = cmd->r;
    const redisReply *reply = reply_;
    if (cmd->timer != NULL)
        event_free(cmd->timer);
    if (reply == NULL && cmd->gen == r->gen && r->state == LT_REDIS_UP)
        set_state(r, LT_REDIS_DOWN); /* the connection is going: fail new commands at once from now on */
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        note_error(r, "%s", reply->str);
        if (!r->error_reply_logged)
            lt_log_warn("%s: command refused: %s", r->conf.label, reply->str);
        r->error_reply_logged = true;
        reply = NULL;
    } else if (reply != NULL && cmd->gen == r->gen) {
        r->timeouts_in_a_row = 0;
    }
    if (reply == NULL)
        atomic_fetch_add(&r->health->failures, 1);
    lt_redis_reply_fn fn = cmd->fn;
    void *arg = cmd->arg;
    free(cmd);
    if (fn != NULL)
        fn(arg, reply);
}

/* Drops the connection: every pending command fails now, and a new connection is tried after a backoff. */
/* What the outage means for this connection's users, for the one warning logged per outage. */
static const char *while_down(const lt_redis_t *r)
{
    return r->conf.while_down ? r->conf.while_down : "lookups go to the national systems until it is back";
}

static void drop(lt_redis_t *r, const char *why)
{
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    r->gen++;
    set_state(r, LT_REDIS_DOWN);
    note_error(r, "%s", why);
    if (!r->outage_logged)
        lt_log_warn("%s: %s; %s", r->conf.label, why, while_down(r));
    r->outage_logged = true;
    if (ac != NULL)
        redisAsyncFree(ac); /* its on_disconnect sees r->ac != ac and stays out of the way */
    schedule_reconnect(r);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    lt_redis_cmd_t *cmd = arg;
    lt_redis_t *r = cmd->r;
    lt_redis_reply_fn fn = cmd->fn;
    void *fn_arg = cmd->arg;
    uint64_t gen = cmd->gen;
    cmd->fn = NULL; /* the reply, if it ever comes, is dropped: cmd lives until hiredis lets go of it */
    atomic_fetch_add(&r->health->timeouts, 1);
    atomic_fetch_add(&r->health->failures, 1);
    bool stuck = gen == r->gen && ++r->timeouts_in_a_row >= r->conf.max_timeouts;
    if (fn != NULL)
        fn(fn_arg, NULL);
    /* cmd may be gone from here on (fn may have dropped the connection). */
    if (stuck && gen == r->gen && r->ac != NULL) {
        char why[96];
        snprintf(why, sizeof(why), "%d commands in a row got no answer within their timeout", r->conf.max_timeouts);
        drop(r, why);
    }
}

static lt_redis_cmd_t *send_command(lt_redis_t *r, const struct timeval *tv, lt_redis_reply_fn fn, void *arg, int argc,
                                    const char **argv, const size_t *argvlen)
{
    lt_redis_cmd_t *cmd = calloc(1, sizeof(*cmd));
    cmd->r = r;
    cmd->fn = fn;
    cmd->arg = arg;
    cmd->gen = r->gen;
    if (redisAsyncCommandArgv(r->ac, on_reply, cmd, argc, argv, argvlen) != REDIS_OK) {
        free(cmd);
        return NULL;
    }
    cmd->timer = evtimer_new(r->base, on_timeout, cmd);
    evtimer_add(cmd->timer, tv);
    atomic_fetch_add(&r->health->commands, 1);
    return cmd;
}

lt_redis_cmd_t *lt_redis_command(lt_redis_t *r, lt_redis_reply_fn fn, void *arg, int argc, const char **argv,
                                 const size_t *argvlen)
{
    if (r == NULL || r->state != LT_REDIS_UP || r->ac == NULL)
        return NULL;
    return send_command(r, r->cmd_tv, fn, arg, argc, argv, argvlen);
}

void lt_redis_cancel(lt_redis_cmd_t *cmd)
{
    if (cmd != NULL)
        cmd->fn = NULL;
}

bool lt_redis_is_up(const lt_redis_t *r)
{
    return r != NULL && r->state == LT_REDIS_UP;
}

/* ---- connecting -------------------------------------------------------------- */

static void on_ping(void *arg, const redisReply *reply)
{
    lt_redis_t *r = arg;
    if (r->state != LT_REDIS_CONNECTING || r->ac == NULL)
        return; /* an older connection's handshake */
    if (reply == NULL) {
        char why[200];
        lt_redis_health_last_error(r->health, why, sizeof(why));
        drop(r, why[0] ? why : "the handshake got no answer");
        return;
    }
    set_state(r, LT_REDIS_UP);
    r->failed_attempts = 0;
    r->timeouts_in_a_row = 0;
    r->error_reply_logged = false;
    note_error(r, "%s", "");
    lt_log_info("%s: connected", r->conf.label);
    r->outage_logged = false;
}

/* A failed AUTH or SELECT fails the PING that follows it too; only the PING decides. */
static void on_handshake_step(void *arg, const redisReply *reply) {}

static void handshake(lt_redis_t *r)
{
    char db[16];
    snprintf(db, sizeof(db), "%d", r->conf.db);
    const char *auth[] = {"AUTH", r->conf.password};
    const char *select[] = {"SELECT", db};
    const char *ping[] = {"PING"};
    if (r->conf.password != NULL)
        send_command(r, r->handshake_tv, on_handshake_step, r, 2, auth, NULL);
    if (r->conf.db != 0)
        send_command(r, r->handshake_tv, on_handshake_step, r, 2, select, NULL);
    if (send_command(r, r->handshake_tv, on_ping, r, 1, ping, NULL) == NULL)
        drop(r, "cannot queue the handshake");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    lt_redis_t *r = ac->data;
    if (r->ac != ac || status == REDIS_OK)
        return;
    /* hiredis frees ac after this returns. */
    r->ac = NULL;
    r->gen++;
    set_state(r, LT_REDIS_DOWN);
    note_error(r, "cannot connect: %s", ac->errstr);
    if (!r->outage_logged)
        lt_log_warn("%s: cannot connect (%s); %s", r->conf.label, ac->errstr, while_down(r));
    r->outage_logged = true;
    schedule_reconnect(r);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    lt_redis_t *r = ac->data;
    if (r->ac != ac)
        return;
    r->ac = NULL;
    r->gen++;
    set_state(r, LT_REDIS_DOWN);
    note_error(r, "connection lost: %s", status == REDIS_OK ? "closed" : ac->errstr);
    if (!r->outage_logged)
        lt_log_warn("%s: connection lost (%s); %s", r->conf.label, status == REDIS_OK ? "closed" : ac->errstr,
                    while_down(r));
    r->outage_logged = true;
    schedule_reconnect(r);
}

static void connect_now(evutil_socket_t fd, short what, void *arg)
{
    lt_redis_t *r = arg;
    r->gen++;
    set_state(r, LT_REDIS_CONNECTING);
    /* A numeric address: hiredis's getaddrinfo() then never asks DNS, so the loop never blocks here. */
    redisAsyncContext *ac =
        r->conf.unix_path ? redisAsyncConnectUnix(r->conf.unix_path) : redisAsyncConnect(r->conf.host, r->conf.port);
    if (ac == NULL || ac->err) {
        set_state(r, LT_REDIS_DOWN);
        note_error(r, "cannot connect: %s", ac ? ac->errstr : "out of memory");
        if (!r->outage_logged)
            lt_log_warn("%s: cannot connect (%s)", r->conf.label, ac ? ac->errstr : "out of memory");
        r->outage_logged = true;
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

/* Exponential, capped, half of it random: workers and instances do not all knock at the same instant. */
static int64_t backoff_ms(lt_redis_t *r)
{
    int64_t d = r->conf.reconnect_min_ms;
    for (int i = 0; i < r->failed_attempts && d < r->conf.reconnect_max_ms; i++)
        d *= 2;
    if (d > r->conf.reconnect_max_ms)
        d = r->conf.reconnect_max_ms;
    uint32_t rnd = 0;
    RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
    return d / 2 + (int64_t)(rnd % (uint32_t)(d / 2 + 1));
}

static void schedule_reconnect(lt_redis_t *r)
{
    if (r->freeing)
        return;
    int64_t ms = backoff_ms(r);
    r->failed_attempts++;
    atomic_fetch_add(&r->health->reconnects, 1);
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

lt_redis_t *lt_redis_new(struct event_base *base, const lt_redis_conf_t *conf, lt_redis_health_t *health)
{
    lt_redis_t *r = calloc(1, sizeof(*r));
    r->base = base;
    r->conf = *conf;
    r->health = health;
    r->cmd_tv = common_timeout(base, conf->timeout_ms, &r->cmd_tv_plain);
    r->handshake_tv = common_timeout(base, conf->connect_timeout_ms, &r->handshake_tv_plain);
    r->retry_ev = evtimer_new(base, connect_now, r);
    set_state(r, LT_REDIS_CONNECTING);
    struct timeval now = {0, 0};
    evtimer_add(r->retry_ev, &now);
    return r;
}

void lt_redis_free(lt_redis_t *r)
{
    if (r == NULL)
        return;
    r->freeing = true;
    event_free(r->retry_ev);
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    r->gen++;
    set_state(r, LT_REDIS_DOWN);
    if (ac != NULL)
        redisAsyncFree(ac);
    free(r);
}
