/*
 * The tax adapter's parse(): ICD samples to canonical JSON, whatever the
 * prefix, with a byte-order mark or numeric character references; every
 * MaKetQua and HTTP status to its error; protocol checks (MaYeuCau echo, the
 * record's code); hostile XML refused and never expanded.
 * Expected records are written by hand from icd/tax.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"
#include "lt_test_fixture.h"
#include "lt_xml.h"

/* The ICD's sample taxpayer (icd/tax.md, "Response"). */
static const char *const ICD_TAXPAYER =
    "{"
    "\"tax_code\": \"0100233488\","
    "\"name\": \"CÔNG TY CỔ PHẦN PHẦN MỀM HÀ THÀNH\","
    "\"taxpayer_type\": {\"code\": \"organisation\", \"source_code\": \"TC\"},"
    "\"head_office_address\": \"Số 12 phố Lý Thường Kiệt, Phường Phan Chu Trinh, Quận Hoàn Kiếm, Hà Nội\","
    "\"tax_office\": {\"code\": \"10100\", \"name\": \"Cục Thuế Thành phố Hà Nội\"},"
    "\"status\": {\"code\": \"active\", \"source_code\": \"00\"},"
    "\"registered_on\": \"2010-05-20\","
    "\"status_changed_on\": null"
    "}";

/* fixtures/lookup-response-household.xml: HKD, status 04, a change date on 29 February. */
static const char *const HOUSEHOLD =
    "{"
    "\"tax_code\": \"0107654326\","
    "\"name\": \"Hộ kinh doanh Nguyễn Thị Mai\","
    "\"taxpayer_type\": {\"code\": \"household_business\", \"source_code\": \"HKD\"},"
    "\"head_office_address\": \"Số 45 ngõ 102 phố Khâm Thiên, Phường Văn Miếu - Quốc Tử Giám, Hà Nội\","
    "\"tax_office\": {\"code\": \"10105\", \"name\": \"Chi cục Thuế khu vực Đống Đa - Hai Bà Trưng\"},"
    "\"status\": {\"code\": \"active_household_individual\", \"source_code\": \"04\"},"
    "\"registered_on\": \"2015-01-03\","
    "\"status_changed_on\": \"2024-02-29\""
    "}";

/* fixtures/lookup-response-branch.xml: a dependent unit (13-character code), closed. */
static const char *const BRANCH =
    "{"
    "\"tax_code\": \"0100233488-001\","
    "\"name\": \"CHI NHÁNH CÔNG TY CỔ PHẦN PHẦN MỀM HÀ THÀNH TẠI ĐÀ NẴNG\","
    "\"taxpayer_type\": {\"code\": \"organisation\", \"source_code\": \"TC\"},"
    "\"head_office_address\": \"Số 8 đường Bạch Đằng, Phường Hải Châu, Thành phố Đà Nẵng\","
    "\"tax_office\": {\"code\": \"40100\", \"name\": \"Cục Thuế Thành phố Đà Nẵng\"},"
    "\"status\": {\"code\": \"ceased_closed\", \"source_code\": \"01\"},"
    "\"registered_on\": \"2018-07-01\","
    "\"status_changed_on\": \"2024-12-31\""
    "}";

/* fixtures/lookup-response-individual-nfd.xml: NFD name, unknown status, every optional empty or missing. */
static const char *const INDIVIDUAL = "{"
                                      "\"tax_code\": \"8001234566\","
                                      "\"name\": \"Trần Thị Hằng\","
                                      "\"taxpayer_type\": {\"code\": \"individual\", \"source_code\": \"CN\"},"
                                      "\"head_office_address\": null,"
                                      "\"tax_office\": null,"
                                      "\"status\": {\"code\": null, \"source_code\": \"09\"},"
                                      "\"registered_on\": null,"
                                      "\"status_changed_on\": null"
                                      "}";

typedef lt_test_outcome_t outcome_t;

