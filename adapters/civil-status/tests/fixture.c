/* Shared helpers for the civil-status adapter's unit tests. */
#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *fixture_read(lt_arena_t *a, const char *name, size_t *len)
{
    return lt_test_read_file(a, LT_CIVIL_STATUS_FIXTURES, name, len);
}

int fixture_settings(const char *json, const char *password_text, void **settings, lt_error_t *err)
{
    return lt_test_settings_load(&lt_civil_status_adapter, json, "@PASSWORD@", password_text, SERVICE_PATH, settings,
                                 err);
}

const lt_operation_t *fixture_lookup(void)
{
    const lt_operation_t *op = &lt_civil_status_adapter.operations[0];
    assert_string_equal(op->name, "lookup");
    assert_null(lt_civil_status_adapter.operations[1].name);
    return op;
}

static void free_json(void *j)
{
    json_decref(j);
}

fixture_call_t *fixture_call_new(const char *id, const char *type, const char *full_name)
{
    fixture_call_t *fc = calloc(1, sizeof(*fc));
    fc->arena = lt_arena_new();
    lt_error_t err = {0};
    /* A trailing newline, as an editor or `openssl rand` leaves it: the adapter trims. */
    if (fixture_settings("{\"unit_code\":\"" UNIT_CODE "\",\"user_name\":\"" USER_NAME
                         "\",\"password_file\":\"@PASSWORD@\"}",
                         PASSWORD "\n", &fc->settings, &err) != 0)
        fail_msg("settings_load: %s", err.detail);
    fc->ctx = (lt_call_context_t){.request_id = "req-42",
                                  .message_id = MESSAGE_ID,
                                  .officer_id = "CB-0042",
                                  .purpose = "Hồ sơ HS-2026-000123",
                                  .procedure_code = NULL,
                                  .client = "portal"};
    json_t *input = json_pack("{s:s, s:s}", "id", id, "type", type);
    if (full_name != NULL)
        json_object_set_new(input, "full_name", json_string(full_name));
    lt_arena_on_destroy(fc->arena, free_json, input);
    fc->call = (lt_call_t){
        .arena = fc->arena, .ctx = &fc->ctx, .settings = fc->settings, .input = input, .token = TOKEN, .now = 0};
    return fc;
}

void fixture_call_free(fixture_call_t *fc)
{
    lt_arena_destroy(fc->arena);
    lt_civil_status_adapter.settings_free(fc->settings);
    free(fc);
}

lt_test_outcome_t fixture_parse(fixture_call_t *fc, long status, const char *name)
{
    size_t len;
    const char *body = fixture_read(fc->arena, name, &len);
    const char *ctype = strstr(name, ".html") ? "text/html" : "application/json";
    return lt_test_parse(fixture_lookup(), &fc->call, status, ctype, body, len, NULL);
}

lt_test_outcome_t fixture_parse_text(fixture_call_t *fc, long status, const char *body, const char *retry_after)
{
    return lt_test_parse(fixture_lookup(), &fc->call, status, "application/json", body, strlen(body), retry_after);
}
