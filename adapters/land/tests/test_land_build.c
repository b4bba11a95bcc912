/*
 * The land adapter's operations, validate(), build() and settings: the routes
 * of northbound.md, the ICD's paths with the serial's space as %20, the three
 * headers on every call, and every malformed input refused before any call.
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

#include "fixture.h"
#include "land.h"

static void operations_follow_northbound(void **state)
{
    const lt_operation_t *p = fixture_operation("parcel"), *c = fixture_operation("certificate");
    assert_string_equal(lt_land_adapter.name, "land");
    assert_string_equal(p->method, "GET");
    assert_string_equal(p->route, "/v1/land/parcels/");
    assert_int_equal(p->input_kind, LT_INPUT_PATH_PARAM);
    assert_int_equal(p->param_segments, 3);
    assert_string_equal(c->method, "GET");
    assert_string_equal(c->route, "/v1/land/certificates/");
    assert_int_equal(c->input_kind, LT_INPUT_PATH_PARAM);
    assert_true(c->param_segments <= 1);
    assert_true(p->idempotent && c->idempotent);
    assert_true(p->personal_data && c->personal_data); /* holders' names and numbers */
}

/* The header's value, or NULL; fails when it appears twice. */
static const char *header(const lt_upstream_request_t *req, const char *name)
{
    const char *found = NULL;
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nheaders; i++)
        if (strncmp(req->headers[i], name, n) == 0 && req->headers[i][n] == ':') {
            assert_null(found);
            found = req->headers[i] + n + 2;
        }
    return found;
}

static void assert_icd_headers(const lt_upstream_request_t *req)
{
    assert_string_equal(header(req, "X-Ma-Don-Vi"), UNIT_CODE);
    assert_string_equal(header(req, "X-Ma-Can-Bo"), OFFICER_ID);
    assert_string_equal(header(req, "X-Muc-Dich"), PURPOSE);
    assert_string_equal(header(req, "Accept"), "application/json");
    /* Mutual TLS is the only authentication: no key, no token, no signature. */
    assert_null(header(req, "Authorization"));
    assert_int_equal(req->nheaders, 4);
    assert_null(req->body);
}

static void builds_the_parcel_query(void **state)
{
    fixture_call_t *fc = fixture_call_new("parcel", "12616/12/345");
    lt_upstream_request_t req;
    lt_error_t err = {0};
    assert_int_equal(fc->op->build(&fc->call, &req, &err), LT_STEP_DONE);
    assert_string_equal(req.method, "GET");
    assert_string_equal(req.path, "/api/v1/thua-dat?maXa=12616&soTo=12&soThua=345");
    assert_icd_headers(&req);
    fixture_call_free(fc);
}

static void builds_the_certificate_path_with_the_space_encoded(void **state)
{
    static const char *const asked[][2] = {
        {"DA%2001234567", "/api/v1/giay-chung-nhan/DA%2001234567"},
        {"CT%20123456", "/api/v1/giay-chung-nhan/CT%20123456"},
        {"D%41%200123456", "/api/v1/giay-chung-nhan/DA%200123456"}, /* decoded, then encoded the one way */
    };
    for (size_t i = 0; i < sizeof(asked) / sizeof(asked[0]); i++) {
        fixture_call_t *fc = fixture_call_new("certificate", asked[i][0]);
        lt_upstream_request_t req;
        lt_error_t err = {0};
        assert_int_equal(fc->op->build(&fc->call, &req, &err), LT_STEP_DONE);
        assert_string_equal(req.method, "GET");
        assert_string_equal(req.path, asked[i][1]);
        assert_icd_headers(&req);
        fixture_call_free(fc);
    }
}

static void validation_derives_the_question(void **state)
{
    fixture_call_t *fc = fixture_call_new("parcel", "12616/12/345");
    assert_string_equal(json_string_value(json_object_get(fc->call.input, "commune")), "12616");
    assert_string_equal(json_string_value(json_object_get(fc->call.input, "sheet")), "12");
    assert_string_equal(json_string_value(json_object_get(fc->call.input, "parcel")), "345");
    fixture_call_free(fc);
    /* The serial itself, so the cache and purges name the certificate as the ICD writes it. */
    fc = fixture_call_new("certificate", "DA%2001234567");
    assert_string_equal(json_string_value(json_object_get(fc->call.input, "serial")), "DA 01234567");
    fixture_call_free(fc);
}

