/*
 * The Redis connection layer (gateway/net/lt_redis.c), against a real redis-server that this test starts on a
 * free port and kills at the end: what lt_redis.h promises its users. Answers come in order and never inside the
 * call. Each command gets one answer, even when the connection is freed from a callback. A cancelled command gets
 * none. A stalled Redis costs timeouts, then the connection, which comes back. A refused SELECT or a wrong password
 * keeps the connection down. Scripts survive a flushed script cache, and the figures of freed connections are
 * kept.
 */
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lt_redis.h"
#include "lt_test_redis.h"

static lt_test_redis_t redis;
static const char *const redis_args[] = {"--databases", "4", NULL};

static int group_setup(void **state)
{
    (void)state;
    return lt_test_redis_start(&redis, "redis", redis_args);
}

static int group_teardown(void **state)
{
    (void)state;
    return lt_test_redis_stop(&redis);
}

/* ---- fixture ------------------------------------------------------------------------------------------------ */

typedef struct fx {
    struct event_base *base;
    lt_redis_conf_t conf;
    lt_redis_server_t *server;
    lt_redis_t *r;
} fx_t;

static void conf_defaults(lt_redis_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->address = redis.address;
    c->timeout_ms = 1500;
    c->connect_timeout_ms = 1000;
    c->reconnect_min_ms = 10;
    c->reconnect_max_ms = 50;
    c->max_timeouts = 3;
}

static const lt_redis_use_t test_use = {.config_path = "test.redis", .label = "test redis", .while_down = "tests fail"};

static lt_redis_server_t *server_new(const lt_redis_conf_t *conf)
{
    lt_error_t err = {0};
    lt_redis_server_t *s = lt_redis_server_new(conf, &test_use, &err);
    if (s == NULL)
        fail_msg("server: %s", err.detail);
    return s;
}

static lt_redis_stats_t stats_of(lt_redis_server_t *s)
{
    lt_redis_stats_t st;
    lt_redis_server_stats(s, &st);
    return st;
}

/* Runs the loop until want() holds, or fails the test after a few seconds of turns. */
static void spin_until(fx_t *fx, bool (*want)(void *), void *arg)
{
    for (int i = 0; i < 5000 && !want(arg); i++) {
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
    assert_true(want(arg));
}

static bool is_up(void *arg)
{
    return lt_redis_is_up(arg);
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    fx->base = event_base_new();
    conf_defaults(&fx->conf);
    fx->server = server_new(&fx->conf);
    *state = fx;
    return 0;
}

static void connect_fx(fx_t *fx)
{
    fx->r = lt_redis_new(fx->server, fx->base);
    assert_false(lt_redis_is_up(fx->r)); /* it connects on a later loop turn */
    spin_until(fx, is_up, fx->r);
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    lt_redis_free(fx->r);
    lt_redis_server_free(fx->server);
    event_base_free(fx->base);
    free(fx);
    return 0;
}

/* What a callback saw, on which connection. */
typedef struct got {
    lt_redis_t *r;
    int calls;
    bool ok;
    long long integer;
    char str[64];
    size_t len;
    char failure[160];
    int order; /* the how-manieth answer of its test */
} got_t;

static int answers;

static void on_got(void *arg, const redisReply *reply)
{
    got_t *g = arg;
    g->calls++;
    g->order = ++answers;
    g->ok = reply != NULL;
    if (reply == NULL) {
        snprintf(g->failure, sizeof(g->failure), "%s", lt_redis_failure(g->r));
        return;
    }
    g->integer = reply->integer;
    g->len = reply->str != NULL && reply->len < sizeof(g->str) ? reply->len : 0;
    memcpy(g->str, reply->str != NULL ? reply->str : "", g->len);
}

static bool answered(void *arg)
{
    return ((got_t *)arg)->calls > 0;
}

static lt_redis_cmd_t *cmd(lt_redis_t *r, got_t *g, int argc, const char **argv)
{
    g->r = r;
    return lt_redis_command(r, on_got, g, argc, argv, NULL);
}

/* ---- cases ----------------------------------------------------------------------------------------------------- */

static void answers_come_in_order_and_never_inside_the_call(void **state)
{
    fx_t *fx = *state;
    connect_fx(fx);
    answers = 0;
    got_t a = {0}, b = {0}, c = {0};
    assert_non_null(cmd(fx->r, &a, 3, (const char *[]){"SET", "t:order", "41"}));
    assert_non_null(cmd(fx->r, &b, 2, (const char *[]){"INCR", "t:order"}));
    assert_non_null(cmd(fx->r, &c, 2, (const char *[]){"GET", "t:order"}));
    assert_int_equal(a.calls + b.calls + c.calls, 0);
    spin_until(fx, answered, &c);
    assert_int_equal(a.order, 1);
    assert_int_equal(b.order, 2);
    assert_int_equal(b.integer, 42);
    assert_int_equal(c.order, 3);
    assert_string_equal(c.str, "42");
    assert_int_equal(a.calls + b.calls + c.calls, 3);
}

/* An error reply is a failure, with Redis's words. */
static void an_error_reply_fails_with_its_text(void **state)
{
    fx_t *fx = *state;
    connect_fx(fx);
    got_t a = {0};
    assert_non_null(cmd(fx->r, &a, 2, (const char *[]){"NO-SUCH-COMMAND", "x"}));
    spin_until(fx, answered, &a);
    assert_false(a.ok);
    assert_non_null(strstr(a.failure, "unknown command"));
    assert_true(lt_redis_is_up(fx->r));               /* a refused command is not an outage */
    assert_string_equal(lt_redis_failure(fx->r), ""); /* outside a callback */
}

static void a_cancelled_command_is_never_answered(void **state)
{
    fx_t *fx = *state;
    connect_fx(fx);
    got_t a = {0}, b = {0};
    lt_redis_cancel(cmd(fx->r, &a, 1, (const char *[]){"PING"}));
    assert_non_null(cmd(fx->r, &b, 1, (const char *[]){"PING"}));
    spin_until(fx, answered, &b);
    for (int i = 0; i < 20; i++)
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 1);
}

