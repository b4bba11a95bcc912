/* The circuit breaker's transitions and the backoff bounds, with time passed in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lt_breaker.h"
#include "lt_call.h"

static const lt_breaker_conf_t conf = {
    .consecutive_failures = 3, .failure_ratio = 0.5, .window = 10, .min_calls = 6, .cooldown_ms = 1000};

static void opens_after_consecutive_failures(void **state)
{
    lt_breaker_t b;
    int64_t ra = 0;
    lt_breaker_init(&b, &conf, 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(lt_breaker_admit(&b, 10, &ra), LT_BREAKER_ALLOW);
        lt_breaker_report(&b, true, false, 10);
    }
    assert_int_equal(lt_breaker_state(&b, NULL), LT_BREAKER_CLOSED);
    lt_breaker_report(&b, true, false, 20);
    assert_int_equal(lt_breaker_state(&b, NULL), LT_BREAKER_OPEN);
    assert_int_equal(lt_breaker_admit(&b, 520, &ra), LT_BREAKER_DENY);
    assert_int_equal(ra, 500); /* opened at 20, cool-down 1000 */
    lt_breaker_destroy(&b);
}

static void success_resets_the_run(void **state)
{
    lt_breaker_t b;
    lt_breaker_init(&b, &conf, 0);
    lt_breaker_report(&b, true, false, 1);
    lt_breaker_report(&b, true, false, 2);
    lt_breaker_report(&b, false, false, 3);
    lt_breaker_report(&b, true, false, 4);
    lt_breaker_report(&b, true, false, 5);
    assert_int_equal(lt_breaker_state(&b, NULL), LT_BREAKER_CLOSED);
    lt_breaker_destroy(&b);
}

static void opens_on_failure_ratio(void **state)
{
    lt_breaker_t b;
    lt_breaker_init(&b, &conf, 0);
    /* Alternating failures never make 3 in a row, but 3 of 6 is the 50% ratio. */
    bool pattern[] = {true, false, true, false, true};
    for (size_t i = 0; i < 5; i++)
        lt_breaker_report(&b, pattern[i], false, (int64_t)i);
    assert_int_equal(lt_breaker_state(&b, NULL), LT_BREAKER_CLOSED); /* below min_calls */
    lt_breaker_report(&b, false, false, 6);
    assert_int_equal(lt_breaker_state(&b, NULL), LT_BREAKER_OPEN);
    lt_breaker_destroy(&b);
}

static void half_open_lets_one_probe_through(void **state)
{
    lt_breaker_t b;
    int64_t ra = 0;
    lt_breaker_init(&b, &conf, 0);
    for (int i = 0; i < 3; i++)
        lt_breaker_report(&b, true, false, 0);
    assert_int_equal(lt_breaker_admit(&b, 999, &ra), LT_BREAKER_DENY);
    assert_int_equal(lt_breaker_admit(&b, 1000, &ra), LT_BREAKER_PROBE);
    assert_int_equal(lt_breaker_state(&b, NULL), LT_BREAKER_HALF_OPEN);
    assert_int_equal(lt_breaker_admit(&b, 1001, &ra), LT_BREAKER_DENY); /* the probe is out */
    lt_breaker_report(&b, false, true, 1100);
    assert_int_equal(lt_breaker_state(&b, NULL), LT_BREAKER_CLOSED);
    assert_int_equal(lt_breaker_admit(&b, 1101, &ra), LT_BREAKER_ALLOW);
    lt_breaker_destroy(&b);
}

static void failed_probe_reopens_for_a_new_cooldown(void **state)
{
    lt_breaker_t b;
    int64_t ra = 0;
    lt_breaker_init(&b, &conf, 0);
    for (int i = 0; i < 3; i++)
        lt_breaker_report(&b, true, false, 0);
    assert_int_equal(lt_breaker_admit(&b, 1000, &ra), LT_BREAKER_PROBE);
    lt_breaker_report(&b, true, true, 1200);
    assert_int_equal(lt_breaker_state(&b, NULL), LT_BREAKER_OPEN);
    assert_int_equal(lt_breaker_admit(&b, 2100, &ra), LT_BREAKER_DENY);
    assert_int_equal(ra, 100);
    assert_int_equal(lt_breaker_admit(&b, 2200, &ra), LT_BREAKER_PROBE);
    lt_breaker_destroy(&b);
}

static void a_cancelled_probe_frees_its_place(void **state)
{
    lt_breaker_t b;
    int64_t ra = 0;
    lt_breaker_init(&b, &conf, 0);
    for (int i = 0; i < 3; i++)
        lt_breaker_report(&b, true, false, 0);
    assert_int_equal(lt_breaker_admit(&b, 1000, &ra), LT_BREAKER_PROBE);
    lt_breaker_release_probe(&b);
    assert_int_equal(lt_breaker_admit(&b, 1001, &ra), LT_BREAKER_PROBE);
    lt_breaker_destroy(&b);
}

static void backoff_is_full_jitter_under_the_cap(void **state)
{
    /* The ceiling doubles per retry: 100, 200, 400, then the 500 cap. */
    assert_int_equal(lt_backoff_delay_ms(100, 500, 0, UINT32_MAX), UINT32_MAX % 101);
    assert_true(lt_backoff_delay_ms(100, 500, 0, 100) == 100);
    assert_true(lt_backoff_delay_ms(100, 500, 1, 200) == 200);
    assert_true(lt_backoff_delay_ms(100, 500, 2, 400) == 400);
    assert_true(lt_backoff_delay_ms(100, 500, 3, 500) == 500);
    assert_true(lt_backoff_delay_ms(100, 500, 30, 501) == 0); /* 501 % 501: never above the cap */
    for (uint32_t r = 0; r < 5000; r += 7)
        assert_true(lt_backoff_delay_ms(100, 500, 5, r) <= 500);
    assert_int_equal(lt_backoff_delay_ms(100, 500, 2, 0), 0); /* full jitter starts at zero */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opens_after_consecutive_failures),
        cmocka_unit_test(success_resets_the_run),
        cmocka_unit_test(opens_on_failure_ratio),
        cmocka_unit_test(half_open_lets_one_probe_through),
        cmocka_unit_test(failed_probe_reopens_for_a_new_cooldown),
        cmocka_unit_test(a_cancelled_probe_frees_its_place),
        cmocka_unit_test(backoff_is_full_jitter_under_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
