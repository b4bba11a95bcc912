/*
 * The config loader's payments section (gateway/core/lt_config_payments.c): a refused payments.store is an error
 * that names the key, whichever key it is, and a good one resolves journal_dir against the config's directory.
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

/* The payments module is the one whose section this test loads. */
extern const lt_module_t lt_payments_module;
static const lt_module_t *const modules[] = {&lt_payments_module, NULL};

/* A config with no upstreams, payments on, and this payments.store section; every file is the one secret. */
static lt_config_t *load_with_store(world_t *w, const char *store, lt_error_t *err)
{
    FILE *f = fopen(w->config, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"listeners\": {\"api\": {\"cert\": \"secret\", \"key\": \"secret\", \"client_ca\": \"secret\"},"
            "               \"callbacks\": {\"cert\": \"secret\", \"key\": \"secret\"}},"
            " \"upstreams\": {}, \"clients\": {},"
            " \"payments\": {\"base_url\": \"https://127.0.0.1:9105\", \"tmn_code\": \"LTDEV001\","
            "              \"hash_secret_file\": \"secret\", \"public_url\": \"https://localhost:8444\","
            "              \"store\": %s}}",
            store);
    fclose(f);
    lt_error_clear(err);
    return lt_config_load(w->config, NULL, modules, err);
}

static void assert_refused(world_t *w, const char *store, const char *names)
{
    lt_error_t err;
    lt_config_t *c = load_with_store(w, store, &err);
    if (c != NULL)
        fail_msg("payments.store %s was accepted", store);
    assert_string_equal(err.code, "config");
    if (strstr(err.detail, names) == NULL)
        fail_msg("the message \"%s\" does not name %s", err.detail, names);
}

static void a_good_store_resolves_journal_dir(void **state)
{
    world_t *w = *state;
    lt_error_t err;
    lt_config_t *c = load_with_store(w, "{\"backend\": \"journal\", \"journal_dir\": \"pay\"}", &err);
    if (c == NULL)
        fail_msg("refused: %s", err.detail);
    char want[160];
    snprintf(want, sizeof(want), "%s/pay", w->dir);
    const lt_payments_conf_t *pc = lt_config_module_conf(c, &lt_payments_module);
    assert_non_null(pc);
    assert_string_equal(pc->store.journal_dir, want);
    lt_config_free(c);
}

/* These stopped the loader before journal_dir had its default, and it then crashed on the missing value. */
static void an_unknown_key_is_named(void **state)
{
    assert_refused(*state, "{\"backend\": \"journal\", \"journa_ldir\": \"pay\"}", "payments.store.journa_ldir");
}

static void a_mistyped_backend_is_named(void **state)
{
    assert_refused(*state, "{\"backend\": 1}", "payments.store.backend");
}

static void a_mistyped_journal_dir_is_named(void **state)
{
    assert_refused(*state, "{\"journal_dir\": [\"pay\"]}", "payments.store.journal_dir");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_good_store_resolves_journal_dir, config_world_setup, config_world_teardown),
        cmocka_unit_test_setup_teardown(an_unknown_key_is_named, config_world_setup, config_world_teardown),
        cmocka_unit_test_setup_teardown(a_mistyped_backend_is_named, config_world_setup, config_world_teardown),
        cmocka_unit_test_setup_teardown(a_mistyped_journal_dir_is_named, config_world_setup, config_world_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