/* The first answer's callback frees the connection: everything else is answered once, before lt_redis_free
 * returns: the reply that had already come, and NULL for what Redis had not answered yet. */
typedef struct freeing {
    fx_t *fx;
    got_t *already, *issued_now;
    int calls, already_calls_after_free, issued_calls_after_free;
    bool issued_ok;
} freeing_t;

static void on_free_from_callback(void *arg, const redisReply *reply)
{
    freeing_t *f = arg;
    f->calls++;
    /* Issued from a callback: sent, not answered before the free below. */
    assert_non_null(cmd(f->fx->r, f->issued_now, 1, (const char *[]){"PING"}));
    lt_redis_free(f->fx->r);
    f->already_calls_after_free = f->already->calls;
    f->issued_calls_after_free = f->issued_now->calls;
    f->issued_ok = f->issued_now->ok;
    f->fx->r = NULL;
}

static bool freed(void *arg)
{
    return ((freeing_t *)arg)->calls > 0;
}

static void freeing_from_a_callback_answers_every_other_command_once(void **state)
{
    fx_t *fx = *state;
    connect_fx(fx);
    got_t already = {0}, issued_now = {0};
    freeing_t f = {.fx = fx, .already = &already, .issued_now = &issued_now};
    assert_non_null(lt_redis_command(fx->r, on_free_from_callback, &f, 1, (const char *[]){"PING"}, NULL));
    assert_non_null(cmd(fx->r, &already, 1, (const char *[]){"PING"}));
    spin_until(fx, freed, &f);
    assert_int_equal(f.calls, 1);
    assert_int_equal(f.already_calls_after_free, 1);
    assert_int_equal(f.issued_calls_after_free, 1);
    assert_false(f.issued_ok);
    assert_string_equal(issued_now.failure, "connection lost: the client closed");
    for (int i = 0; i < 20; i++)
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
    assert_int_equal(already.calls, 1);
    assert_int_equal(issued_now.calls, 1);
    assert_int_equal(stats_of(fx->server).connections, 0);
}

/* Freed from outside any callback, with commands waiting: each is answered, NULL, before the free returns. */
static void freeing_answers_what_is_waiting(void **state)
{
    fx_t *fx = *state;
    connect_fx(fx);
    got_t a = {0}, b = {0};
    assert_non_null(cmd(fx->r, &a, 1, (const char *[]){"PING"}));
    assert_non_null(cmd(fx->r, &b, 1, (const char *[]){"PING"}));
    lt_redis_free(fx->r);
    fx->r = NULL;
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_false(a.ok);
    assert_true(b.order > a.order);
}

typedef struct counted {
    got_t *gs;
    int n;
} counted_t;

static bool all_answered(void *arg)
{
    counted_t *c = arg;
    for (int i = 0; i < c->n; i++)
        if (c->gs[i].calls == 0)
            return false;
    return true;
}

static bool is_down(void *arg)
{
    return !lt_redis_is_up(arg);
}

/* SIGSTOP: the socket stays open and nothing answers. Each command fails on its timeout, max_timeouts of them drop
 * the connection, and once Redis wakes the connection comes back. A late reply is never a second answer. */