static int validate(const char *op, const char *key, json_t *value, lt_error_t *err)
{
    json_t *input = json_object();
    if (value != NULL)
        json_object_set_new(input, key, value);
    int rc = fixture_operation(op)->validate(input, err);
    json_decref(input);
    return rc;
}

static void malformed_parcels_are_refused(void **state)
{
    static const char *const bad[] = {
        "1261/12/345",  "126160/12/345", "1261a/12/345",   "12616/1234567/345", "12616/12/1234567",
        "12616//345",   "12616/12/",     "12616/12",       "12616/12/345/1",    "/12616/12/345",
        "12616/-1/345", "12616/12/3 45", "12616/12/34%35", "12616/１２/345",    "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lt_error_t err = {0};
        if (validate("parcel", "parcel_id", json_string(bad[i]), &err) == 0)
            fail_msg("'%s' must be refused", bad[i]);
        assert_int_equal(err.kind, LT_ERR_BAD_REQUEST);
        assert_string_equal(err.code, "invalid_identifier");
        assert_null(strstr(err.detail, bad[i][0] ? bad[i] : "\x01")); /* never repeats the identifier */
    }
    lt_error_t err = {0};
    assert_int_equal(validate("parcel", "parcel_id",
                              json_stringn("12616/12/3\0"
                                           "45",
                                           13),
                              &err),
                     -1);
    assert_int_equal(validate("parcel", "parcel_id", json_integer(1), &err), -1);
    assert_int_equal(validate("parcel", "parcel_id", NULL, &err), -1);
    assert_int_equal(validate("parcel", "parcel_id", json_string("12616/000012/0"), &err), 0);
}

static void malformed_serials_are_refused(void **state)
{
    static const char *const bad[] = {
        "DA01234567",
        "DA+01234567",
        "DA%2012345",
        "DA%20123456789",
        "da%2001234567",
        "D1%2001234567",
        "DA%20%2001234567",
        "DA%200123456X",
        "DA%2001234567%00",
        "DA%2001234567%20",
        "%",
        "DA%2",
        "%C4%90A%2001234567",
        "DAB%2001234567",
        "DA%09"
        "01234567",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lt_error_t err = {0};
        if (validate("certificate", "serial", json_string(bad[i]), &err) == 0)
            fail_msg("'%s' must be refused", bad[i]);
        assert_int_equal(err.kind, LT_ERR_BAD_REQUEST);
        assert_string_equal(err.code, "invalid_identifier");
    }
    lt_error_t err = {0};
    assert_int_equal(validate("certificate", "serial", json_string("DA%20123456"), &err), 0);
    assert_int_equal(validate("certificate", "serial", json_string("DA%2012345678"), &err), 0);
    /* Validating twice (already decoded) changes nothing. */
    assert_int_equal(validate("certificate", "serial", json_string("DA 01234567"), &err), 0);
    assert_int_equal(validate("certificate", "serial", NULL, &err), -1);
}

