/*
 * The business adapter's parse(): ICD samples to the canonical business record,
 * every status and maLoi of the ICD's error table to its northbound error,
 * 401 invalid_token to REAUTH, and hostile or unusable bodies refused.
 * Expected records are written by hand from icd/business-registration.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "lt_test_fixture.h"

/* The ICD's sample enterprise ("Lookup", 200). */
static const char *const ICD_BUSINESS =
    "{"
    "\"code\": \"0100233488\","
    "\"name\": \"CÔNG TY CỔ PHẦN PHẦN MỀM HÀ THÀNH\","
    "\"foreign_name\": \"HA THANH SOFTWARE JOINT STOCK COMPANY\","
    "\"short_name\": \"HTS JSC\","
    "\"type\": {\"code\": \"joint_stock\", \"source_code\": \"CTCP\", \"name\": \"Công ty cổ phần\"},"
    "\"status\": {\"code\": \"active\", \"source_code\": \"01\"},"
    "\"established_on\": \"2010-05-20\","
    "\"head_office\": {\"street\": \"Số 12 phố Lý Thường Kiệt\", \"commune_code\": \"00070\","
    "                 \"commune_name\": \"Phường Phan Chu Trinh\", \"province_code\": \"01\","
    "                 \"province_name\": \"Thành phố Hà Nội\"},"
    "\"legal_representatives\": [{\"full_name\": \"Trần Thị Bình\", \"title\": \"Tổng giám đốc\"}],"
    "\"business_lines\": [{\"code\": \"6201\", \"name\": \"Lập trình máy vi tính\", \"primary\": true},"
    "                     {\"code\": \"6202\", \"name\": \"Tư vấn máy vi tính và quản trị hệ thống máy vi tính\","
    "                      \"primary\": false}],"
    "\"charter_capital_vnd\": 5000000000,"
    "\"updated_at\": \"2024-06-01T10:00:00+07:00\""
    "}";

/* fixtures/lookup-200-branch.json: a branch; NFD text with stray spaces; unknown codes; nulls and gaps. */
static const char *const BRANCH_BUSINESS =
    "{"
    "\"code\": \"0100233488-001\","
    "\"name\": \"CHI NHÁNH CÔNG TY CỔ PHẦN PHẦN MỀM HÀ THÀNH TẠI ĐÀ NẴNG\","
    "\"foreign_name\": null,"
    "\"short_name\": null,"
    "\"type\": {\"code\": null, \"source_code\": \"DNXH\", \"name\": \"Doanh nghiệp xã hội\"},"
    "\"status\": {\"code\": null, \"source_code\": \"09\"},"
    "\"established_on\": \"2016-02-29\","
    "\"head_office\": {\"street\": \"Số 5 đường Bạch Đằng\", \"commune_code\": \"20194\","
    "                 \"commune_name\": \"Phường Hải Châu\", \"province_code\": \"48\", \"province_name\": null},"
    "\"legal_representatives\": [{\"full_name\": \"Nguyễn Văn Ân\", \"title\": null},"
    "                            {\"full_name\": \"Lê Thị Hương\", \"title\": \"Giám đốc chi nhánh\"}],"
    "\"business_lines\": [{\"code\": \"6201\", \"name\": \"Lập trình máy vi tính\", \"primary\": false}],"
    "\"charter_capital_vnd\": null,"
    "\"updated_at\": \"2025-07-01T08:30:15.250+07:00\""
    "}";

/* fixtures/lookup-200-big-capital.json: capital 2^53 + 1, which a double cannot hold. */
static const char *const BIG_BUSINESS = "{"
                                        "\"code\": \"0312345673\","
                                        "\"name\": \"TỔNG CÔNG TY ĐẦU TƯ PHÁT TRIỂN SÀI GÒN\","
                                        "\"foreign_name\": null,"
                                        "\"short_name\": null,"
                                        "\"type\": {\"code\": \"single_member_llc\", \"source_code\": \"TNHH1TV\","
                                        "           \"name\": \"Công ty trách nhiệm hữu hạn một thành viên\"},"
                                        "\"status\": {\"code\": \"bankrupt\", \"source_code\": \"06\"},"
                                        "\"established_on\": null,"
                                        "\"head_office\": null,"
                                        "\"legal_representatives\": null,"
                                        "\"business_lines\": null,"
                                        "\"charter_capital_vnd\": 9007199254740993,"
                                        "\"updated_at\": \"2023-12-31T23:59:59Z\""
                                        "}";

