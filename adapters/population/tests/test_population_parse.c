/*
 * The population adapter's parse(): ICD samples to canonical JSON, whatever the
 * prefixes; faults and HTTP statuses to errors; protocol checks (xrd:id,
 * requestHash, MaYeuCau, the record's number); hostile XML refused.
 * Expected records are written by hand from icd/population.md.
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
#include "lt_xml.h"

/* The ICD's sample citizen (icd/population.md, "Response body"), with the fixture's current residence and head. */
static const char *const ICD_CITIZEN =
    "{"
    "\"id\": \"001095012345\","
    "\"old_id_number\": \"012345678\","
    "\"full_name\": \"Nguyễn Văn An\","
    "\"name\": {\"family\": \"Nguyễn\", \"middle\": \"Văn\", \"given\": \"An\"},"
    "\"sex\": {\"code\": \"male\", \"source_code\": \"1\"},"
    "\"birth_date\": \"1995-03-12\","
    "\"ethnicity\": {\"name\": \"Kinh\", \"source_code\": \"01\"},"
    "\"religion\": {\"name\": \"none\", \"source_code\": \"00\"},"
    "\"nationality\": \"VN\","
    "\"blood_type\": {\"code\": \"unknown\", \"source_code\": \"00\"},"
    "\"marital_status\": {\"code\": \"single\", \"source_code\": \"1\"},"
    "\"place_of_origin\": {\"province_code\": \"34\", \"district_code\": \"336\", \"commune_code\": \"12631\","
    "                      \"detail\": \"Xã Vũ Hội, Huyện Vũ Thư, Tỉnh Thái Bình\"},"
    "\"permanent_residence\": {\"province_code\": \"33\", \"district_code\": null, \"commune_code\": \"12616\","
    "                          \"detail\": \"Xã Vũ Tiên, Tỉnh Hưng Yên\"},"
    "\"current_residence\": {\"province_code\": \"01\", \"district_code\": null, \"commune_code\": \"00070\","
    "                        \"detail\": \"Số 12 phố Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội\"},"
    "\"head_of_household\": {\"id\": \"034065004321\", \"full_name\": \"Nguyễn Văn Bình\", \"relationship\": \"Con\"}"
    "}";

/* fixtures/lookup-response-year-only.xml: year only, plain NFD names, unknown and empty codes, missing optionals. */
static const char *const YEAR_ONLY_CITIZEN =
    "{"
    "\"id\": \"001095012345\","
    "\"old_id_number\": null,"
    "\"full_name\": \"Nguyễn Văn An\","
    "\"name\": null,"
    "\"sex\": {\"code\": \"male\", \"source_code\": \"1\"},"
    "\"birth_date\": \"1995\","
    "\"ethnicity\": {\"name\": null, \"source_code\": \"17\"},"
    "\"religion\": null,"
    "\"nationality\": null,"
    "\"blood_type\": {\"code\": null, \"source_code\": \"09\"},"
    "\"marital_status\": null,"
    "\"place_of_origin\": {\"province_code\": \"34\", \"district_code\": \"336\", \"commune_code\": \"12631\","
    "                      \"detail\": \"Xã Vũ Hội, Huyện Vũ Thư, Tỉnh Thái Bình\"},"
    "\"permanent_residence\": null,"
    "\"current_residence\": null,"
    "\"head_of_household\": {\"id\": \"034065004321\", \"full_name\": \"Nguyễn Văn Bình\", \"relationship\": \"Con\"}"
    "}";

typedef lt_test_outcome_t outcome_t;

static int setup_lookup(void **state)
{
    *state = fixture_call_new("lookup");
    return 0;
}

static int setup_verify(void **state)
{
    *state = fixture_call_new("verify");
    return 0;
}

static int teardown(void **state)
{
    fixture_call_free(*state);
    return 0;
}

static outcome_t run_body(fixture_call_t *fc, const char *op, long status, const char *body, size_t len,
                          const char *retry_after)
{
    outcome_t o =
        lt_test_parse(fixture_operation(op), &fc->call, status, "text/xml; charset=utf-8", body, len, retry_after);
    /* No personal data in any error detail. */
    assert_null(strstr(o.err.detail, "001095012345"));
    assert_null(strstr(o.err.detail, "Nguy\xe1\xbb\x85n"));
    assert_null(strstr(o.err.detail, "19950312"));
    return o;
}

