/* Shared helpers for the population adapter's unit tests. */
#include "fixture.h"

#include "lt_test_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const lt_adapter_t lt_population_adapter;

char *fixture_read(lt_arena_t *a, const char *name, size_t *len)
{
    return lt_test_read_file(a, LT_POPULATION_FIXTURES, name, len);
}

char *fixture_replace(lt_arena_t *a, const char *s, const char *from, const char *to)
{
    return lt_test_replace(a, s, from, to);
}

char *fixture_sha512_base64(lt_arena_t *a, const char *data, size_t len)
{
    unsigned char md[64];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha512(), NULL), 1);
    assert_int_equal(EVP_DigestUpdate(ctx, data, len), 1);
    assert_int_equal(EVP_DigestFinal_ex(ctx, md, &mdlen), 1);
    EVP_MD_CTX_free(ctx);
    BIO *b64 = BIO_new(BIO_f_base64()), *mem = BIO_new(BIO_s_mem());
    BIO_set_flags(b64, BIO_FLAGS_BASE64_NO_NL);
    BIO_push(b64, mem);
    BIO_write(b64, md, (int)mdlen);
    (void)BIO_flush(b64);
    char *p;
    long n = BIO_get_mem_data(mem, &p);
    char *out = lt_arena_strndup(a, p, (size_t)n);
    BIO_free_all(b64);
    return out;
}

const lt_operation_t *fixture_operation(const char *name)
{
    for (const lt_operation_t *op = lt_population_adapter.operations; op->name; op++)
        if (strcmp(op->name, name) == 0)
            return op;
    fail_msg("no operation %s", name);
    return NULL;
}

static void free_json(void *j)
{
    json_decref(j);
}

fixture_call_t *fixture_call_new(const char *op)
{
    fixture_call_t *fc = calloc(1, sizeof(*fc));
    fc->arena = lt_arena_new();
    json_t *conf = json_loads(SETTINGS_JSON, 0, NULL);
    lt_error_t err = {0};
    assert_int_equal(lt_population_adapter.settings_load(conf, "upstreams.population.service", &fc->settings, &err), 0);
    json_decref(conf);
    fc->ctx = (lt_call_context_t){.request_id = MESSAGE_ID,
                                  .message_id = MESSAGE_ID,
                                  .officer_id = "CB-0042",
                                  .purpose = "HS-2026-000123",
                                  .procedure_code = NULL,
                                  .client = "portal"};
    json_t *input = json_pack("{s:s, s:s, s:s}", "id", "001095012345", "full_name", "Nguy\xe1\xbb\x85n V\xc4\x83n An",
                              "birth_date", "1995-03-12");
    lt_arena_on_destroy(fc->arena, free_json, input);
    char name[64];
    snprintf(name, sizeof(name), "request-%s.xml", op);
    fc->sent.method = "POST";
    fc->sent.path = "/ws/dancu/v1";
    fc->sent.body = fixture_read(fc->arena, name, &fc->sent.body_len);
    fc->call =
        (lt_call_t){.arena = fc->arena, .ctx = &fc->ctx, .settings = fc->settings, .input = input, .sent = &fc->sent};
    return fc;
}

void fixture_call_free(fixture_call_t *fc)
{
    lt_arena_destroy(fc->arena);
    lt_population_adapter.settings_free(fc->settings);
    free(fc);
}
