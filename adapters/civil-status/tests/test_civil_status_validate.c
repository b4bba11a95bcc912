/*
 * What the civil-status adapter refuses before any upstream call, and its
 * settings: the northbound body {"id","type","full_name"?}, and
 * upstreams.civil-status.service with its password file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "civil_status.h"
#include "fixture.h"
#include "lt_adapters.h"

static int validate_text(const char *text, lt_error_t *err, json_t **out)
{
    json_error_t jerr;
    json_t *in = json_loads(text, JSON_ALLOW_NUL, &jerr);
    if (in == NULL)
        fail_msg("bad test JSON: %s", jerr.text);
    lt_error_clear(err);
    int rc = fixture_lookup()->validate(in, err);
    if (out != NULL)
        *out = in;
    else
        json_decref(in);
    return rc;
}

static void refused(const char *text, const char *code, const char *detail)
{
    lt_error_t err;
    if (validate_text(text, &err, NULL) != -1)
        fail_msg("accepted: %s", text);
    assert_int_equal(err.kind, LT_ERR_BAD_REQUEST);
    assert_string_equal(err.code, code);
    if (detail != NULL)
        assert_string_equal(err.detail, detail);
    /* The detail never repeats the number. */
    assert_null(strstr(err.detail, "0342190"));
}

static void accepts_the_four_types(void **state)
{
    const char *types[] = {"birth", "marriages", "death", "marital_status"};
    for (size_t i = 0; i < 4; i++) {
        char text[160];
        lt_error_t err;
        snprintf(text, sizeof(text), "{\"id\":\"%s\",\"type\":\"%s\"}", CHILD_ID, types[i]);
        assert_int_equal(validate_text(text, &err, NULL), 0);
    }
}

static void full_name_is_optional_and_normalised(void **state)
{
    lt_error_t err;
    json_t *in;
    /* "Khôi" with a combining circumflex (NFD) and surrounding spaces: sent as NFC, trimmed. */
    assert_int_equal(validate_text("{\"id\":\"" CHILD_ID
                                   "\",\"type\":\"birth\",\"full_name\":\"  Nguy\\u1ec5n Minh Kho\\u0302i \"}",
                                   &err, &in),
                     0);
    assert_string_equal(json_string_value(json_object_get(in, "full_name")), "Nguyễn Minh Khôi");
    json_decref(in);
    /* null is "not given", and leaves no key behind (one form for the cache). */
    assert_int_equal(validate_text("{\"id\":\"" CHILD_ID "\",\"type\":\"birth\",\"full_name\":null}", &err, &in), 0);
    assert_null(json_object_get(in, "full_name"));
    json_decref(in);
}

static void refuses_bad_bodies(void **state)
{
    refused("[]", "invalid_body", "body must be a JSON object");
    refused("{\"type\":\"birth\"}", "invalid_body", "field id is required");
    refused("{\"id\":34219004321,\"type\":\"birth\"}", "invalid_body", "field id must be a string");
    refused("{\"id\":\"" CHILD_ID "\"}", "invalid_body", "field type is required");
    refused("{\"id\":\"" CHILD_ID "\",\"type\":\"birth\",\"birth_date\":\"2019-03-02\"}", "invalid_body",
            "unknown field birth_date");
    refused("{\"id\":\"" CHILD_ID "\",\"type\":\"birth\",\"034219004321\":1}", "invalid_body",
            "body has an unknown field");
    refused("{\"id\":\"" CHILD_ID "\",\"type\":\"KS\"}", "invalid_type",
            "type must be birth, marriages, death or marital_status");
    refused("{\"id\":\"" CHILD_ID "\",\"type\":\"Birth\"}", "invalid_type", NULL);
    refused("{\"id\":\"" CHILD_ID "\",\"type\":\"birth\",\"full_name\":\"  \"}", "invalid_body",
            "full_name must not be empty when it is given");
    refused("{\"id\":\"" CHILD_ID "\",\"type\":\"birth\",\"full_name\":7}", "invalid_body",
            "field full_name must be a string");
    refused("{\"id\":\"" CHILD_ID "\",\"type\":\"birth\",\"full_name\":\"A\\u0007B\"}", "invalid_body",
            "full_name contains control characters");
    refused("{\"id\":\"" CHILD_ID "\",\"type\":\"birth\",\"full_name\":\"A\\u0000B\"}", "invalid_body",
            "field full_name must be a string");
    char *long_name = malloc(260);
    memset(long_name, 'a', 250);
    long_name[250] = '\0';
    char *text = malloc(400);
    snprintf(text, 400, "{\"id\":\"" CHILD_ID "\",\"type\":\"birth\",\"full_name\":\"%s\"}", long_name);
    refused(text, "invalid_body", "full_name must be at most 200 bytes of UTF-8");
    free(text);
    free(long_name);
}

