/* The error table: every kind's HTTP status and what it means for a call (business answer, upstream failure, stale
 * copy, breaker), stated here from the product's rules rather than read back from the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lt_error.h"

typedef struct {
    lt_error_kind_t kind;
    int status;
    bool answer, upstream, stale, breaker;
} expected_t;

/* A business answer is a 4xx toward the caller: the system (or our admission) worked and said no. Only the national
 * system's own failures (502, 503, 504) may be hidden behind a stale copy and move its breaker. Our own bug (500) is
 * neither. */
static const expected_t expected[] = {
    {LT_ERR_NONE, 200, false, false, false, false},
    {LT_ERR_BAD_REQUEST, 400, true, false, false, false},
    {LT_ERR_FORBIDDEN, 403, true, false, false, false},
    {LT_ERR_NOT_FOUND, 404, true, false, false, false},
    {LT_ERR_METHOD, 405, true, false, false, false},
    {LT_ERR_TOO_LARGE, 413, true, false, false, false},
    {LT_ERR_MEDIA_TYPE, 415, true, false, false, false},
    {LT_ERR_RATE_LIMITED, 429, true, false, false, false},
    {LT_ERR_INTERNAL, 500, false, false, false, false},
    {LT_ERR_UPSTREAM_BAD, 502, false, true, true, true},
    {LT_ERR_UPSTREAM_UNAVAILABLE, 503, false, true, true, true},
    {LT_ERR_UPSTREAM_TIMEOUT, 504, false, true, true, true},
    {LT_ERR_CONFLICT, 422, true, false, false, false},
    {LT_ERR_STATE_CONFLICT, 409, true, false, false, false},
};

static void every_kind_is_stated(void **state)
{
    assert_int_equal(sizeof(expected) / sizeof(expected[0]), LT_ERR_KIND_COUNT);
    for (size_t i = 0; i < LT_ERR_KIND_COUNT; i++) {
        assert_int_equal(expected[i].kind, i);
        assert_non_null(lt_error_title(expected[i].kind));
        assert_non_null(lt_error_kind_name(expected[i].kind));
    }
}

static void each_kind_has_its_status_and_flags(void **state)
{
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        const expected_t *e = &expected[i];
        assert_int_equal(lt_error_http_status(e->kind), e->status);
        assert_int_equal(lt_error_is(e->kind, LT_ERRF_ANSWER), e->answer);
        assert_int_equal(lt_error_is(e->kind, LT_ERRF_UPSTREAM), e->upstream);
        assert_int_equal(lt_error_is(e->kind, LT_ERRF_STALE), e->stale);
        assert_int_equal(lt_error_is(e->kind, LT_ERRF_BREAKER), e->breaker);
    }
}

/* 422 is declared after 504: it once counted as an upstream failure by its place in the enum. */
static void a_422_is_a_business_answer(void **state)
{
    assert_int_equal(lt_error_http_status(LT_ERR_CONFLICT), 422);
    assert_true(lt_error_is(LT_ERR_CONFLICT, LT_ERRF_ANSWER));
    assert_false(lt_error_is(LT_ERR_CONFLICT, LT_ERRF_UPSTREAM));
    assert_false(lt_error_is(LT_ERR_CONFLICT, LT_ERRF_BREAKER));
    assert_false(lt_error_is(LT_ERR_CONFLICT, LT_ERRF_STALE));
}

/* A dossier version not newer than the stored one: the store said no, the portal did not fail. */
static void a_409_is_a_business_answer(void **state)
{
    assert_int_equal(lt_error_http_status(LT_ERR_STATE_CONFLICT), 409);
    assert_true(lt_error_is(LT_ERR_STATE_CONFLICT, LT_ERRF_ANSWER));
    assert_false(lt_error_is(LT_ERR_STATE_CONFLICT, LT_ERRF_UPSTREAM));
    assert_false(lt_error_is(LT_ERR_STATE_CONFLICT, LT_ERRF_BREAKER));
    assert_false(lt_error_is(LT_ERR_STATE_CONFLICT, LT_ERRF_STALE));
}

static void flags_combine_and_unknown_kinds_have_none(void **state)
{
    assert_true(lt_error_is(LT_ERR_UPSTREAM_TIMEOUT, LT_ERRF_UPSTREAM | LT_ERRF_BREAKER));
    assert_false(lt_error_is(LT_ERR_NOT_FOUND, LT_ERRF_ANSWER | LT_ERRF_STALE));
    assert_false(lt_error_is(LT_ERR_KIND_COUNT, LT_ERRF_ANSWER));
    assert_false(lt_error_is((lt_error_kind_t)-1, LT_ERRF_BREAKER));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind_is_stated),
        cmocka_unit_test(each_kind_has_its_status_and_flags),
        cmocka_unit_test(a_422_is_a_business_answer),
        cmocka_unit_test(a_409_is_a_business_answer),
        cmocka_unit_test(flags_combine_and_unknown_kinds_have_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