static outcome_t run(fixture_call_t *fc, const char *op, long status, const char *fixture, const char *retry_after)
{
    size_t len;
    const char *body = fixture_read(fc->arena, fixture, &len);
    return run_body(fc, op, status, body, len, retry_after);
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
    assert_int_equal(o->step, LT_STEP_FAIL);
    assert_int_equal(lt_error_http_status(o->err.kind), status);
    assert_string_equal(o->err.code, code);
    assert_int_equal(o->err.retry_after_s, retry_after);
    assert_int_equal(o->err.retryable, retryable);
}

/* ---- success ---- */

static void lookup_icd_sample(void **state)
{
    outcome_t o = run(*state, "lookup", 200, "lookup-response.xml", NULL);
    /* NFC bytes spelled out, so an editor's normalisation of this file cannot hide a bug. */
    assert_string_equal(json_string_value(json_object_get(o.result, "full_name")), "Nguy\xe1\xbb\x85n V\xc4\x83n An");
    assert_null(json_object_get(o.result, "source")); /* the core adds it */
    assert_result(&o, ICD_CITIZEN);
}

static void lookup_other_prefixes_and_unknown_elements(void **state)
{
    outcome_t o = run(*state, "lookup", 200, "lookup-response-prefixes.xml", NULL);
    assert_result(&o, ICD_CITIZEN);
}

static void lookup_default_namespaces(void **state)
{
    outcome_t o = run(*state, "lookup", 200, "lookup-response-default-ns.xml", NULL);
    assert_result(&o, ICD_CITIZEN);
}

static void lookup_year_only_plain_names(void **state)
{
    outcome_t o = run(*state, "lookup", 200, "lookup-response-year-only.xml", NULL);
    assert_string_equal(json_string_value(json_object_get(o.result, "full_name")),
                        "Nguy\xe1\xbb\x85n V\xc4\x83n An"); /* NFD in the fixture */
    assert_result(&o, YEAR_ONLY_CITIZEN);
}

static void verify_true_false(void **state)
{
    outcome_t o = run(*state, "verify", 200, "verify-response-true.xml", NULL);
    assert_result(&o, "{\"match\": true}");
    o = run(*state, "verify", 200, "verify-response-false.xml", NULL);
    assert_result(&o, "{\"match\": false}");
    o = run(*state, "verify", 200, "verify-response-default-ns.xml", NULL);
    assert_result(&o, "{\"match\": false}");
}

static void verify_bad_ketqua(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "verify-response-true.xml", NULL);
    const char *bad = fixture_replace(fc->arena, body, ">true<", ">yes<");
    outcome_t o = run_body(fc, "verify", 200, bad, strlen(bad), NULL);
    assert_error(&o, 502, "bad_response", 0, false);
}

/* ---- faults ---- */

