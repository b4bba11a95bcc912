/* The module table's routing: which module serves a path on a listener, and what an off module answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lt_config.h"
#include "lt_module.h"
#include "lt_router.h"

static void handle_a(struct lt_request *r, void *ctx) {}
static void handle_b(struct lt_request *r, void *ctx) {}

static const lt_module_route_t routes_a[] = {
    {.listener = LT_LISTENER_API, .path = "/v1/", .prefix = true, .handle = handle_a},
    {.handle = NULL},
};
static const lt_module_route_t routes_b[] = {
    {.listener = LT_LISTENER_API, .path = "/v1/payments", .prefix = true, .handle = handle_b},
    {.listener = LT_LISTENER_API, .method = "POST", .path = "/v1/notes", .handle = handle_b},
    {.listener = "callbacks", .path = "/", .prefix = true, .handle = handle_b},
    {.handle = NULL},
};
static const lt_module_t module_a = {.name = "a", .routes = routes_a};
static const lt_module_t module_b = {.name = "b", .section = "b", .routes = routes_b};
static const lt_module_t *const table[] = {&module_a, &module_b, NULL};

static lt_config_t config_with(bool b_on)
{
    static bool on[2];
    on[0] = true;
    on[1] = b_on;
    return (lt_config_t){.modules = table, .nmodules = 2, .module_on = on};
}

static void test_prefix_matches_at_a_segment_boundary(void **state)
{
    const lt_module_route_t *pay = &routes_b[0];
    assert_true(lt_module_route_matches(pay, "/v1/payments"));
    assert_true(lt_module_route_matches(pay, "/v1/payments/LT123"));
    assert_false(lt_module_route_matches(pay, "/v1/paymentsX"));
    assert_false(lt_module_route_matches(pay, "/v1/pay"));
    assert_true(lt_module_route_matches(&routes_a[0], "/v1/citizens/lookup"));
    assert_false(lt_module_route_matches(&routes_a[0], "/v2/citizens/lookup"));
    assert_false(lt_module_route_matches(&routes_b[1], "/v1/notes/1")); /* exact: nothing below it */
}

static void test_the_longer_prefix_wins(void **state)
{
    lt_config_t c = config_with(true);
    lt_module_match_t m;
    assert_int_equal(lt_router_route(&c, LT_LISTENER_API, "GET", "/v1/payments/LT1", &m), 0);
    assert_int_equal(m.module, 1);
    assert_ptr_equal(m.route->handle, handle_b);
    assert_int_equal(lt_router_route(&c, LT_LISTENER_API, "POST", "/v1/citizens/lookup", &m), 0);
    assert_int_equal(m.module, 0);
    assert_false(m.module_off);
}

static void test_routes_are_per_listener(void **state)
{
    lt_config_t c = config_with(true);
    lt_module_match_t m;
    assert_int_equal(lt_router_route(&c, "callbacks", "GET", "/v1/citizens/lookup", &m), 0);
    assert_int_equal(m.module, 1);
    assert_int_equal(lt_router_route(&c, LT_LISTENER_API, "GET", "/healthz", &m), -1);
    assert_null(m.route);
    assert_string_equal(m.allow, "");
}

static void test_a_route_for_another_method_leaves_the_path_to_others(void **state)
{
    lt_config_t c = config_with(true);
    lt_module_match_t m;
    /* Only module b's exact route covers /v1/notes, and only for POST; module a's /v1/ prefix serves a GET. */
    assert_int_equal(lt_router_route(&c, LT_LISTENER_API, "POST", "/v1/notes", &m), 0);
    assert_int_equal(m.module, 1);
    assert_int_equal(lt_router_route(&c, LT_LISTENER_API, "GET", "/v1/notes", &m), 0);
    assert_int_equal(m.module, 0);
}

static void test_a_wrong_method_names_the_right_one(void **state)
{
    static const lt_module_t *const only_b[] = {&module_b, NULL};
    static bool on[] = {true};
    lt_config_t c = {.modules = only_b, .nmodules = 1, .module_on = on};
    lt_module_match_t m;
    assert_int_equal(lt_router_route(&c, LT_LISTENER_API, "DELETE", "/v1/notes", &m), -1);
    assert_null(m.route);
    assert_string_equal(m.allow, "POST");
}

static void test_an_off_module_still_claims_its_paths(void **state)
{
    lt_config_t c = config_with(false);
    lt_module_match_t m;
    assert_int_equal(lt_router_route(&c, LT_LISTENER_API, "POST", "/v1/payments", &m), 0);
    assert_int_equal(m.module, 1);
    assert_true(m.module_off); /* the server answers b_not_configured, not the lookup module's 404 */
}

static void take_nothing(void *state, const lt_payment_final_t *p, lt_payment_final_done_fn done, void *arg)
{
    (void)state;
    (void)p;
    (void)done;
    (void)arg;
}

/* A hand-off's taker is the first module that takes it and is on (has a state); none is NULL. */
static void test_the_payment_taker_is_the_first_one_on(void **state)
{
    static const lt_module_t plain = {.name = "plain"};
    static const lt_module_t taker_a = {.name = "a", .take_payment_final = take_nothing};
    static const lt_module_t taker_b = {.name = "b", .take_payment_final = take_nothing};
    static const lt_module_t *const modules[] = {&plain, &taker_a, &taker_b, NULL};
    int sa, sb, sp;
    void *states[] = {&sp, NULL, &sb};
    lt_module_peers_t peers = {.modules = modules, .nmodules = 3, .states = states};
    void *got = &sa;
    assert_ptr_equal(lt_module_payment_taker(&peers, &got), &taker_b); /* a is off */
    assert_ptr_equal(got, &sb);
    states[1] = &sa;
    assert_ptr_equal(lt_module_payment_taker(&peers, &got), &taker_a);
    assert_ptr_equal(got, &sa);
    states[1] = states[2] = NULL;
    assert_null(lt_module_payment_taker(&peers, &got));
    assert_null(got);
    assert_null(lt_module_payment_taker(NULL, &got));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_matches_at_a_segment_boundary),
        cmocka_unit_test(test_the_longer_prefix_wins),
        cmocka_unit_test(test_routes_are_per_listener),
        cmocka_unit_test(test_a_route_for_another_method_leaves_the_path_to_others),
        cmocka_unit_test(test_a_wrong_method_names_the_right_one),
        cmocka_unit_test(test_an_off_module_still_claims_its_paths),
        cmocka_unit_test(test_the_payment_taker_is_the_first_one_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
