/*
 * The insurance adapter's validate(), build() and settings: identifiers
 * refused before any upstream call; the request the core will send, with its
 * signature recomputed here independently (the canonical string written out
 * by hand from the ICD, HMAC and base64 through OpenSSL's HMAC() and BIO
 * filter, not through the adapter's signing code); a fresh nonce on every
 * build; secrets read from files only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

extern const lt_adapter_t lt_insurance_adapter;

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int setup(void **state)
{
    *state = fixture_call_new("0123456789");
    return 0;
}

static int setup_personal_id(void **state)
{
    *state = fixture_call_new("001095012345");
    return 0;
}

static int teardown(void **state)
{
    fixture_call_free(*state);
    return 0;
}

/* ---- validate ---- */

static void validate_accepts(void **state)
{
    static const char *const good[] = {"0123456789", "9999999999", "001095012345", "096399999999"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        json_t *in = json_pack("{s:s}", "number", good[i]);
        lt_error_t err = {0};
        if (fixture_lookup()->validate(in, &err) != 0)
            fail_msg("%s refused: %s", good[i], err.detail);
        json_decref(in);
    }
}

static void validate_refuses(void **state)
{
    static const char *const bad[] = {
        "",                     /* empty */
        "012345678",            /* 9 digits */
        "01234567890",          /* 11 */
        "0123456789012",        /* 13 */
        "012345678a",           /* a letter */
        "０１２３４５６７８９", /* full-width digits */
        "097095012345",         /* 12 digits, province 097 */
        "000095012345",         /* province 000 */
        "001495012345",         /* digit 4 must be 0-3 */
        " 0123456789",          /* no trimming: the path segment is the identifier */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *in = json_pack("{s:s}", "number", bad[i]);
        lt_error_t err = {0};
        if (fixture_lookup()->validate(in, &err) == 0)
            fail_msg("case %zu accepted", i);
        assert_int_equal(lt_error_http_status(err.kind), 400);
        assert_string_equal(err.code, "invalid_identifier");
        if (*bad[i] != '\0')
            assert_null(strstr(err.detail, bad[i])); /* never echoes the identifier */
        json_decref(in);
    }
    /* An embedded NUL, a number, nothing. */
    json_t *cases[] = {json_pack("{s:s#}", "number", "0123456789\0x", (size_t)12), json_pack("{s:i}", "number", 123),
                       json_object()};
    for (size_t i = 0; i < 3; i++) {
        lt_error_t err = {0};
        assert_int_not_equal(fixture_lookup()->validate(cases[i], &err), 0);
        assert_string_equal(err.code, "invalid_identifier");
        json_decref(cases[i]);
    }
}

/* ---- build ---- */

static const char *header(const lt_upstream_request_t *req, const char *name)
{
    size_t n = strlen(name);
    const char *found = NULL;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strncmp(req->headers[i], name, n) == 0 && req->headers[i][n] == ':') {
            if (found != NULL)
                fail_msg("header %s appears twice", name);
            found = req->headers[i] + n + 2;
        }
    }
    return found;
}

static char *hmac_base64(lt_arena_t *a, const char *key, const char *text)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    assert_non_null(HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)text, strlen(text), mac, &len));
    BIO *b64 = BIO_new(BIO_f_base64()), *mem = BIO_new(BIO_s_mem());
    BIO_set_flags(b64, BIO_FLAGS_BASE64_NO_NL);
    BIO_push(b64, mem);
    BIO_write(b64, mac, (int)len);
    (void)BIO_flush(b64);
    char *p;
    long n = BIO_get_mem_data(mem, &p);
    char *out = lt_arena_strndup(a, p, (size_t)n);
    BIO_free_all(b64);
    return out;
}

static lt_upstream_request_t build_ok(fixture_call_t *fc)
{
    lt_upstream_request_t req = {0};
    lt_error_t err = {0};
    if (fixture_lookup()->build(&fc->call, &req, &err) != LT_STEP_DONE)
        fail_msg("build failed: %s %s", err.code, err.detail);
    return req;
}

