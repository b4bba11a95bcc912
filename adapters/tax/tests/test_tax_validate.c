/*
 * The tax adapter's validate() (the tax-code rule of icd/README.md, before any
 * upstream call) and its settings (unit_code, the API key read from its file).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "fixture.h"
#include "lt_arena.h"

static int check(const char *code, lt_error_t *err)
{
    json_t *input = json_pack("{s:s}", "tax_code", code);
    lt_error_clear(err);
    int rc = fixture_operation()->validate(input, err);
    json_decref(input);
    return rc;
}

static void operation_shape(void **state)
{
    const lt_operation_t *op = fixture_operation();
    assert_string_equal(lt_tax_adapter.name, "tax");
    assert_string_equal(op->method, "GET");
    assert_string_equal(op->route, "/v1/taxpayers/");
    assert_int_equal(op->input_kind, LT_INPUT_PATH_PARAM);
    assert_string_equal(op->param_name, "tax_code");
    assert_true(op->idempotent);
    assert_true(op->personal_data);
}

static void valid_codes(void **state)
{
    lt_error_t err;
    /* The ICD README's example, a dependent unit of it, and codes whose check digit follows the README's rule. */
    static const char *const ok[] = {"0100233488", "0100233488-001", "0100233488-999",
                                     "0301234562", "8001234566",     "0409876540"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (check(ok[i], &err) != 0)
            fail_msg("%s refused: %s", ok[i], err.detail);
}

static void assert_refused(const char *code, const char *reason)
{
    lt_error_t err;
    assert_int_equal(check(code, &err), -1);
    assert_int_equal(lt_error_http_status(err.kind), 400);
    assert_string_equal(err.code, "invalid_identifier");
    if (strstr(err.detail, reason) == NULL)
        fail_msg("detail '%s' does not name '%s'", err.detail, reason);
    /* The detail never repeats the identifier: for a person it is personal data. */
    if (strlen(code) >= 9)
        assert_null(strstr(err.detail, code));
}

static void bad_codes_name_the_reason(void **state)
{
    assert_refused("0100233487", "check digit");
    assert_refused("0100233489", "check digit");
    assert_refused("0100233488-000", "suffix");
    /* 010000005: 29 x 1 + 3 x 5 = 44 = 4 x 11, so 10 - 0 = 10 and no check digit can be right. */
    assert_refused("0100000050", "check value 10");
    assert_refused("0100000055", "check value 10");
    assert_refused("010023348", "10 digits");
    assert_refused("01002334880", "10 digits");
    assert_refused("0100233488-01", "10 digits");
    assert_refused("0100233488_001", "10 digits");
    assert_refused("01002334a8", "10 digits");
    assert_refused("", "10 digits");
    assert_refused("0100233488\xe2\x80\x8b", "10 digits");
}

static void wrong_input_shape(void **state)
{
    lt_error_t err;
    json_t *input = json_pack("{s:i}", "tax_code", 100233488);
    assert_int_equal(fixture_operation()->validate(input, &err), -1);
    assert_int_equal(lt_error_http_status(err.kind), 400);
    json_decref(input);
    input = json_object();
    assert_int_equal(fixture_operation()->validate(input, &err), -1);
    json_decref(input);
    /* An embedded NUL would make C see a different code from the one the caller sent. */
    input = json_object();
    json_object_set_new(input, "tax_code", json_stringn("0100233488\0-001", 15));
    assert_int_equal(fixture_operation()->validate(input, &err), -1);
    json_decref(input);
}

/* ---- settings ---- */

static int load(json_t *conf, void **settings, lt_error_t *err)
{
    lt_error_clear(err);
    int rc = lt_tax_adapter.settings_load(conf, "upstreams.tax.service", settings, err);
    json_decref(conf);
    return rc;
}

static void assert_settings_refused(json_t *conf, const char *words)
{
    void *settings = NULL;
    lt_error_t err;
    assert_int_equal(load(conf, &settings, &err), -1);
    assert_null(settings);
    if (strstr(err.detail, words) == NULL)
        fail_msg("detail '%s' does not name '%s'", err.detail, words);
}

static void settings_good(void **state)
{
    lt_arena_t *a = lt_arena_new();
    void *settings = NULL;
    lt_error_t err;
    assert_int_equal(load(fixture_settings_json(a), &settings, &err), 0);
    lt_tax_adapter.settings_free(settings);
    lt_arena_destroy(a);
}

static void settings_refused(void **state)
{
    lt_arena_t *a = lt_arena_new();
    json_t *c = fixture_settings_json(a);
    json_object_del(c, "unit_code");
    assert_settings_refused(c, "upstreams.tax.service.unit_code");
    c = fixture_settings_json(a);
    json_object_del(c, "api_key_file");
    assert_settings_refused(c, "upstreams.tax.service.api_key_file");
    c = fixture_settings_json(a);
    json_object_set_new(c, "api_key", json_string("inline keys are not accepted"));
    assert_settings_refused(c, "api_key");
    c = fixture_settings_json(a);
    json_object_set_new(c, "unit_code", json_string(""));
    assert_settings_refused(c, "unit_code");
    c = fixture_settings_json(a);
    json_object_set_new(c, "unit_code", json_string("H53\x01"));
    assert_settings_refused(c, "unit_code");
    c = fixture_settings_json(a);
    json_object_set_new(c, "retry_after_s", json_integer(0));
    assert_settings_refused(c, "retry_after_s");
    c = fixture_settings_json(a);
    json_object_set_new(c, "api_key_file", json_string("/nonexistent/tax-api.key"));
    assert_settings_refused(c, "api_key_file");
    lt_arena_destroy(a);
}

/* A key file that is empty, holds two words or a control character, or is huge, stops start-up unquoted. */
static void key_file_refused(void **state)
{
    static const char *const bad[] = {"", " \n\t\n", "abc def\n", "abc\r\nX-Other: 1\n", "k\x7f"};
    lt_arena_t *a = lt_arena_new();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *c = fixture_settings_json(a);
        json_object_set_new(c, "api_key_file", json_string(fixture_temp_file(a, bad[i], strlen(bad[i]))));
        void *settings = NULL;
        lt_error_t err;
        assert_int_equal(load(c, &settings, &err), -1);
        assert_non_null(strstr(err.detail, "upstreams.tax.service.api_key_file"));
        assert_null(strstr(err.detail, "def"));
        assert_null(strstr(err.detail, "X-Other"));
    }
    char big[600];
    memset(big, 'a', sizeof(big));
    json_t *c = fixture_settings_json(a);
    json_object_set_new(c, "api_key_file", json_string(fixture_temp_file(a, big, sizeof(big))));
    assert_settings_refused(c, "longer than");
    lt_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(operation_shape),
        cmocka_unit_test(valid_codes),
        cmocka_unit_test(bad_codes_name_the_reason),
        cmocka_unit_test(wrong_input_shape),
        cmocka_unit_test(settings_good),
        cmocka_unit_test(settings_refused),
        cmocka_unit_test(key_file_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fixture_files_cleanup();
    return rc;
}
