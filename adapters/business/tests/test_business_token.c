/*
 * The business adapter's token hooks: the token request exactly as
 * icd/business-registration.md ("Token") writes it, with the Basic credential
 * decoded here by OpenSSL's BIO base64 filter (not the adapter's encoder), and
 * the RFC 6749 answers: granted, refused, rate-limited, broken.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fixture.h"

typedef struct world {
    lt_arena_t *arena;
    void *settings;
} world_t;

static int setup_with(void **state, const char *json)
{
    world_t *w = calloc(1, sizeof(*w));
    lt_error_t err = {0};
    w->arena = lt_arena_new();
    if (fixture_settings(json, SECRET "\n", &w->settings, &err) != 0)
        fail_msg("settings_load: %s", err.detail);
    *state = w;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, "{\"client_id\":\"" CLIENT_ID "\",\"client_secret_file\":\"@SECRET@\"}");
}

static int setup_two_scopes(void **state)
{
    return setup_with(state, "{\"client_id\":\"" CLIENT_ID "\",\"client_secret_file\":\"@SECRET@\","
                             "\"scope\":\"dkdn.read dkdn.history\"}");
}

static int teardown(void **state)
{
    world_t *w = *state;
    lt_arena_destroy(w->arena);
    lt_business_adapter.settings_free(w->settings);
    free(w);
    return 0;
}

static const char *header(const lt_upstream_request_t *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nheaders; i++)
        if (strncasecmp(req->headers[i], name, n) == 0 && req->headers[i][n] == ':')
            return req->headers[i] + n + 2;
    fail_msg("header %s missing", name);
    return NULL;
}

/* base64 decoded with OpenSSL's BIO filter, independent of the adapter's EVP_EncodeBlock. */
static char *b64_decode(const char *in)
{
    size_t n = strlen(in);
    BIO *b64 = BIO_new(BIO_f_base64()), *mem = BIO_new_mem_buf(in, (int)n);
    BIO_set_flags(b64, BIO_FLAGS_BASE64_NO_NL);
    BIO_push(b64, mem);
    char *out = calloc(1, n + 1);
    int got = BIO_read(b64, out, (int)n);
    BIO_free_all(b64);
    assert_true(got > 0);
    out[got] = '\0';
    return out;
}

static lt_upstream_request_t build_token(world_t *w)
{
    lt_upstream_request_t req = {0};
    lt_error_t err = {0};
    assert_non_null(lt_business_adapter.token_build);
    if (lt_business_adapter.token_build(w->settings, w->arena, &req, &err) != 0)
        fail_msg("token_build: %s", err.detail);
    return req;
}

static void token_request_exactly_per_icd(void **state)
{
    lt_upstream_request_t req = build_token(*state);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/oauth2/token");
    assert_string_equal(req.body, "grant_type=client_credentials&scope=dkdn.read");
    assert_int_equal(req.body_len, strlen("grant_type=client_credentials&scope=dkdn.read"));
    assert_string_equal(header(&req, "Content-Type"), "application/x-www-form-urlencoded");
    const char *auth = header(&req, "Authorization");
    assert_int_equal(strncmp(auth, "Basic ", 6), 0);
    char *plain = b64_decode(auth + 6);
    /* The secret file's trailing newline is not part of the secret. */
    assert_string_equal(plain, CLIENT_ID ":" SECRET);
    free(plain);
}

static void scope_tokens_are_form_encoded(void **state)
{
    lt_upstream_request_t req = build_token(*state);
    assert_string_equal(req.body, "grant_type=client_credentials&scope=dkdn.read+dkdn.history");
}

typedef struct parsed {
    int rc;
    const char *token;
    long expires_in;
    lt_error_t err;
} parsed_t;

static parsed_t parse_token(world_t *w, long status, const char *body, const char *retry_after)
{
    lt_upstream_response_t resp = {.status = status,
                                   .content_type = "application/json",
                                   .retry_after = retry_after,
                                   .body = body,
                                   .body_len = strlen(body)};
    parsed_t p = {.token = NULL, .expires_in = -1};
    lt_error_clear(&p.err);
    p.rc = lt_business_adapter.token_parse(w->settings, w->arena, &resp, &p.token, &p.expires_in, &p.err);
    if (p.rc != 0)
        assert_null(strstr(p.err.detail, SECRET));
    return p;
}

