/* Shared helpers for the tax adapter's unit tests. */
#include "fixture.h"

#include "lt_test_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEMP_FILES 32

static char *temp_files[MAX_TEMP_FILES];
static size_t ntemp_files;

char *fixture_read(lt_arena_t *a, const char *name, size_t *len)
{
    return lt_test_read_file(a, LT_TAX_FIXTURES, name, len);
}

char *fixture_replace(lt_arena_t *a, const char *s, const char *from, const char *to)
{
    return lt_test_replace(a, s, from, to);
}

char *fixture_temp_file(lt_arena_t *a, const char *text, size_t len)
{
    assert_true(ntemp_files < MAX_TEMP_FILES);
    char *path = lt_test_temp_file(text, len);
    temp_files[ntemp_files++] = path;
    return lt_arena_strdup(a, path);
}

void fixture_files_cleanup(void)
{
    for (size_t i = 0; i < ntemp_files; i++)
        lt_test_temp_file_remove(temp_files[i]);
    ntemp_files = 0;
}

json_t *fixture_settings_json(lt_arena_t *a)
{
    const char *key_file = fixture_temp_file(a, API_KEY_FILE_TEXT, strlen(API_KEY_FILE_TEXT));
    return json_pack("{s:s, s:s}", "unit_code", UNIT_CODE, "api_key_file", key_file);
}

const lt_operation_t *fixture_operation(void)
{
    const lt_operation_t *op = &lt_tax_adapter.operations[0];
    assert_string_equal(op->name, "lookup");
    assert_null(lt_tax_adapter.operations[1].name);
    return op;
}

static void free_json(void *j)
{
    json_decref(j);
}

fixture_call_t *fixture_call_new(const char *tax_code)
{
    fixture_call_t *fc = calloc(1, sizeof(*fc));
    fc->arena = lt_arena_new();
    json_t *conf = fixture_settings_json(fc->arena);
    lt_error_t err = {0};
    if (lt_tax_adapter.settings_load(conf, "upstreams.tax.service", &fc->settings, &err) != 0)
        fail_msg("settings_load: %s", err.detail);
    json_decref(conf);
    fc->ctx = (lt_call_context_t){.request_id = MESSAGE_ID,
                                  .message_id = MESSAGE_ID,
                                  .officer_id = "CB-0042",
                                  .purpose = "HS-2026-000123",
                                  .procedure_code = NULL,
                                  .client = "portal"};
    json_t *input = json_pack("{s:s}", "tax_code", tax_code ? tax_code : TAX_CODE);
    lt_arena_on_destroy(fc->arena, free_json, input);
    fc->sent = (lt_upstream_request_t){.method = "POST", .path = "/api/tracuu/nnt"};
    fc->call =
        (lt_call_t){.arena = fc->arena, .ctx = &fc->ctx, .settings = fc->settings, .input = input, .sent = &fc->sent};
    return fc;
}

void fixture_call_free(fixture_call_t *fc)
{
    lt_arena_destroy(fc->arena);
    lt_tax_adapter.settings_free(fc->settings);
    free(fc);
}
