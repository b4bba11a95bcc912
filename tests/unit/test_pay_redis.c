/*
 * The Redis backend of the payment store (gateway/pay/lt_pay_redis.c), against a real redis-server that this test
 * starts on a free port (appendonly, fsync always, in a temporary directory) and kills at the end: the shared
 * contract (pay_store_cases.h), two instances settling one payment at the same moment, a flushed script cache, and
 * Redis dying and coming back.
 */
#include <hiredis/hiredis.h>
#include <signal.h>

#include "pay_store_cases.h"
#include "lt_test_redis.h"

static lt_test_redis_t redis;
static int nprefixes; /* each test's key prefix is its own */
static const char *const redis_args[] = {"--appendonly", "yes", "--appendfsync", "always", NULL};

static int group_setup(void **state)
{
    (void)state;
    return lt_test_redis_start(&redis, "pay-redis", redis_args);
}

static int group_teardown(void **state)
{
    (void)state;
    return lt_test_redis_stop(&redis);
}

static void wait_ok(fx_t *fx, bool want)
{
    for (int i = 0; i < 5000 && lt_pay_store_ok(fx->store) != want; i++) {
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
    assert_int_equal(lt_pay_store_ok(fx->store), want);
}

/* Each test gets its own key prefix: a fresh, empty store in the same Redis. */
static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    fx->base = event_base_new();
    snprintf(fx->prefix, sizeof(fx->prefix), "t%d:%d:", (int)getpid(), nprefixes++);
    fx->conf.store.backend = LT_PAY_STORE_REDIS;
    fx->conf.store.redis.conn.address = redis.address;
    fx->conf.store.redis.prefix = fx->prefix;
    fx->conf.store.redis.conn.timeout_ms = 1500;
    fx->conf.store.redis.conn.connect_timeout_ms = 1000;
    lt_error_t err = {0};
    fx->store = lt_pay_store_open(&fx->conf, &err);
    if (fx->store == NULL)
        fail_msg("open: %s", err.detail);
    assert_string_equal(lt_pay_store_backend(fx->store), "redis");
    assert_false(lt_pay_store_ok(fx->store)); /* no conn yet */
    fx->conn = lt_pay_conn_new(fx->store, fx->base);
    wait_ok(fx, true);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    lt_pay_conn_free(fx->conn);
    lt_pay_store_close(fx->store);
    event_base_free(fx->base);
    free(fx);
    return 0;
}