static void refuses_bad_numbers(void **state)
{
    refused("{\"id\":\"03421900432\",\"type\":\"birth\"}", "invalid_identifier", NULL);  /* 11 digits */
    refused("{\"id\":\"097219004321\",\"type\":\"birth\"}", "invalid_identifier", NULL); /* province 097 */
    refused("{\"id\":\"034419004321\",\"type\":\"birth\"}", "invalid_identifier", NULL); /* century digit 4 */
    refused("{\"id\":\"03421900432a\",\"type\":\"birth\"}", "invalid_identifier", NULL);
}

static int load(const char *json, const char *password, lt_error_t *err)
{
    void *settings = NULL;
    lt_error_clear(err);
    int rc = fixture_settings(json, password, &settings, err);
    if (rc == 0)
        lt_civil_status_adapter.settings_free(settings);
    return rc;
}

static void settings(void **state)
{
    lt_error_t err;
    void *s = NULL;
    assert_int_equal(fixture_settings("{\"unit_code\":\"" UNIT_CODE "\",\"user_name\":\"" USER_NAME
                                      "\",\"password_file\":\"@PASSWORD@\",\"rate_retry_after_s\":2}",
                                      "\n  " PASSWORD "  \r\n", &s, &err),
                     0);
    const lt_civil_status_settings_t *cs = s;
    assert_string_equal(cs->password, PASSWORD);
    assert_string_equal(cs->unit_code, UNIT_CODE);
    assert_int_equal(cs->rate_retry_after_s, 2);
    assert_int_equal(cs->unavailable_retry_after_s, 30);
    lt_civil_status_adapter.settings_free(s);

    assert_int_equal(load("{\"user_name\":\"u\",\"password_file\":\"@PASSWORD@\"}", "p", &err), -1);
    assert_non_null(strstr(err.detail, "upstreams.civil-status.service.unit_code"));
    assert_int_equal(
        load("{\"unit_code\":\"u\",\"user_name\":\"u\",\"password_file\":\"@PASSWORD@\",\"pasword\":1}", "p", &err),
        -1);
    assert_non_null(strstr(err.detail, "pasword"));
    /* An empty file, or two lines, is not a password; the message never quotes the file. */
    assert_int_equal(load("{\"unit_code\":\"u\",\"user_name\":\"u\",\"password_file\":\"@PASSWORD@\"}", " \n", &err),
                     -1);
    assert_non_null(strstr(err.detail, "password_file"));
    assert_int_equal(load("{\"unit_code\":\"u\",\"user_name\":\"u\",\"password_file\":\"@PASSWORD@\"}",
                          "secret-one\nsecret-two", &err),
                     -1);
    assert_null(strstr(err.detail, "secret-one"));
    assert_int_equal(load("{\"unit_code\":\"\",\"user_name\":\"u\",\"password_file\":\"@PASSWORD@\"}", "p", &err), -1);
    assert_non_null(strstr(err.detail, "unit_code"));
    assert_int_equal(load("{\"unit_code\":\"u\",\"user_name\":\"a\\nb\",\"password_file\":\"@PASSWORD@\"}", "p", &err),
                     -1);
    assert_non_null(strstr(err.detail, "user_name"));
}

static void the_operation(void **state)
{
    const lt_operation_t *op = fixture_lookup();
    assert_string_equal(lt_civil_status_adapter.name, "civil-status");
    assert_string_equal(op->method, "POST");
    assert_string_equal(op->route, "/v1/civil-status/lookup");
    assert_int_equal(op->input_kind, LT_INPUT_JSON_BODY);
    assert_true(op->idempotent);
    assert_true(op->personal_data);
    assert_non_null(lt_civil_status_adapter.token_build);
    assert_non_null(lt_civil_status_adapter.token_parse);
    assert_ptr_equal(lt_adapter_find("civil-status"), &lt_civil_status_adapter);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_the_four_types),
        cmocka_unit_test(full_name_is_optional_and_normalised),
        cmocka_unit_test(refuses_bad_bodies),
        cmocka_unit_test(refuses_bad_numbers),
        cmocka_unit_test(settings),
        cmocka_unit_test(the_operation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
