/* Shared helpers for the business adapter's unit tests. */
#include "fixture.h"

#include "lt_test_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *fixture_read(lt_arena_t *a, const char *name, size_t *len)
{
    return lt_test_read_file(a, LT_BUSINESS_FIXTURES, name, len);
}

char *fixture_replace(lt_arena_t *a, const char *s, const char *from, const char *to)
{
    return lt_test_replace(a, s, from, to);
}

int fixture_settings(const char *json, const char *secret_text, void **settings, lt_error_t *err)
{
    return lt_test_settings_load(&lt_business_adapter, json, "@SECRET@", secret_text, SERVICE_PATH, settings, err);
}

const lt_operation_t *fixture_lookup(void)
{
    const lt_operation_t *op = &lt_business_adapter.operations[0];
    assert_string_equal(op->name, "lookup");
    return op;
}

static void free_json(void *j)
{
    json_decref(j);
}

fixture_call_t *fixture_call_new(const char *code)
{
    fixture_call_t *fc = calloc(1, sizeof(*fc));
    fc->arena = lt_arena_new();
    lt_error_t err = {0};
    /* Surrounding whitespace and a newline, as `openssl rand -hex 32 > file` leaves it: the adapter trims. */
    if (fixture_settings("{\"client_id\":\"" CLIENT_ID "\",\"client_secret_file\":\"@SECRET@\"}", "  " SECRET "\n",
                         &fc->settings, &err) != 0)
        fail_msg("settings_load: %s", err.detail);
    fc->ctx = (lt_call_context_t){.request_id = "req-42",
                                  .message_id = MESSAGE_ID,
                                  .officer_id = "CB-0042",
                                  .purpose = "HS-2026-000123",
                                  .procedure_code = NULL,
                                  .client = "portal"};
    json_t *input = json_pack("{s:s}", "code", code);
    lt_arena_on_destroy(fc->arena, free_json, input);
    fc->call = (lt_call_t){
        .arena = fc->arena, .ctx = &fc->ctx, .settings = fc->settings, .input = input, .token = TOKEN, .now = 0};
    return fc;
}

void fixture_call_free(fixture_call_t *fc)
{
    lt_arena_destroy(fc->arena);
    lt_business_adapter.settings_free(fc->settings);
    free(fc);
}