/* Acceptance 3: two instances get the same IPN at the same moment: one 00, one 02, one event. */
static void two_conns_settling_at_once_record_it_once(void **state)
{
    fx_t *fx = *state;
    got_t g;
    lt_pay_conn_t *other = lt_pay_conn_new(fx->store, fx->base);
    spin(fx, 100); /* its connection is up */
    lt_payment_t p = make_payment("PAY-X-01", 150000, 1000, NULL, NULL);
    assert_int_equal(create_now(fx, &p, &g), LT_PAY_OK);

    got_t a = {0}, b = {0};
    lt_pay_settlement_t s1 = make_settlement("PAY-X-01", 15000000, LT_PAY_PAID, 2000);
    lt_pay_settlement_t s2 = make_settlement("PAY-X-01", 15000000, LT_PAY_PAID, 2001);
    lt_pay_settle(fx->conn, &s1, on_done, &a);
    lt_pay_settle(other, &s2, on_done, &b);
    for (int i = 0; i < 3000 && (a.calls == 0 || b.calls == 0); i++) {
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_true((a.outcome == LT_PAY_OK && b.outcome == LT_PAY_ALREADY_FINAL) ||
                (a.outcome == LT_PAY_ALREADY_FINAL && b.outcome == LT_PAY_OK));
    const got_t *winner = a.outcome == LT_PAY_OK ? &a : &b, *loser = a.outcome == LT_PAY_OK ? &b : &a;
    assert_int_equal(loser->payment.state, LT_PAY_PAID);
    assert_true(loser->payment.updated_at_ms == winner->payment.updated_at_ms); /* the winner's record, unchanged */

    assert_int_equal(list_now(fx, -1, 10, &g)->n, 1);
    assert_string_equal(g.ids[0], "evt-PAY-X-01");
    lt_pay_counts_t c = counts_now(fx);
    assert_int_equal(c.outbox_backlog, 1);
    assert_int_equal(c.by_state[LT_PAY_PAID], 1);
    assert_int_equal(c.by_state[LT_PAY_PENDING], 0);
    lt_pay_conn_free(other);
}

/* SCRIPT FLUSH under a live connection: EVALSHA answers NOSCRIPT, and the op goes again as EVAL. */
static void a_flushed_script_cache_is_refilled(void **state)
{
    fx_t *fx = *state;
    got_t g;
    lt_payment_t p = make_payment("PAY-S-01", 1000, 1000, NULL, NULL);
    assert_int_equal(create_now(fx, &p, &g), LT_PAY_OK);
    freeReplyObject(lt_test_redis_command(&redis, NULL, 0, "SCRIPT FLUSH"));
    lt_pay_settlement_t s = make_settlement("PAY-S-01", 100000, LT_PAY_PAID, 2000);
    assert_int_equal(settle_now(fx, &s, &g), LT_PAY_OK);
    assert_int_equal(settle_now(fx, &s, &g), LT_PAY_ALREADY_FINAL);
    assert_int_equal(counts_now(fx).outbox_backlog, 1);
}

/* Redis killed: STORE_ERROR at once, and the store says so; after a restart (appendonly) nothing is lost. */
static void redis_down_answers_store_error_and_loses_nothing(void **state)
{
    fx_t *fx = *state;
    got_t g;
    lt_payment_t p = make_payment("PAY-D-01", 1000, 1000, "portal\nd", "fp-d");
    assert_int_equal(create_now(fx, &p, &g), LT_PAY_OK);
    lt_pay_settlement_t s = make_settlement("PAY-D-01", 100000, LT_PAY_PAID, 2000);
    assert_int_equal(settle_now(fx, &s, &g), LT_PAY_OK);

    lt_test_redis_kill(&redis);
    assert_int_equal(get_now(fx, "PAY-D-01", &g), LT_PAY_STORE_ERROR);
    wait_ok(fx, false);
    lt_payment_t q = make_payment("PAY-D-02", 1000, 1000, NULL, NULL);
    memset(&g, 0, sizeof(g));
    lt_pay_create(fx->conn, &q, on_done, &g);
    assert_int_equal(g.calls, 0);
    event_base_loop(fx->base, EVLOOP_NONBLOCK); /* one turn: at once, not after a timeout */
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.outcome, LT_PAY_STORE_ERROR);
    assert_non_null(strstr(g.detail, "not connected"));

    lt_test_redis_restart(&redis);
    wait_ok(fx, true);
    assert_int_equal(get_now(fx, "PAY-D-01", &g), LT_PAY_OK);
    assert_int_equal(g.payment.state, LT_PAY_PAID);
    assert_string_equal(g.payment.transaction_no, s.transaction_no);
    assert_int_equal(settle_now(fx, &s, &g), LT_PAY_ALREADY_FINAL); /* scripts reloaded on the new connection */
    lt_payment_t retry = make_payment("PAY-D-03", 1000, 1000, "portal\nd", "fp-d");
    assert_int_equal(create_now(fx, &retry, &g), LT_PAY_EXISTS);
    assert_int_equal(get_now(fx, "PAY-D-02", &g), LT_PAY_NOT_FOUND);
    assert_int_equal(list_now(fx, -1, 10, &g)->n, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_CASES(setup, teardown),
        cmocka_unit_test_setup_teardown(two_conns_settling_at_once_record_it_once, setup, teardown),
        cmocka_unit_test_setup_teardown(a_flushed_script_cache_is_refilled, setup, teardown),
        cmocka_unit_test_setup_teardown(redis_down_answers_store_error_and_loses_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
