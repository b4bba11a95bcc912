/*
 * The business adapter's build(): the lookup request the core will send,
 * checked header by header against icd/business-registration.md ("Lookup"),
 * and refused when the call lacks what the ICD requires.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <strings.h>

#include "fixture.h"

static int setup(void **state)
{
    *state = fixture_call_new(ICD_CODE);
    return 0;
}

static int setup_branch(void **state)
{
    *state = fixture_call_new(BRANCH_CODE);
    return 0;
}

static int teardown(void **state)
{
    fixture_call_free(*state);
    return 0;
}

/* The value of header `name` (case-insensitive), failing unless it occurs exactly once. */
static const char *header(const lt_upstream_request_t *req, const char *name)
{
    const char *found = NULL;
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *h = req->headers[i];
        if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
            if (found != NULL)
                fail_msg("header %s occurs twice", name);
            found = h + n + 1;
            while (*found == ' ')
                found++;
        }
    }
    if (found == NULL)
        fail_msg("header %s missing", name);
    return found;
}

static lt_upstream_request_t build_ok(fixture_call_t *fc)
{
    lt_upstream_request_t req = {0};
    lt_error_t err = {0};
    if (fixture_lookup()->build(&fc->call, &req, &err) != LT_STEP_DONE)
        fail_msg("build failed: %s %s", err.code, err.detail);
    return req;
}

static void lookup_request(void **state)
{
    lt_upstream_request_t req = build_ok(*state);
    assert_string_equal(req.method, "GET");
    assert_string_equal(req.path, "/api/v2/doanh-nghiep/0100233488");
    assert_null(req.body);
    assert_int_equal(req.nheaders, 5);
    assert_string_equal(header(&req, "Authorization"), "Bearer " TOKEN);
    assert_string_equal(header(&req, "Accept"), "application/json");
    assert_string_equal(header(&req, "X-Request-ID"), MESSAGE_ID);
    assert_string_equal(header(&req, "X-Officer-ID"), "CB-0042");
    assert_string_equal(header(&req, "X-Purpose"), "HS-2026-000123");
}

static void branch_path(void **state)
{
    lt_upstream_request_t req = build_ok(*state);
    assert_string_equal(req.path, "/api/v2/doanh-nghiep/0100233488-001");
}

static void retry_builds_the_same_request_with_the_new_token(void **state)
{
    fixture_call_t *fc = *state;
    lt_upstream_request_t first = build_ok(fc);
    fc->call.attempt = 1;
    fc->call.token = "another-token";
    lt_upstream_request_t again = build_ok(fc);
    assert_string_equal(first.path, again.path);
    assert_string_equal(header(&again, "Authorization"), "Bearer another-token");
    assert_string_equal(header(&again, "X-Request-ID"), MESSAGE_ID);
}

static void vietnamese_purpose_is_forwarded_as_utf8(void **state)
{
    fixture_call_t *fc = *state;
    fc->ctx.purpose = "H\xe1\xbb\x93 s\xc6\xa1 1.001612"; /* "Hồ sơ 1.001612" */
    lt_upstream_request_t req = build_ok(fc);
    assert_string_equal(header(&req, "X-Purpose"), "H\xe1\xbb\x93 s\xc6\xa1 1.001612");
}

static void refused(fixture_call_t *fc, lt_error_kind_t kind, const char *code)
{
    lt_upstream_request_t req = {0};
    lt_error_t err = {0};
    assert_int_equal(fixture_lookup()->build(&fc->call, &req, &err), LT_STEP_FAIL);
    assert_int_equal(err.kind, kind);
    assert_string_equal(err.code, code);
}

static void header_injection_refused(void **state)
{
    fixture_call_t *fc = *state;
    fc->ctx.purpose = "HS-1\r\nX-Evil: 1";
    refused(fc, LT_ERR_BAD_REQUEST, "invalid_header");
}

static void missing_officer_refused(void **state)
{
    fixture_call_t *fc = *state;
    fc->ctx.officer_id = NULL;
    refused(fc, LT_ERR_BAD_REQUEST, "missing_header");
}

static void missing_token_is_a_bug(void **state)
{
    fixture_call_t *fc = *state;
    fc->call.token = NULL;
    refused(fc, LT_ERR_INTERNAL, "no_token");
}

static void message_id_must_be_uuid(void **state)
{
    fixture_call_t *fc = *state;
    fc->ctx.message_id = "req-42";
    refused(fc, LT_ERR_INTERNAL, "bad_message_id");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lookup_request, setup, teardown),
        cmocka_unit_test_setup_teardown(branch_path, setup_branch, teardown),
        cmocka_unit_test_setup_teardown(retry_builds_the_same_request_with_the_new_token, setup, teardown),
        cmocka_unit_test_setup_teardown(vietnamese_purpose_is_forwarded_as_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(header_injection_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_officer_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_token_is_a_bug, setup, teardown),
        cmocka_unit_test_setup_teardown(message_id_must_be_uuid, setup, teardown),
    };
    return cmocka_run_group_tests_name("business build", tests, NULL, NULL);
}
