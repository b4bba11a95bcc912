/*
 * The Redis keys every Redis section shares (LT_REDIS_CONF_FIELDS, lt_config_check_redis), read through
 * payments.store.redis and cache.redis: one address or Sentinels with a master_name, never both, errors that name
 * the key path, the WAIT defaults, and the credentials.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_world.h"
#include "lt_config.h"
#include "lt_pay_config.h"

typedef config_world_t world_t;

extern const lt_module_t lt_payments_module;
static const lt_module_t *const modules[] = {&lt_payments_module, NULL};

/* payments.store.redis is `redis`, cache.redis is `cache_redis` (or absent: "{}"). Every file is the one secret. */
static lt_config_t *load(world_t *w, const char *redis, const char *cache_redis, lt_error_t *err)
{
    FILE *f = fopen(w->config, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"listeners\": {\"api\": {\"cert\": \"secret\", \"key\": \"secret\", \"client_ca\": \"secret\"},"
            "               \"callbacks\": {\"cert\": \"secret\", \"key\": \"secret\"}},"
            " \"upstreams\": {}, \"clients\": {},"
            " \"cache\": {\"redis\": %s},"
            " \"payments\": {\"base_url\": \"https://127.0.0.1:9105\", \"tmn_code\": \"LTDEV001\","
            "              \"hash_secret_file\": \"secret\", \"public_url\": \"https://localhost:8444\","
            "              \"store\": {\"backend\": \"redis\", \"redis\": %s}}}",
            cache_redis, redis);
    fclose(f);
    lt_error_clear(err);
    return lt_config_load(w->config, NULL, modules, err);
}

static const lt_redis_conf_t *store_redis(const lt_config_t *c)
{
    const lt_payments_conf_t *pc = lt_config_module_conf(c, &lt_payments_module);
    assert_non_null(pc);
    return &pc->store.redis.conn;
}

static void assert_refused(world_t *w, const char *redis, const char *cache_redis, const char *names)
{
    lt_error_t err;
    lt_config_t *c = load(w, redis, cache_redis, &err);
    if (c != NULL)
        fail_msg("redis %s / cache %s was accepted", redis, cache_redis);
    assert_string_equal(err.code, "config");
    if (strstr(err.detail, names) == NULL)
        fail_msg("the message \"%s\" does not name %s", err.detail, names);
}

static void sentinels_with_a_master_name_are_read_and_wait_for_one_replica(void **state)
{
    lt_error_t err;
    lt_config_t *c = load(*state,
                          "{\"sentinels\": [\"10.0.0.11:26379\", \"10.0.0.12:26379\", \"10.0.0.13:26379\"],"
                          " \"master_name\": \"province\"}",
                          "{}", &err);
    if (c == NULL)
        fail_msg("refused: %s", err.detail);
    const lt_redis_conf_t *rc = store_redis(c);
    assert_null(rc->address);
    assert_int_equal(rc->nsentinels, 3);
    assert_string_equal(rc->sentinels[0], "10.0.0.11:26379");
    assert_string_equal(rc->sentinels[2], "10.0.0.13:26379");
    assert_string_equal(rc->master_name, "province");
    assert_int_equal(rc->wait_replicas, 1);
    assert_int_equal(rc->wait_timeout_ms, 500);
    assert_null(rc->sentinels_list); /* the loaded config keeps no JSON */
    lt_config_free(c);
}

static void one_address_waits_for_no_replica_unless_told(void **state)
{
    lt_error_t err;
    lt_config_t *c = load(*state, "{\"address\": \"10.0.0.5:6379\"}", "{}", &err);
    if (c == NULL)
        fail_msg("refused: %s", err.detail);
    assert_string_equal(store_redis(c)->address, "10.0.0.5:6379");
    assert_int_equal(store_redis(c)->nsentinels, 0);
    assert_int_equal(store_redis(c)->wait_replicas, 0);
    lt_config_free(c);
    c = load(*state, "{\"address\": \"10.0.0.5:6379\", \"wait_replicas\": 2, \"wait_timeout_ms\": 300}", "{}", &err);
    if (c == NULL)
        fail_msg("refused: %s", err.detail);
    assert_int_equal(store_redis(c)->wait_replicas, 2);
    assert_int_equal(store_redis(c)->wait_timeout_ms, 300);
    lt_config_free(c);
}

static void neither_is_the_local_redis(void **state)
{
    lt_error_t err;
    lt_config_t *c = load(*state, "{}", "{}", &err);
    if (c == NULL)
        fail_msg("refused: %s", err.detail);
    assert_string_equal(store_redis(c)->address, "127.0.0.1:6379");
    lt_config_free(c);
}

static void credentials_are_read(void **state)
{
    lt_error_t err;
    lt_config_t *c = load(*state,
                          "{\"sentinels\": [\"10.0.0.11:26379\"], \"master_name\": \"province\","
                          " \"username\": \"gateway\", \"password_file\": \"secret\","
                          " \"sentinel_username\": \"watcher\", \"sentinel_password_file\": \"secret\"}",
                          "{}", &err);
    if (c == NULL)
        fail_msg("refused: %s", err.detail);
    const lt_redis_conf_t *rc = store_redis(c);
    assert_string_equal(rc->username, "gateway");
    assert_string_equal(rc->sentinel_username, "watcher");
    assert_non_null(strstr(rc->password_file, "/secret"));
    assert_non_null(strstr(rc->sentinel_password_file, "/secret"));
    lt_config_free(c);
}