static void check_signed_request(fixture_call_t *fc, const char *number)
{
    lt_upstream_request_t req = build_ok(fc);
    assert_string_equal(req.method, "GET");
    assert_string_equal(req.path, lt_arena_sprintf(fc->arena, "/api/v1/nguoi-tham-gia?maSo=%s", number));
    assert_null(req.body);
    assert_int_equal(req.body_len, 0);
    assert_string_equal(header(&req, "X-VSS-Client"), CLIENT_ID);
    assert_string_equal(header(&req, "X-VSS-Timestamp"), "1767225600");
    assert_string_equal(header(&req, "X-Officer-ID"), OFFICER_ID);
    assert_string_equal(header(&req, "X-Purpose"), PURPOSE);
    assert_string_equal(header(&req, "X-Request-ID"), REQUEST_ID);
    const char *nonce = header(&req, "X-VSS-Nonce");
    assert_non_null(nonce);
    assert_int_equal(strlen(nonce), 32);
    assert_int_equal(strspn(nonce, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"), 32);
    /* The ICD's six parts, written out here, over the nonce the adapter chose; the key is the file's trimmed text. */
    const char *canonical = lt_arena_sprintf(fc->arena, "GET\n/api/v1/nguoi-tham-gia\nmaSo=%s\n1767225600\n%s\n%s",
                                             number, nonce, EMPTY_SHA256);
    assert_string_equal(header(&req, "X-VSS-Signature"), hmac_base64(fc->arena, TEST_SECRET, canonical));
}

static void build_signs_by_icd(void **state)
{
    check_signed_request(*state, "0123456789");
}

static void build_signs_personal_id(void **state)
{
    check_signed_request(*state, "001095012345");
}

/* build() runs again for every retry: each attempt has its own nonce and timestamp, so none is a replay. */
static void build_is_fresh_every_time(void **state)
{
    fixture_call_t *fc = *state;
    lt_upstream_request_t first = build_ok(fc);
    lt_upstream_request_t second = build_ok(fc);
    assert_string_not_equal(header(&first, "X-VSS-Nonce"), header(&second, "X-VSS-Nonce"));
    assert_string_not_equal(header(&first, "X-VSS-Signature"), header(&second, "X-VSS-Signature"));
    fc->call.now = 1767225931;
    fc->call.attempt = 1;
    lt_upstream_request_t third = build_ok(fc);
    assert_string_equal(header(&third, "X-VSS-Timestamp"), "1767225931");
}

static void build_without_request_id(void **state)
{
    fixture_call_t *fc = *state;
    fc->ctx.request_id = NULL;
    lt_upstream_request_t req = build_ok(fc);
    assert_null(header(&req, "X-Request-ID"));
    assert_non_null(header(&req, "X-VSS-Signature"));
}

static void build_refuses_bad_context(void **state)
{
    fixture_call_t *fc = *state;
    static const struct {
        const char *officer, *purpose, *code;
    } cases[] = {
        {NULL, PURPOSE, "missing_header"},     {"", PURPOSE, "missing_header"},
        {OFFICER_ID, NULL, "missing_header"},  {OFFICER_ID, "HS-1\r\nX-VSS-Client: evil", "invalid_header"},
        {"CB\x7f", PURPOSE, "invalid_header"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fc->ctx.officer_id = cases[i].officer;
        fc->ctx.purpose = cases[i].purpose;
        lt_upstream_request_t req = {0};
        lt_error_t err = {0};
        assert_int_equal(fixture_lookup()->build(&fc->call, &req, &err), LT_STEP_FAIL);
        assert_string_equal(err.code, cases[i].code);
        assert_int_equal(lt_error_http_status(err.kind), 400);
    }
    /* A UTF-8 purpose is fine: it is text, not a control character. */
    fc->ctx.officer_id = OFFICER_ID;
    fc->ctx.purpose = "H\xe1\xbb\x93 s\xc6\xa1 1";
    lt_upstream_request_t req = build_ok(fc);
    assert_string_equal(header(&req, "X-Purpose"), "H\xe1\xbb\x93 s\xc6\xa1 1");
}

/* ---- settings ---- */

static char *temp_secret(const char *content)
{
    char *path = strdup("/tmp/lt-insurance-secret-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    return path;
}

static int load(const char *json, lt_error_t *err)
{
    json_error_t jerr;
    json_t *conf = json_loads(json, 0, &jerr);
    if (conf == NULL)
        fail_msg("test JSON: %s", jerr.text);
    void *settings = NULL;
    int rc = lt_insurance_adapter.settings_load(conf, "upstreams.insurance.service", &settings, err);
    json_decref(conf);
    lt_insurance_adapter.settings_free(settings);
    return rc;
}

static void settings_errors(void **state)
{
    lt_error_t err;
    char json[1024];
    char *short_secret = temp_secret("0123456789\n");
    char *two_words = temp_secret("0123456789abcdef 0123456789abcdef\n");
    char *good = temp_secret("\n  0123456789abcdef0123456789abcdef  \n\n");
    static const char *const fmt = "{\"client_id\": \"%s\", \"hmac_secret_file\": \"%s\"%s}";

    snprintf(json, sizeof(json), fmt, CLIENT_ID, good, "");
    assert_int_equal(load(json, &err), 0);

    struct {
        const char *client, *file, *extra, *names;
    } cases[] = {
        {CLIENT_ID, "/nonexistent/insurance.secret", "", "upstreams.insurance.service.hmac_secret_file"},
        {CLIENT_ID, short_secret, "", "upstreams.insurance.service.hmac_secret_file"},
        {CLIENT_ID, two_words, "", "upstreams.insurance.service.hmac_secret_file"},
        {"LT PROVINCE", good, "", "upstreams.insurance.service.client_id"},
        {"", good, "", "upstreams.insurance.service.client_id"},
        {CLIENT_ID, good, ", \"hmac_secret\": \"inline\"", "hmac_secret"},
        {CLIENT_ID, good, ", \"rate_limited_retry_after_s\": 0", "rate_limited_retry_after_s"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(json, sizeof(json), fmt, cases[i].client, cases[i].file, cases[i].extra);
        if (load(json, &err) == 0)
            fail_msg("case %zu loaded", i);
        if (strstr(err.detail, cases[i].names) == NULL)
            fail_msg("case %zu: \"%s\" should name %s", i, err.detail, cases[i].names);
        assert_null(strstr(err.detail, "0123456789")); /* never the secret itself */
    }
    assert_int_not_equal(load("{\"hmac_secret_file\": \"/dev/null\"}", &err), 0);
    assert_non_null(strstr(err.detail, "client_id"));
    unlink(short_secret);
    unlink(two_words);
    unlink(good);
    free(short_secret);
    free(two_words);
    free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(validate_accepts),
        cmocka_unit_test(validate_refuses),
        cmocka_unit_test_setup_teardown(build_signs_by_icd, setup, teardown),
        cmocka_unit_test_setup_teardown(build_signs_personal_id, setup_personal_id, teardown),
        cmocka_unit_test_setup_teardown(build_is_fresh_every_time, setup, teardown),
        cmocka_unit_test_setup_teardown(build_without_request_id, setup, teardown),
        cmocka_unit_test_setup_teardown(build_refuses_bad_context, setup, teardown),
        cmocka_unit_test(settings_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
