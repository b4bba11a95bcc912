/* Shared helpers for the business adapter's unit tests. */
#include "fixture.h"

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
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", LT_BUSINESS_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open fixture %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = lt_arena_alloc(a, (size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

char *fixture_replace(lt_arena_t *a, const char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), count = 0;
    for (const char *p = strstr(s, from); p; p = strstr(p + fl, from))
        count++;
    assert_true(count > 0); /* a replacement that does nothing would make its test vacuous */
    char *out = lt_arena_alloc(a, strlen(s) + count * tl + 1), *w = out;
    const char *p = s;
    for (const char *q; (q = strstr(p, from)) != NULL; p = q + fl) {
        memcpy(w, p, (size_t)(q - p));
        w += q - p;
        memcpy(w, to, tl);
        w += tl;
    }
    strcpy(w, p);
    return out;
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