static void dc_faults(void **state)
{
    static const struct {
        const char *fixture;
        int status;
        const char *code;
        int retry_after;
        bool retryable;
        const char *faultstring;
    } cases[] = {
        {"fault-dc-400.xml", 400, "DC-400", 0, false, "Yêu cầu không hợp lệ"},
        {"fault-dc-403.xml", 502, "DC-403", 0, false, "Đơn vị không được phép sử dụng dịch vụ"},
        {"fault-dc-404.xml", 404, "DC-404", 0, false, "Không tìm thấy thông tin công dân"},
        {"fault-dc-429.xml", 503, "DC-429", 60, false, "Vượt quá hạn mức truy vấn"},
        {"fault-dc-500.xml", 502, "DC-500", 0, false, "Lỗi hệ thống"},
        {"fault-dc-503.xml", 503, "DC-503", 300, true, "Hệ thống đang bảo trì"},
        {"fault-dc-999.xml", 502, "DC-999", 0, false, "Lỗi không xác định"},
        {"fault-dc-404-default-ns.xml", 404, "DC-404", 0, false, "Không tìm thấy thông tin công dân"},
        {"fault-dc-429-prefixes.xml", 503, "DC-429", 60, false, "Vượt quá hạn mức truy vấn"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        outcome_t o = run(*state, "lookup", 500, cases[i].fixture, NULL);
        assert_error(&o, cases[i].status, cases[i].code, cases[i].retry_after, cases[i].retryable);
        assert_non_null(strstr(o.err.detail, cases[i].faultstring));
    }
    outcome_t o = run(*state, "lookup", 500, "fault-dc-400.xml", NULL);
    assert_int_equal(o.err.kind, LT_ERR_BAD_REQUEST);
    assert_non_null(strstr(o.err.detail, "the national system rejected the request as malformed"));
}

/* The retry delays come from the settings, not from constants. */
static void fault_retry_after_from_settings(void **state)
{
    fixture_call_t *fc = *state;
    json_t *conf = json_loads(SETTINGS_JSON, 0, NULL);
    json_object_set_new(conf, "quota_retry_after_s", json_integer(61));
    json_object_set_new(conf, "maintenance_retry_after_s", json_integer(1800));
    json_object_set_new(conf, "platform_retry_after_s", json_integer(7));
    extern const lt_adapter_t lt_population_adapter;
    void *settings;
    lt_error_t err;
    assert_int_equal(lt_population_adapter.settings_load(conf, "p", &settings, &err), 0);
    json_decref(conf);
    fc->call.settings = settings;
    outcome_t o = run(fc, "lookup", 500, "fault-dc-429.xml", NULL);
    assert_error(&o, 503, "DC-429", 61, false);
    o = run(fc, "lookup", 500, "fault-dc-503.xml", NULL);
    assert_error(&o, 503, "DC-503", 1800, true);
    o = run(fc, "lookup", 500, "fault-xroad-server.xml", NULL);
    assert_error(&o, 503, "xroad_server_fault", 7, true);
    o = run(fc, "lookup", 503, "http-503.html", NULL);
    assert_error(&o, 503, "upstream_http_503", 7, true);
    fc->call.settings = fc->settings;
    lt_population_adapter.settings_free(settings);
}

static void xroad_faults(void **state)
{
    outcome_t o = run(*state, "lookup", 500, "fault-xroad-server.xml", NULL);
    assert_error(&o, 503, "xroad_server_fault", 30, true);
    assert_non_null(strstr(o.err.detail, "Server.ServerProxy.ServiceFailed"));
    o = run(*state, "lookup", 500, "fault-xroad-client.xml", NULL);
    assert_error(&o, 502, "xroad_client_fault", 0, false);
    assert_non_null(strstr(o.err.detail, "Client.InvalidRequest"));
    o = run(*state, "verify", 500, "fault-xroad-server.xml", NULL);
    assert_error(&o, 503, "xroad_server_fault", 30, true);
}

/* A fault with neither MaLoi nor an X-Road faultcode: the national system misbehaving. */
static void fault_without_code(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "fault-xroad-client.xml", NULL);
    const char *plain = fixture_replace(fc->arena, body, "Client.InvalidRequest", "soap:Server");
    outcome_t o = run_body(fc, "lookup", 500, plain, strlen(plain), NULL);
    assert_error(&o, 502, "upstream_fault", 0, false);
}

/* A faultstring that might quote an identifier is withheld. */
static void faultstring_with_digits_withheld(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "fault-dc-404.xml", NULL);
    const char *leaky =
        fixture_replace(fc->arena, body, "Không tìm thấy thông tin công dân", "Không tìm thấy công dân 001095012345");
    outcome_t o = run_body(fc, "lookup", 500, leaky, strlen(leaky), NULL);
    assert_error(&o, 404, "DC-404", 0, false);
    assert_null(strstr(o.err.detail, "national system says"));
}

