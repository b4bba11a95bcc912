/*
 * The population adapter's validate(), settings and operation table: what a
 * caller's body must look like before any upstream call, and what start-up
 * accepts in upstreams.population.service.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "soap.h"

extern const lt_adapter_t lt_population_adapter;

#define NFC_NAME "Nguy\xe1\xbb\x85n V\xc4\x83n An"
#define NFD_NAME "Nguye\xcc\x82\xcc\x83n Va\xcc\x86n An"

static json_t *body(const char *id, const char *name, const char *birth)
{
    return json_pack("{s:s, s:s, s:s}", "id", id, "full_name", name, "birth_date", birth);
}

/* Runs validate() for both operations, which must agree; returns lookup's error. */
static int run(json_t *input, lt_error_t *err)
{
    json_t *copy = json_deep_copy(input);
    lt_error_t verr = {0};
    int rc = fixture_operation("lookup")->validate(input, err);
    int vrc = fixture_operation("verify")->validate(copy, &verr);
    assert_int_equal(rc, vrc);
    assert_true(json_equal(input, copy));
    json_decref(copy);
    return rc;
}

static void refused(json_t *input, const char *code, const char *detail)
{
    lt_error_t err = {0};
    assert_int_equal(run(input, &err), -1);
    assert_int_equal(err.kind, LT_ERR_BAD_REQUEST);
    assert_string_equal(err.code, code);
    if (detail)
        assert_string_equal(err.detail, detail);
    json_decref(input);
}

static void good_body(void **state)
{
    json_t *in = body("001095012345", NFC_NAME, "1995-03-12");
    lt_error_t err = {0};
    assert_int_equal(run(in, &err), 0);
    assert_string_equal(json_string_value(json_object_get(in, "full_name")), NFC_NAME);
    json_decref(in);
    in = body("001095012345", NFC_NAME, "1995");
    assert_int_equal(run(in, &err), 0);
    json_decref(in);
    in = body("079305000001", "H\xe1\xbb\x93 Th\xe1\xbb\x8b Mai", "2005-02-28");
    assert_int_equal(run(in, &err), 0);
    json_decref(in);
}

static void nfd_name_becomes_nfc(void **state)
{
    json_t *in = body("001095012345", "  " NFD_NAME " \n", "1995-03-12");
    lt_error_t err = {0};
    assert_int_equal(run(in, &err), 0);
    assert_string_equal(json_string_value(json_object_get(in, "full_name")), NFC_NAME);
    json_decref(in);
}

static void bad_identifiers(void **state)
{
    const char *len12 = "personal identification number must be 12 digits";
    refused(body("00109501234", NFC_NAME, "1995"), "invalid_identifier", len12);
    refused(body("0010950123456", NFC_NAME, "1995"), "invalid_identifier", len12);
    refused(body("00109501234O", NFC_NAME, "1995"), "invalid_identifier", len12);
    refused(body("001-95012345", NFC_NAME, "1995"), "invalid_identifier", len12);
    refused(body("000095012345", NFC_NAME, "1995"), "invalid_identifier",
            "province code 000 is not between 001 and 096");
    refused(body("097095012345", NFC_NAME, "1995"), "invalid_identifier",
            "province code 097 is not between 001 and 096");
    for (char c = '4'; c <= '9'; c++) {
        char id[] = "001095012345";
        id[3] = c;
        refused(body(id, NFC_NAME, "1995"), "invalid_identifier", "digit 4 (century and sex) must be 0-3");
    }
    refused(body("001095012345", NFC_NAME, "1996-01-01"), "invalid_identifier",
            "digit 4 and digits 5-6 say 1995 but birth_date says 1996");
    refused(body("001295012345", NFC_NAME, "1995"), "invalid_identifier",
            "digit 4 and digits 5-6 say 2095 but birth_date says 1995");
}

static void bad_dates(void **state)
{
    const char *dates[] = {"1995-02-30", "1995-02-29", "1995-13-01", "1995-00-12", "1995-03-32",
                           "1995/03/12", "12/03/1995", "19950312",   "95",         ""};
    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++)
        refused(body("001095012345", NFC_NAME, dates[i]), "invalid_birth_date", NULL);
    json_t *in = body("001096012345", NFC_NAME, "1996-02-29"); /* a real leap day */
    lt_error_t err = {0};
    assert_int_equal(run(in, &err), 0);
    json_decref(in);
}

static void bad_names(void **state)
{
    refused(body("001095012345", "", "1995"), "invalid_body", "full_name must not be empty");
    refused(body("001095012345", " \t\n ", "1995"), "invalid_body", "full_name must not be empty");
    refused(body("001095012345", "An\x07", "1995"), "invalid_body", "full_name contains control characters");
    char long_name[202];
    memset(long_name, 'a', 201);
    long_name[201] = '\0';
    refused(body("001095012345", long_name, "1995"), "invalid_body", "full_name must be at most 200 bytes of UTF-8");
    long_name[200] = '\0';
    json_t *in = body("001095012345", long_name, "1995");
    lt_error_t err = {0};
    assert_int_equal(run(in, &err), 0);
    json_decref(in);
    /* jansson refuses invalid UTF-8 on parse; a core bug could still hand it over. */
    in = body("001095012345", "x", "1995");
    json_object_set_new(in, "full_name", json_string_nocheck("Nguy\xc0\xafn"));
    refused(in, "invalid_body", "full_name is not valid UTF-8");
}

