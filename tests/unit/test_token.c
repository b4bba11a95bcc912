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
    lt_token_store_init(&s, 10, 60000, 30000);
    assert_int_equal(lt_token_acquire(&s, 0, NULL, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    for (int i = 0; i < 19; i++)
        assert_int_equal(lt_token_acquire(&s, 1, NULL, tok, sizeof(tok), &err), LT_TOKEN_WAIT);
    lt_token_fetched(&s, "abc", 300, 5);
    assert_int_equal(lt_token_acquire(&s, 6, NULL, tok, sizeof(tok), &err), LT_TOKEN_READY);
    assert_string_equal(tok, "abc");
    assert_int_equal(lt_token_fetch_count(&s), 1);
    lt_token_store_destroy(&s);
}

static void refreshes_ahead_of_expiry(void **state)
{
    lt_token_store_t s;
    lt_error_t err;
    char tok[64];
    lt_token_store_init(&s, 10, 60000, 30000);
    assert_int_equal(lt_token_acquire(&s, 0, NULL, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    lt_token_fetched(&s, "first", 300, 0);
    /* Valid until 300 s, refreshed from 270 s on. */
    assert_int_equal(lt_token_acquire(&s, 269999, NULL, tok, sizeof(tok), &err), LT_TOKEN_READY);
    assert_int_equal(lt_token_acquire(&s, 270000, NULL, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    /* While that refresh is out, others wait rather than fetch again. */
    assert_int_equal(lt_token_acquire(&s, 270001, NULL, tok, sizeof(tok), &err), LT_TOKEN_WAIT);
    lt_token_store_destroy(&s);
}

static void a_rejected_token_is_dropped_once(void **state)
{
    lt_token_store_t s;
    lt_error_t err;
    char tok[64];
    lt_token_store_init(&s, 10, 60000, 0);
    lt_token_acquire(&s, 0, NULL, tok, sizeof(tok), &err);
    lt_token_fetched(&s, "old", 300, 0);
    assert_int_equal(lt_token_acquire(&s, 1, "old", tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    lt_token_fetched(&s, "new", 300, 2);
    /* A second request that also failed with "old" must not throw away "new". */
    assert_int_equal(lt_token_acquire(&s, 3, "old", tok, sizeof(tok), &err), LT_TOKEN_READY);
    assert_string_equal(tok, "new");
    assert_int_equal(lt_token_fetch_count(&s), 2);
    lt_token_store_destroy(&s);
}

static void never_exceeds_the_endpoint_rate(void **state)
{
    lt_token_store_t s;
    lt_error_t err;
    char tok[64];
    lt_token_store_init(&s, 3, 60000, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(lt_token_acquire(&s, i * 10, i ? "t" : NULL, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
        lt_token_fetched(&s, "t", 300, i * 10);
    }
    /* A fourth fetch inside the minute is refused with a wait; the current token is dropped, so none is left. */
    assert_int_equal(lt_token_acquire(&s, 100, "t", tok, sizeof(tok), &err), LT_TOKEN_LIMIT);
    assert_string_equal(err.code, "token_rate_limit");
    assert_int_equal(err.retry_after_s, 60);
    /* The minute after the first fetch, a slot is free again. */
    assert_int_equal(lt_token_acquire(&s, 60000, NULL, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    assert_int_equal(lt_token_fetch_count(&s), 4);
    lt_token_store_destroy(&s);
}

static void a_failed_fetch_lets_the_next_asker_fetch(void **state)
{
    lt_token_store_t s;
    lt_error_t err, why;
    char tok[64];
    lt_token_store_init(&s, 10, 60000, 0);
    assert_int_equal(lt_token_acquire(&s, 0, NULL, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
    lt_error_set(&why, LT_ERR_UPSTREAM_UNAVAILABLE, "connect", "down");
    lt_token_fetch_failed(&s, &why);
    assert_int_equal(lt_token_acquire(&s, 1, NULL, tok, sizeof(tok), &err), LT_TOKEN_FETCH);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