/* A faultcode or MaLoi that might quote an identifier is not quoted either: it is a token, but not a safe one. */
static void fault_codes_with_digits_withheld(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "fault-xroad-server.xml", NULL);
    const char *leaky =
        fixture_replace(fc->arena, body, "Server.ServerProxy.ServiceFailed", "Server.Failed.001095012345");
    outcome_t o = run_body(fc, "lookup", 500, leaky, strlen(leaky), NULL);
    assert_error(&o, 503, "xroad_server_fault", 30, true);
    assert_non_null(strstr(o.err.detail, "failed: ?")); /* and run_body() checked the number is not there */

    body = fixture_read(fc->arena, "fault-dc-999.xml", NULL);
    leaky = fixture_replace(fc->arena, body, "<dc:MaLoi>DC-999</dc:MaLoi>", "<dc:MaLoi>DC-001095012345</dc:MaLoi>");
    o = run_body(fc, "lookup", 500, leaky, strlen(leaky), NULL);
    assert_error(&o, 502, "upstream_fault", 0, false);
    /* Seven digits are no identifier: still quoted, as code and in the detail. */
    leaky = fixture_replace(fc->arena, body, "<dc:MaLoi>DC-999</dc:MaLoi>", "<dc:MaLoi>DC-1234567</dc:MaLoi>");
    o = run_body(fc, "lookup", 500, leaky, strlen(leaky), NULL);
    assert_error(&o, 502, "DC-1234567", 0, false);
    assert_non_null(strstr(o.err.detail, "DC-1234567"));
}

/* A fault carrying a header for another message is not ours to map. */
static void fault_with_wrong_id(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "fault-dc-404.xml", NULL);
    const char *other = fixture_replace(fc->arena, body, MESSAGE_ID, "00000000-0000-4000-8000-000000000000");
    outcome_t o = run_body(fc, "lookup", 500, other, strlen(other), NULL);
    assert_error(&o, 502, "upstream_id_mismatch", 0, false);
}

/* ---- HTTP statuses without SOAP ---- */

static void http_statuses(void **state)
{
    outcome_t o = run(*state, "lookup", 502, "http-502.html", NULL);
    assert_error(&o, 502, "upstream_http_502", 0, false);
    o = run(*state, "lookup", 503, "http-503.html", "120");
    assert_error(&o, 503, "upstream_http_503", 120, true);
    o = run(*state, "lookup", 503, "http-503.html", "Wed, 21 Oct 2026 07:28:00 GMT");
    assert_error(&o, 503, "upstream_http_503", 30, true);
    o = run(*state, "lookup", 503, "http-503.html", "-5");
    assert_error(&o, 503, "upstream_http_503", 30, true);
    o = run(*state, "lookup", 503, "http-503.html", NULL);
    assert_error(&o, 503, "upstream_http_503", 30, true);
    o = run(*state, "lookup", 504, "http-502.html", NULL);
    assert_error(&o, 504, "upstream_http_504", 0, true);
    /* A SOAP fault on an unexpected status is still the status talking. */
    o = run(*state, "lookup", 404, "fault-dc-404.xml", NULL);
    assert_error(&o, 502, "upstream_http_status", 0, false);
    o = run(*state, "lookup", 401, "http-502.html", NULL);
    assert_error(&o, 502, "upstream_http_status", 0, false);
    o = run(*state, "lookup", 301, "http-502.html", NULL);
    assert_error(&o, 502, "upstream_http_status", 0, false);
}

static void http_500_or_200_without_soap(void **state)
{
    fixture_call_t *fc = *state;
    outcome_t o = run(fc, "lookup", 500, "http-503.html", NULL);
    assert_error(&o, 502, "bad_response", 0, false);
    o = run(fc, "lookup", 200, "http-503.html", NULL);
    assert_error(&o, 502, "bad_response", 0, false);
    /* Well-formed, but not SOAP. */
    o = run_body(fc, "lookup", 200, "<ok/>", 5, NULL);
    assert_error(&o, 502, "bad_response", 0, false);
    /* SOAP, but the answer to the other operation (sent bytes chosen so the requestHash holds). */
    fc->sent.body = fixture_read(fc->arena, "request-verify.xml", &fc->sent.body_len);
    o = run(fc, "lookup", 200, "verify-response-true.xml", NULL);
    assert_error(&o, 502, "bad_response", 0, false);
    /* HTTP 500 with a normal response in it. */
    o = run(fc, "lookup", 500, "lookup-response.xml", NULL);
    assert_error(&o, 502, "bad_response", 0, false);
    o = run_body(fc, "lookup", 200, "", 0, NULL);
    assert_error(&o, 502, "bad_response", 0, false);
}

