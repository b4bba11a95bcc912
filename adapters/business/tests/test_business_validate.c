/*
 * The business adapter's validate(), settings and operation table: which codes
 * reach the national system at all (the tax-code rule of icd/README.md), and
 * what start-up accepts in upstreams.business.service.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "business.h"
#include "fixture.h"
#include "lt_adapters.h"

static int check(const char *code, lt_error_t *err)
{
    json_t *input = json_pack("{s:s}", "code", code);
    lt_error_clear(err);
    int rc = fixture_lookup()->validate(input, err);
    json_decref(input);
    return rc;
}

static void valid_codes(void **state)
{
    lt_error_t err;
    assert_int_equal(check("0100233488", &err), 0); /* icd/README.md's example */
    assert_int_equal(check("0100233488-001", &err), 0);
    assert_int_equal(check("0100233488-999", &err), 0);
    assert_int_equal(check("0312345673", &err), 0);
}

static void refused(const char *code, const char *detail_part)
{
    lt_error_t err;
    assert_int_equal(check(code, &err), -1);
    assert_int_equal(err.kind, LT_ERR_BAD_REQUEST);
    assert_string_equal(err.code, "invalid_identifier");
    if (strstr(err.detail, detail_part) == NULL)
        fail_msg("detail '%s' should mention '%s'", err.detail, detail_part);
    /* The detail says which rule failed, never the code itself. */
    if (*code != '\0')
        assert_null(strstr(err.detail, code));
}

static void bad_check_digit(void **state)
{
    refused("0100233489", "check digit");
    refused("0100233489-001", "check digit");
    refused("9876543210", "check value 10"); /* 10 - (sum mod 11) = 10 is never valid */
}

static void bad_shapes(void **state)
{
    refused("010023348", "10 digits");
    refused("01002334888", "10 digits");
    refused("0100233488-01", "10 digits");
    refused("0100233488_001", "10 digits");
    refused("01002334a8", "10 digits");
    refused("0100233488-000", "001-999");
    refused("", "10 digits");
    refused("%30100233488", "10 digits");
}

static void not_a_string(void **state)
{
    lt_error_t err;
    json_t *input = json_pack("{s:i}", "code", 100233488);
    assert_int_equal(fixture_lookup()->validate(input, &err), -1);
    assert_int_equal(err.kind, LT_ERR_BAD_REQUEST);
    json_decref(input);
}

static void operation_table(void **state)
{
    const lt_operation_t *op = fixture_lookup();
    assert_string_equal(lt_business_adapter.name, "business");
    assert_string_equal(op->method, "GET");
    assert_string_equal(op->route, "/v1/businesses/");
    assert_int_equal(op->input_kind, LT_INPUT_PATH_PARAM);
    assert_string_equal(op->param_name, "code");
    assert_true(op->idempotent);
    assert_true(op->personal_data); /* legal representatives are people */
    assert_null(lt_business_adapter.operations[1].name);
    assert_non_null(lt_business_adapter.token_build);
    assert_non_null(lt_business_adapter.token_parse);
    /* The build's generated table holds it under its name. */
    assert_ptr_equal(lt_adapter_find("business"), &lt_business_adapter);
}

/* ---- settings ---- */

static void settings_refused(const char *json, const char *secret, const char *detail_part)
{
    void *settings = NULL;
    lt_error_t err = {0};
    assert_int_equal(fixture_settings(json, secret, &settings, &err), -1);
    assert_null(settings);
    if (strstr(err.detail, detail_part) == NULL)
        fail_msg("detail '%s' should mention '%s'", err.detail, detail_part);
    assert_null(strstr(err.detail, SECRET));
}

static void settings_defaults(void **state)
{
    void *settings = NULL;
    lt_error_t err = {0};
    assert_int_equal(fixture_settings("{\"client_id\":\"lienthong-dev\",\"client_secret_file\":\"@SECRET@\"}", SECRET,
                                      &settings, &err),
                     0);
    const lt_business_settings_t *s = settings;
    assert_string_equal(s->scope, "dkdn.read");
    assert_string_equal(s->client_secret, SECRET);
    assert_int_equal(s->rate_retry_after_s, 1);
    assert_int_equal(s->unavailable_retry_after_s, 30);
    lt_business_adapter.settings_free(settings);
}

static void settings_errors(void **state)
{
    settings_refused("{\"client_secret_file\":\"@SECRET@\"}", SECRET, SERVICE_PATH ".client_id: required");
    settings_refused("{\"client_id\":\"a:b\",\"client_secret_file\":\"@SECRET@\"}", SECRET, SERVICE_PATH ".client_id");
    settings_refused("{\"client_id\":\"\",\"client_secret_file\":\"@SECRET@\"}", SECRET, SERVICE_PATH ".client_id");
    settings_refused("{\"client_id\":\"x\"}", SECRET, SERVICE_PATH ".client_secret_file: required");
    settings_refused("{\"client_id\":\"x\",\"client_secret_file\":\"/nonexistent/business.secret\"}", SECRET,
                     SERVICE_PATH ".client_secret_file");
    settings_refused("{\"client_id\":\"x\",\"client_secret_file\":\"@SECRET@\"}", "  \n",
                     SERVICE_PATH ".client_secret_file: must hold");
    settings_refused("{\"client_id\":\"x\",\"client_secret_file\":\"@SECRET@\"}", "two words\n",
                     SERVICE_PATH ".client_secret_file: must hold");
    settings_refused("{\"client_id\":\"x\",\"client_secret\":\"inline\",\"client_secret_file\":\"@SECRET@\"}", SECRET,
                     SERVICE_PATH ".client_secret: unknown key");
    settings_refused("{\"client_id\":\"x\",\"client_secret_file\":\"@SECRET@\",\"scope\":\"a  b\"}", SECRET,
                     SERVICE_PATH ".scope");
    settings_refused("{\"client_id\":\"x\",\"client_secret_file\":\"@SECRET@\",\"scope\":\"\"}", SECRET,
                     SERVICE_PATH ".scope");
    settings_refused("{\"client_id\":\"x\",\"client_secret_file\":\"@SECRET@\",\"rate_retry_after_s\":0}", SECRET,
                     SERVICE_PATH ".rate_retry_after_s");
}

static void secret_file_too_large(void **state)
{
    char *big = malloc(5000);
    memset(big, 'a', 4999);
    big[4999] = '\0';
    settings_refused("{\"client_id\":\"x\",\"client_secret_file\":\"@SECRET@\"}", big, "over 4096 bytes");
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_codes),     cmocka_unit_test(bad_check_digit),       cmocka_unit_test(bad_shapes),
        cmocka_unit_test(not_a_string),    cmocka_unit_test(operation_table),       cmocka_unit_test(settings_defaults),
        cmocka_unit_test(settings_errors), cmocka_unit_test(secret_file_too_large),
    };
    return cmocka_run_group_tests_name("business validate and settings", tests, NULL, NULL);
}
