/*
 * The land adapter's parse(): the ICD sample to the canonical parcel record by
 * both lookups, areas kept exact, unknown codes passed through, "Lâu dài", the
 * record checked against the question, every documented answer to its error,
 * and the nightly window's HTML 503 at several local times. Expected records
 * and waits are written by hand from icd/land.md.
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

#include "errors.h"
#include "fixture.h"
#include "land.h"
#include "lt_test_fixture.h"
#include "parcel.h"

typedef lt_test_outcome_t outcome_t;

/* The ICD's sample response (icd/land.md, "Response"), mapped by hand. */
static const char *const ICD_RECORD =
    "{"
    "\"parcel\": {"
    "  \"commune_code\": \"12616\", \"map_sheet\": \"12\", \"parcel_number\": \"345\","
    "  \"area_m2\": \"152.5\","
    "  \"address\": \"Thôn Đông, xã Vũ Tiên, tỉnh Hưng Yên\","
    "  \"land_uses\": ["
    "    {\"category\": {\"code\": \"rural_residential\", \"source_code\": \"ONT\"}, \"area_m2\": \"100\","
    "     \"term\": {\"permanent\": true, \"until\": null}},"
    "    {\"category\": {\"code\": \"perennial_crops\", \"source_code\": \"CLN\"}, \"area_m2\": \"52.5\","
    "     \"term\": {\"permanent\": false, \"until\": \"2064-10-15\"}}"
    "  ],"
    "  \"origin\": \"Công nhận quyền như giao đất có thu tiền sử dụng đất\""
    "},"
    "\"certificates\": [{"
    "  \"serial\": \"DA 01234567\", \"register_number\": \"CS 00123\", \"issued_on\": \"2021-05-20\","
    "  \"issued_by\": \"Sở Tài nguyên và Môi trường tỉnh Thái Bình\","
    "  \"status\": {\"code\": \"in_force\", \"source_code\": \"HIEU_LUC\"},"
    "  \"holders\": ["
    "    {\"kind\": {\"code\": \"spouses\", \"source_code\": \"VoChong\"}, \"full_name\": \"Trần Văn Đức\","
    "     \"personal_id\": \"001080012345\", \"enterprise_code\": null},"
    "    {\"kind\": {\"code\": \"spouses\", \"source_code\": \"VoChong\"}, \"full_name\": \"Nguyễn Thị Hồng Nhung\","
    "     \"personal_id\": \"034195001234\", \"enterprise_code\": null}"
    "  ],"
    "  \"restrictions\": [{"
    "    \"kind\": {\"code\": \"mortgage\", \"source_code\": \"THE_CHAP\"},"
    "    \"description\": \"Thế chấp tại Ngân hàng TMCP Ngoại thương Việt Nam - CN Thái Bình\","
    "    \"from\": \"2023-06-01\", \"until\": null}]"
    "}]"
    "}";