/* ---- protocol checks ---- */

static void wrong_message_id(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-response.xml", NULL);
    const char *other = "6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4f";
    const char *wrong =
        fixture_replace(fc->arena, body, "<xrd:id>" MESSAGE_ID, "<xrd:id>6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4f");
    outcome_t o = run_body(fc, "lookup", 200, wrong, strlen(wrong), NULL);
    assert_error(&o, 502, "upstream_id_mismatch", 0, false);
    /* Header right, body's MaYeuCau wrong. */
    wrong = fixture_replace(fc->arena, body, "<dc:MaYeuCau>" MESSAGE_ID,
                            "<dc:MaYeuCau>6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4f");
    o = run_body(fc, "lookup", 200, wrong, strlen(wrong), NULL);
    assert_error(&o, 502, "upstream_id_mismatch", 0, false);
    /* No xrd:id at all. */
    wrong = fixture_replace(fc->arena, body, "<xrd:id>" MESSAGE_ID "</xrd:id>", "");
    o = run_body(fc, "lookup", 200, wrong, strlen(wrong), NULL);
    assert_error(&o, 502, "bad_response", 0, false);
    /* The message id that build() recorded wins over the context's. */
    fc->call.scratch = (void *)other;
    o = run(fc, "lookup", 200, "lookup-response.xml", NULL);
    assert_error(&o, 502, "upstream_id_mismatch", 0, false);
}

static void request_hash(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-response.xml", NULL);

    /* The sent bytes differ by one character from what the fixture's hash covers. */
    char *altered = lt_arena_strndup(fc->arena, fc->sent.body, fc->sent.body_len);
    char *p = strstr(altered, "CB-0042");
    p[6] = '3';
    fc->sent.body = altered;
    outcome_t o = run(fc, "lookup", 200, "lookup-response.xml", NULL);
    assert_error(&o, 502, "upstream_request_hash_mismatch", 0, false);

    /* A hash computed here, independently, over other bytes is accepted for those bytes. */
    const char *sent = "<any request bytes/>";
    const char *hash = fixture_sha512_base64(fc->arena, sent, strlen(sent));
    size_t hl = strlen(hash);
    assert_int_equal(hl, 88);
    const char *start = strstr(body, "#sha512\">") + 9;
    char *old = lt_arena_strndup(fc->arena, start, (size_t)(strchr(start, '<') - start));
    const char *rehashed = fixture_replace(fc->arena, body, old, hash);
    fc->sent.body = sent;
    fc->sent.body_len = strlen(sent);
    o = run_body(fc, "lookup", 200, rehashed, strlen(rehashed), NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    json_decref(o.result);

    /* The same hash with one character changed is refused. */
    char *bad_hash = lt_arena_strdup(fc->arena, hash);
    bad_hash[10] = bad_hash[10] == 'A' ? 'B' : 'A';
    const char *tampered = fixture_replace(fc->arena, body, old, bad_hash);
    o = run_body(fc, "lookup", 200, tampered, strlen(tampered), NULL);
    assert_error(&o, 502, "upstream_request_hash_mismatch", 0, false);

    /* Another algorithm is not silently trusted. */
    const char *sha256 = fixture_replace(fc->arena, rehashed, "xmlenc#sha512", "xmlenc#sha256");
    o = run_body(fc, "lookup", 200, sha256, strlen(sha256), NULL);
    assert_error(&o, 502, "upstream_request_hash_mismatch", 0, false);
}

static void record_for_another_number(void **state)
{
    fixture_call_t *fc = *state;
    json_object_set_new(fc->call.input, "id", json_string("001095099999"));
    outcome_t o = run(fc, "lookup", 200, "lookup-response.xml", NULL);
    assert_error(&o, 502, "upstream_record_mismatch", 0, false);
    assert_null(strstr(o.err.detail, "001095099999"));
}

static void missing_required_elements(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "lookup-response-year-only.xml", NULL);
    static const char *const cuts[][2] = {
        {"<D:SoDinhDanh>001095012345</D:SoDinhDanh>", ""},
        {"<D:SoDinhDanh>001095012345</D:SoDinhDanh>", "<D:SoDinhDanh> </D:SoDinhDanh>"},
        {"<D:NgayThangNamSinh><D:NgayThangNam>1995</D:NgayThangNam></D:NgayThangNamSinh>", ""},
        {"<D:NgayThangNam>1995</D:NgayThangNam>", "<D:NgayThangNam>19950230</D:NgayThangNam>"},
        {"<D:NgayThangNam>1995</D:NgayThangNam>", "<D:NgayThangNam>1995-03-12</D:NgayThangNam>"},
        {"<D:CongDan>", "<D:CongDanCu>"},
    };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        const char *cut = fixture_replace(fc->arena, body, cuts[i][0], cuts[i][1]);
        if (i == 5)
            cut = fixture_replace(fc->arena, cut, "</D:CongDan>", "</D:CongDanCu>");
        outcome_t o = run_body(fc, "lookup", 200, cut, strlen(cut), NULL);
        assert_error(&o, 502, "bad_response", 0, false);
    }
    /* The name: cut out whatever HoVaTen holds. */
    const char *start = strstr(body, "<D:HoVaTen>"), *end = strstr(body, "</D:HoVaTen>") + 12;
    char *noname = lt_arena_strdup(fc->arena, body);
    memmove(noname + (start - body), noname + (end - body), strlen(end) + 1);
    outcome_t o = run_body(fc, "lookup", 200, noname, strlen(noname), NULL);
    assert_error(&o, 502, "bad_response", 0, false);
    assert_non_null(strstr(o.err.detail, "HoVaTen"));
}