static int setup(void **state)
{
    *state = fixture_call_new(NULL);
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
        lt_test_parse(fixture_operation(), &fc->call, status, "application/xml; charset=utf-8", body, len, retry_after);
    assert_true(o.step == LT_STEP_DONE || o.step == LT_STEP_FAIL); /* no tokens in this ICD */
    /* No personal data in any error detail: for individuals and households the tax code is personal. */
    const char *asked = json_string_value(json_object_get(fc->call.input, "tax_code"));
    assert_null(strstr(o.err.detail, asked));
    assert_null(strstr(o.err.detail, "8001234566"));
    return o;
}

static outcome_t run(fixture_call_t *fc, long status, const char *fixture, const char *retry_after)
{
    size_t len;
    const char *body = fixture_read(fc->arena, fixture, &len);
    return run_body(fc, status, body, len, retry_after);
}

static outcome_t run_text(fixture_call_t *fc, long status, const char *body, const char *retry_after)
{
    return run_body(fc, status, body, strlen(body), retry_after);
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
    o->result = NULL;
}

static void assert_error(outcome_t *o, int status, const char *code, int retry_after, bool retryable)
{
    if (o->step != LT_STEP_FAIL)
        fail_msg("expected %s, got a record", code);
    assert_int_equal(lt_error_http_status(o->err.kind), status);
    assert_string_equal(o->err.code, code);
    assert_int_equal(o->err.retry_after_s, retry_after);
    assert_int_equal(o->err.retryable, retryable);
    if (strcmp(code, "upstream_rate_limited") != 0 && strcmp(code, "upstream_http_503") != 0)
        assert_int_equal(o->err.upstream_wait_s, 0);
}

static const char *field_of(outcome_t *o, const char *object, const char *key)
{
    json_t *v = object ? json_object_get(json_object_get(o->result, object), key) : json_object_get(o->result, key);
    return json_string_value(v);
}

/* The wait that binds the core's own retries (lt_error_t.upstream_wait_s). */
static void assert_wait(outcome_t *o, int upstream_wait)
{
    assert_int_equal(o->err.upstream_wait_s, upstream_wait);
}

/* ---- records ---- */

static void icd_sample(void **state)
{
    outcome_t o = run(*state, 200, "lookup-response.xml", NULL);
    /* NFC bytes spelled out, so an editor's normalisation of this file cannot hide a bug. */
    assert_string_equal(
        field_of(&o, NULL, "name"),
        "C\xc3\x94NG TY C\xe1\xbb\x94 PH\xe1\xba\xa6N PH\xe1\xba\xa6N M\xe1\xbb\x80M H\xc3\x80 TH\xc3\x80NH");
    assert_null(json_object_get(o.result, "source")); /* the core adds it */
    assert_result(&o, ICD_TAXPAYER);
}

static void other_prefix_unknown_elements_cdata_crlf(void **state)
{
    outcome_t o = run(*state, 200, "lookup-response-prefix.xml", NULL);
    assert_result(&o, ICD_TAXPAYER);
}

static void byte_order_mark(void **state)
{
    fixture_call_t *fc = *state;
    size_t len;
    const char *body = fixture_read(fc->arena, "lookup-response-bom.xml", &len);
    assert_memory_equal(body, "\xef\xbb\xbf<?xml", 8); /* the fixture really starts with a BOM */
    outcome_t o = run_body(fc, 200, body, len, NULL);
    assert_result(&o, ICD_TAXPAYER);
}

static void numeric_character_references(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-response-ncr.xml", NULL);
    assert_non_null(strstr(body, "Thu&#7871;")); /* the ICD's own example reference is in the fixture */
    assert_null(strstr(body, "Thuế"));
    outcome_t o = run_text(fc, 200, body, NULL);
    assert_string_equal(field_of(&o, "tax_office", "name"),
                        "C\xe1\xbb\xa5"
                        "c Thu\xe1\xba\xbf Th\xc3\xa0nh ph\xe1\xbb\x91 H\xc3\xa0 N\xe1\xbb\x99i");
    assert_result(&o, ICD_TAXPAYER);
}

static void household(void **state)
{
    fixture_call_t *fc = *state;
    json_object_set_new(fc->call.input, "tax_code", json_string("0107654326"));
    outcome_t o = run(fc, 200, "lookup-response-household.xml", NULL);
    assert_result(&o, HOUSEHOLD);
}

