/*
 * The insurance adapter's parse(): ICD samples to the canonical insured
 * person, every documented answer and HTTP status to its error, the three
 * authentication failures told apart, hostile and malformed bodies refused.
 * Expected records are written by hand from icd/social-insurance.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "lt_test_fixture.h"

/* The ICD's sample (icd/social-insurance.md, "Response"). */
static const char *const ICD_INSURED =
    "{"
    "\"insurance_number\": \"0123456789\","
    "\"personal_id\": \"001095012345\","
    "\"full_name\": \"NGUYỄN VĂN AN\","
    "\"birth_date\": \"1995-03-12\","
    "\"sex\": {\"code\": \"male\", \"source_code\": \"Nam\"},"
    "\"health_insurance_card\": {"
    "  \"card_number\": \"GD4010123456789\","
    "  \"valid_from\": \"2025-01-01\","
    "  \"valid_to\": \"2025-12-31\","
    "  \"initial_care_facility\": {\"code\": \"01001\", \"name\": \"Bệnh viện Bạch Mai\"},"
    "  \"benefit_level\": 4"
    "},"
    "\"social_insurance\": {"
    "  \"status\": {\"code\": \"contributing\", \"source_code\": \"DANG_THAM_GIA\"},"
    "  \"employer\": {\"code\": \"TA0001A\", \"name\": \"Công ty cổ phần phần mềm Hà Thành\"},"
    "  \"total_contribution\": {\"years\": 7, \"months\": 3}"
    "}"
    "}";

/* fixtures/lookup-response-voluntary-year-only.json: no card, no employer, year only, Nữ, HUONG_CHE_DO. */
static const char *const VOLUNTARY_INSURED =
    "{"
    "\"insurance_number\": \"0123456789\","
    "\"personal_id\": \"001195012345\","
    "\"full_name\": \"TRẦN THỊ BÌNH\","
    "\"birth_date\": \"1995\","
    "\"sex\": {\"code\": \"female\", \"source_code\": \"Nữ\"},"
    "\"health_insurance_card\": null,"
    "\"social_insurance\": {"
    "  \"status\": {\"code\": \"receiving_benefits\", \"source_code\": \"HUONG_CHE_DO\"},"
    "  \"employer\": null,"
    "  \"total_contribution\": {\"years\": 20, \"months\": 0}"
    "}"
    "}";

/* fixtures/lookup-response-nfd-unknown-codes.json: NFD padded name, codes the ICD does not list, optionals absent. */
static const char *const UNKNOWN_CODES_INSURED =
    "{"
    "\"insurance_number\": \"0123456789\","
    "\"personal_id\": null,"
    "\"full_name\": \"NGUYỄN VĂN AN\","
    "\"birth_date\": \"1996-02-29\","
    "\"sex\": {\"code\": null, \"source_code\": \"Khác\"},"
    "\"health_insurance_card\": {\"card_number\": \"HT3790123456789\", \"valid_from\": null, \"valid_to\": null,"
    "                            \"initial_care_facility\": null, \"benefit_level\": null},"
    "\"social_insurance\": {"
    "  \"status\": {\"code\": null, \"source_code\": \"CHO_DUYET\"},"
    "  \"employer\": {\"code\": \"TA0002B\", \"name\": null},"
    "  \"total_contribution\": null"
    "}"
    "}";

typedef lt_test_outcome_t outcome_t;

static int setup(void **state)
{
    *state = fixture_call_new("0123456789");
    return 0;
}

static int setup_personal_id(void **state)
{
    *state = fixture_call_new("001095012345");
    return 0;
}

static int teardown(void **state)
{
    fixture_call_free(*state);
    return 0;
}

static outcome_t run_body(fixture_call_t *fc, long status, const char *body, size_t len, const char *retry_after)
{
    outcome_t o =
        lt_test_parse(fixture_lookup(), &fc->call, status, "application/json; charset=utf-8", body, len, retry_after);
    assert_true(o.step == LT_STEP_DONE || o.step == LT_STEP_FAIL); /* no tokens in this ICD */
    /* No personal data in any error detail. */
    assert_null(strstr(o.err.detail, "0123456789"));
    assert_null(strstr(o.err.detail, "001095012345"));
    assert_null(strstr(o.err.detail, "NGUY"));
    return o;
}

static outcome_t run(fixture_call_t *fc, long status, const char *fixture, const char *retry_after)
{
    size_t len;
    const char *body = fixture_read(fc->arena, fixture, &len);
    return run_body(fc, status, body, len, retry_after);
}

