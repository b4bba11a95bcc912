/* Shared helpers for the land adapter's unit tests. */
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
    return lt_test_read_file(a, LT_LAND_FIXTURES, name, len);
}

char *fixture_replace(lt_arena_t *a, const char *s, const char *from, const char *to)
{
    return lt_test_replace(a, s, from, to);
}

const lt_operation_t *fixture_operation(const char *name)
{
    for (const lt_operation_t *op = lt_land_adapter.operations; op->name != NULL; op++)
        if (strcmp(op->name, name) == 0)
            return op;
    fail_msg("no operation %s", name);
    return NULL;
}

json_t *fixture_settings_json(const char *extra)
{
    char text[1024];
    snprintf(text, sizeof(text), "{\"unit_code\": \"%s\"%s}", UNIT_CODE, extra);
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

fixture_call_t *fixture_call_new(const char *op, const char *param)
{
    fixture_call_t *fc = calloc(1, sizeof(*fc));
    fc->arena = lt_arena_new();
    fc->op = fixture_operation(op);
    json_t *conf = fixture_settings_json("");
    lt_error_t err = {0};
    if (lt_land_adapter.settings_load(conf, "upstreams.land.service", &fc->settings, &err) != 0)
        fail_msg("settings_load: %s", err.detail);
    json_decref(conf);
    fc->ctx = (lt_call_context_t){.request_id = REQUEST_ID,
                                  .message_id = REQUEST_ID,
                                  .officer_id = OFFICER_ID,
                                  .purpose = PURPOSE,
                                  .client = "portal"};
    json_t *input = json_pack("{s:s}", fc->op->param_name, param);
    lt_arena_on_destroy(fc->arena, free_json, input);
    if (fc->op->validate(input, &err) != 0)
        fail_msg("validate(%s): %s", param, err.detail);
    fc->call = (lt_call_t){.arena = fc->arena,
                           .ctx = &fc->ctx,
                           .settings = fc->settings,
                           .input = input,
                           .sent = &fc->sent,
                           .now = NOON_ISH};
    return fc;
}

void fixture_call_free(fixture_call_t *fc)
{
    lt_arena_destroy(fc->arena);
    lt_land_adapter.settings_free(fc->settings);
    free(fc);
}