static void branch(void **state)
{
    fixture_call_t *fc = *state;
    json_object_set_new(fc->call.input, "tax_code", json_string("0100233488-001"));
    outcome_t o = run(fc, 200, "lookup-response-branch.xml", NULL);
    assert_result(&o, BRANCH);
}

static void individual_nfd_unknown_status_empty_optionals(void **state)
{
    fixture_call_t *fc = *state;
    json_object_set_new(fc->call.input, "tax_code", json_string("8001234566"));
    outcome_t o = run(fc, 200, "lookup-response-individual-nfd.xml", NULL);
    assert_string_equal(field_of(&o, NULL, "name"), "Tr\xe1\xba\xa7n Th\xe1\xbb\x8b H\xe1\xba\xb1ng"); /* NFD in */
    assert_result(&o, INDIVIDUAL);
}

/* Every TrangThai and LoaiNNT of the ICD, and codes it does not list. */
static void code_tables(void **state)
{
    static const struct {
        const char *source, *code;
    } statuses[] = {
        {"00", "active"},
        {"01", "ceased_closed"},
        {"02", "moved"},
        {"03", "ceased_not_closed"},
        {"04", "active_household_individual"},
        {"05", "suspended"},
        {"06", "not_at_address"},
        {"07", "pending_bankruptcy"},
        {"08", NULL},
        {"7", NULL},
    };
    static const struct {
        const char *source, *code;
    } types[] = {
        {"TC", "organisation"}, {"HKD", "household_business"}, {"CN", "individual"}, {"NCT", NULL}, {"tc", NULL}};
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-response.xml", NULL);
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        char to[64];
        snprintf(to, sizeof(to), "<TrangThai>%s</TrangThai>", statuses[i].source);
        outcome_t o = run_text(fc, 200, fixture_replace(fc->arena, body, "<TrangThai>00</TrangThai>", to), NULL);
        assert_int_equal(o.step, LT_STEP_DONE);
        json_t *st = json_object_get(o.result, "status");
        assert_string_equal(json_string_value(json_object_get(st, "source_code")), statuses[i].source);
        if (statuses[i].code)
            assert_string_equal(json_string_value(json_object_get(st, "code")), statuses[i].code);
        else
            assert_true(json_is_null(json_object_get(st, "code")));
        json_decref(o.result);
    }
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        char to[64];
        snprintf(to, sizeof(to), "<LoaiNNT>%s</LoaiNNT>", types[i].source);
        outcome_t o = run_text(fc, 200, fixture_replace(fc->arena, body, "<LoaiNNT>TC</LoaiNNT>", to), NULL);
        assert_int_equal(o.step, LT_STEP_DONE);
        json_t *t = json_object_get(o.result, "taxpayer_type");
        assert_string_equal(json_string_value(json_object_get(t, "source_code")), types[i].source);
        if (types[i].code)
            assert_string_equal(json_string_value(json_object_get(t, "code")), types[i].code);
        else
            assert_true(json_is_null(json_object_get(t, "code")));
        json_decref(o.result);
    }
    /* An element that is missing or empty gives null for the whole object. */
    outcome_t o = run_text(fc, 200, fixture_replace(fc->arena, body, "<LoaiNNT>TC</LoaiNNT>", "<LoaiNNT/>"), NULL);
    assert_true(json_is_null(json_object_get(o.result, "taxpayer_type")));
    json_decref(o.result);
    o = run_text(fc, 200, fixture_replace(fc->arena, body, "<TrangThai>00</TrangThai>", ""), NULL);
    assert_true(json_is_null(json_object_get(o.result, "status")));
    json_decref(o.result);
}

/* ---- MaKetQua ---- */

static void result_codes(void **state)
{
    outcome_t o = run(*state, 200, "result-1.xml", NULL);
    assert_error(&o, 404, "record_not_found", 0, false);
    assert_non_null(strstr(o.err.detail, "Không tìm thấy người nộp thuế"));
    o = run(*state, 200, "result-2.xml", NULL);
    assert_error(&o, 400, "upstream_rejected_identifier", 0, false);
    assert_int_equal(o.err.kind, LT_ERR_BAD_REQUEST);
    o = run(*state, 401, "result-3.xml", NULL);
    assert_error(&o, 502, "upstream_api_key_rejected", 0, false);
    assert_non_null(strstr(o.err.detail, "api_key_file"));
    o = run(*state, 200, "result-9.xml", NULL);
    assert_error(&o, 502, "upstream_system_error", 0, false);
    assert_non_null(strstr(o.err.detail, "Lỗi hệ thống"));
    o = run(*state, 500, "result-9.xml", NULL);
    assert_error(&o, 502, "upstream_system_error", 0, false);
}