static void both_an_address_and_sentinels_are_refused(void **state)
{
    assert_refused(*state,
                   "{\"address\": \"10.0.0.5:6379\", \"sentinels\": [\"10.0.0.11:26379\"], \"master_name\": \"p\"}",
                   "{}", "payments.store.redis.address");
}

static void sentinels_without_a_master_name_are_refused(void **state)
{
    assert_refused(*state, "{\"sentinels\": [\"10.0.0.11:26379\"]}", "{}", "payments.store.redis.master_name");
    assert_refused(*state, "{\"sentinels\": [\"10.0.0.11:26379\"], \"master_name\": \"\"}", "{}",
                   "payments.store.redis.master_name");
}

static void a_master_name_without_sentinels_is_refused(void **state)
{
    assert_refused(*state, "{\"master_name\": \"province\"}", "{}", "payments.store.redis.sentinels");
}

static void a_bad_sentinel_list_is_named(void **state)
{
    assert_refused(*state, "{\"sentinels\": [], \"master_name\": \"p\"}", "{}", "payments.store.redis.sentinels");
    assert_refused(*state, "{\"sentinels\": [\"10.0.0.11:26379\", \"no-port\"], \"master_name\": \"p\"}", "{}",
                   "payments.store.redis.sentinels[1]");
    assert_refused(*state, "{\"sentinels\": [26379], \"master_name\": \"p\"}", "{}",
                   "payments.store.redis.sentinels[0]");
    assert_refused(*state, "{\"sentinels\": \"10.0.0.11:26379\", \"master_name\": \"p\"}", "{}",
                   "payments.store.redis.sentinels");
}

static void credentials_need_their_password_file(void **state)
{
    assert_refused(*state, "{\"username\": \"gateway\"}", "{}", "payments.store.redis.password_file");
    assert_refused(*state,
                   "{\"sentinels\": [\"10.0.0.11:26379\"], \"master_name\": \"p\", \"sentinel_username\": \"w\"}", "{}",
                   "payments.store.redis.sentinel_password_file");
    assert_refused(*state, "{\"sentinel_password_file\": \"secret\"}", "{}", "payments.store.redis.sentinels");
    assert_refused(*state, "{\"password_file\": \"missing\"}", "{}", "payments.store.redis.password_file");
}

static void a_wait_longer_than_the_timeout_is_refused(void **state)
{
    assert_refused(*state,
                   "{\"sentinels\": [\"10.0.0.11:26379\"], \"master_name\": \"p\", \"timeout_ms\": 400,"
                   " \"wait_timeout_ms\": 400}",
                   "{}", "payments.store.redis.wait_timeout_ms");
    assert_refused(*state, "{\"wait_replicas\": 17}", "{}", "payments.store.redis.wait_replicas");
}

static void the_cache_never_waits(void **state)
{
    lt_error_t err;
    /* Sentinels in the cache take no WAIT, whatever their timeouts. */
    lt_config_t *c =
        load(*state, "{}", "{\"sentinels\": [\"10.0.0.11:26379\"], \"master_name\": \"p\", \"timeout_ms\": 50}", &err);
    if (c == NULL)
        fail_msg("refused: %s", err.detail);
    assert_int_equal(c->cache.redis.conn.wait_replicas, 0);
    assert_int_equal(c->cache.redis.conn.nsentinels, 1);
    lt_config_free(c);
    assert_refused(*state, "{}", "{\"wait_replicas\": 1}", "cache.redis.wait_replicas");
    assert_refused(*state, "{}", "{\"address\": \"10.0.0.5:6379\", \"sentinels\": [\"10.0.0.11:26379\"]}",
                   "cache.redis.address");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sentinels_with_a_master_name_are_read_and_wait_for_one_replica,
                                        config_world_setup, config_world_teardown),
        cmocka_unit_test_setup_teardown(one_address_waits_for_no_replica_unless_told, config_world_setup,
                                        config_world_teardown),
        cmocka_unit_test_setup_teardown(neither_is_the_local_redis, config_world_setup, config_world_teardown),
        cmocka_unit_test_setup_teardown(credentials_are_read, config_world_setup, config_world_teardown),
        cmocka_unit_test_setup_teardown(both_an_address_and_sentinels_are_refused, config_world_setup,
                                        config_world_teardown),
        cmocka_unit_test_setup_teardown(sentinels_without_a_master_name_are_refused, config_world_setup,
                                        config_world_teardown),
        cmocka_unit_test_setup_teardown(a_master_name_without_sentinels_is_refused, config_world_setup,
                                        config_world_teardown),
        cmocka_unit_test_setup_teardown(a_bad_sentinel_list_is_named, config_world_setup, config_world_teardown),
        cmocka_unit_test_setup_teardown(credentials_need_their_password_file, config_world_setup,
                                        config_world_teardown),
        cmocka_unit_test_setup_teardown(a_wait_longer_than_the_timeout_is_refused, config_world_setup,
                                        config_world_teardown),
        cmocka_unit_test_setup_teardown(the_cache_never_waits, config_world_setup, config_world_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
