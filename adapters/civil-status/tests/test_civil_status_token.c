/*
 * The civil-status session answer: the token, and hetHan (an expiry in
 * yyyyMMddHHmmss, UTC+07:00) turned into the seconds from now that the core's
 * token store counts with. Expected lifetimes are computed here by hand from
 * the stamps (date -u -d '2026-11-22 11:30:00' +%s is 1795347000).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "civil_status.h"
#include "fixture.h"

#define ICD_EXPIRY 1795347000 /* the ICD's hetHan 20261122183000 at UTC+07:00, as a Unix time */

typedef struct answer {
    int rc;
    const char *token;
    long expires_in;
    lt_error_t err;
} answer_t;

static answer_t read_at(fixture_call_t *fc, long status, const char *body, time_t now)
{
    lt_upstream_response_t resp = {
        .status = status, .content_type = "application/json", .body = body, .body_len = strlen(body)};
    answer_t a = {.expires_in = -1};
    lt_error_clear(&a.err);
    a.rc = lt_civil_status_token_read(fc->settings, fc->arena, &resp, now, &a.token, &a.expires_in, &a.err);
    return a;
}

static void icd_sample(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    const char *body = fixture_read(fc->arena, "token-200.json", NULL);
    /* Half an hour before hetHan: the usual 30-minute token. */
    answer_t a = read_at(fc, 200, body, ICD_EXPIRY - 1800);
    assert_int_equal(a.rc, 0);
    assert_string_equal(a.token, "<opaque>");
    assert_int_equal(a.expires_in, 1800);
    /* Two minutes before: the shortest life the ICD mentions. */
    a = read_at(fc, 200, body, ICD_EXPIRY - 120);
    assert_int_equal(a.expires_in, 120);
    /* One second before. */
    a = read_at(fc, 200, body, ICD_EXPIRY - 1);
    assert_int_equal(a.expires_in, 1);
    fixture_call_free(fc);
}

/* hetHan is Vietnam time: read as UTC it would be seven hours off, which this pins. */
static void het_han_is_utc_plus_seven(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    /* 20240102003000 in Vietnam is 2024-01-01T17:30:00Z = 1704130200. */
    answer_t a =
        read_at(fc, 200, "{\"status\":\"1\",\"token\":\"t-1\",\"hetHan\":\"20240102003000\"}", 1704130200 - 600);
    assert_int_equal(a.rc, 0);
    assert_int_equal(a.expires_in, 600);
    fixture_call_free(fc);
}

static void token_parse_uses_the_clock(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    /* hetHan written for 30 minutes from now, in Vietnam time, by strftime rather than the adapter's code. */
    time_t before = time(NULL), expiry = before + 1800, vn = expiry + 7 * 3600;
    struct tm tm;
    gmtime_r(&vn, &tm);
    char stamp[16], body[128];
    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
    snprintf(body, sizeof(body), "{\"status\":\"1\",\"token\":\"t-2\",\"hetHan\":\"%s\"}", stamp);
    lt_upstream_response_t resp = {.status = 200, .body = body, .body_len = strlen(body)};
    const char *token = NULL;
    long expires_in = -1;
    lt_error_t err = {0};
    assert_int_equal(lt_civil_status_adapter.token_parse(fc->settings, fc->arena, &resp, &token, &expires_in, &err), 0);
    time_t after = time(NULL);
    assert_string_equal(token, "t-2");
    /* The seconds left until that moment, as the clock read somewhere between before and after. */
    assert_true(expires_in >= (long)(expiry - after) && expires_in <= (long)(expiry - before));
    fixture_call_free(fc);
}

static void no_het_han_means_the_shortest_life(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    const char *bodies[] = {"{\"status\":\"1\",\"token\":\"t-3\"}",
                            "{\"status\":\"1\",\"token\":\"t-3\",\"hetHan\":null}",
                            "{\"status\":\"1\",\"token\":\"t-3\",\"hetHan\":\"\"}", "{\"token\":\"t-3\"}"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        answer_t a = read_at(fc, 200, bodies[i], ICD_EXPIRY);
        assert_int_equal(a.rc, 0);
        assert_string_equal(a.token, "t-3");
        assert_int_equal(a.expires_in, 120);
    }
    fixture_call_free(fc);
}

static void long_lives_are_cut_to_a_day(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    answer_t a =
        read_at(fc, 200, "{\"status\":\"1\",\"token\":\"t\",\"hetHan\":\"20261122183000\"}", ICD_EXPIRY - 90000);
    assert_int_equal(a.expires_in, 86400);
    fixture_call_free(fc);
}

