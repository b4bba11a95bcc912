/*
 * The rate limits' configuration (gateway/core/lt_config_ratelimit.c): clients.<id>.rate_limits and the
 * "rate_limits" section. A good one is read as written (burst defaulting to the rate), the limit that governs an
 * operation is the most specific pattern, and every refused one names its key path.
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

typedef config_world_t world_t;

/* Two systems the "build" knows, so that patterns have operations to name. No upstream is configured. */
static const lt_operation_t population_ops[] = {{.name = "lookup"}, {.name = "verify"}, {.name = NULL}};
static const lt_operation_t tax_ops[] = {{.name = "lookup"}, {.name = NULL}};
static const lt_adapter_t population = {.name = "population", .operations = population_ops};
static const lt_adapter_t tax = {.name = "tax", .operations = tax_ops};
static const lt_adapter_t *const adapters[] = {&population, &tax, NULL};

/* A module whose route needs the permission "payments", as the payments module's does. */
static void handle(struct lt_request *r, void *ctx)
{
    (void)r;
    (void)ctx;
}
static const lt_module_route_t pay_routes[] = {
    {.listener = LT_LISTENER_API, .path = "/v1/payments", .prefix = true, .permission = "payments", .handle = handle},
    {.handle = NULL},
};
static const lt_module_t pay_module = {.name = "pay", .routes = pay_routes};
static const lt_module_t *const modules[] = {&pay_module, NULL};

/* One client, "office", allowed everything, with these rate_limits; and this top-level rate_limits (or none). */
static lt_config_t *load(world_t *w, const char *rates, const char *section, lt_error_t *err)
{
    FILE *f = fopen(w->config, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"listeners\": {\"api\": {\"cert\": \"secret\", \"key\": \"secret\", \"client_ca\": \"secret\"}},"
            " \"upstreams\": {},"
            " \"clients\": {\"office\": {\"issuer\": \"CN=CA\", \"cn\": \"office\", \"allow\": [\"*\"]%s%s}}%s%s}",
            rates ? ", \"rate_limits\": " : "", rates ? rates : "", section ? ", \"rate_limits\": " : "",
            section ? section : "");
    fclose(f);
    lt_error_clear(err);
    return lt_config_load(w->config, adapters, modules, err);
}

static void assert_refused(world_t *w, const char *rates, const char *section, const char *names)
{
    lt_error_t err;
    lt_config_t *c = load(w, rates, section, &err);
    if (c != NULL)
        fail_msg("rate_limits %s / %s was accepted", rates ? rates : "-", section ? section : "-");
    assert_string_equal(err.code, "config");
    if (strstr(err.detail, names) == NULL)
        fail_msg("the message \"%s\" does not name %s", err.detail, names);
}

static void a_good_config_reads_as_written(void **state)
{
    world_t *w = *state;
    lt_error_t err;
    lt_config_t *c = load(w,
                          "{\"population.verify\": {\"rate\": 10, \"per\": \"second\", \"burst\": 20},"
                          " \"tax.*\": {\"rate\": 600, \"per\": \"minute\"},"
                          " \"payments\": {\"rate\": 5, \"per\": \"hour\", \"burst\": 1},"
                          " \"*\": {\"rate\": 1000, \"per\": \"hour\", \"burst\": 50}}",
                          NULL, &err);
    if (c == NULL)
        fail_msg("refused: %s", err.detail);
    const lt_client_conf_t *office = &c->clients[0];
    assert_int_equal(office->nrates, 4);

    const lt_client_rate_t *r = lt_client_rate_for(office, "population.verify");
    assert_non_null(r);
    assert_string_equal(r->pattern, "population.verify");
    assert_int_equal(r->rate, 10);
    assert_int_equal(r->period_s, 1);
    assert_int_equal(r->burst, 20);

    r = lt_client_rate_for(office, "tax.lookup");
    assert_string_equal(r->pattern, "tax.*");
    assert_int_equal(r->period_s, 60);
    assert_int_equal(r->burst, 600); /* absent: one period's worth */

    r = lt_client_rate_for(office, "payments");
    assert_string_equal(r->pattern, "payments");
    assert_int_equal(r->period_s, 3600);

    /* "*" covers the rest; "tax.*" does not cover another system */
    assert_string_equal(lt_client_rate_for(office, "population.lookup")->pattern, "*");
    assert_false(c->ratelimit.redis_on);
    lt_config_free(c);
}