typedef lt_test_outcome_t outcome_t;

static int setup_icd(void **state)
{
    *state = fixture_call_new(ICD_CODE);
    return 0;
}

static int setup_branch(void **state)
{
    *state = fixture_call_new(BRANCH_CODE);
    return 0;
}

static int setup_big(void **state)
{
    *state = fixture_call_new(BIG_CODE);
    return 0;
}

static int teardown(void **state)
{
    fixture_call_free(*state);
    return 0;
}

static outcome_t run_body(fixture_call_t *fc, long status, const char *ctype, const char *body, const char *retry_after)
{
    outcome_t o = lt_test_parse(fixture_lookup(), &fc->call, status, ctype, body, strlen(body), retry_after);
    /* No identifier or person's name in any error detail. */
    assert_null(strstr(o.err.detail, "0100233488"));
    assert_null(strstr(o.err.detail, "Tr\xe1\xba\xa7n"));
    return o;
}

static outcome_t run(fixture_call_t *fc, long status, const char *fixture, const char *retry_after)
{
    const char *body = fixture_read(fc->arena, fixture, NULL);
    const char *ctype = strstr(fixture, ".html") ? "text/html" : "application/json";
    return run_body(fc, status, ctype, body, retry_after);
}

static void assert_result(outcome_t *o, const char *expected_json)
{
    if (o->step != LT_STEP_DONE)
        fail_msg("parse failed: %s %s", o->err.code, o->err.detail);
    json_error_t jerr;
    json_t *want = json_loads(expected_json, 0, &jerr);
    if (want == NULL)
        fail_msg("bad expected JSON in test: %s", jerr.text);
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

static void assert_failure(outcome_t *o, lt_error_kind_t kind, const char *code)
{
    if (o->step != LT_STEP_FAIL)
        fail_msg("expected failure %s, got step %d", code, o->step);
    assert_int_equal(o->err.kind, kind);
    assert_string_equal(o->err.code, code);
    assert_true(o->err.detail[0] != '\0');
}

/* ---- records ---- */

static void icd_sample(void **state)
{
    outcome_t o = run(*state, 200, "lookup-200.json", NULL);
    assert_result(&o, ICD_BUSINESS);
}

static void icd_sample_key_order(void **state)
{
    /* The documented order, so the answer reads like README.md's example. */
    outcome_t o = run(*state, 200, "lookup-200.json", NULL);
    static const char *const keys[] = {"code",
                                       "name",
                                       "foreign_name",
                                       "short_name",
                                       "type",
                                       "status",
                                       "established_on",
                                       "head_office",
                                       "legal_representatives",
                                       "business_lines",
                                       "charter_capital_vnd",
                                       "updated_at"};
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(o.result, key, v)
    {
        assert_true(i < sizeof(keys) / sizeof(keys[0]));
        assert_string_equal(key, keys[i++]);
    }
    assert_int_equal(i, sizeof(keys) / sizeof(keys[0]));
    json_decref(o.result);
}

static void branch_record(void **state)
{
    outcome_t o = run(*state, 200, "lookup-200-branch.json", NULL);
    assert_result(&o, BRANCH_BUSINESS);
}

static void capital_beyond_2_pow_53(void **state)
{
    outcome_t o = run(*state, 200, "lookup-200-big-capital.json", NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    json_int_t capital = json_integer_value(json_object_get(o.result, "charter_capital_vnd"));
    assert_true(capital > 4294967296LL);
    assert_true(capital == 9007199254740993LL);
    assert_result(&o, BIG_BUSINESS);
}

static void capital_largest_int64(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-200.json", NULL);
    body = fixture_replace(fc->arena, body, "5000000000", "9223372036854775807");
    outcome_t o = run_body(fc, 200, "application/json", body, NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    assert_true(json_integer_value(json_object_get(o.result, "charter_capital_vnd")) == 9223372036854775807LL);
    json_decref(o.result);
}

/* Each replacement of the ICD sample's capital makes the record unusable. */
static void capital_refused(void **state)
{
    static const char *const bad[] = {"9223372036854775808", "99999999999999999999", "5000000000.0", "5e9",
                                      "-5000000000",         "\"5000000000\"",       "true"};
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-200.json", NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        outcome_t o =
            run_body(fc, 200, "application/json", fixture_replace(fc->arena, body, "5000000000", bad[i]), NULL);
        assert_failure(&o, LT_ERR_UPSTREAM_BAD, "bad_response");
        assert_false(o.err.retryable);
    }
}

static void record_for_another_code(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-200.json", NULL);
    outcome_t o = run_body(fc, 200, "application/json",
                           fixture_replace(fc->arena, body, "\"0100233488\"", "\"0100233488-001\""), NULL);
    assert_failure(&o, LT_ERR_UPSTREAM_BAD, "upstream_record_mismatch");
}

/*
 * The ICD shows maSoDoanhNghiep and tenDoanhNghiep but never says they are always sent: a record without its code
 * is the answer about the code asked, one without its name has a null name. Neither is a 502.
 */
static void missing_code_and_name(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-200.json", NULL);
    static const char *const codes[][2] = {{"\"maSoDoanhNghiep\": \"0100233488\",", ""},
                                           {"\"maSoDoanhNghiep\": \"0100233488\"", "\"maSoDoanhNghiep\": null"},
                                           {"\"maSoDoanhNghiep\": \"0100233488\"", "\"maSoDoanhNghiep\": \" \""}};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        outcome_t o =
            run_body(fc, 200, "application/json", fixture_replace(fc->arena, body, codes[i][0], codes[i][1]), NULL);
        assert_result(&o, ICD_BUSINESS);
    }
    static const char *const names[] = {"\"tenDoanhNghiep\": null", "\"tenDoanhNghiep\": \"  \"", "\"x\": 1"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *cut =
            fixture_replace(fc->arena, body, "\"tenDoanhNghiep\": \"CÔNG TY CỔ PHẦN PHẦN MỀM HÀ THÀNH\"", names[i]);
        outcome_t o = run_body(fc, 200, "application/json", cut, NULL);
        if (o.step != LT_STEP_DONE)
            fail_msg("case %zu refused: %s", i, o.err.detail);
        assert_true(json_is_null(json_object_get(o.result, "name")));
        assert_string_equal(json_string_value(json_object_get(o.result, "code")), ICD_CODE);
        assert_string_equal(json_string_value(json_object_get(o.result, "short_name")), "HTS JSC");
        json_decref(o.result);
    }
}

/* Replacements of the ICD sample that each make the answer unusable: wrong types, bad dates, duplicates. */
static void hostile_records(void **state)
{
    static const char *const cases[][2] = {
        {"\"maSoDoanhNghiep\": \"0100233488\"", "\"maSoDoanhNghiep\": 100233488"},
        {"\"tenDoanhNghiep\": \"CÔNG TY CỔ PHẦN PHẦN MỀM HÀ THÀNH\"", "\"tenDoanhNghiep\": 42"},
        {"\"tenVietTat\": \"HTS JSC\"", "\"tenVietTat\": [\"HTS\"]"},
        {"\"tenVietTat\": \"HTS JSC\"", "\"tenVietTat\": \"HTS JSC\", \"tenVietTat\": \"X\""},
        {"{\"ma\": \"CTCP\", \"ten\": \"Công ty cổ phần\"}", "\"CTCP\""},
        {"{\"ma\": \"01\", \"ten\": \"Đang hoạt động\"}", "{\"ma\": 1}"},
        {"2010-05-20", "2010-02-30"},
        {"2010-05-20", "20/05/2010"},
        {"2024-06-01T10:00:00+07:00", "2024-06-01 10:00"},
        {"2024-06-01T10:00:00+07:00", "2024-06-01T25:00:00+07:00"},
        {"2024-06-01T10:00:00+07:00", "2024-06-01T10:00:00+7"},
        {"\"diaChiTruSo\": {", "\"diaChiTruSo\": \"Hà Nội\", \"x\": {"},
        {"[{\"hoTen\": \"Trần Thị Bình\", \"chucDanh\": \"Tổng giám đốc\"}]", "{\"hoTen\": \"Trần Thị Bình\"}"},
        {"[{\"hoTen\": \"Trần Thị Bình\", \"chucDanh\": \"Tổng giám đốc\"}]", "[\"Trần Thị Bình\"]"},
        {"\"chinh\": true", "\"chinh\": \"true\""},
        {"\"maPhuongXa\": \"00070\"", "\"maPhuongXa\": 70"},
    };
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-200.json", NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        outcome_t o =
            run_body(fc, 200, "application/json", fixture_replace(fc->arena, body, cases[i][0], cases[i][1]), NULL);
        if (o.step != LT_STEP_FAIL)
            fail_msg("case %zu (%s) was accepted", i, cases[i][1]);
        assert_int_equal(o.err.kind, LT_ERR_UPSTREAM_BAD);
        assert_string_equal(o.err.code, "bad_response");
    }
}