/* ---- hostile XML ---- */

static void dtd_refused(void **state)
{
    const char *fixtures[] = {"dtd-billion-laughs.xml", "dtd-external-entity.xml"};
    for (size_t i = 0; i < 2; i++) {
        for (long status = 200; status <= 500; status += 300) {
            outcome_t o = run(*state, i == 0 ? "verify" : "lookup", status, fixtures[i], NULL);
            assert_error(&o, 502, "bad_response", 0, false);
            assert_string_equal(o.err.detail, "response contains a DTD; refused");
        }
    }
}

/* Control for dtd_refused: without its DOCTYPE the same response is a good answer, so the refusal is the DTD's. */
static void dtd_fixture_is_otherwise_valid(void **state)
{
    fixture_call_t *fc = *state;
    const char *body = fixture_read(fc->arena, "dtd-billion-laughs.xml", NULL);
    const char *start = strstr(body, "<!DOCTYPE"), *end = strstr(body, "]>") + 2;
    char *clean = lt_arena_strdup(fc->arena, body);
    memmove(clean + (start - body), clean + (end - body), strlen(end) + 1);
    clean = fixture_replace(fc->arena, clean, "&lol9;", "true");
    outcome_t o = run_body(fc, "verify", 200, clean, strlen(clean), NULL);
    assert_result(&o, "{\"match\": true}");
}

int main(void)
{
    lt_xml_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lookup_icd_sample, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(lookup_other_prefixes_and_unknown_elements, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(lookup_default_namespaces, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(lookup_year_only_plain_names, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(verify_true_false, setup_verify, teardown),
        cmocka_unit_test_setup_teardown(verify_bad_ketqua, setup_verify, teardown),
        cmocka_unit_test_setup_teardown(dc_faults, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(fault_retry_after_from_settings, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(xroad_faults, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(fault_without_code, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(faultstring_with_digits_withheld, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(fault_codes_with_digits_withheld, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(fault_with_wrong_id, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(http_statuses, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(http_500_or_200_without_soap, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(wrong_message_id, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(request_hash, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(record_for_another_number, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(missing_required_elements, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(dtd_refused, setup_lookup, teardown),
        cmocka_unit_test_setup_teardown(dtd_fixture_is_otherwise_valid, setup_verify, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
