/* The probes' state machine (lt_health): hysteresis both ways, reasons in words; and certificate day counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lt_certs.h"
#include "lt_health.h"

static void test_first_answer_is_up_and_says_how_fast(void **state)
{
    lt_health_t h;
    lt_health_init(&h, 2, 2, 1000);
    assert_int_equal(h.state, LT_HEALTH_UNKNOWN);
    assert_true(lt_health_report(&h, true, NULL, 0.012, 2000));
    assert_int_equal(h.state, LT_HEALTH_UP);
    assert_string_equal(h.reason, "probe answered in 12 ms");
    assert_int_equal(h.since_ms, 2000);
}

static void test_one_lost_probe_degrades_the_second_takes_it_down(void **state)
{
    lt_health_t h;
    lt_health_init(&h, 2, 2, 0);
    lt_health_report(&h, true, NULL, 0.01, 1);
    assert_true(lt_health_report(&h, false, "connect: cannot connect to population", 0.001, 2));
    assert_int_equal(h.state, LT_HEALTH_DEGRADED);
    assert_string_equal(h.reason, "connect: cannot connect to population (1 of 2 failed probes before down)");
    assert_true(lt_health_report(&h, false, "connect: cannot connect to population", 0.001, 3));
    assert_int_equal(h.state, LT_HEALTH_DOWN);
    assert_string_equal(h.reason, "connect: cannot connect to population (2 probes in a row failed)");
    assert_int_equal(h.since_ms, 3);
    /* Staying down is not a change, but the reason follows the latest failure. */
    assert_false(lt_health_report(&h, false, "timeout: population did not answer in time", 0.001, 4));
    assert_string_equal(h.reason, "timeout: population did not answer in time (3 probes in a row failed)");
    assert_int_equal(h.since_ms, 3);
}

static void test_recovery_needs_up_after_answers_in_a_row(void **state)
{
    lt_health_t h;
    lt_health_init(&h, 1, 3, 0);
    lt_health_report(&h, false, "tls: handshake failed", 0, 1);
    assert_int_equal(h.state, LT_HEALTH_DOWN); /* down_after 1: the first failure is enough */
    lt_health_report(&h, true, NULL, 0.01, 2);
    assert_int_equal(h.state, LT_HEALTH_DEGRADED);
    assert_string_equal(h.reason, "recovering: 1 of 3 probes in a row answered");
    lt_health_report(&h, true, NULL, 0.01, 3);
    assert_int_equal(h.state, LT_HEALTH_DEGRADED);
    /* A failure in between starts the count again. */
    lt_health_report(&h, false, "tls: handshake failed", 0, 4);
    assert_int_equal(h.state, LT_HEALTH_DOWN);
    lt_health_report(&h, true, NULL, 0.01, 5);
    lt_health_report(&h, true, NULL, 0.01, 6);
    assert_int_equal(h.state, LT_HEALTH_DEGRADED);
    assert_true(lt_health_report(&h, true, NULL, 0.01, 7));
    assert_int_equal(h.state, LT_HEALTH_UP);
}

static void test_days_left_round_down_also_after_expiry(void **state)
{
    int64_t now = 1000000000;
    assert_int_equal(lt_certs_days_left(now + 5 * 86400 + 10, now), 5);
    assert_int_equal(lt_certs_days_left(now + 86399, now), 0);
    assert_int_equal(lt_certs_days_left(now - 1, now), -1);
    assert_int_equal(lt_certs_days_left(now - 86400, now), -1);
    assert_int_equal(lt_certs_days_left(now - 86401, now), -2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_answer_is_up_and_says_how_fast),
        cmocka_unit_test(test_one_lost_probe_degrades_the_second_takes_it_down),
        cmocka_unit_test(test_recovery_needs_up_after_answers_in_a_row),
        cmocka_unit_test(test_days_left_round_down_also_after_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
