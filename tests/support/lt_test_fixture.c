/* Fixture files for adapter unit tests. */
#include "lt_test_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *lt_test_read_file(lt_arena_t *a, const char *dir, const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
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

char *lt_test_replace(lt_arena_t *a, const char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), count = 0;
    for (const char *p = strstr(s, from); p; p = strstr(p + fl, from))
        count++;
    if (count == 0)
        fail_msg("fixture replacement: '%s' does not occur", from);
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

char *lt_test_temp_file(const char *text, size_t len)
{
    char *path = strdup("/tmp/lt-adapter-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

void lt_test_temp_file_remove(char *path)
{
    if (path != NULL)
        unlink(path);
    free(path);
}

int lt_test_settings_load(const lt_adapter_t *adapter, const char *json, const char *placeholder, const char *file_text,
                          const char *key, void **settings, lt_error_t *err)
{
    lt_arena_t *a = lt_arena_new();
    char *file = lt_test_temp_file(file_text, strlen(file_text));
    const char *text = strstr(json, placeholder) ? lt_test_replace(a, json, placeholder, file) : json;
    json_error_t jerr;
    json_t *conf = json_loads(text, 0, &jerr);
    if (conf == NULL)
        fail_msg("bad settings JSON in test: %s", jerr.text);
    int rc = adapter->settings_load(conf, key, settings, err);
    json_decref(conf);
    lt_test_temp_file_remove(file);
    lt_arena_destroy(a);
    return rc;
}

lt_test_outcome_t lt_test_parse(const lt_operation_t *op, lt_call_t *call, long status, const char *content_type,
                                const char *body, size_t len, const char *retry_after)
{
    lt_upstream_response_t resp = {
        .status = status, .content_type = content_type, .retry_after = retry_after, .body = body, .body_len = len};
    lt_upstream_request_t next = {0};
    lt_test_outcome_t o = {.result = NULL};
    lt_error_clear(&o.err);
    o.step = op->parse(call, &resp, &o.result, &next, &o.err);
    assert_int_not_equal(o.step, LT_STEP_AGAIN);
    if (o.step != LT_STEP_DONE)
        assert_null(o.result);
    return o;
}

void lt_test_assert_xpath(xmlXPathContextPtr xp, const char *path, const char *want)
{
    xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST path, xp);
    assert_non_null(r);
    if (r->nodesetval == NULL || r->nodesetval->nodeNr != 1)
        fail_msg("%s: expected exactly one node", path);
    xmlChar *v = xmlNodeGetContent(r->nodesetval->nodeTab[0]);
    if (strcmp((const char *)v, want) != 0)
        fail_msg("%s: got '%s', want '%s'", path, v, want);
    xmlFree(v);
    xmlXPathFreeObject(r);
}

void lt_test_assert_xpath_count(xmlXPathContextPtr xp, const char *path, int n)
{
    xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST path, xp);
    assert_non_null(r);
    assert_int_equal(r->nodesetval ? r->nodesetval->nodeNr : 0, n);
    xmlXPathFreeObject(r);
}