static void unusable_bodies(void **state)
{
    static const char *const bodies[] = {"",
                                         "[]",
                                         "null",
                                         "{\"maSoDoanhNghiep\": \"0100233488\"",
                                         "<html></html>",
                                         "{\"maSoDoanhNghiep\": \"0100233488\", \"x\": \"\\u0000\"}"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        outcome_t o = run_body(*state, 200, "application/json", bodies[i], NULL);
        assert_failure(&o, LT_ERR_UPSTREAM_BAD, "bad_response");
    }
}

static void json_error_detail_never_quotes_the_body(void **state)
{
    /* jansson's own message quotes the text near the error; the detail must not. */
    outcome_t o = run_body(*state, 200, "application/json", "{\"hoTen\": \"Trần Thị Bình\" \"x\"}", NULL);
    assert_failure(&o, LT_ERR_UPSTREAM_BAD, "bad_response");
    assert_null(strstr(o.err.detail, "x\""));
}

/* ---- the ICD's error table ---- */

static void dn_400(void **state)
{
    outcome_t o = run(*state, 400, "error-400.json", NULL);
    assert_failure(&o, LT_ERR_BAD_REQUEST, "DN-400");
    assert_false(o.err.retryable);
    assert_int_equal(o.err.retry_after_s, 0);
    /* The national system's own short message is passed on. */
    assert_non_null(strstr(o.err.detail, "Mã số doanh nghiệp không đúng định dạng"));
}