static void a_stalled_redis_costs_timeouts_then_the_connection_which_comes_back(void **state)
{
    fx_t *fx = *state;
    fx->conf.timeout_ms = 100;
    fx->conf.connect_timeout_ms = 100;
    lt_redis_server_free(fx->server);
    fx->server = server_new(&fx->conf);
    connect_fx(fx);
    got_t gs[3] = {{0}};
    kill(redis.pid, SIGSTOP);
    for (int i = 0; i < 3; i++)
        assert_non_null(cmd(fx->r, &gs[i], 1, (const char *[]){"PING"}));
    counted_t all = {gs, 3};
    spin_until(fx, all_answered, &all);
    for (int i = 0; i < 3; i++) {
        assert_false(gs[i].ok);
        assert_non_null(strstr(gs[i].failure, "timeout"));
    }
    spin_until(fx, is_down, fx->r);
    lt_redis_stats_t st = stats_of(fx->server);
    assert_true(st.timeouts >= 3);
    assert_int_equal(st.up, 0);
    assert_non_null(strstr(st.last_error, "got no answer within their timeout"));
    got_t refused = {0};
    assert_null(cmd(fx->r, &refused, 1, (const char *[]){"PING"})); /* down: refused at once, nothing queued */

    kill(redis.pid, SIGCONT);
    spin_until(fx, is_up, fx->r);
    assert_int_equal(stats_of(fx->server).up, 1);
    got_t after = {0};
    assert_non_null(cmd(fx->r, &after, 1, (const char *[]){"PING"}));
    spin_until(fx, answered, &after);
    assert_string_equal(after.str, "PONG");
    for (int i = 0; i < 3; i++)
        assert_int_equal(gs[i].calls, 1);
    assert_int_equal(refused.calls, 0);
}

static bool handshake_failed(void *arg)
{
    return strstr(stats_of(arg).last_error, "handshake failed") != NULL;
}

