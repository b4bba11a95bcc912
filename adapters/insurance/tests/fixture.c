/* Shared helpers for the insurance adapter's unit tests. */
#include "fixture.h"

#include "lt_test_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const lt_adapter_t lt_insurance_adapter;

char *fixture_read(lt_arena_t *a, const char *name, size_t *len)
{
    return lt_test_read_file(a, LT_INSURANCE_FIXTURES, name, len);
}

char *fixture_replace(lt_arena_t *a, const char *s, const char *from, const char *to)
{
    return lt_test_replace(a, s, from, to);
}

const lt_operation_t *fixture_lookup(void)
{
    const lt_operation_t *op = &lt_insurance_adapter.operations[0];
    assert_string_equal(op->name, "lookup");
    return op;
}

json_t *fixture_settings_json(const char *extra)
{
    char text[1024];
    snprintf(text, sizeof(text), "{\"client_id\": \"%s\", \"hmac_secret_file\": \"%s/test-hmac.secret\"%s}", CLIENT_ID,
             LT_INSURANCE_FIXTURES, extra);
    json_error_t jerr;
    json_t *conf = json_loads(text, 0, &jerr);
    if (conf == NULL)
        fail_msg("settings JSON: %s", jerr.text);
    return conf;
}

static void free_json(void *j)
{
    json_decref(j);
}

fixture_call_t *fixture_call_new(const char *number)
{
    fixture_call_t *fc = calloc(1, sizeof(*fc));
    fc->arena = lt_arena_new();
    json_t *conf = fixture_settings_json("");
    lt_error_t err = {0};
    if (lt_insurance_adapter.settings_load(conf, "upstreams.insurance.service", &fc->settings, &err) != 0)
        fail_msg("settings_load: %s", err.detail);
    json_decref(conf);
    fc->ctx = (lt_call_context_t){.request_id = REQUEST_ID,
                                  .message_id = REQUEST_ID,
                                  .officer_id = OFFICER_ID,
                                  .purpose = PURPOSE,
                                  .procedure_code = NULL,
                                  .client = "portal"};
    json_t *input = json_pack("{s:s}", "number", number);
    lt_arena_on_destroy(fc->arena, free_json, input);
    fc->sent.method = "GET";
    fc->sent.path = "/api/v1/nguoi-tham-gia";
    fc->call = (lt_call_t){.arena = fc->arena,
                           .ctx = &fc->ctx,
                           .settings = fc->settings,
                           .input = input,
                           .sent = &fc->sent,
                           .now = 1767225600};
    return fc;
}

void fixture_call_free(fixture_call_t *fc)
{
    lt_arena_destroy(fc->arena);
    lt_insurance_adapter.settings_free(fc->settings);
    free(fc);
}
