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
#include <unistd.h>

char *fixture_read(lt_arena_t *a, const char *name, size_t *len)
{
    return lt_test_read_file(a, LT_BUSINESS_FIXTURES, name, len);
}

char *fixture_replace(lt_arena_t *a, const char *s, const char *from, const char *to)
{
    return lt_test_replace(a, s, from, to);
}

char *fixture_file(const char *text)
{
    char *path = strdup("/tmp/lt-business-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

void fixture_file_remove(char *path)
{
    if (path != NULL)
        unlink(path);
    free(path);
}

int fixture_settings(const char *json, const char *secret_text, void **settings, lt_error_t *err)
{
    lt_arena_t *a = lt_arena_new();
    char *secret = fixture_file(secret_text);
    const char *text = strstr(json, "@SECRET@") ? fixture_replace(a, json, "@SECRET@", secret) : json;
    json_error_t jerr;
    json_t *conf = json_loads(text, 0, &jerr);
    if (conf == NULL)
        fail_msg("bad settings JSON in test: %s", jerr.text);
    int rc = lt_business_adapter.settings_load(conf, SERVICE_PATH, settings, err);
    json_decref(conf);
    fixture_file_remove(secret);
    lt_arena_destroy(a);
    return rc;
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