static void expired_on_arrival(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    const char *body = fixture_read(fc->arena, "token-200.json", NULL);
    /* The ICD: a token is refused from hetHan on, so one whose hetHan is now is already useless. */
    answer_t a = read_at(fc, 200, body, ICD_EXPIRY);
    assert_int_equal(a.rc, -1);
    assert_int_equal(a.err.kind, LT_ERR_UPSTREAM_BAD);
    assert_string_equal(a.err.code, "token_expired_on_arrival");
    a = read_at(fc, 200, body, ICD_EXPIRY + 3600);
    assert_string_equal(a.err.code, "token_expired_on_arrival");
    assert_non_null(strstr(a.err.detail, "3600 s ago"));
    assert_non_null(strstr(a.err.detail, "clock"));
    fixture_call_free(fc);
}

static void wrong_account(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    answer_t a = read_at(fc, 200, fixture_read(fc->arena, "token-wrong-account.json", NULL), ICD_EXPIRY - 60);
    assert_int_equal(a.rc, -1);
    assert_int_equal(a.err.kind, LT_ERR_UPSTREAM_BAD);
    assert_string_equal(a.err.code, "upstream_account_rejected");
    assert_non_null(strstr(a.err.detail, "service account"));
    assert_non_null(strstr(a.err.detail, "upstreams.civil-status.service.user_name"));
    assert_null(strstr(a.err.detail, USER_NAME));
    assert_null(strstr(a.err.detail, "Mat-khau"));
    fixture_call_free(fc);
}

static void unusable_answers(void **state)
{
    static const struct {
        long status;
        const char *body, *code;
        lt_error_kind_t kind;
    } cases[] = {
        {200, "{\"status\":\"1\",\"token\":\"t\",\"hetHan\":\"2026-11-22 18:30\"}", "token_bad_response",
         LT_ERR_UPSTREAM_BAD},
        {200, "{\"status\":\"1\",\"token\":\"t\",\"hetHan\":\"20261322183000\"}", "token_bad_response",
         LT_ERR_UPSTREAM_BAD},
        {200, "{\"status\":\"1\",\"token\":\"t\",\"hetHan\":20261122183000}", "token_bad_response",
         LT_ERR_UPSTREAM_BAD},
        {200, "{\"status\":\"1\",\"hetHan\":\"20261122183000\"}", "token_bad_response", LT_ERR_UPSTREAM_BAD},
        {200, "{\"status\":\"1\",\"token\":\"two words\",\"hetHan\":\"20261122183000\"}", "token_bad_response",
         LT_ERR_UPSTREAM_BAD},
        {200, "{\"status\":\"1\",\"token\":\"\",\"hetHan\":\"20261122183000\"}", "token_bad_response",
         LT_ERR_UPSTREAM_BAD},
        {200, "not json", "token_bad_response", LT_ERR_UPSTREAM_BAD},
        {200, "{\"status\":\"0\",\"errorCode\":\"HT-500\"}", "token_error", LT_ERR_UPSTREAM_BAD},
        /* HT-400 at the token endpoint is our request's fault, never the caller's: 502, not 400. */
        {200, "{\"status\":\"0\",\"errorCode\":\"HT-400\"}", "token_error", LT_ERR_UPSTREAM_BAD},
        {429, "", "upstream_rate_limited", LT_ERR_UPSTREAM_UNAVAILABLE},
        {503, "<html>maintenance</html>", "upstream_http_503", LT_ERR_UPSTREAM_UNAVAILABLE},
        {504, "", "upstream_http_504", LT_ERR_UPSTREAM_TIMEOUT},
        {401, "", "upstream_http_status", LT_ERR_UPSTREAM_BAD},
    };
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        answer_t a = read_at(fc, cases[i].status, cases[i].body, ICD_EXPIRY - 60);
        if (a.rc != -1)
            fail_msg("case %zu: accepted", i);
        assert_string_equal(a.err.code, cases[i].code);
        assert_int_equal(a.err.kind, cases[i].kind);
    }
    fixture_call_free(fc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(icd_sample),
        cmocka_unit_test(het_han_is_utc_plus_seven),
        cmocka_unit_test(token_parse_uses_the_clock),
        cmocka_unit_test(no_het_han_means_the_shortest_life),
        cmocka_unit_test(long_lives_are_cut_to_a_day),
        cmocka_unit_test(expired_on_arrival),
        cmocka_unit_test(wrong_account),
        cmocka_unit_test(unusable_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