/* fixtures/parcel-response-unknown-codes.json: codes the ICD does not list, an organisation, NFD text, gaps. */
static const char *const UNKNOWN_CODES_RECORD =
    "{"
    "\"parcel\": {"
    "  \"commune_code\": \"12616\", \"map_sheet\": \"7\", \"parcel_number\": \"88\","
    "  \"area_m2\": \"1200\", \"address\": null,"
    "  \"land_uses\": ["
    "    {\"category\": {\"code\": null, \"source_code\": \"CQP\"}, \"area_m2\": \"1000.25\","
    "     \"term\": {\"permanent\": true, \"until\": null}},"
    "    {\"category\": {\"code\": \"commercial_services\", \"source_code\": \"TMD\"}, \"area_m2\": \"199.75\","
    "     \"term\": null}"
    "  ],"
    "  \"origin\": null"
    "},"
    "\"certificates\": ["
    "  {\"serial\": \"CT 123456\", \"register_number\": null, \"issued_on\": \"2024-07-01\", \"issued_by\": null,"
    "   \"status\": {\"code\": null, \"source_code\": \"CHO_DUYET\"},"
    "   \"holders\": [{\"kind\": {\"code\": \"organisation\", \"source_code\": \"ToChuc\"},"
    "                  \"full_name\": \"Công ty cổ phần phần mềm Hà Thành\", \"personal_id\": null,"
    "                  \"enterprise_code\": \"0100233488\"}],"
    "   \"restrictions\": [{\"kind\": {\"code\": null, \"source_code\": \"PHONG_TOA\"},"
    "                       \"description\": \"Phong tỏa theo quyết định của tòa án\", \"from\": \"2025-01-02\","
    "                       \"until\": null}]},"
    "  {\"serial\": \"BK 9876543\", \"register_number\": \"CH 00007\", \"issued_on\": \"2010-03-15\","
    "   \"issued_by\": null, \"status\": {\"code\": \"replaced\", \"source_code\": \"DA_CAP_DOI\"},"
    "   \"holders\": [{\"kind\": {\"code\": \"household\", \"source_code\": \"HoGiaDinh\"},"
    "                  \"full_name\": \"Lê Văn Hùng\", \"personal_id\": \"034080009876\", \"enterprise_code\": null}],"
    "   \"restrictions\": []}"
    "]"
    "}";

/* 2026-01-01T00:00:00+07:00. */
#define VN_MIDNIGHT 1767200400
#define AT(h, m, s) ((time_t)VN_MIDNIGHT + (h)*3600 + (m)*60 + (s))

static void assert_json_equal(json_t *got, const char *want_text)
{
    json_error_t jerr;
    json_t *want = json_loads(want_text, 0, &jerr);
    if (want == NULL)
        fail_msg("expected JSON does not parse: %s (line %d)", jerr.text, jerr.line);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_INDENT(1));
        char *w = json_dumps(want, JSON_SORT_KEYS | JSON_INDENT(1));
        print_error("got:\n%s\nwant:\n%s\n", g, w);
        free(g);
        free(w);
        json_decref(want);
        fail();
    }
    json_decref(want);
}

static outcome_t parse_text(fixture_call_t *fc, long status, const char *body, const char *retry_after)
{
    return lt_test_parse(fc->op, &fc->call, status, "application/json", body, strlen(body), retry_after);
}

static outcome_t parse_fixture(fixture_call_t *fc, long status, const char *name, const char *retry_after)
{
    size_t len;
    const char *body = fixture_read(fc->arena, name, &len);
    return lt_test_parse(fc->op, &fc->call, status, "application/json", body, len, retry_after);
}

static void assert_error(const outcome_t *o, lt_error_kind_t kind, const char *code)
{
    assert_int_equal(o->step, LT_STEP_FAIL);
    if (o->err.kind != kind || strcmp(o->err.code, code) != 0)
        fail_msg("got %d %s (%s), want %d %s", o->err.kind, o->err.code, o->err.detail, kind, code);
}

/* ---- the ICD's sample, by both lookups ---- */