static outcome_t run_text(fixture_call_t *fc, long status, const char *body)
{
    return run_body(fc, status, body, strlen(body), NULL);
}

static void assert_result(outcome_t *o, const char *expected_json)
{
    if (o->step != LT_STEP_DONE)
        fail_msg("parse failed: %s %s", o->err.code, o->err.detail);
    json_error_t jerr;
    json_t *want = json_loads(expected_json, 0, &jerr);
    if (want == NULL)
        fail_msg("expected JSON does not parse: %s", jerr.text);
    if (!json_equal(o->result, want)) {
        char *got = json_dumps(o->result, JSON_INDENT(1) | JSON_SORT_KEYS);
        char *exp = json_dumps(want, JSON_INDENT(1) | JSON_SORT_KEYS);
        print_error("got:\n%s\nwant:\n%s\n", got, exp);
        free(got);
        free(exp);
        fail();
    }
    json_decref(want);
    json_decref(o->result);
}

static void assert_error(outcome_t *o, int status, const char *code, int retry_after, bool retryable)
{
    if (o->step != LT_STEP_FAIL)
        fail_msg("expected %s, parse succeeded", code);
    assert_string_equal(o->err.code, code);
    assert_int_equal(lt_error_http_status(o->err.kind), status);
    assert_int_equal(o->err.retry_after_s, retry_after);
    assert_int_equal(o->err.retryable, retryable);
    assert_true(o->err.detail[0] != '\0');
}

/* ---- success ---- */

static void icd_sample(void **state)
{
    outcome_t o = run(*state, 200, "lookup-response.json", NULL);
    /* NFC bytes spelled out, so an editor's normalisation of this file cannot hide a bug. */
    assert_string_equal(json_string_value(json_object_get(o.result, "full_name")), "NGUY\xe1\xbb\x84N V\xc4\x82N AN");
    assert_null(json_object_get(o.result, "source")); /* the core adds it */
    assert_result(&o, ICD_INSURED);
}

static void icd_sample_by_personal_id(void **state)
{
    outcome_t o = run(*state, 200, "lookup-response.json", NULL);
    assert_result(&o, ICD_INSURED);
}

static void null_card_voluntary_year_only(void **state)
{
    outcome_t o = run(*state, 200, "lookup-response-voluntary-year-only.json", NULL);
    assert_result(&o, VOLUNTARY_INSURED);
}

static void nfd_name_and_unknown_codes(void **state)
{
    outcome_t o = run(*state, 200, "lookup-response-nfd-unknown-codes.json", NULL);
    assert_result(&o, UNKNOWN_CODES_INSURED);
}

static void every_status_code(void **state)
{
    static const struct {
        const char *source, *code;
    } rows[] = {{"DANG_THAM_GIA", "contributing"},
                {"TAM_DUNG", "suspended"},
                {"DA_NGHI", "stopped"},
                {"HUONG_CHE_DO", "receiving_benefits"}};
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-response.json", NULL);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *b = fixture_replace(fc->arena, body, "\"DANG_THAM_GIA\"",
                                        lt_arena_sprintf(fc->arena, "\"%s\"", rows[i].source));
        outcome_t o = run_text(fc, 200, b);
        assert_int_equal(o.step, LT_STEP_DONE);
        const json_t *status = json_object_get(json_object_get(o.result, "social_insurance"), "status");
        assert_string_equal(json_string_value(json_object_get(status, "code")), rows[i].code);
        assert_string_equal(json_string_value(json_object_get(status, "source_code")), rows[i].source);
        json_decref(o.result);
    }
}

/* ---- the ICD's documented answers ---- */