static void granted(void **state)
{
    world_t *w = *state;
    parsed_t p = parse_token(w, 200, fixture_read(w->arena, "token-200.json", NULL), NULL);
    assert_int_equal(p.rc, 0);
    assert_string_equal(p.token, TOKEN);
    assert_int_equal(p.expires_in, 300);
}

static void granted_variants(void **state)
{
    static const struct {
        const char *body;
        long expires_in;
    } cases[] = {
        /* RFC 6749 §5.1: expires_in is RECOMMENDED only; the ICD's 300 is assumed. */
        {"{\"access_token\":\"t1\",\"token_type\":\"Bearer\"}", 300},
        /* §7.1: the type is case-insensitive. */
        {"{\"access_token\":\"t1\",\"token_type\":\"bearer\",\"expires_in\":60}", 60},
        {"{\"access_token\":\"t1\",\"token_type\":\"Bearer\",\"expires_in\":\"120\"}", 120},
        {"{\"access_token\":\"t1\",\"token_type\":\"Bearer\",\"expires_in\":1}", 1},
        {"{\"access_token\":\"t1\",\"token_type\":\"Bearer\",\"expires_in\":31536000}", 86400},
        {"{\"access_token\":\"t1\",\"token_type\":\"Bearer\",\"expires_in\":60,\"scope\":\"x dkdn.read\"}", 60},
        {"{\"access_token\":\"t1\",\"token_type\":\"Bearer\",\"expires_in\":60,\"refresh_token\":\"r\",\"x\":1}", 60},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        parsed_t p = parse_token(*state, 200, cases[i].body, NULL);
        if (p.rc != 0)
            fail_msg("case %zu refused: %s", i, p.err.detail);
        assert_string_equal(p.token, "t1");
        assert_int_equal(p.expires_in, cases[i].expires_in);
    }
}

static void granted_but_unusable(void **state)
{
    static const struct {
        const char *body;
        const char *code;
    } cases[] = {
        {"{\"token_type\":\"Bearer\",\"expires_in\":300}", "token_bad_response"},
        {"{\"access_token\":\"\",\"token_type\":\"Bearer\"}", "token_bad_response"},
        {"{\"access_token\":\"a b\",\"token_type\":\"Bearer\"}", "token_bad_response"},
        {"{\"access_token\":\"a\\r\\nX-Evil: 1\",\"token_type\":\"Bearer\"}", "token_bad_response"},
        {"{\"access_token\":42,\"token_type\":\"Bearer\"}", "token_bad_response"},
        {"{\"access_token\":\"t1\"}", "token_bad_response"},
        {"{\"access_token\":\"t1\",\"token_type\":\"mac\"}", "token_bad_response"},
        {"{\"access_token\":\"t1\",\"token_type\":\"Bearer\",\"expires_in\":0}", "token_bad_response"},
        {"{\"access_token\":\"t1\",\"token_type\":\"Bearer\",\"expires_in\":-5}", "token_bad_response"},
        {"{\"access_token\":\"t1\",\"token_type\":\"Bearer\",\"expires_in\":1.5}", "token_bad_response"},
        {"{\"access_token\":\"t1\",\"token_type\":\"Bearer\",\"expires_in\":\"5m\"}", "token_bad_response"},
        {"{\"access_token\":\"t1\",\"token_type\":\"Bearer\",\"scope\":\"dkdn.readonly\"}", "token_invalid_scope"},
        {"{\"access_token\":\"t1\",\"token_type\":\"Bearer\",\"scope\":\"other\"}", "token_invalid_scope"},
        {"<html>login</html>", "token_bad_response"},
        {"[]", "token_bad_response"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        parsed_t p = parse_token(*state, 200, cases[i].body, NULL);
        if (p.rc == 0)
            fail_msg("case %zu accepted", i);
        assert_int_equal(p.err.kind, LT_ERR_UPSTREAM_BAD);
        assert_string_equal(p.err.code, cases[i].code);
        assert_false(p.err.retryable);
    }
}

static void invalid_client_is_an_operator_problem(void **state)
{
    world_t *w = *state;
    parsed_t p = parse_token(w, 401, fixture_read(w->arena, "token-401.json", NULL), NULL);
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.err.kind, LT_ERR_UPSTREAM_BAD); /* 502: the caller can do nothing about it */
    assert_string_equal(p.err.code, "token_invalid_client");
    assert_false(p.err.retryable);
    assert_non_null(strstr(p.err.detail, "operators"));
    /* RFC 6749 §5.2: a 401 is a failed client authentication whatever its body. */
    p = parse_token(w, 401, "<html>Unauthorized</html>", NULL);
    assert_string_equal(p.err.code, "token_invalid_client");
}