/* The key is refused whatever the 401 carries, and a MaKetQua 3 inside HTTP 200 is still the key. */
static void api_key_rejected(void **state)
{
    fixture_call_t *fc = *state;
    outcome_t o = run_text(fc, 401, "", NULL);
    assert_error(&o, 502, "upstream_api_key_rejected", 0, false);
    o = run(fc, 401, "http-502.html", NULL);
    assert_error(&o, 502, "upstream_api_key_rejected", 0, false);
    o = run(fc, 200, "result-3.xml", NULL);
    assert_error(&o, 502, "upstream_api_key_rejected", 0, false);
    /* distinct from every other 502, so operators can alert on it */
    o = run(fc, 200, "result-9.xml", NULL);
    assert_string_not_equal(o.err.code, "upstream_api_key_rejected");
}

static void unknown_or_missing_result(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "result-1.xml", NULL);
    outcome_t o = run_text(fc, 200, fixture_replace(fc->arena, body, ">1</MaKetQua>", ">4</MaKetQua>"), NULL);
    assert_error(&o, 502, "upstream_unknown_result", 0, false);
    assert_non_null(strstr(o.err.detail, "MaKetQua 4"));
    o = run_text(fc, 200, fixture_replace(fc->arena, body, ">1</MaKetQua>", ">&lt;x&gt;</MaKetQua>"), NULL);
    assert_error(&o, 502, "upstream_unknown_result", 0, false);
    assert_null(strstr(o.err.detail, "<x>"));
    o = run_text(fc, 200, fixture_replace(fc->arena, body, "<MaKetQua>1</MaKetQua>", ""), NULL);
    assert_error(&o, 502, "bad_response", 0, false);
    o = run_text(fc, 200, fixture_replace(fc->arena, body, "<MaKetQua>1</MaKetQua>", "<MaKetQua> </MaKetQua>"), NULL);
    assert_error(&o, 502, "bad_response", 0, false);
}

/* MoTa is shown to the caller only when it cannot quote a tax code. */
static void mota_with_digits_withheld(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "result-1.xml", NULL);
    const char *leaky = fixture_replace(fc->arena, body, "Không tìm thấy người nộp thuế",
                                        "Không tìm thấy người nộp thuế có MST 0100233488");
    outcome_t o = run_text(fc, 200, leaky, NULL);
    assert_error(&o, 404, "record_not_found", 0, false);
    assert_null(strstr(o.err.detail, "national system says"));
    o = run(fc, 200, "result-1.xml", NULL);
    assert_non_null(strstr(o.err.detail, "national system says"));
}

/* ---- HTTP statuses ---- */

static void rate_limit_and_unavailable(void **state)
{
    fixture_call_t *fc = *state;
    /* The ICD's rate limit: HTTP 503, empty body, no Retry-After: the configured default (1 s), which also
     * holds back the core's retry, since the limit's window is an ICD rule. */
    outcome_t o = run_text(fc, 503, "", NULL);
    assert_error(&o, 503, "upstream_rate_limited", 1, true);
    assert_wait(&o, 1);
    o = run_text(fc, 503, "\r\n", "7");
    assert_error(&o, 503, "upstream_rate_limited", 7, true);
    assert_wait(&o, 7);
    o = run_text(fc, 503, "", "Wed, 21 Oct 2026 07:28:00 GMT");
    assert_error(&o, 503, "upstream_rate_limited", 1, true);
    assert_wait(&o, 1);
    o = run_text(fc, 503, "", "0");
    assert_error(&o, 503, "upstream_rate_limited", 1, true);
    /* A 503 with a body is not the registry's limit but some proxy's page: only its own Retry-After binds. */
    o = run(fc, 503, "http-502.html", "120");
    assert_error(&o, 503, "upstream_http_503", 120, true);
    assert_wait(&o, 120);
    o = run(fc, 503, "http-502.html", NULL);
    assert_error(&o, 503, "upstream_http_503", 1, true);
    assert_wait(&o, 0);
}

