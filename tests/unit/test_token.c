/* The process-wide token store: single flight, refresh margin, rejected tokens, and the endpoint's rate limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lt_token.h"

static void one_fetch_for_many_askers(void **state)
{
    lt_token_store_t s;
    lt_error_t err;
    char tok[64];
    uint64_t ticket = 0;
    lt_token_store_init(&s, 10, 60000, 30000);
    assert_int_equal(lt_token_acquire(&s, 0, NULL, &ticket, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    for (int i = 0; i < 19; i++)
        assert_int_equal(lt_token_acquire(&s, 1, NULL, &ticket, tok, sizeof(tok), &err), LT_TOKEN_WAIT);
    lt_token_fetched(&s, "abc", 300, 5);
    assert_int_equal(lt_token_acquire(&s, 6, NULL, &ticket, tok, sizeof(tok), &err), LT_TOKEN_READY);
    assert_string_equal(tok, "abc");
    assert_int_equal(lt_token_fetch_count(&s), 1);
    lt_token_store_destroy(&s);
}

static void refreshes_ahead_of_expiry(void **state)
{
    lt_token_store_t s;
    lt_error_t err;
    char tok[64];
    uint64_t ticket = 0;
    lt_token_store_init(&s, 10, 60000, 30000);
    assert_int_equal(lt_token_acquire(&s, 0, NULL, &ticket, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    lt_token_fetched(&s, "first", 300, 0);
    /* Valid until 300 s, refreshed from 270 s on. */
    assert_int_equal(lt_token_acquire(&s, 269999, NULL, &ticket, tok, sizeof(tok), &err), LT_TOKEN_READY);
    assert_int_equal(lt_token_acquire(&s, 270000, NULL, &ticket, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    /* While that refresh is out, others wait rather than fetch again. */
    assert_int_equal(lt_token_acquire(&s, 270001, NULL, &ticket, tok, sizeof(tok), &err), LT_TOKEN_WAIT);
    lt_token_store_destroy(&s);
}

static void a_rejected_token_is_dropped_once(void **state)
{
    lt_token_store_t s;
    lt_error_t err;
    char tok[64];
    uint64_t ticket = 0;
    lt_token_store_init(&s, 10, 60000, 0);
    lt_token_acquire(&s, 0, NULL, &ticket, tok, sizeof(tok), &err);
    lt_token_fetched(&s, "old", 300, 0);
    assert_int_equal(lt_token_acquire(&s, 1, "old", &ticket, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    lt_token_fetched(&s, "new", 300, 2);
    /* A second request that also failed with "old" must not throw away "new". */
    assert_int_equal(lt_token_acquire(&s, 3, "old", &ticket, tok, sizeof(tok), &err), LT_TOKEN_READY);
    assert_string_equal(tok, "new");
    assert_int_equal(lt_token_fetch_count(&s), 2);
    lt_token_store_destroy(&s);
}

static void never_exceeds_the_endpoint_rate(void **state)
{
    lt_token_store_t s;
    lt_error_t err;
    char tok[64];
    uint64_t ticket = 0;
    lt_token_store_init(&s, 3, 60000, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(lt_token_acquire(&s, i * 10, i ? "t" : NULL, &ticket, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
        lt_token_fetched(&s, "t", 300, i * 10);
    }
    /* A fourth fetch inside the minute is refused with a wait; the current token is dropped, so none is left. */
    assert_int_equal(lt_token_acquire(&s, 100, "t", &ticket, tok, sizeof(tok), &err), LT_TOKEN_LIMIT);
    assert_string_equal(err.code, "token_rate_limit");
    assert_int_equal(err.retry_after_s, 60);
    /* The minute after the first fetch, a slot is free again. */
    assert_int_equal(lt_token_acquire(&s, 60000, NULL, &ticket, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    assert_int_equal(lt_token_fetch_count(&s), 4);
    lt_token_store_destroy(&s);
}

static void a_failed_fetch_lets_the_next_asker_fetch(void **state)
{
    lt_token_store_t s;
    lt_error_t err, why;
    char tok[64];
    uint64_t ticket = 0;
    lt_token_store_init(&s, 10, 60000, 0);
    assert_int_equal(lt_token_acquire(&s, 0, NULL, &ticket, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    lt_error_set(&why, LT_ERR_UPSTREAM_UNAVAILABLE, "connect", "down");
    lt_token_fetch_failed(&s, &why, 0);
    /* Within the hold, askers get the failure; after it, the next asker fetches again. */
    assert_int_equal(lt_token_acquire(&s, 999, NULL, &ticket, tok, sizeof(tok), &err), LT_TOKEN_FAILED);
    assert_string_equal(err.code, "connect");
    assert_int_equal(lt_token_acquire(&s, 1000, NULL, &ticket, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    lt_token_store_destroy(&s);
}

static void waiters_of_a_failed_fetch_share_its_error(void **state)
{
    lt_token_store_t s;
    lt_error_t err, why;
    char tok[64];
    uint64_t fetcher = 0, waiter = 0, later = 0;
    lt_token_store_init(&s, 10, 60000, 0);
    assert_int_equal(lt_token_acquire(&s, 0, NULL, &fetcher, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    assert_int_equal(lt_token_acquire(&s, 1, NULL, &waiter, tok, sizeof(tok), &err), LT_TOKEN_WAIT);
    assert_true(waiter != 0);
    lt_error_set(&why, LT_ERR_UPSTREAM_BAD, "token_invalid_client", "refused");
    lt_token_fetch_failed(&s, &why, 0);
    /* Woken with its ticket, the waiter gets the fetch's error and does not start a fetch of its own... */
    assert_int_equal(lt_token_acquire(&s, 2, NULL, &waiter, tok, sizeof(tok), &err), LT_TOKEN_FAILED);
    assert_string_equal(err.code, "token_invalid_client");
    assert_int_equal(lt_token_fetch_count(&s), 1);
    /* ...and so does a new request a moment later; once the hold is over, it may try again. */
    assert_int_equal(lt_token_acquire(&s, 3, NULL, &later, tok, sizeof(tok), &err), LT_TOKEN_FAILED);
    assert_int_equal(lt_token_acquire(&s, LT_TOKEN_FAILURE_HOLD_MS, NULL, &later, tok, sizeof(tok), &err),
                     LT_TOKEN_FETCH);
    lt_token_store_destroy(&s);
}

static void a_waiter_of_a_successful_fetch_gets_the_token(void **state)
{
    lt_token_store_t s;
    lt_error_t err, why;
    char tok[64];
    uint64_t a = 0, b = 0, c = 0;
    lt_token_store_init(&s, 10, 60000, 0);
    /* An earlier failure must not poison the waiters of a later, successful fetch. */
    assert_int_equal(lt_token_acquire(&s, 0, NULL, &a, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    lt_error_set(&why, LT_ERR_UPSTREAM_UNAVAILABLE, "connect", "down");
    lt_token_fetch_failed(&s, &why, 0);
    assert_int_equal(lt_token_acquire(&s, 2000, NULL, &b, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    assert_int_equal(lt_token_acquire(&s, 2001, NULL, &c, tok, sizeof(tok), &err), LT_TOKEN_WAIT);
    lt_token_fetched(&s, "good", 300, 2000);
    assert_int_equal(lt_token_acquire(&s, 2002, NULL, &c, tok, sizeof(tok), &err), LT_TOKEN_READY);
    assert_string_equal(tok, "good");
    lt_token_store_destroy(&s);
}

static void an_abandoned_fetch_passes_to_a_waiter(void **state)
{
    lt_token_store_t s;
    lt_error_t err, why;
    char tok[64];
    uint64_t a = 0, b = 0;
    lt_token_store_init(&s, 10, 60000, 0);
    assert_int_equal(lt_token_acquire(&s, 0, NULL, &a, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    lt_error_set(&why, LT_ERR_UPSTREAM_UNAVAILABLE, "connect", "down");
    lt_token_fetch_failed(&s, &why, 0); /* an old failure, then a new fetch that is abandoned */
    assert_int_equal(lt_token_acquire(&s, 2000, NULL, &a, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    assert_int_equal(lt_token_acquire(&s, 2001, NULL, &b, tok, sizeof(tok), &err), LT_TOKEN_WAIT);
    lt_token_fetch_abandoned(&s);
    assert_int_equal(lt_token_acquire(&s, 2002, NULL, &b, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    lt_token_store_destroy(&s);
}

static void an_unlimited_store_fetches_forever(void **state)
{
    lt_token_store_t s;
    lt_error_t err;
    char tok[64];
    uint64_t t = 0;
    lt_token_store_init(&s, 0, 60000, 0); /* rate_per_minute 0: no limit, and no fetch times kept */
    for (int i = 0; i < 3 * LT_TOKEN_RATE_SLOTS; i++) {
        assert_int_equal(lt_token_acquire(&s, i, i ? "t" : NULL, &t, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
        lt_token_fetched(&s, "t", 300, i);
        /* The fetch-time ring must stay inside its slots: an overflow lands inside the struct, out of ASan's sight. */
        assert_true(s.nfetch_times >= 0 && s.nfetch_times <= LT_TOKEN_RATE_SLOTS);
    }
    assert_int_equal(lt_token_fetch_count(&s), 3 * LT_TOKEN_RATE_SLOTS);
    lt_token_store_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_fetch_for_many_askers),
        cmocka_unit_test(refreshes_ahead_of_expiry),
        cmocka_unit_test(a_rejected_token_is_dropped_once),
        cmocka_unit_test(never_exceeds_the_endpoint_rate),
        cmocka_unit_test(a_failed_fetch_lets_the_next_asker_fetch),
        cmocka_unit_test(waiters_of_a_failed_fetch_share_its_error),
        cmocka_unit_test(a_waiter_of_a_successful_fetch_gets_the_token),
        cmocka_unit_test(an_abandoned_fetch_passes_to_a_waiter),
        cmocka_unit_test(an_unlimited_store_fetches_forever),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