static void icd_sample_by_parcel(void **state)
{
    fixture_call_t *fc = fixture_call_new("parcel", "12616/12/345");
    outcome_t o = parse_fixture(fc, 200, "parcel-response.json", NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    assert_json_equal(o.result, ICD_RECORD);
    assert_null(json_object_get(o.result, "source")); /* the core adds it */
    json_decref(o.result);
    fixture_call_free(fc);
}

static void icd_sample_by_certificate(void **state)
{
    fixture_call_t *fc = fixture_call_new("certificate", "DA%2001234567");
    outcome_t o = parse_fixture(fc, 200, "parcel-response.json", NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    assert_json_equal(o.result, ICD_RECORD);
    json_decref(o.result);
    fixture_call_free(fc);
}

static void unknown_codes_pass_through(void **state)
{
    fixture_call_t *fc = fixture_call_new("parcel", "12616/7/88");
    outcome_t o = parse_fixture(fc, 200, "parcel-response-unknown-codes.json", NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    assert_json_equal(o.result, UNKNOWN_CODES_RECORD); /* NFD "Lâu dài" and names come out NFC */
    json_decref(o.result);
    fixture_call_free(fc);
}

/* A replaced certificate further down the list answers its own serial's lookup. */
static void a_replaced_certificate_is_found_by_its_serial(void **state)
{
    fixture_call_t *fc = fixture_call_new("certificate", "BK%209876543");
    outcome_t o = parse_fixture(fc, 200, "parcel-response-unknown-codes.json", NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    json_decref(o.result);
    fixture_call_free(fc);
}

/* Nothing is required beyond the question's own identity: the ICD shows fields, it does not require them. */
static void a_bare_document_maps_to_nulls(void **state)
{
    fixture_call_t *fc = fixture_call_new("parcel", "12616/12/345");
    outcome_t o = parse_text(fc, 200,
                             "{\"thuaDat\": {\"maXa\": \"12616\", \"soHieuToBanDo\": \"12\", "
                             "\"soThuTuThua\": \"345\"}}",
                             NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    assert_json_equal(o.result, "{\"parcel\": {\"commune_code\": \"12616\", \"map_sheet\": \"12\", "
                                "\"parcel_number\": \"345\", \"area_m2\": null, \"address\": null, "
                                "\"land_uses\": null, \"origin\": null}, \"certificates\": null}");
    json_decref(o.result);
    fixture_call_free(fc);
}

/* ---- areas: exact decimal strings ---- */

static void areas_become_exact_decimal_strings(void **state)
{
    lt_arena_t *a = lt_arena_new();
    static const char *const good[][2] = {
        {"152,5", "152.5"},
        {"100", "100"},
        {"0", "0"},
        {"0,1", "0.1"}, /* 0.1 has no exact double */
        {"52,50", "52.50"},
        {"999999999999999,9999999999", "999999999999999.9999999999"}, /* 25 digits: a double keeps ~16 */
        {"1,0000000001", "1.0000000001"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        const char *got = lt_land_area_decimal(a, good[i][0]);
        if (got == NULL || strcmp(got, good[i][1]) != 0)
            fail_msg("%s: got %s, want %s", good[i][0], got ? got : "NULL", good[i][1]);
    }
    static const char *const bad[] = {
        "",
        ",5",
        "5,",
        "152.5",
        "1.234,5",
        "1 234",
        " 152,5",
        "152,5 ",
        "-1",
        "+1",
        "01",
        "00,5",
        "1,2,3",
        "1e3",
        "\xef\xbc\x91", /* full-width 1 */
        "1,5m2",
        "0x10",
        "1,-5",
        "1234567890123456", /* 16 integer digits */
        "1,12345678901",    /* 11 decimals */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (lt_land_area_decimal(a, bad[i]) != NULL)
            fail_msg("'%s' must not be an area", bad[i]);
    assert_null(lt_land_area_decimal(a, NULL));
    lt_arena_destroy(a);
}

static void a_malformed_area_is_a_bad_response_naming_the_member(void **state)
{
    static const struct {
        const char *from, *to, *path;
    } cases[] = {
        {"\"152,5\"", "\"152.5\"", "thuaDat.dienTich"}, /* a point: a thousands separator in Vietnamese */
        {"\"152,5\"", "152.5", "thuaDat.dienTich"},     /* a JSON number */
        {"\"52,5\"", "\"52,5 m2\"", "thuaDat.mucDichSuDung[1].dienTich"},
        {"\"100\"", "\"1.000\"", "thuaDat.mucDichSuDung[0].dienTich"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fixture_call_t *fc = fixture_call_new("parcel", "12616/12/345");
        const char *body = fixture_read(fc->arena, "parcel-response.json", NULL);
        outcome_t o = parse_text(fc, 200, fixture_replace(fc->arena, body, cases[i].from, cases[i].to), NULL);
        assert_error(&o, LT_ERR_UPSTREAM_BAD, "bad_response");
        if (strstr(o.err.detail, cases[i].path) == NULL)
            fail_msg("detail '%s' should name %s", o.err.detail, cases[i].path);
        fixture_call_free(fc);
    }
}

/* ---- terms, dates, shapes ---- */

static void malformed_members_are_refused(void **state)
{
    static const struct {
        const char *from, *to, *path;
    } cases[] = {
        {"\"15/10/2064\"", "\"vĩnh viễn\"", "thuaDat.mucDichSuDung[1].thoiHan"},
        {"\"15/10/2064\"", "\"31/02/2064\"", "thuaDat.mucDichSuDung[1].thoiHan"},
        {"\"15/10/2064\"", "\"2064-10-15\"", "thuaDat.mucDichSuDung[1].thoiHan"},
        {"\"Lâu dài\"", "\"lâu dài\"", "thuaDat.mucDichSuDung[0].thoiHan"},
        {"\"20/05/2021\"", "\"2021\"", "giayChungNhan[0].ngayCap"},
        {"\"01/06/2023\"", "\"1/6/2023\"", "giayChungNhan[0].hanCheQuyen[0].tuNgay"},
        {"\"denNgay\": null", "\"denNgay\": 0", "giayChungNhan[0].hanCheQuyen[0].denNgay"},
        {"\"chuSuDung\": [", "\"chuSuDung\": [7, ", "giayChungNhan[0].chuSuDung[0]"},
        {"\"hanCheQuyen\": [", "\"hanCheQuyen\": {\"x\": [", "giayChungNhan[0].hanCheQuyen"},
        {"\"kyHieu\": \"ONT\"", "\"kyHieu\": 1", "thuaDat.mucDichSuDung[0].kyHieu"},
        {"\"soVaoSo\": \"CS 00123\"", "\"soVaoSo\": [\"CS\"]", "giayChungNhan[0].soVaoSo"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fixture_call_t *fc = fixture_call_new("parcel", "12616/12/345");
        const char *body = fixture_read(fc->arena, "parcel-response.json", NULL);
        const char *edited = fixture_replace(fc->arena, body, cases[i].from, cases[i].to);
        if (strcmp(cases[i].to, "\"hanCheQuyen\": {\"x\": [") == 0)
            edited = fixture_replace(fc->arena, edited, "\"denNgay\": null}]}", "\"denNgay\": null}]}}");
        outcome_t o = parse_text(fc, 200, edited, NULL);
        assert_error(&o, LT_ERR_UPSTREAM_BAD, "bad_response");
        if (strstr(o.err.detail, cases[i].path) == NULL)
            fail_msg("case %zu: detail '%s' should name %s", i, o.err.detail, cases[i].path);
        fixture_call_free(fc);
    }
}

static void bodies_that_are_not_a_document(void **state)
{
    static const char *const bodies[] = {"", "[]", "\"thuaDat\"", "{\"thuaDat\": \"12616/12/345\"}",
                                         "{\"a\": 1, \"a\": 2}"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        fixture_call_t *fc = fixture_call_new("parcel", "12616/12/345");
        outcome_t o = parse_text(fc, 200, bodies[i], NULL);
        assert_error(&o, LT_ERR_UPSTREAM_BAD, "bad_response");
        fixture_call_free(fc);
    }
    fixture_call_t *fc = fixture_call_new("parcel", "12616/12/345");
    outcome_t o = parse_fixture(fc, 200, "garbage.txt", NULL);
    assert_error(&o, LT_ERR_UPSTREAM_BAD, "bad_response");
    fixture_call_free(fc);
}

/* ---- the record must answer the question ---- */

static void another_parcel_never_reaches_the_caller(void **state)
{
    static const char *const asked[] = {"12616/12/346", "12617/12/345", "12616/13/345"};
    for (size_t i = 0; i < sizeof(asked) / sizeof(asked[0]); i++) {
        fixture_call_t *fc = fixture_call_new("parcel", asked[i]);
        outcome_t o = parse_fixture(fc, 200, "parcel-response.json", NULL);
        assert_error(&o, LT_ERR_UPSTREAM_BAD, "upstream_record_mismatch");
        fixture_call_free(fc);
    }
    /* Without the parcel's identity there is nothing to show it is the one asked for. */
    fixture_call_t *fc = fixture_call_new("parcel", "12616/12/345");
    outcome_t o = parse_text(fc, 200, "{\"giayChungNhan\": []}", NULL);
    assert_error(&o, LT_ERR_UPSTREAM_BAD, "upstream_record_mismatch");
    fixture_call_free(fc);
}

static void leading_zeros_name_the_same_sheet_and_parcel(void **state)
{
    fixture_call_t *fc = fixture_call_new("parcel", "12616/012/0345");
    outcome_t o = parse_fixture(fc, 200, "parcel-response.json", NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    json_decref(o.result);
    fixture_call_free(fc);
}

static void a_document_without_the_serial_never_reaches_the_caller(void **state)
{
    fixture_call_t *fc = fixture_call_new("certificate", "DA%2001234568");
    outcome_t o = parse_fixture(fc, 200, "parcel-response.json", NULL);
    assert_error(&o, LT_ERR_UPSTREAM_BAD, "upstream_record_mismatch");
    fixture_call_free(fc);
    /* The certificate lookup needs no parcel identity: the serial is its question. */
    fc = fixture_call_new("certificate", "DA%2001234567");
    o = parse_text(fc, 200, "{\"giayChungNhan\": [{\"soPhatHanh\": \"DA 01234567\"}]}", NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    assert_true(json_is_null(json_object_get(o.result, "parcel")));
    json_decref(o.result);
    fixture_call_free(fc);
}

/* ---- the ICD's error answers ---- */

static void documented_answers_map_to_their_status(void **state)
{
    static const struct {
        const char *op, *param;
        long status;
        const char *fixture;
        lt_error_kind_t kind;
        const char *code;
    } cases[] = {
        {"parcel", "12616/12/345", 400, "error-400.json", LT_ERR_BAD_REQUEST, "DD-400"},
        {"parcel", "12616/12/345", 403, "error-403.json", LT_ERR_UPSTREAM_BAD, "DD-403"},
        {"certificate", "DA%2001234567", 403, "error-403.json", LT_ERR_UPSTREAM_BAD, "DD-403"},
        {"parcel", "12616/12/345", 404, "error-404.json", LT_ERR_NOT_FOUND, "DD-404"},
        {"certificate", "DA%2001234567", 404, "error-404.json", LT_ERR_NOT_FOUND, "DD-404"},
        /* Without the ICD's body, a 404 or 400 is a proxy or a wrong base_url, never "no such parcel". */
        {"parcel", "12616/12/345", 404, "http-502.html", LT_ERR_UPSTREAM_BAD, "upstream_http_status"},
        {"parcel", "12616/12/345", 404, "error-400.json", LT_ERR_UPSTREAM_BAD, "upstream_http_status"},
        {"parcel", "12616/12/345", 400, "garbage.txt", LT_ERR_UPSTREAM_BAD, "upstream_http_status"},
        {"parcel", "12616/12/345", 502, "http-502.html", LT_ERR_UPSTREAM_BAD, "upstream_http_502"},
        {"parcel", "12616/12/345", 500, "error-400.json", LT_ERR_UPSTREAM_BAD, "upstream_http_status"},
        {"parcel", "12616/12/345", 504, "http-502.html", LT_ERR_UPSTREAM_TIMEOUT, "upstream_http_504"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fixture_call_t *fc = fixture_call_new(cases[i].op, cases[i].param);
        outcome_t o = parse_fixture(fc, cases[i].status, cases[i].fixture, NULL);
        assert_error(&o, cases[i].kind, cases[i].code);
        assert_int_equal(o.err.retry_after_s, 0);
        assert_int_equal(o.err.upstream_closed_s, 0);
        assert_int_equal(o.err.retryable, cases[i].status == 504);
        /* The detail never quotes the national system's moTa, which may repeat what was asked. */
        assert_null(strstr(o.err.detail, "soTo"));
        fixture_call_free(fc);
    }
    fixture_call_t *fc = fixture_call_new("certificate", "DA%2001234567");
    outcome_t o = parse_fixture(fc, 404, "error-404.json", NULL);
    assert_non_null(strstr(o.err.detail, "certificate"));
    fixture_call_free(fc);
}

/* DD-429 honours the database's Retry-After: told to the caller, and our own retry waits as long. */
static void rate_limited_honours_retry_after(void **state)
{
    static const struct {
        const char *header;
        int want;
    } cases[] = {{"7", 7}, {"1", 1}, {NULL, 1}, {"soon", 1}, {"Wed, 21 Oct 2026 07:28:00 GMT", 1}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fixture_call_t *fc = fixture_call_new("parcel", "12616/12/345");
        outcome_t o = parse_fixture(fc, 429, "error-429.json", cases[i].header);
        assert_error(&o, LT_ERR_UPSTREAM_UNAVAILABLE, "DD-429");
        assert_int_equal(o.err.retry_after_s, cases[i].want);
        assert_int_equal(o.err.upstream_wait_s, cases[i].want);
        assert_int_equal(o.err.upstream_closed_s, 0);
        assert_true(o.err.retryable);
        fixture_call_free(fc);
    }
    /* The configured default, when the database gives none. */
    json_t *conf = fixture_settings_json(", \"rate_limited_retry_after_s\": 5");
    fixture_call_t *fc = fixture_call_new("parcel", "12616/12/345");
    lt_land_adapter.settings_free(fc->settings);
    lt_error_t err = {0};
    assert_int_equal(lt_land_adapter.settings_load(conf, "s", &fc->settings, &err), 0);
    fc->call.settings = fc->settings;
    json_decref(conf);
    outcome_t o = parse_fixture(fc, 429, "error-429.json", NULL);
    assert_int_equal(o.err.retry_after_s, 5);
    fixture_call_free(fc);
}

/* ---- the nightly synchronisation window: 23:00 to 05:00 UTC+07:00 ---- */

static void the_windows_html_503_waits_to_its_end(void **state)
{
    static const struct {
        time_t now;
        int want; /* seconds to 05:00, by hand; 0: outside the window */
    } cases[] = {
        {AT(23, 0, 0), 6 * 3600}, /* the window's first second */
        {AT(23, 30, 0), 5 * 3600 + 1800},
        {AT(0, 0, 0), 5 * 3600}, /* midnight: same night, same end */
        {AT(2, 15, 30), 2 * 3600 + 44 * 60 + 30},
        {AT(4, 59, 59), 1}, /* its last second */
        {AT(5, 0, 0), 0},   /* over */
        {AT(12, 0, 0), 0},
        {AT(22, 59, 59), 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fixture_call_t *fc = fixture_call_new("parcel", "12616/12/345");
        fc->call.now = cases[i].now;
        size_t len;
        const char *html = fixture_read(fc->arena, "maintenance-503.html", &len);
        outcome_t o = lt_test_parse(fc->op, &fc->call, 503, "text/html; charset=utf-8", html, len, NULL);
        assert_int_equal(o.step, LT_STEP_FAIL);
        assert_int_equal(o.err.kind, LT_ERR_UPSTREAM_UNAVAILABLE);
        if (cases[i].want > 0) {
            assert_string_equal(o.err.code, "upstream_sync_window");
            assert_int_equal(o.err.retry_after_s, cases[i].want);
            assert_int_equal(o.err.upstream_closed_s, cases[i].want); /* nobody calls until then */
            assert_false(o.err.retryable);
        } else {
            /* An ordinary outage: the configured default, retried within the call. */
            assert_string_equal(o.err.code, "upstream_http_503");
            assert_int_equal(o.err.retry_after_s, 30);
            assert_int_equal(o.err.upstream_closed_s, 0);
            assert_int_equal(o.err.upstream_wait_s, 0);
            assert_true(o.err.retryable);
        }
        fixture_call_free(fc);
    }
}

/* A Retry-After the database sends itself is its word, inside the window too. */
static void a_503_with_retry_after_is_not_the_window(void **state)
{
    fixture_call_t *fc = fixture_call_new("certificate", "DA%2001234567");
    fc->call.now = AT(23, 30, 0);
    outcome_t o = parse_fixture(fc, 503, "maintenance-503.html", "120");
    assert_error(&o, LT_ERR_UPSTREAM_UNAVAILABLE, "upstream_http_503");
    assert_int_equal(o.err.retry_after_s, 120);
    assert_int_equal(o.err.upstream_wait_s, 120);
    assert_int_equal(o.err.upstream_closed_s, 0);
    fixture_call_free(fc);
}

/* The window is configurable (operators may learn that it moved); one that does not cross midnight works too. */
static void a_configured_window(void **state)
{
    lt_land_settings_t s = {.window_start_s = lt_land_parse_clock("01:00"),
                            .window_end_s = lt_land_parse_clock("03:30")};
    assert_int_equal(lt_land_window_remaining_s(&s, AT(0, 59, 59)), 0);
    assert_int_equal(lt_land_window_remaining_s(&s, AT(1, 0, 0)), 9000);
    assert_int_equal(lt_land_window_remaining_s(&s, AT(3, 29, 0)), 60);
    assert_int_equal(lt_land_window_remaining_s(&s, AT(3, 30, 0)), 0);
    assert_int_equal(lt_land_window_remaining_s(&s, AT(23, 0, 0)), 0);
    /* Before 1970 in Vietnam time, the arithmetic still lands inside the day. */
    assert_int_equal(lt_land_window_remaining_s(&s, (time_t)(-7 * 3600 - 86400 + 3600)), 9000);
}

static void clock_texts(void **state)
{
    assert_int_equal(lt_land_parse_clock("00:00"), 0);
    assert_int_equal(lt_land_parse_clock("23:00"), 82800);
    assert_int_equal(lt_land_parse_clock("05:00"), 18000);
    assert_int_equal(lt_land_parse_clock("23:59"), 86340);
    static const char *const bad[] = {"24:00", "5:00", "05:60", "05-00", "05:00 ", "", "0500", "ab:cd", "+5:00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (lt_land_parse_clock(bad[i]) != -1)
            fail_msg("'%s' must not be a clock time", bad[i]);
    assert_int_equal(lt_land_parse_clock(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(icd_sample_by_parcel),
        cmocka_unit_test(icd_sample_by_certificate),
        cmocka_unit_test(unknown_codes_pass_through),
        cmocka_unit_test(a_replaced_certificate_is_found_by_its_serial),
        cmocka_unit_test(a_bare_document_maps_to_nulls),
        cmocka_unit_test(areas_become_exact_decimal_strings),
        cmocka_unit_test(a_malformed_area_is_a_bad_response_naming_the_member),
        cmocka_unit_test(malformed_members_are_refused),
        cmocka_unit_test(bodies_that_are_not_a_document),
        cmocka_unit_test(another_parcel_never_reaches_the_caller),
        cmocka_unit_test(leading_zeros_name_the_same_sheet_and_parcel),
        cmocka_unit_test(a_document_without_the_serial_never_reaches_the_caller),
        cmocka_unit_test(documented_answers_map_to_their_status),
        cmocka_unit_test(rate_limited_honours_retry_after),
        cmocka_unit_test(the_windows_html_503_waits_to_its_end),
        cmocka_unit_test(a_503_with_retry_after_is_not_the_window),
        cmocka_unit_test(a_configured_window),
        cmocka_unit_test(clock_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