static void retry_after_from_settings(void **state)
{
    fixture_call_t *fc = *state;
    json_t *conf = fixture_settings_json(fc->arena);
    json_object_set_new(conf, "retry_after_s", json_integer(5));
    void *settings;
    lt_error_t err;
    assert_int_equal(lt_tax_adapter.settings_load(conf, "upstreams.tax.service", &settings, &err), 0);
    json_decref(conf);
    fc->call.settings = settings;
    outcome_t o = run_text(fc, 503, "", NULL);
    assert_error(&o, 503, "upstream_rate_limited", 5, true);
    assert_wait(&o, 5);
    o = run(fc, 503, "http-502.html", NULL);
    assert_error(&o, 503, "upstream_http_503", 5, true);
    assert_wait(&o, 0);
    fc->call.settings = fc->settings;
    lt_tax_adapter.settings_free(settings);
}

static void other_statuses(void **state)
{
    fixture_call_t *fc = *state;
    outcome_t o = run(fc, 502, "http-502.html", NULL);
    assert_error(&o, 502, "upstream_http_502", 0, false);
    o = run(fc, 504, "http-502.html", NULL);
    assert_error(&o, 504, "upstream_http_504", 0, true);
    o = run(fc, 500, "http-502.html", NULL);
    assert_error(&o, 502, "upstream_http_status", 0, false);
    /* HTTP 500 carrying a record is not a success. */
    o = run(fc, 500, "lookup-response.xml", NULL);
    assert_error(&o, 502, "upstream_http_status", 0, false);
    o = run(fc, 404, "result-1.xml", NULL);
    assert_error(&o, 502, "upstream_http_status", 0, false);
    assert_non_null(strstr(o.err.detail, "HTTP 404"));
    o = run(fc, 429, "http-502.html", NULL);
    assert_error(&o, 502, "upstream_http_status", 0, false);
    o = run(fc, 301, "http-502.html", NULL);
    assert_error(&o, 502, "upstream_http_status", 0, false);
}

/* ---- garbage and protocol checks ---- */

static void garbage(void **state)
{
    fixture_call_t *fc = *state;
    static const char *const bodies[] = {
        "",
        "not XML at all",
        "{\"MaKetQua\": 0}",
        "<KetQuaTraCuu xmlns=\"urn:gdt:tracuu:nnt:1.0\"><MaKetQua>0</MaKetQua>",                  /* cut short */
        "<KetQuaTraCuu><MaYeuCau>" MESSAGE_ID "</MaYeuCau><MaKetQua>1</MaKetQua></KetQuaTraCuu>", /* no namespace */
        "<KetQuaTraCuu xmlns=\"urn:gdt:tracuu:nnt:2.0\"><MaYeuCau>" MESSAGE_ID
        "</MaYeuCau><MaKetQua>1</MaKetQua></KetQuaTraCuu>",
        "<YeuCauTraCuu xmlns=\"urn:gdt:tracuu:nnt:1.0\"><MaYeuCau>" MESSAGE_ID "</MaYeuCau></YeuCauTraCuu>",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        outcome_t o = run_text(fc, 200, bodies[i], NULL);
        assert_error(&o, 502, "bad_response", 0, false);
    }
    outcome_t o = run(fc, 200, "http-502.html", NULL);
    assert_error(&o, 502, "bad_response", 0, false);
    /* MaKetQua 0 without the record. */
    const char *body = fixture_read(fc->arena, "result-1.xml", NULL);
    o = run_text(fc, 200, fixture_replace(fc->arena, body, ">1</MaKetQua>", ">0</MaKetQua>"), NULL);
    assert_error(&o, 502, "bad_response", 0, false);
    assert_non_null(strstr(o.err.detail, "NguoiNopThue"));
}