static void other_rfc6749_errors(void **state)
{
    world_t *w = *state;
    parsed_t p = parse_token(w, 400, fixture_read(w->arena, "token-400-scope.json", NULL), NULL);
    assert_int_equal(p.err.kind, LT_ERR_UPSTREAM_BAD);
    assert_string_equal(p.err.code, "token_invalid_scope");
    p = parse_token(w, 400, fixture_read(w->arena, "token-400-grant.json", NULL), NULL);
    assert_string_equal(p.err.code, "token_unsupported_grant_type");
    p = parse_token(w, 400, "{\"error\":\"invalid_client\"}", NULL);
    assert_string_equal(p.err.code, "token_invalid_client");
    p = parse_token(w, 400, "{\"error\":\"something_new\"}", NULL);
    assert_string_equal(p.err.code, "token_error");
    p = parse_token(w, 400, "not json", NULL);
    assert_string_equal(p.err.code, "token_error");
}

static void rate_limited(void **state)
{
    parsed_t p = parse_token(*state, 429, "{\"error\":\"too_many_requests\"}", "42");
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.err.kind, LT_ERR_UPSTREAM_UNAVAILABLE);
    assert_string_equal(p.err.code, "token_rate_limited");
    assert_false(p.err.retryable);
    assert_int_equal(p.err.retry_after_s, 42);
    p = parse_token(*state, 429, "", NULL);
    assert_int_equal(p.err.retry_after_s, 60); /* the endpoint's window is a minute */
}

static void server_errors(void **state)
{
    world_t *w = *state;
    parsed_t p = parse_token(w, 503, fixture_read(w->arena, "http-503.html", NULL), "5");
    assert_int_equal(p.err.kind, LT_ERR_UPSTREAM_UNAVAILABLE);
    assert_string_equal(p.err.code, "upstream_http_503");
    assert_true(p.err.retryable);
    assert_int_equal(p.err.retry_after_s, 5);
    assert_non_null(strstr(p.err.detail, "token endpoint"));
    p = parse_token(w, 500, "{}", NULL);
    assert_int_equal(p.err.kind, LT_ERR_UPSTREAM_BAD);
    assert_string_equal(p.err.code, "upstream_http_500");
    p = parse_token(w, 504, "", NULL);
    assert_int_equal(p.err.kind, LT_ERR_UPSTREAM_TIMEOUT);
    p = parse_token(w, 404, "", NULL);
    assert_string_equal(p.err.code, "upstream_http_404");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(token_request_exactly_per_icd, setup, teardown),
        cmocka_unit_test_setup_teardown(scope_tokens_are_form_encoded, setup_two_scopes, teardown),
        cmocka_unit_test_setup_teardown(granted, setup, teardown),
        cmocka_unit_test_setup_teardown(granted_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(granted_but_unusable, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_client_is_an_operator_problem, setup, teardown),
        cmocka_unit_test_setup_teardown(other_rfc6749_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(server_errors, setup, teardown),
    };
    return cmocka_run_group_tests_name("business token", tests, NULL, NULL);
}