static void documented_answers(void **state)
{
    static const struct {
        long http;
        const char *fixture;
        int status;
        const char *code;
        int retry_after;
        bool retryable;
    } cases[] = {
        {401, "error-auth-signature.json", 502, "upstream_auth_signature", 0, false},
        {401, "error-auth-expired.json", 502, "upstream_auth_expired", 0, false},
        {401, "error-auth-replay.json", 502, "upstream_auth_replay", 0, true},
        {404, "error-not-found.json", 404, "insured_not_found", 0, false},
        {400, "error-invalid.json", 400, "upstream_invalid_request", 0, false},
        {429, "error-rate-limited.json", 503, "upstream_rate_limited", 60, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        outcome_t o = run(*state, cases[i].http, cases[i].fixture, NULL);
        assert_error(&o, cases[i].status, cases[i].code, cases[i].retry_after, cases[i].retryable);
    }
}

/* Wrong secret, skewed clock and replay are three different operator problems, and say so. */
static void auth_failures_are_distinct(void **state)
{
    outcome_t sig = run(*state, 401, "error-auth-signature.json", NULL);
    outcome_t exp = run(*state, 401, "error-auth-expired.json", NULL);
    outcome_t rep = run(*state, 401, "error-auth-replay.json", NULL);
    assert_string_not_equal(sig.err.code, exp.err.code);
    assert_string_not_equal(sig.err.code, rep.err.code);
    assert_string_not_equal(exp.err.code, rep.err.code);
    assert_non_null(strstr(sig.err.detail, "secret"));
    assert_non_null(strstr(exp.err.detail, "clock"));
    assert_non_null(strstr(rep.err.detail, "nonce"));
    assert_null(strstr(sig.err.detail, "clock"));
    assert_null(strstr(exp.err.detail, "secret"));
}

/* Each auth failure is logged with its kind for operators, and without the number asked about. */
static void auth_failures_are_logged(void **state)
{
    static const char *const cases[][2] = {{"error-auth-signature.json", "AUTH_SIGNATURE"},
                                           {"error-auth-expired.json", "AUTH_EXPIRED"},
                                           {"error-auth-replay.json", "AUTH_REPLAY"}};
    for (size_t i = 0; i < 3; i++) {
        FILE *log = tmpfile();
        assert_non_null(log);
        fflush(stderr);
        int saved = dup(STDERR_FILENO);
        dup2(fileno(log), STDERR_FILENO);
        outcome_t o = run(*state, 401, cases[i][0], NULL);
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        char text[2048] = "";
        rewind(log);
        size_t n = fread(text, 1, sizeof(text) - 1, log);
        text[n] = '\0';
        fclose(log);
        assert_int_equal(o.step, LT_STEP_FAIL);
        assert_non_null(strstr(text, cases[i][1]));
        assert_non_null(strstr(text, REQUEST_ID));
        assert_null(strstr(text, "0123456789"));
    }
}

static void rate_limited_retry_after(void **state)
{
    fixture_call_t *fc = *state;
    outcome_t o = run(fc, 429, "error-rate-limited.json", "17");
    assert_error(&o, 503, "upstream_rate_limited", 17, false);
    o = run(fc, 429, "error-rate-limited.json", "Wed, 21 Oct 2026 07:28:00 GMT");
    assert_error(&o, 503, "upstream_rate_limited", 60, false);
    o = run(fc, 429, "error-rate-limited.json", "0");
    assert_error(&o, 503, "upstream_rate_limited", 60, false);
    /* Any 429 is the rate limit talking, whatever its body. */
    o = run_text(fc, 429, "Too Many Requests");
    assert_error(&o, 503, "upstream_rate_limited", 60, false);

    /* The fallbacks come from the settings. */
    extern const lt_adapter_t lt_insurance_adapter;
    json_t *conf = fixture_settings_json(", \"rate_limited_retry_after_s\": 45, \"unavailable_retry_after_s\": 7");
    void *settings;
    lt_error_t err;
    assert_int_equal(lt_insurance_adapter.settings_load(conf, "s", &settings, &err), 0);
    json_decref(conf);
    fc->call.settings = settings;
    o = run(fc, 429, "error-rate-limited.json", NULL);
    assert_error(&o, 503, "upstream_rate_limited", 45, false);
    o = run(fc, 503, "http-502.html", NULL);
    assert_error(&o, 503, "upstream_http_503", 7, true);
    fc->call.settings = fc->settings;
    lt_insurance_adapter.settings_free(settings);
}

/* ---- undocumented answers ---- */

static void http_statuses(void **state)
{
    fixture_call_t *fc = *state;
    outcome_t o = run(fc, 502, "http-502.html", NULL);
    assert_error(&o, 502, "upstream_http_502", 0, false);
    o = run(fc, 503, "http-502.html", "120");
    assert_error(&o, 503, "upstream_http_503", 120, true);
    o = run(fc, 503, "http-502.html", NULL);
    assert_error(&o, 503, "upstream_http_503", 30, true);
    o = run(fc, 504, "http-502.html", NULL);
    assert_error(&o, 504, "upstream_http_504", 0, true);
    o = run_text(fc, 500, "{\"status\":\"ERROR\",\"message\":\"Lỗi hệ thống\"}");
    assert_error(&o, 502, "upstream_http_status", 0, false);
    o = run(fc, 500, "http-502.html", NULL);
    assert_error(&o, 502, "upstream_http_status", 0, false);
    /* A 404 or 400 without the ICD's body is a wrong URL or a proxy, not "no such person". */
    o = run(fc, 404, "http-502.html", NULL);
    assert_error(&o, 502, "upstream_http_status", 0, false);
    o = run_text(fc, 400, "{\"status\":\"BAD\"}");
    assert_error(&o, 502, "upstream_http_status", 0, false);
    /* A 200 body on another status is still that status. */
    o = run(fc, 404, "lookup-response.json", NULL);
    assert_error(&o, 502, "upstream_http_status", 0, false);
    o = run(fc, 301, "http-502.html", NULL);
    assert_error(&o, 502, "upstream_http_status", 0, false);
}

static void unknown_401(void **state)
{
    fixture_call_t *fc = *state;
    outcome_t o = run_text(fc, 401, "{\"status\":\"AUTH_OTHER\"}");
    assert_error(&o, 502, "upstream_auth", 0, false);
    o = run(fc, 401, "http-502.html", NULL);
    assert_error(&o, 502, "upstream_auth", 0, false);
    o = run_text(fc, 401, "");
    assert_error(&o, 502, "upstream_auth", 0, false);
}

static void garbage_on_200(void **state)
{
    fixture_call_t *fc = *state;
    static const char *const bodies[] = {
        "OK\n",
        "",
        "[]",
        "{\"status\":\"OK\"}",
        "{\"status\":\"OK\",\"data\":null}",
        "{\"status\":\"OK\",\"data\":[]}",
        "{\"status\":\"NOT_FOUND\",\"message\":\"x\"}",
        "{\"status\":1,\"data\":{}}",
        "{\"status\":\"OK\",\"status\":\"OK\",\"data\":{}}", /* duplicate keys: which one would the system mean? */
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        outcome_t o = run_text(fc, 200, bodies[i]);
        assert_error(&o, 502, "bad_response", 0, false);
    }
    outcome_t o = run(fc, 200, "garbage.txt", NULL);
    assert_error(&o, 502, "bad_response", 0, false);
}

/* Mistyped or malformed members are refused, and the detail names the member but not its value. */
static void malformed_members(void **state)
{
    fixture_call_t *fc = *state;
    static const char *const cases[][3] = {
        {"\"hoTen\": \"NGUYỄN VĂN AN\"", "\"hoTen\": 42", "data.hoTen"},
        {"\"12/03/1995\"", "\"1995-03-12\"", "data.ngaySinh"},
        {"\"12/03/1995\"", "\"31/02/1995\"", "data.ngaySinh"},
        {"\"12/03/1995\"", "\"95\"", "data.ngaySinh"},
        {"\"maSoBhxh\": \"0123456789\"", "\"maSoBhxh\": \"012345678\"", "data.maSoBhxh"},
        {"\"maSoBhxh\": \"0123456789\"", "\"maSoBhxh\": 123456789", "data.maSoBhxh"},
        {"\"soDinhDanh\": \"001095012345\"", "\"soDinhDanh\": \"00109501234X\"", "data.soDinhDanh"},
        {"\"mucHuong\": 4", "\"mucHuong\": \"4\"", "data.theBhyt.mucHuong"},
        {"\"mucHuong\": 4", "\"mucHuong\": 4.5", "data.theBhyt.mucHuong"},
        {"\"31/12/2025\"", "\"2025-12-31\"", "data.theBhyt.giaTriDen"},
        {"\"01/01/2025\"", "\"2025\"", "data.theBhyt.giaTriTu"}, /* a card's validity is a day, never a year */
        {"\"nam\": 7", "\"nam\": -1", "data.bhxh.tongThoiGianDong.nam"},
        {"\"gioiTinh\": \"Nam\"", "\"gioiTinh\": 1", "data.gioiTinh"},
        {"\"trangThai\": \"DANG_THAM_GIA\"", "\"trangThai\": [\"DANG_THAM_GIA\"]", "data.bhxh.trangThai"},
        {"\"donVi\": {", "\"donVi\": \"TA0001A\", \"x\": {", "data.bhxh.donVi"},
    };
    const char *body = fixture_read(fc->arena, "lookup-response.json", NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *b = fixture_replace(fc->arena, body, cases[i][0], cases[i][1]);
        outcome_t o = run_text(fc, 200, b);
        assert_error(&o, 502, "bad_response", 0, false);
        if (strstr(o.err.detail, cases[i][2]) == NULL)
            fail_msg("case %zu: detail \"%s\" should name %s", i, o.err.detail, cases[i][2]);
    }
    /* The card and the employer as anything but an object or null. */
    const char *b = fixture_replace(fc->arena, body, "\"theBhyt\": {", "\"theBhyt\": \"GD4010123456789\", \"x\": {");
    outcome_t o = run_text(fc, 200, b);
    assert_error(&o, 502, "bad_response", 0, false);
}

/* A record for another number than the one asked about must never reach the caller. */
static void record_for_another_number(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-response.json", NULL);
    const char *other = fixture_replace(fc->arena, body, "\"0123456789\"", "\"0123456780\"");
    outcome_t o = run_text(fc, 200, other);
    assert_error(&o, 502, "upstream_record_mismatch", 0, false);
}

static void record_for_another_personal_id(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-response.json", NULL);
    outcome_t o = run_text(fc, 200, fixture_replace(fc->arena, body, "\"001095012345\"", "\"001095012346\""));
    assert_error(&o, 502, "upstream_record_mismatch", 0, false);
}

/* A record without its soDinhDanh, asked about by personal id: the answer about that number, which it then carries. */
static void record_without_personal_id(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-response.json", NULL);
    outcome_t o = run_text(fc, 200, fixture_replace(fc->arena, body, "\"soDinhDanh\": \"001095012345\",", ""));
    assert_result(&o, ICD_INSURED);
}

/*
 * The ICD shows every member of its 200 but says none is always sent: status (the HTTP 200 already says "found"),
 * maSoBhxh (then the number asked), hoTen, ngaySinh, theBhyt.maThe and each of tongThoiGianDong's nam and thang.
 * Each may be missing: null, never a 502.
 */
static void members_the_icd_does_not_require(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-response.json", NULL);
    outcome_t o = run_text(fc, 200, fixture_replace(fc->arena, body, "\"status\": \"OK\",", ""));
    assert_result(&o, ICD_INSURED);
    o = run_text(fc, 200, fixture_replace(fc->arena, body, "\"maSoBhxh\": \"0123456789\",", ""));
    assert_result(&o, ICD_INSURED); /* asked by 0123456789 */
    static const char *const cuts[][3] = {
        {"\"hoTen\": \"NGUYỄN VĂN AN\",", "", "full_name"},
        {"\"hoTen\": \"NGUYỄN VĂN AN\"", "\"hoTen\": \"  \"", "full_name"},
        {"\"ngaySinh\": \"12/03/1995\",", "", "birth_date"},
        {"\"maThe\": \"GD4010123456789\",", "", "health_insurance_card.card_number"},
        {"\"nam\": 7, ", "", "social_insurance.total_contribution.years"},
        {", \"thang\": 3", "", "social_insurance.total_contribution.months"},
    };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        o = run_text(fc, 200, fixture_replace(fc->arena, body, cuts[i][0], cuts[i][1]));
        if (o.step != LT_STEP_DONE)
            fail_msg("case %zu refused: %s", i, o.err.detail);
        char path[80];
        snprintf(path, sizeof(path), "%s", cuts[i][2]);
        json_t *v = o.result;
        for (char *part = strtok(path, "."); part != NULL; part = strtok(NULL, "."))
            v = json_object_get(v, part);
        if (!json_is_null(v))
            fail_msg("case %zu: %s should be null", i, cuts[i][2]);
        json_decref(o.result);
    }
    /* A data object with nothing in it is still the answer about the number asked. */
    o = run_text(fc, 200, "{\"status\":\"OK\",\"data\":{}}");
    assert_int_equal(o.step, LT_STEP_DONE);
    assert_string_equal(json_string_value(json_object_get(o.result, "insurance_number")), "0123456789");
    json_decref(o.result);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(icd_sample, setup, teardown),
        cmocka_unit_test_setup_teardown(icd_sample_by_personal_id, setup_personal_id, teardown),
        cmocka_unit_test_setup_teardown(null_card_voluntary_year_only, setup, teardown),
        cmocka_unit_test_setup_teardown(nfd_name_and_unknown_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(every_status_code, setup, teardown),
        cmocka_unit_test_setup_teardown(documented_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_failures_are_distinct, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_failures_are_logged, setup, teardown),
        cmocka_unit_test_setup_teardown(rate_limited_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(http_statuses, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_401, setup, teardown),
        cmocka_unit_test_setup_teardown(garbage_on_200, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_members, setup, teardown),
        cmocka_unit_test_setup_teardown(record_for_another_number, setup, teardown),
        cmocka_unit_test_setup_teardown(record_for_another_personal_id, setup_personal_id, teardown),
        cmocka_unit_test_setup_teardown(record_without_personal_id, setup_personal_id, teardown),
        cmocka_unit_test_setup_teardown(members_the_icd_does_not_require, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
