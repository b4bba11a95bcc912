/*
 * The token bucket's arithmetic (gateway/net/lt_bucket.c): exactly `burst` requests at once, then one per interval,
 * never more than the burst after any idle time, and Retry-After in whole seconds rounded up. Times are given, so
 * nothing here depends on a clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lt_bucket.h"

#define S 1000000LL /* µs */

static void limits_from_rate_period_and_burst(void **state)
{
    (void)state;
    lt_bucket_limit_t hour = lt_bucket_limit(1, 3600, 3);
    assert_int_equal(hour.interval_us, 3600 * S);
    assert_int_equal(hour.tolerance_us, 2 * 3600 * S);
    lt_bucket_limit_t minute = lt_bucket_limit(120, 60, 1);
    assert_int_equal(minute.interval_us, S / 2);
    assert_int_equal(minute.tolerance_us, 0);
    /* 3 a second: 333333 µs, the remainder dropped (a third of a microsecond more generous) */
    assert_int_equal(lt_bucket_limit(3, 1, 1).interval_us, 333333);
    /* the fastest rate the config allows still has a whole microsecond per token */
    assert_int_equal(lt_bucket_limit(1000000, 1, 1).interval_us, 1);
}

/* Takes at `now` until refused; returns how many were admitted. */
static int take_all(const lt_bucket_limit_t *l, int64_t *tat, int64_t now, int64_t *wait)
{
    int admitted = 0;
    for (;;) {
        int64_t next = -1;
        *wait = lt_bucket_take(l, *tat, now, &next);
        if (*wait > 0)
            return admitted;
        assert_true(next > *tat || next > now);
        *tat = next;
        admitted++;
    }
}

static void a_full_bucket_gives_exactly_its_burst(void **state)
{
    (void)state;
    lt_bucket_limit_t l = lt_bucket_limit(1, 3600, 3);
    int64_t tat = 0, wait;
    int64_t now = 1000 * S;
    assert_int_equal(take_all(&l, &tat, now, &wait), 3);
    /* the next token is one interval away */
    assert_int_equal(wait, 3600 * S);
    /* a refusal leaves the state as it was */
    int64_t next = 42;
    assert_true(lt_bucket_take(&l, tat, now, &next) > 0);
    assert_int_equal(next, 42);
}

static void one_token_comes_back_per_interval(void **state)
{
    (void)state;
    lt_bucket_limit_t l = lt_bucket_limit(10, 1, 2); /* 10 a second: one every 100 ms */
    int64_t tat = 0, wait;
    int64_t now = 50 * S;
    assert_int_equal(take_all(&l, &tat, now, &wait), 2);
    assert_int_equal(wait, S / 10);
    /* 1 µs early: still refused, by 1 µs */
    assert_int_equal(take_all(&l, &tat, now + S / 10 - 1, &wait), 0);
    assert_int_equal(wait, 1);
    /* on time: exactly one */
    assert_int_equal(take_all(&l, &tat, now + S / 10, &wait), 1);
    /* 150 ms later a token and a half are back: one is taken, the half waits 50 ms more */
    assert_int_equal(take_all(&l, &tat, now + S / 4, &wait), 1);
    assert_int_equal(wait, S / 20);
}

static void idle_time_never_fills_past_the_burst(void **state)
{
    (void)state;
    lt_bucket_limit_t l = lt_bucket_limit(1, 1, 4);
    int64_t tat = 0, wait;
    assert_int_equal(take_all(&l, &tat, 10 * S, &wait), 4);
    /* a day idle: the bucket is full, which is 4 */
    assert_int_equal(take_all(&l, &tat, 86400 * S, &wait), 4);
    /* a bucket never used (state 0) at any time is full too */
    int64_t fresh = 0;
    assert_int_equal(take_all(&l, &fresh, 7 * S, &wait), 4);
}

static void retry_after_is_whole_seconds_rounded_up(void **state)
{
    (void)state;
    assert_int_equal(lt_bucket_retry_after_s(1), 1);
    assert_int_equal(lt_bucket_retry_after_s(S), 1);
    assert_int_equal(lt_bucket_retry_after_s(S + 1), 2);
    assert_int_equal(lt_bucket_retry_after_s(3600 * S - 5), 3600);
    assert_int_equal(lt_bucket_retry_after_s(0), 1); /* never "0": the client would retry at once */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limits_from_rate_period_and_burst),
        cmocka_unit_test(a_full_bucket_gives_exactly_its_burst),
        cmocka_unit_test(one_token_comes_back_per_interval),
        cmocka_unit_test(idle_time_never_fills_past_the_burst),
        cmocka_unit_test(retry_after_is_whole_seconds_rounded_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