static void http_400_without_dn_400(void **state)
{
    outcome_t o = run(*state, 400, "http-502.html", NULL);
    assert_failure(&o, LT_ERR_UPSTREAM_BAD, "upstream_http_400");
}

static void invalid_token_reauth(void **state)
{
    outcome_t o = run(*state, 401, "error-401.json", NULL);
    assert_int_equal(o.step, LT_STEP_REAUTH);
}

static void unauthorized_without_body_reauth(void **state)
{
    /* The core does not pass WWW-Authenticate on; a bare 401 still means "this token will not do". */
    outcome_t o = run_body(*state, 401, NULL, "", NULL);
    assert_int_equal(o.step, LT_STEP_REAUTH);
}

static void unauthorized_invalid_request(void **state)
{
    outcome_t o = run(*state, 401, "error-401-invalid-request.json", NULL);
    assert_failure(&o, LT_ERR_UPSTREAM_BAD, "upstream_http_401");
}

static void dn_404(void **state)
{
    outcome_t o = run(*state, 404, "error-404.json", NULL);
    assert_failure(&o, LT_ERR_NOT_FOUND, "DN-404");
    assert_false(o.err.retryable);
    assert_non_null(strstr(o.err.detail, "Không tìm thấy doanh nghiệp"));
}

static void dn_404_message_quoting_a_code_is_withheld(void **state)
{
    outcome_t o = run(*state, 404, "error-404-quotes-code.json", NULL);
    assert_failure(&o, LT_ERR_NOT_FOUND, "DN-404");
    assert_null(strstr(o.err.detail, "national system says"));
}

static void http_404_without_dn_404(void **state)
{
    /* A proxy's 404 (wrong base_url) is not "no such enterprise". */
    outcome_t o = run(*state, 404, "http-404.html", NULL);
    assert_failure(&o, LT_ERR_UPSTREAM_BAD, "upstream_http_404");
}