static void officer_and_purpose_are_required_and_clean(void **state)
{
    static const struct {
        const char *officer, *purpose, *code;
    } cases[] = {
        {NULL, PURPOSE, "missing_header"},
        {OFFICER_ID, "", "missing_header"},
        {OFFICER_ID, "HS-1\r\nX-Ma-Don-Vi: other", "invalid_header"},
        {"CB\x7f", PURPOSE, "invalid_header"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fixture_call_t *fc = fixture_call_new(i % 2 ? "parcel" : "certificate", i % 2 ? "12616/12/345" : "DA%20123456");
        fc->ctx.officer_id = cases[i].officer;
        fc->ctx.purpose = cases[i].purpose;
        lt_upstream_request_t req;
        lt_error_t err = {0};
        assert_int_equal(fc->op->build(&fc->call, &req, &err), LT_STEP_FAIL);
        assert_int_equal(err.kind, LT_ERR_BAD_REQUEST);
        assert_string_equal(err.code, cases[i].code);
        fixture_call_free(fc);
    }
}

/* A purpose in Vietnamese is text, not a control character: it is forwarded as given. */
static void a_vietnamese_purpose_is_forwarded(void **state)
{
    fixture_call_t *fc = fixture_call_new("parcel", "12616/12/345");
    fc->ctx.purpose = "Hồ sơ chuyển nhượng HS-2026-1";
    lt_upstream_request_t req;
    lt_error_t err = {0};
    assert_int_equal(fc->op->build(&fc->call, &req, &err), LT_STEP_DONE);
    assert_string_equal(header(&req, "X-Muc-Dich"), "Hồ sơ chuyển nhượng HS-2026-1");
    fixture_call_free(fc);
}

static int load(const char *extra, lt_error_t *err, lt_land_settings_t **out)
{
    json_t *conf = fixture_settings_json(extra);
    void *s = NULL;
    int rc = lt_land_adapter.settings_load(conf, "upstreams.land.service", &s, err);
    json_decref(conf);
    if (out != NULL)
        *out = s;
    else
        lt_land_adapter.settings_free(s);
    return rc;
}

static void settings_defaults_follow_the_icd(void **state)
{
    lt_land_settings_t *s;
    lt_error_t err = {0};
    assert_int_equal(load("", &err, &s), 0);
    assert_string_equal(s->unit_code, UNIT_CODE);
    assert_int_equal(s->window_start_s, 23 * 3600);
    assert_int_equal(s->window_end_s, 5 * 3600);
    assert_int_equal(s->unavailable_retry_after_s, 30);
    assert_int_equal(s->rate_limited_retry_after_s, 1);
    lt_land_adapter.settings_free(s);
}

static void bad_settings_stop_start_up_naming_the_key(void **state)
{
    static const struct {
        const char *extra, *names;
    } cases[] = {
        {", \"sync_window_start\": \"24:00\"", "upstreams.land.service.sync_window_start"},
        {", \"sync_window_end\": \"5:00\"", "upstreams.land.service.sync_window_end"},
        {", \"sync_window_start\": \"05:00\"", "upstreams.land.service.sync_window_end"}, /* equal ends */
        {", \"unavailable_retry_after_s\": 0", "upstreams.land.service.unavailable_retry_after_s"},
        {", \"rate_limited_retry_after_s\": 86401", "upstreams.land.service.rate_limited_retry_after_s"},
        {", \"api_key_file\": \"/etc/passwd\"", "upstreams.land.service.api_key_file"}, /* mTLS only */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lt_error_t err = {0};
        assert_int_equal(load(cases[i].extra, &err, NULL), -1);
        if (strstr(err.detail, cases[i].names) == NULL)
            fail_msg("'%s' should name %s", err.detail, cases[i].names);
    }
    static const char *const units[] = {"{\"unit_code\": \"\"}", "{\"unit_code\": \"000 H53\"}",
                                        "{\"unit_code\": \"H53\\r\\nX: y\"}", "{}"};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        json_t *conf = json_loads(units[i], 0, NULL);
        void *s = NULL;
        lt_error_t err = {0};
        assert_int_equal(lt_land_adapter.settings_load(conf, "upstreams.land.service", &s, &err), -1);
        assert_non_null(strstr(err.detail, "unit_code"));
        json_decref(conf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(operations_follow_northbound),
        cmocka_unit_test(builds_the_parcel_query),
        cmocka_unit_test(builds_the_certificate_path_with_the_space_encoded),
        cmocka_unit_test(validation_derives_the_question),
        cmocka_unit_test(malformed_parcels_are_refused),
        cmocka_unit_test(malformed_serials_are_refused),
        cmocka_unit_test(officer_and_purpose_are_required_and_clean),
        cmocka_unit_test(a_vietnamese_purpose_is_forwarded),
        cmocka_unit_test(settings_defaults_follow_the_icd),
        cmocka_unit_test(bad_settings_stop_start_up_naming_the_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
