/*
 * The generated adapter table (adapters/adapter_table.c.in): one entry per
 * folder under adapters/, each named like its folder, and each giving what the
 * core relies on without checking again: a title for /status, routes the
 * router can serve, the functions it calls. LT_ADAPTER_FOLDERS is the folder
 * list the build saw, so a new adapter is checked here as soon as it builds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lt_adapters.h"

static size_t table_size(void)
{
    size_t n = 0;
    while (lt_adapters[n] != NULL)
        n++;
    return n;
}

static void one_adapter_per_folder_named_like_it(void **state)
{
    char folders[] = LT_ADAPTER_FOLDERS;
    size_t n = 0;
    for (char *save = NULL, *name = strtok_r(folders, ",", &save); name != NULL; name = strtok_r(NULL, ",", &save)) {
        const lt_adapter_t *a = lt_adapter_find(name);
        if (a == NULL)
            fail_msg("adapters/%s/ has no adapter called \"%s\" in the table", name, name);
        assert_string_equal(a->name, name);
        n++;
    }
    assert_true(n >= 4); /* population, business, tax, insurance at least */
    assert_int_equal(table_size(), n);
    assert_null(lt_adapter_find("payment")); /* the payment gateway is no adapter */
    assert_null(lt_adapter_find(""));
}

static void every_adapter_has_a_bilingual_title(void **state)
{
    for (size_t i = 0; lt_adapters[i] != NULL; i++) {
        const lt_adapter_t *a = lt_adapters[i];
        if (a->title == NULL || strstr(a->title, " · ") == NULL)
            fail_msg("%s: .title must be \"Vietnamese · English\", as /status shows it", a->name);
    }
    assert_string_equal(lt_adapter_find("population")->title, "Dân cư · Population");
}

static void check_operation(const lt_adapter_t *a, const lt_operation_t *op)
{
    char what[160];
    snprintf(what, sizeof(what), "%s.%s", a->name, op->name);
    if (op->method == NULL || (strcmp(op->method, "GET") != 0 && strcmp(op->method, "POST") != 0))
        fail_msg("%s: method must be GET or POST", what);
    if (op->route == NULL || strncmp(op->route, "/v1/", 4) != 0)
        fail_msg("%s: route must start with /v1/", what);
    if (op->input_kind == LT_INPUT_PATH_PARAM && (op->param_name == NULL || op->route[strlen(op->route) - 1] != '/'))
        fail_msg("%s: a path-parameter route is a prefix ending in '/', with a param_name", what);
    if (op->input_kind == LT_INPUT_JSON_BODY && strcmp(op->method, "POST") != 0)
        fail_msg("%s: a JSON body comes with POST", what);
    if (op->build == NULL || op->parse == NULL)
        fail_msg("%s: build and parse are required", what);
}

static void every_operation_is_servable(void **state)
{
    for (size_t i = 0; lt_adapters[i] != NULL; i++) {
        const lt_adapter_t *a = lt_adapters[i];
        assert_non_null(a->settings_load);
        assert_non_null(a->settings_free);
        if ((a->token_build == NULL) != (a->token_parse == NULL))
            fail_msg("%s: token_build and token_parse go together", a->name);
        assert_non_null(a->operations);
        assert_non_null(a->operations[0].name);
        for (const lt_operation_t *op = a->operations; op->name != NULL; op++)
            check_operation(a, op);
    }
}

/* Every adapter the build holds can be configured at once: no two claim one route. */
static void the_whole_table_has_one_owner_per_route(void **state)
{
    lt_error_t err;
    lt_error_clear(&err);
    if (lt_adapter_routes_check(lt_adapters, table_size(), &err) != 0)
        fail_msg("%s", err.detail);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_adapter_per_folder_named_like_it),
        cmocka_unit_test(every_adapter_has_a_bilingual_title),
        cmocka_unit_test(every_operation_is_servable),
        cmocka_unit_test(the_whole_table_has_one_owner_per_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