static void without_a_limit_nothing_is_limited(void **state)
{
    world_t *w = *state;
    lt_error_t err;
    lt_config_t *c = load(w, "{\"tax.*\": {\"rate\": 1, \"per\": \"second\"}}", NULL, &err);
    if (c == NULL)
        fail_msg("refused: %s", err.detail);
    assert_null(lt_client_rate_for(&c->clients[0], "population.verify"));
    assert_null(lt_client_rate_for(&c->clients[0], "payments"));
    lt_config_free(c);
    c = load(w, NULL, NULL, &err);
    assert_non_null(c);
    assert_int_equal(c->clients[0].nrates, 0);
    assert_null(lt_client_rate_for(&c->clients[0], "tax.lookup"));
    lt_config_free(c);
}

static void the_redis_section_has_its_defaults(void **state)
{
    world_t *w = *state;
    lt_error_t err;
    lt_config_t *c = load(w, NULL, "{\"redis\": {\"address\": \"127.0.0.1:6390\"}}", &err);
    if (c == NULL)
        fail_msg("refused: %s", err.detail);
    assert_true(c->ratelimit.redis_on);
    assert_string_equal(c->ratelimit.conn.address, "127.0.0.1:6390");
    assert_string_equal(c->ratelimit.prefix, "lt:rl:");
    assert_int_equal(c->ratelimit.conn.timeout_ms, 50);
    lt_config_free(c);
    /* the section without redis: buckets in this process */
    c = load(w, NULL, "{}", &err);
    assert_non_null(c);
    assert_false(c->ratelimit.redis_on);
    lt_config_free(c);
}

static void every_refusal_names_its_key(void **state)
{
    world_t *w = *state;
    assert_refused(w, "{\"population.verfy\": {\"rate\": 1, \"per\": \"second\"}}", NULL,
                   "clients.office.rate_limits.population.verfy: names no operation");
    assert_refused(w, "{\"land.*\": {\"rate\": 1, \"per\": \"second\"}}", NULL, "clients.office.rate_limits.land.*");
    assert_refused(w, "{\"*\": {\"rate\": 1, \"per\": \"day\"}}", NULL,
                   "clients.office.rate_limits.*.per: must be second, minute or hour");
    assert_refused(w, "{\"*\": {\"rate\": 0, \"per\": \"second\"}}", NULL, "clients.office.rate_limits.*.rate");
    assert_refused(w, "{\"*\": {\"rate\": 1000001, \"per\": \"second\"}}", NULL, "clients.office.rate_limits.*.rate");
    assert_refused(w, "{\"*\": {\"rate\": 1, \"per\": \"second\", \"burst\": 0}}", NULL,
                   "clients.office.rate_limits.*.burst");
    assert_refused(w, "{\"*\": {\"rate\": 1, \"per\": \"second\", \"brust\": 2}}", NULL,
                   "clients.office.rate_limits.*.brust");
    assert_refused(w, "{\"*\": {\"per\": \"second\"}}", NULL, "clients.office.rate_limits.*.rate");
    assert_refused(w, "{\"*\": {\"rate\": 1}}", NULL, "clients.office.rate_limits.*.per");
    assert_refused(w, "{\"*\": 5}", NULL, "clients.office.rate_limits.*: must be an object");
    assert_refused(w, "[]", NULL, "clients.office.rate_limits");
    assert_refused(w, NULL, "{\"redis\": {\"prefix\": \"a b\"}}", "rate_limits.redis.prefix");
    assert_refused(w, NULL, "{\"redis\": {\"adress\": \"x\"}}", "rate_limits.redis.adress");
    assert_refused(w, NULL, "{\"redis\": {\"reconnect_min_ms\": 500, \"reconnect_max_ms\": 100}}",
                   "rate_limits.redis.reconnect_max_ms");
    assert_refused(w, NULL, "{\"buckets\": \"redis\"}", "rate_limits.buckets");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_good_config_reads_as_written, config_world_setup, config_world_teardown),
        cmocka_unit_test_setup_teardown(without_a_limit_nothing_is_limited, config_world_setup, config_world_teardown),
        cmocka_unit_test_setup_teardown(the_redis_section_has_its_defaults, config_world_setup, config_world_teardown),
        cmocka_unit_test_setup_teardown(every_refusal_names_its_key, config_world_setup, config_world_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