static void message_id_echo(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-response.xml", NULL);
    const char *other = "6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4f";
    outcome_t o = run_text(fc, 200, fixture_replace(fc->arena, body, MESSAGE_ID, other), NULL);
    assert_error(&o, 502, "upstream_id_mismatch", 0, false);
    /* Business answers must echo ours when they echo anything. */
    const char *nf = fixture_read(fc->arena, "result-1.xml", NULL);
    o = run_text(fc, 200, fixture_replace(fc->arena, nf, MESSAGE_ID, other), NULL);
    assert_error(&o, 502, "upstream_id_mismatch", 0, false);
    const char *se = fixture_read(fc->arena, "result-9.xml", NULL);
    o = run_text(fc, 200, fixture_replace(fc->arena, se, MESSAGE_ID, other), NULL);
    assert_error(&o, 502, "upstream_id_mismatch", 0, false);
    /* The id that build() recorded wins over the context's. */
    fc->call.scratch = (void *)other;
    o = run(fc, 200, "lookup-response.xml", NULL);
    assert_error(&o, 502, "upstream_id_mismatch", 0, false);
}

/* The ICD shows MaYeuCau in its answer but never says it is always sent: an answer without it (or with an empty one)
 * is this exchange's answer, whatever its MaKetQua. */
static void message_id_not_echoed(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-response.xml", NULL);
    const char *echo = "<MaYeuCau>" MESSAGE_ID "</MaYeuCau>";
    outcome_t o = run_text(fc, 200, fixture_replace(fc->arena, body, echo, ""), NULL);
    assert_result(&o, ICD_TAXPAYER);
    o = run_text(fc, 200, fixture_replace(fc->arena, body, echo, "<MaYeuCau/>"), NULL);
    assert_result(&o, ICD_TAXPAYER);
    o = run_text(fc, 200, fixture_replace(fc->arena, fixture_read(fc->arena, "result-1.xml", NULL), echo, ""), NULL);
    assert_error(&o, 404, "record_not_found", 0, false);
    o = run_text(fc, 200, fixture_replace(fc->arena, fixture_read(fc->arena, "result-2.xml", NULL), echo, ""), NULL);
    assert_error(&o, 400, "upstream_rejected_identifier", 0, false);
    o = run_text(fc, 200, fixture_replace(fc->arena, fixture_read(fc->arena, "result-9.xml", NULL), echo, ""), NULL);
    assert_error(&o, 502, "upstream_system_error", 0, false);
}

static void record_for_another_code(void **state)
{
    fixture_call_t *fc = *state;
    json_object_set_new(fc->call.input, "tax_code", json_string("0100233488-001"));
    outcome_t o = run(fc, 200, "lookup-response.xml", NULL);
    assert_error(&o, 502, "upstream_record_mismatch", 0, false);
    json_object_set_new(fc->call.input, "tax_code", json_string("0107654326"));
    o = run(fc, 200, "lookup-response.xml", NULL);
    assert_error(&o, 502, "upstream_record_mismatch", 0, false);
}

static void missing_or_bad_fields(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-response.xml", NULL);
    static const char *const cuts[][2] = {
        {"20/05/2010", "31/02/2010"},
        {"20/05/2010", "2010-05-20"},
        {"20/05/2010", "20/5/2010"},
        {"<NgayThayDoiTrangThai/>", "<NgayThayDoiTrangThai>00/00/0000</NgayThayDoiTrangThai>"},
    };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        outcome_t o = run_text(fc, 200, fixture_replace(fc->arena, body, cuts[i][0], cuts[i][1]), NULL);
        assert_error(&o, 502, "bad_response", 0, false);
    }
}

/*
 * The ICD shows MST and TenNNT but does not say they are always sent. Without MST the record is the registry's
 * answer about the code asked (MaKetQua 0 for our MST); without TenNNT the name is unknown: null, not a 502.
 */