static void bad_shapes(void **state)
{
    refused(json_array(), "invalid_body", "body must be a JSON object");
    refused(json_string("001095012345"), "invalid_body", "body must be a JSON object");
    refused(json_pack("{s:s, s:s}", "id", "001095012345", "full_name", NFC_NAME), "invalid_body",
            "field birth_date is required");
    refused(json_pack("{s:s, s:s}", "full_name", NFC_NAME, "birth_date", "1995"), "invalid_body",
            "field id is required");
    refused(json_pack("{s:s, s:s}", "id", "001095012345", "birth_date", "1995"), "invalid_body",
            "field full_name is required");
    refused(json_pack("{s:i, s:s, s:s}", "id", 1095012345, "full_name", NFC_NAME, "birth_date", "1995"), "invalid_body",
            "field id must be a string");
    refused(json_pack("{s:s, s:n, s:s}", "id", "001095012345", "full_name", "birth_date", "1995"), "invalid_body",
            "field full_name must be a string");
    refused(json_pack("{s:s, s:s, s:i}", "id", "001095012345", "full_name", NFC_NAME, "birth_date", 1995),
            "invalid_body", "field birth_date must be a string");
    json_t *in = body("001095012345", NFC_NAME, "1995");
    json_object_set_new(in, "sex", json_string("male"));
    refused(in, "invalid_body", "unknown field sex");
    /* A key that could be personal data is not echoed. */
    in = body("001095012345", NFC_NAME, "1995");
    json_object_set_new(in, "001095012345", json_true());
    refused(in, "invalid_body", "body has an unknown field");
    /* An embedded NUL would make the C string differ from the JSON one. */
    in = body("001095012345", NFC_NAME, "1995");
    json_object_set_new(in, "id", json_stringn("001095012345\0x", 14));
    refused(in, "invalid_body", "field id must be a string");
}

/* ---- settings and operation table ---- */

static int load(const char *json, void **settings, lt_error_t *err)
{
    json_t *conf = json_loads(json, 0, NULL);
    assert_non_null(conf);
    int rc = lt_population_adapter.settings_load(conf, "upstreams.population.service", settings, err);
    json_decref(conf);
    return rc;
}

static void settings_defaults_and_errors(void **state)
{
    void *s = NULL;
    lt_error_t err = {0};
    assert_int_equal(load(SETTINGS_JSON, &s, &err), 0);
    const lt_population_settings_t *ps = s;
    assert_string_equal(ps->member_code, "000.00.00.H53");
    assert_string_equal(ps->default_procedure_code, "1.001612");
    assert_int_equal(ps->quota_retry_after_s, 60);
    assert_int_equal(ps->maintenance_retry_after_s, 300);
    assert_int_equal(ps->platform_retry_after_s, 30);
    lt_population_adapter.settings_free(s);

    json_t *conf = json_loads(SETTINGS_JSON, 0, NULL);
    json_object_del(conf, "integration_code");
    char *text = json_dumps(conf, 0);
    assert_int_equal(load(text, &s, &err), -1);
    assert_string_equal(err.detail, "upstreams.population.service.integration_code: required key is missing");
    free(text);
    json_object_set_new(conf, "integration_code", json_string(""));
    text = json_dumps(conf, 0);
    assert_int_equal(load(text, &s, &err), -1);
    assert_non_null(strstr(err.detail, "upstreams.population.service.integration_code"));
    free(text);
    json_object_set_new(conf, "integration_code", json_string("037"));
    json_object_set_new(conf, "quota_retry_after_s", json_integer(0));
    text = json_dumps(conf, 0);
    assert_int_equal(load(text, &s, &err), -1);
    assert_non_null(strstr(err.detail, "quota_retry_after_s"));
    free(text);
    json_object_del(conf, "quota_retry_after_s");
    json_object_set_new(conf, "timeout", json_integer(5));
    text = json_dumps(conf, 0);
    assert_int_equal(load(text, &s, &err), -1);
    assert_string_equal(err.detail, "upstreams.population.service.timeout: unknown key");
    free(text);
    json_decref(conf);
}

static void operation_table(void **state)
{
    assert_string_equal(lt_population_adapter.name, "population");
    const lt_operation_t *ops = lt_population_adapter.operations;
    assert_string_equal(ops[0].name, "lookup");
    assert_string_equal(ops[0].method, "POST");
    assert_string_equal(ops[0].route, "/v1/citizens/lookup");
    assert_string_equal(ops[1].name, "verify");
    assert_string_equal(ops[1].method, "POST");
    assert_string_equal(ops[1].route, "/v1/citizens/verify");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ops[i].input_kind, LT_INPUT_JSON_BODY);
        assert_true(ops[i].idempotent);
        assert_true(ops[i].personal_data);
        assert_non_null(ops[i].validate);
        assert_non_null(ops[i].build);
        assert_non_null(ops[i].parse);
    }
    assert_null(ops[2].name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_body),
        cmocka_unit_test(nfd_name_becomes_nfc),
        cmocka_unit_test(bad_identifiers),
        cmocka_unit_test(bad_dates),
        cmocka_unit_test(bad_names),
        cmocka_unit_test(bad_shapes),
        cmocka_unit_test(settings_defaults_and_errors),
        cmocka_unit_test(operation_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