static void dn_429_retry_after_from_header(void **state)
{
    outcome_t o = run(*state, 429, "error-429.json", "7");
    assert_failure(&o, LT_ERR_UPSTREAM_UNAVAILABLE, "DN-429");
    assert_true(o.err.retryable);
    assert_int_equal(o.err.retry_after_s, 7);
    assert_int_equal(o.err.upstream_wait_s, 7);
}

static void dn_429_without_usable_retry_after(void **state)
{
    static const char *const headers[] = {NULL, "Wed, 21 Oct 2026 07:28:00 GMT", "soon", "-3"};
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        outcome_t o = run(*state, 429, "error-429.json", headers[i]);
        assert_failure(&o, LT_ERR_UPSTREAM_UNAVAILABLE, "DN-429");
        assert_int_equal(o.err.retry_after_s, 1); /* rate_retry_after_s */
        assert_int_equal(o.err.upstream_wait_s, 1);
    }
    outcome_t o = run(*state, 429, "error-429.json", "999999");
    assert_int_equal(o.err.retry_after_s, 86400);
}

static void http_500_json(void **state)
{
    outcome_t o = run(*state, 500, "error-500.json", NULL);
    assert_failure(&o, LT_ERR_UPSTREAM_BAD, "upstream_http_500");
    assert_false(o.err.retryable);
}

static void http_502_html(void **state)
{
    outcome_t o = run(*state, 502, "http-502.html", NULL);
    assert_failure(&o, LT_ERR_UPSTREAM_BAD, "upstream_http_502");
    assert_false(o.err.retryable);
}

static void http_503_html(void **state)
{
    outcome_t o = run(*state, 503, "http-503.html", "120");
    assert_failure(&o, LT_ERR_UPSTREAM_UNAVAILABLE, "upstream_http_503");
    assert_true(o.err.retryable);
    assert_int_equal(o.err.retry_after_s, 120);
    assert_int_equal(o.err.upstream_wait_s, 120);
    /* Without a header: our default is advice to the caller and does not hold back a retry. */
    o = run(*state, 503, "http-503.html", NULL);
    assert_int_equal(o.err.retry_after_s, 30);
    assert_int_equal(o.err.upstream_wait_s, 0);
}

static void http_504(void **state)
{
    outcome_t o = run_body(*state, 504, "text/html", "<html>Gateway Timeout</html>", NULL);
    assert_failure(&o, LT_ERR_UPSTREAM_TIMEOUT, "upstream_http_504");
    assert_true(o.err.retryable);
}

static void other_statuses(void **state)
{
    outcome_t o = run_body(*state, 507, NULL, "", NULL);
    assert_failure(&o, LT_ERR_UPSTREAM_BAD, "upstream_http_5xx");
    o = run_body(*state, 418, NULL, "", NULL);
    assert_failure(&o, LT_ERR_UPSTREAM_BAD, "upstream_http_status");
    o = run_body(*state, 403, "application/json", "{\"error\":\"insufficient_scope\"}", NULL);
    assert_failure(&o, LT_ERR_UPSTREAM_BAD, "upstream_http_403");
    o = run_body(*state, 302, NULL, "", NULL);
    assert_failure(&o, LT_ERR_UPSTREAM_BAD, "upstream_http_status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(icd_sample, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(icd_sample_key_order, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(branch_record, setup_branch, teardown),
        cmocka_unit_test_setup_teardown(capital_beyond_2_pow_53, setup_big, teardown),
        cmocka_unit_test_setup_teardown(capital_largest_int64, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(capital_refused, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(record_for_another_code, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(missing_code_and_name, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(hostile_records, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(unusable_bodies, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(json_error_detail_never_quotes_the_body, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(dn_400, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(http_400_without_dn_400, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(invalid_token_reauth, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(unauthorized_without_body_reauth, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(unauthorized_invalid_request, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(dn_404, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(dn_404_message_quoting_a_code_is_withheld, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(http_404_without_dn_404, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(dn_429_retry_after_from_header, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(dn_429_without_usable_retry_after, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(http_500_json, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(http_502_html, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(http_503_html, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(http_504, setup_icd, teardown),
        cmocka_unit_test_setup_teardown(other_statuses, setup_icd, teardown),
    };
    return cmocka_run_group_tests_name("business parse", tests, NULL, NULL);
}