static void missing_code_and_name(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-response.xml", NULL);
    const char *mst = "<MST>0100233488</MST>", *name = "<TenNNT>CÔNG TY CỔ PHẦN PHẦN MỀM HÀ THÀNH</TenNNT>";
    const char *cases[][2] = {{mst, ""}, {mst, "<MST/>"}, {mst, "<MST>  </MST>"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        outcome_t o = run_text(fc, 200, fixture_replace(fc->arena, body, cases[i][0], cases[i][1]), NULL);
        assert_result(&o, ICD_TAXPAYER);
    }
    const char *names[] = {"", "<TenNNT/>", "<TenNNT>  </TenNNT>"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        outcome_t o = run_text(fc, 200, fixture_replace(fc->arena, body, name, names[i]), NULL);
        assert_int_equal(o.step, LT_STEP_DONE);
        assert_true(json_is_null(json_object_get(o.result, "name")));
        assert_string_equal(field_of(&o, NULL, "tax_code"), TAX_CODE);
        json_decref(o.result);
    }
    /* Both missing: still the answer about the code asked. */
    outcome_t o =
        run_text(fc, 200, fixture_replace(fc->arena, fixture_replace(fc->arena, body, mst, ""), name, ""), NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    assert_string_equal(field_of(&o, NULL, "tax_code"), TAX_CODE);
    json_decref(o.result);
}

/* ---- hostile XML ---- */

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void dtd_refused_never_expanded(void **state)
{
    static const char *const fixtures[] = {"dtd-billion-laughs.xml", "dtd-external-entity.xml"};
    for (size_t i = 0; i < 2; i++) {
        for (long status = 200; status <= 500; status += 300) {
            struct timespec t0;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            outcome_t o = run(*state, status, fixtures[i], NULL);
            /* 10^9 "lol"s or /etc/passwd would take far longer, or show up in the error. */
            assert_true(elapsed_ms(&t0) < 1000);
            assert_null(o.result);
            assert_null(strstr(o.err.detail, "lol"));
            assert_null(strstr(o.err.detail, "root:"));
            if (status == 200) {
                assert_error(&o, 502, "bad_response", 0, false);
                assert_string_equal(o.err.detail, "response contains a DTD; refused");
            } else {
                assert_error(&o, 502, "upstream_http_status", 0, false);
            }
        }
    }
}

/* Control for dtd_refused_never_expanded: without its DOCTYPE the same response is a record, so the refusal is the
 * DTD's. */
static void dtd_fixture_is_otherwise_valid(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "dtd-billion-laughs.xml", NULL);
    const char *start = strstr(body, "<!DOCTYPE"), *end = strstr(body, "]>") + 2;
    char *clean = lt_arena_strdup(fc->arena, body);
    memmove(clean + (start - body), clean + (end - body), strlen(end) + 1);
    clean = fixture_replace(fc->arena, clean, "&lol9;", "CÔNG TY");
    outcome_t o = run_text(fc, 200, clean, NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    assert_string_equal(field_of(&o, NULL, "name"), "CÔNG TY");
    json_decref(o.result);
}

int main(void)
{
    lt_xml_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(icd_sample, setup, teardown),
        cmocka_unit_test_setup_teardown(other_prefix_unknown_elements_cdata_crlf, setup, teardown),
        cmocka_unit_test_setup_teardown(byte_order_mark, setup, teardown),
        cmocka_unit_test_setup_teardown(numeric_character_references, setup, teardown),
        cmocka_unit_test_setup_teardown(household, setup, teardown),
        cmocka_unit_test_setup_teardown(branch, setup, teardown),
        cmocka_unit_test_setup_teardown(individual_nfd_unknown_status_empty_optionals, setup, teardown),
        cmocka_unit_test_setup_teardown(code_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(result_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(api_key_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_or_missing_result, setup, teardown),
        cmocka_unit_test_setup_teardown(mota_with_digits_withheld, setup, teardown),
        cmocka_unit_test_setup_teardown(rate_limit_and_unavailable, setup, teardown),
        cmocka_unit_test_setup_teardown(retry_after_from_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(other_statuses, setup, teardown),
        cmocka_unit_test_setup_teardown(garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(message_id_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(message_id_not_echoed, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_code_and_name, setup, teardown),
        cmocka_unit_test_setup_teardown(record_for_another_code, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_or_bad_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(dtd_refused_never_expanded, setup, teardown),
        cmocka_unit_test_setup_teardown(dtd_fixture_is_otherwise_valid, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fixture_files_cleanup();
    return rc;
}
