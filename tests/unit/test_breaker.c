/* The circuit breaker's transitions, which errors feed it, and the backoff bounds, with time passed in. */
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

/* lt_call reports a failed attempt to the breaker as lt_call_counts_against_breaker() classifies it. */
static void report_error(lt_breaker_t *b, lt_error_kind_t kind, const char *code, bool probe, int64_t now)
{
    lt_error_t err;
    lt_error_set(&err, kind, code, "test");
    lt_breaker_report(b, lt_call_counts_against_breaker(&err), probe, now);
}

static void business_answers_leave_the_breaker_closed(void **state)
{
    lt_breaker_t b;
    int64_t ra = 0;
    lt_breaker_init(&b, &conf, 0);
    /* Far more than 3 in a row, and every one of the window's calls. */
    for (int i = 0; i < 20; i++) {
        report_error(&b, LT_ERR_CONFLICT, "conflict", false, i);
        report_error(&b, LT_ERR_NOT_FOUND, "not_found", false, i);
        report_error(&b, LT_ERR_BAD_REQUEST, "invalid_identifier", false, i);
    }
    assert_int_equal(lt_breaker_state(&b, NULL), LT_BREAKER_CLOSED);
    assert_int_equal(lt_breaker_admit(&b, 100, &ra), LT_BREAKER_ALLOW);
    /* Our own token rate limit is a 503, but says nothing about the national system. */
    for (int i = 0; i < 5; i++)
        report_error(&b, LT_ERR_UPSTREAM_UNAVAILABLE, "token_rate_limit", false, 100 + i);
    assert_int_equal(lt_breaker_state(&b, NULL), LT_BREAKER_CLOSED);
    /* The system's own failures do open it. */
    for (int i = 0; i < 3; i++)
        report_error(&b, LT_ERR_UPSTREAM_TIMEOUT, "timeout", false, 200);
    assert_int_equal(lt_breaker_state(&b, NULL), LT_BREAKER_OPEN);
    lt_breaker_destroy(&b);
}

static void a_422_probe_closes_the_breaker(void **state)
{
    lt_breaker_t b;
    int64_t ra = 0;
    lt_breaker_init(&b, &conf, 0);
    for (int i = 0; i < 3; i++)
        report_error(&b, LT_ERR_UPSTREAM_BAD, "bad_response", false, 0);
    assert_int_equal(lt_breaker_admit(&b, 1000, &ra), LT_BREAKER_PROBE);
    report_error(&b, LT_ERR_CONFLICT, "conflict", true, 1100); /* the system answered */
    assert_int_equal(lt_breaker_state(&b, NULL), LT_BREAKER_CLOSED);
    lt_breaker_destroy(&b);
}

/* A national system closed until a known time (a maintenance window): nothing goes before it, one probe after. */
static void a_hold_keeps_a_closed_breaker_open_until_its_end(void **state)
{
    lt_breaker_t b;
    int64_t ra = 0;
    lt_breaker_init(&b, &conf, 0);
    lt_breaker_hold_open(&b, 100, 3600100);
    assert_int_equal(lt_breaker_state(&b, NULL), LT_BREAKER_OPEN);
    assert_int_equal(lt_breaker_admit(&b, 1100, &ra), LT_BREAKER_DENY); /* past the 1000 ms cool-down */
    assert_int_equal(ra, 3599000);
    assert_int_equal(lt_breaker_admit(&b, 3600099, &ra), LT_BREAKER_DENY);
    assert_int_equal(ra, 1);
    assert_int_equal(lt_breaker_admit(&b, 3600100, &ra), LT_BREAKER_PROBE);
    assert_int_equal(lt_breaker_admit(&b, 3600101, &ra), LT_BREAKER_DENY); /* one probe at a time */
    lt_breaker_report(&b, false, true, 3600200);
    assert_int_equal(lt_breaker_state(&b, NULL), LT_BREAKER_CLOSED);
    lt_breaker_destroy(&b);
}

/* A hold never shortens an open breaker's wait, and a failed probe during a hold does not end it early. */
static void a_hold_only_lengthens_the_wait(void **state)
{
    lt_breaker_t b;
    int64_t ra = 0;
    lt_breaker_init(&b, &conf, 0);
    lt_breaker_hold_open(&b, 0, 5000);
    lt_breaker_hold_open(&b, 10, 2000); /* shorter: changes nothing */
    assert_int_equal(lt_breaker_admit(&b, 4000, &ra), LT_BREAKER_DENY);
    assert_int_equal(ra, 1000);
    assert_int_equal(lt_breaker_admit(&b, 5000, &ra), LT_BREAKER_PROBE);
    lt_breaker_report(&b, true, true, 5100); /* the probe failed: a new cool-down... */
    lt_breaker_hold_open(&b, 5100, 9000);    /* ...and the system said when it is back */
    assert_int_equal(lt_breaker_admit(&b, 6100, &ra), LT_BREAKER_DENY);
    assert_int_equal(ra, 2900);
    lt_breaker_destroy(&b);
}

static void backoff_is_full_jitter_under_the_cap(void **state)
{
    /* The ceiling doubles per retry: 100, 200, 400, then the 500 cap. */
    assert_int_equal(lt_call_backoff_delay_ms(100, 500, 0, UINT32_MAX), UINT32_MAX % 101);
    assert_true(lt_call_backoff_delay_ms(100, 500, 0, 100) == 100);
    assert_true(lt_call_backoff_delay_ms(100, 500, 1, 200) == 200);
    assert_true(lt_call_backoff_delay_ms(100, 500, 2, 400) == 400);
    assert_true(lt_call_backoff_delay_ms(100, 500, 3, 500) == 500);
    assert_true(lt_call_backoff_delay_ms(100, 500, 30, 501) == 0); /* 501 % 501: never above the cap */
    for (uint32_t r = 0; r < 5000; r += 7)
        assert_true(lt_call_backoff_delay_ms(100, 500, 5, r) <= 500);
    assert_int_equal(lt_call_backoff_delay_ms(100, 500, 2, 0), 0); /* full jitter starts at zero */
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
        cmocka_unit_test(business_answers_leave_the_breaker_closed),
        cmocka_unit_test(a_422_probe_closes_the_breaker),
        cmocka_unit_test(a_hold_keeps_a_closed_breaker_open_until_its_end),
        cmocka_unit_test(a_hold_only_lengthens_the_wait),
        cmocka_unit_test(backoff_is_full_jitter_under_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
