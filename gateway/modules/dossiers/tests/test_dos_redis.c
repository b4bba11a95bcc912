/*
 * The Redis backend of the dossier store (lt_dos_redis.c through lt_dos_rlink.c), against a real redis-server that
 * this test starts on a free port and kills at the end: the shared contract (dos_store_cases.h), the sender's
 * lease between instances, a flushed script cache, and Redis going away.
 */
#include <hiredis/hiredis.h>
#include <signal.h>

#include "dos_store_cases.h"
#include "lt_test_redis.h"

static lt_test_redis_t redis;
static int nprefixes; /* each test's key prefix is its own */
static const char *const redis_args[] = {"--appendonly", "no", NULL};

static int group_setup(void **state)
{
    (void)state;
    return lt_test_redis_start(&redis, "dos-redis", redis_args);
}

static int group_teardown(void **state)
{
    (void)state;
    return lt_test_redis_stop(&redis);
}

static void wait_ok(fx_t *fx, bool want)
{
    for (int i = 0; i < 5000 && lt_dos_store_ok(fx->store) != want; i++) {
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
    assert_int_equal(lt_dos_store_ok(fx->store), want);
}

/* Each test gets its own key prefix: a fresh, empty store in the same Redis. */
static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    fx->base = event_base_new();
    snprintf(fx->prefix, sizeof(fx->prefix), "t%d:%d:", (int)getpid(), nprefixes++);
    fx->conf.store.backend = LT_DOS_STORE_REDIS;
    fx->conf.store.redis.conn.address = redis.address;
    fx->conf.store.redis.prefix = fx->prefix;
    fx->conf.store.redis.conn.timeout_ms = 1500;
    fx->conf.store.redis.conn.connect_timeout_ms = 1000;
    lt_error_t err = {0};
    fx->store = lt_dos_store_open(&fx->conf, &err);
    if (fx->store == NULL)
        fail_msg("open: %s", err.detail);
    assert_string_equal(lt_dos_store_backend(fx->store), "redis");
    fx->conn = lt_dos_conn_new(fx->store, fx->base);
    wait_ok(fx, true);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    lt_dos_conn_free(fx->conn);
    lt_dos_store_close(fx->store);
    event_base_free(fx->base);
    free(fx);
    return 0;
}

/* Two instances share one Redis: while one holds the sender's lease, the other's claims are BUSY. */
static void one_instance_sends_at_a_time(void **state)
{
    fx_t *fx = *state;
    got_t g;
    put(fx, "D1", 1, "v1", 1000, &g);
    memset(&g, 0, sizeof(g));
    lt_dos_claim(fx->conn, false, 10, "instance-a", 60000, 2000, on_list, &g);
    wait_call(fx, &g);
    assert_int_equal(g.outcome, LT_DOS_OK);
    assert_int_equal(g.n, 1);
    memset(&g, 0, sizeof(g));
    lt_dos_claim(fx->conn, false, 10, "instance-b", 60000, 2000, on_list, &g);
    wait_call(fx, &g);
    assert_int_equal(g.outcome, LT_DOS_BUSY);
    assert_int_equal(g.n, 0);
    assert_non_null(strstr(g.detail, "instance-a"));
    memset(&g, 0, sizeof(g));
    lt_dos_release(fx->conn, "instance-b", on_done, &g); /* not its lease: nothing happens */
    wait_call(fx, &g);
    memset(&g, 0, sizeof(g));
    lt_dos_claim(fx->conn, false, 10, "instance-b", 60000, 2000, on_list, &g);
    wait_call(fx, &g);
    assert_int_equal(g.outcome, LT_DOS_BUSY);
    memset(&g, 0, sizeof(g));
    lt_dos_release(fx->conn, "instance-a", on_done, &g);
    wait_call(fx, &g);
    memset(&g, 0, sizeof(g));
    lt_dos_claim(fx->conn, false, 10, "instance-b", 60000, 2000, on_list, &g);
    wait_call(fx, &g);
    assert_int_equal(g.outcome, LT_DOS_OK);
    assert_int_equal(g.n, 1);
}

/* SCRIPT FLUSH under a live connection: the next call gets NOSCRIPT and goes again as EVAL. */
static void a_flushed_script_cache_is_refilled(void **state)
{
    fx_t *fx = *state;
    got_t g;
    put(fx, "D1", 1, "v1", 1000, &g);
    redisReply *r = lt_test_redis_command(&redis, NULL, 0, "SCRIPT FLUSH");
    assert_non_null(r);
    freeReplyObject(r);
    assert_int_equal(put(fx, "D1", 2, "v2", 1001, &g), LT_DOS_OK);
    assert_int_equal(view(fx, "D1", &g)->view.version, 2);
}

/* Redis gone: every call answers STORE_ERROR, and the store says it is not ok; back: it answers again. */
static void redis_down_is_a_store_error_until_it_is_back(void **state)
{
    fx_t *fx = *state;
    got_t g;
    put(fx, "D1", 1, "v1", 1000, &g);
    redisReply *r = lt_test_redis_command(&redis, NULL, 0, "SAVE");
    if (r != NULL)
        freeReplyObject(r);
    lt_test_redis_kill(&redis);
    wait_ok(fx, false);
    assert_int_equal(put(fx, "D1", 2, "v2", 1001, &g), LT_DOS_STORE_ERROR);
    assert_non_null(strstr(g.detail, "dossier store"));
    assert_int_equal(view(fx, "D1", &g)->outcome, LT_DOS_STORE_ERROR);
    lt_test_redis_restart(&redis);
    wait_ok(fx, true);
    assert_int_equal(put(fx, "D1", 2, "v2", 1002, &g), LT_DOS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_CASES(setup, teardown),
        cmocka_unit_test_setup_teardown(one_instance_sends_at_a_time, setup, teardown),
        cmocka_unit_test_setup_teardown(a_flushed_script_cache_is_refilled, setup, teardown),
        cmocka_unit_test_setup_teardown(redis_down_is_a_store_error_until_it_is_back, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