/* The connection would otherwise work on database 0, among another user's keys. */
static void a_refused_select_keeps_the_connection_down(void **state)
{
    fx_t *fx = *state;
    fx->conf.db = 5;
    lt_redis_server_free(fx->server);
    fx->server = server_new(&fx->conf);
    fx->r = lt_redis_new(fx->server, fx->base);
    for (int i = 0; i < 5000 && !handshake_failed(fx->server); i++) {
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
    lt_redis_stats_t st = stats_of(fx->server);
    assert_non_null(strstr(st.last_error, "handshake failed: SELECT 5 refused"));
    assert_int_equal(st.up, 0);
    assert_false(lt_redis_is_up(fx->r));
}

static void the_database_is_selected(void **state)
{
    fx_t *fx = *state;
    fx->conf.db = 3;
    lt_redis_server_free(fx->server);
    fx->server = server_new(&fx->conf);
    connect_fx(fx);
    got_t a = {0};
    assert_non_null(cmd(fx->r, &a, 3, (const char *[]){"SET", "t:in-db-3", "yes"}));
    spin_until(fx, answered, &a);
    redisReply *in0 = lt_test_redis_command(&redis, NULL, 0, "EXISTS t:in-db-3");
    redisReply *in3 = lt_test_redis_command(&redis, NULL, 3, "GET t:in-db-3");
    assert_int_equal(in0->integer, 0);
    assert_string_equal(in3->str, "yes");
    freeReplyObject(in0);
    freeReplyObject(in3);
}

static void write_password(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* AUTH with the password file's first line; a wrong password keeps the connection down, and says why. */
static void the_password_is_sent_and_a_wrong_one_keeps_it_down(void **state)
{
    fx_t *fx = *state;
    char right[300], wrong[300];
    snprintf(right, sizeof(right), "%s/right.password", redis.dir);
    snprintf(wrong, sizeof(wrong), "%s/wrong.password", redis.dir);
    write_password(right, "not-a-real-password\n");
    write_password(wrong, "another-one\n");
    freeReplyObject(lt_test_redis_command(&redis, NULL, 0, "CONFIG SET requirepass not-a-real-password"));

    fx->conf.password_file = right;
    lt_redis_server_free(fx->server);
    fx->server = server_new(&fx->conf);
    connect_fx(fx);

    fx->conf.password_file = wrong;
    lt_redis_server_t *bad = server_new(&fx->conf);
    lt_redis_t *r = lt_redis_new(bad, fx->base);
    for (int i = 0; i < 5000 && !handshake_failed(bad); i++) {
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
    lt_redis_stats_t st = stats_of(bad);
    freeReplyObject(lt_test_redis_command(&redis, "not-a-real-password", 0, "CONFIG SET requirepass %s", ""));
    assert_int_equal(st.up, 0);
    assert_non_null(strstr(st.last_error, "handshake failed: AUTH refused: WRONGPASS"));
    lt_redis_free(r);
    lt_redis_server_free(bad);
}

/* ARGV[1] back, and a write so that the test can count runs. */
static const char echo_script[] = "redis.call('INCR', KEYS[1]) return ARGV[1]";

static void a_script_is_loaded_on_connect_and_survives_a_flushed_cache(void **state)
{
    fx_t *fx = *state;
    const lt_redis_script_t *echo = lt_redis_server_script(fx->server, echo_script);
    redisReply *del = lt_test_redis_command(&redis, NULL, 0, "DEL t:runs");
    freeReplyObject(del);
    freeReplyObject(lt_test_redis_command(&redis, NULL, 0, "SCRIPT FLUSH"));
    connect_fx(fx);
    redisReply *loaded =
        lt_test_redis_command(&redis, NULL, 0, "EVAL %s 0 %s", "return redis.sha1hex(ARGV[1])", echo_script);
    redisReply *exists = lt_test_redis_command(&redis, NULL, 0, "SCRIPT EXISTS %s", loaded->str);
    assert_int_equal(exists->element[0]->integer, 1); /* loaded before the connection counted as up */
    freeReplyObject(loaded);
    freeReplyObject(exists);

    got_t a = {.r = fx->r}, b = {.r = fx->r};
    assert_non_null(lt_redis_eval(fx->r, echo, 1, on_got, &a, 2, (const char *[]){"t:runs", "first"}, NULL));
    spin_until(fx, answered, &a);
    assert_string_equal(a.str, "first");
    assert_int_equal(a.len, 5);
    freeReplyObject(lt_test_redis_command(&redis, NULL, 0, "SCRIPT FLUSH"));
    size_t lens[] = {6, 3};
    assert_non_null(lt_redis_eval(fx->r, echo, 1, on_got, &b, 2, (const char *[]){"t:runs", "a\0b"}, lens));
    spin_until(fx, answered, &b);
    assert_true(b.ok);
    assert_int_equal(b.len, 3); /* binary-safe: "a\0b" came back whole, through the EVAL retry */
    assert_memory_equal(b.str, "a\0b", 3);
    redisReply *runs = lt_test_redis_command(&redis, NULL, 0, "GET t:runs");
    assert_string_equal(runs->str, "2"); /* NOSCRIPT did not run it: once each */
    freeReplyObject(runs);
}

static void a_freed_connections_figures_are_kept(void **state)
{
    fx_t *fx = *state;
    connect_fx(fx);
    lt_redis_t *other = lt_redis_new(fx->server, fx->base);
    spin_until(fx, is_up, other);
    assert_int_equal(stats_of(fx->server).connections, 2);
    assert_int_equal(stats_of(fx->server).up, 2);
    got_t a = {0};
    assert_non_null(cmd(other, &a, 1, (const char *[]){"PING"}));
    spin_until(fx, answered, &a);
    uint64_t before = stats_of(fx->server).commands;
    lt_redis_free(other);
    lt_redis_stats_t st = stats_of(fx->server);
    assert_int_equal(st.connections, 1);
    assert_int_equal(st.up, 1);
    assert_int_equal(st.commands, before);
}

static void bad_settings_are_refused_at_start_up(void **state)
{
    lt_redis_conf_t c;
    conf_defaults(&c);
    lt_error_t err = {0};
    c.address = "no-port-here";
    assert_null(lt_redis_server_new(&c, &test_use, &err));
    assert_string_equal(err.detail, "test.redis.address: want host:port or unix:/path");
    c.address = "no-such-host.invalid:6379";
    assert_null(lt_redis_server_new(&c, &test_use, &err));
    assert_non_null(strstr(err.detail, "test.redis.address: cannot resolve 'no-such-host.invalid'"));
    c.address = redis.address;
    c.password_file = "/nonexistent/redis.password";
    assert_null(lt_redis_server_new(&c, &test_use, &err));
    assert_string_equal(err.detail, "test.redis.password_file: cannot read '/nonexistent/redis.password'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(answers_come_in_order_and_never_inside_the_call, setup, teardown),
        cmocka_unit_test_setup_teardown(an_error_reply_fails_with_its_text, setup, teardown),
        cmocka_unit_test_setup_teardown(a_cancelled_command_is_never_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(freeing_from_a_callback_answers_every_other_command_once, setup, teardown),
        cmocka_unit_test_setup_teardown(freeing_answers_what_is_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(a_stalled_redis_costs_timeouts_then_the_connection_which_comes_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_refused_select_keeps_the_connection_down, setup, teardown),
        cmocka_unit_test_setup_teardown(the_database_is_selected, setup, teardown),
        cmocka_unit_test_setup_teardown(the_password_is_sent_and_a_wrong_one_keeps_it_down, setup, teardown),
        cmocka_unit_test_setup_teardown(a_script_is_loaded_on_connect_and_survives_a_flushed_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(a_freed_connections_figures_are_kept, setup, teardown),
        cmocka_unit_test(bad_settings_are_refused_at_start_up),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
