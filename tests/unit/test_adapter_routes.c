/*
 * Route ownership (lt_adapter_routes_check in gateway/core/lt_adapter.c): two
 * adapters claiming one route is refused with a message naming both, and
 * routes the router tells apart are not. The tables here are made up; what
 * counts as "the same route" is lt_router's matching: a body route is its
 * exact path, a path-parameter route its prefix plus one segment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lt_adapter.h"

#define BODY(n, m, r)                                                                                                  \
    {                                                                                                                  \
        .name = (n), .method = (m), .route = (r), .input_kind = LT_INPUT_JSON_BODY                                     \
    }
#define PARAM(n, m, r)                                                                                                 \
    {                                                                                                                  \
        .name = (n), .method = (m), .route = (r), .input_kind = LT_INPUT_PATH_PARAM, .param_name = "id"                \
    }
#define END                                                                                                            \
    {                                                                                                                  \
        .name = NULL                                                                                                   \
    }

static const lt_operation_t tax_ops[] = {PARAM("lookup", "GET", "/v1/taxpayers/"), END};
static const lt_operation_t civil_same[] = {PARAM("lookup", "GET", "/v1/taxpayers/"), END};
static const lt_operation_t civil_other[] = {PARAM("lookup", "GET", "/v1/civil-demo/"), END};
static const lt_operation_t civil_post[] = {BODY("search", "POST", "/v1/taxpayers/search"), END};
static const lt_operation_t civil_get_body[] = {BODY("search", "GET", "/v1/taxpayers/search"), END};
static const lt_operation_t civil_longer[] = {PARAM("lookup", "GET", "/v1/taxpayers/x"), END};
static const lt_operation_t civil_deeper[] = {PARAM("lookup", "GET", "/v1/taxpayers/branches/"), END};
static const lt_operation_t civil_two[] = {PARAM("lookup", "GET", "/v1/civil-demo/"),
                                           PARAM("again", "GET", "/v1/civil-demo/"), END};
static const lt_operation_t people_ops[] = {BODY("lookup", "POST", "/v1/citizens/lookup"),
                                            BODY("verify", "POST", "/v1/citizens/verify"), END};
static const lt_operation_t people_too[] = {BODY("find", "POST", "/v1/citizens/lookup"), END};

static const lt_adapter_t tax = {.name = "tax", .operations = tax_ops};
static const lt_adapter_t people = {.name = "population", .operations = people_ops};

static lt_adapter_t civil(const lt_operation_t *ops)
{
    return (lt_adapter_t){.name = "civil-demo", .operations = ops};
}

/* The check over {first, second}: 0, or -1 with the message in err. */
static int check_pair(const lt_adapter_t *first, const lt_adapter_t *second, lt_error_t *err)
{
    const lt_adapter_t *table[] = {first, second};
    lt_error_clear(err);
    return lt_adapter_routes_check(table, 2, err);
}

static void distinct_routes_pass(void **state)
{
    lt_error_t err;
    const lt_adapter_t other = civil(civil_other), post = civil(civil_post), deeper = civil(civil_deeper);
    assert_int_equal(check_pair(&tax, &other, &err), 0);
    assert_int_equal(check_pair(&tax, &people, &err), 0);
    /* Another method on a path the prefix would serve: the router tells them apart by method. */
    assert_int_equal(check_pair(&tax, &post, &err), 0);
    /* "/v1/taxpayers/branches/<id>" is two segments after "/v1/taxpayers/": the router never sends it there. */
    assert_int_equal(check_pair(&tax, &deeper, &err), 0);
    /* One adapter alone, and none at all. */
    const lt_adapter_t *one[] = {&people};
    assert_int_equal(lt_adapter_routes_check(one, 1, &err), 0);
    assert_int_equal(lt_adapter_routes_check(NULL, 0, &err), 0);
}

static void the_same_route_is_refused_naming_both(void **state)
{
    lt_error_t err;
    const lt_adapter_t same = civil(civil_same);
    assert_int_equal(check_pair(&tax, &same, &err), -1);
    assert_string_equal(err.detail, "adapters tax and civil-demo both claim GET /v1/taxpayers/");
    /* Whichever comes first in the configuration. */
    assert_int_equal(check_pair(&same, &tax, &err), -1);
    assert_string_equal(err.detail, "adapters civil-demo and tax both claim GET /v1/taxpayers/");
    const lt_adapter_t too = {.name = "civil-demo", .operations = people_too};
    assert_int_equal(check_pair(&people, &too, &err), -1);
    assert_string_equal(err.detail, "adapters population and civil-demo both claim POST /v1/citizens/lookup");
}

static void overlapping_routes_are_refused(void **state)
{
    lt_error_t err;
    /* "/v1/taxpayers/search" with GET is also "/v1/taxpayers/" plus one segment. */
    const lt_adapter_t body = civil(civil_get_body);
    assert_int_equal(check_pair(&tax, &body, &err), -1);
    assert_string_equal(err.detail, "adapters tax and civil-demo both claim GET paths: /v1/taxpayers/ (tax) and "
                                    "/v1/taxpayers/search (civil-demo) overlap");
    /* "/v1/taxpayers/xyz" matches both prefixes. */
    const lt_adapter_t longer = civil(civil_longer);
    assert_int_equal(check_pair(&tax, &longer, &err), -1);
    assert_string_equal(err.detail, "adapters tax and civil-demo both claim GET paths: /v1/taxpayers/ (tax) and "
                                    "/v1/taxpayers/x (civil-demo) overlap");
}

static void one_adapter_claiming_a_route_twice_is_refused(void **state)
{
    lt_error_t err;
    const lt_adapter_t two = civil(civil_two);
    const lt_adapter_t *table[] = {&tax, &two};
    assert_int_equal(lt_adapter_routes_check(table, 2, &err), -1);
    assert_string_equal(err.detail,
                        "adapter civil-demo claims GET /v1/civil-demo/ twice (operations lookup and again)");
}

static void find_in_a_table(void **state)
{
    const lt_adapter_t *table[] = {&tax, &people, NULL};
    assert_ptr_equal(lt_adapter_table_find(table, "population"), &people);
    assert_ptr_equal(lt_adapter_table_find(table, "tax"), &tax);
    assert_null(lt_adapter_table_find(table, "ta"));
    assert_null(lt_adapter_table_find(table, "payment"));
    assert_null(lt_adapter_table_find(table, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(distinct_routes_pass),
        cmocka_unit_test(the_same_route_is_refused_naming_both),
        cmocka_unit_test(overlapping_routes_are_refused),
        cmocka_unit_test(one_adapter_claiming_a_route_twice_is_refused),
        cmocka_unit_test(find_in_a_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
