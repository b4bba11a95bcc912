/*
 * The civil-status adapter's requests, read back with jansson and checked
 * field by field against icd/civil-status.md: the lookup (path, headers, the
 * token without "Bearer", every body member, hoTen only when a name was
 * given) and the session request with the service account.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <strings.h>

#include "fixture.h"

static const char *header(const lt_upstream_request_t *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nheaders; i++)
        if (strncasecmp(req->headers[i], name, n) == 0 && req->headers[i][n] == ':')
            return req->headers[i] + n + 2;
    return NULL;
}

static json_t *body_of(const lt_upstream_request_t *req)
{
    json_error_t jerr;
    assert_non_null(req->body);
    assert_int_equal(strlen(req->body), req->body_len);
    json_t *doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        fail_msg("request body is not JSON: %s", jerr.text);
    return doc;
}

static void assert_member(const json_t *doc, const char *key, const char *want)
{
    const json_t *v = json_object_get(doc, key);
    if (!json_is_string(v))
        fail_msg("%s is missing or not a string", key);
    assert_string_equal(json_string_value(v), want);
}

static void lookup_request_is_the_icds(void **state)
{
    static const char *const types[][2] = {
        {"birth", "KS"}, {"marriages", "KH"}, {"death", "KT"}, {"marital_status", "TTHN"}};
    for (size_t i = 0; i < 4; i++) {
        fixture_call_t *fc = fixture_call_new(CHILD_ID, types[i][0], "Nguyễn Minh Khôi");
        lt_upstream_request_t req;
        lt_error_t err = {0};
        assert_int_equal(fixture_lookup()->build(&fc->call, &req, &err), LT_STEP_DONE);
        assert_string_equal(req.method, "POST");
        assert_string_equal(req.path, "/api/hotich/tracuu");
        /* The token as it is: the ICD says no "Bearer" prefix. */
        assert_string_equal(header(&req, "Authorization"), TOKEN);
        assert_string_equal(header(&req, "Content-Type"), "application/json; charset=utf-8");
        assert_string_equal(header(&req, "Accept"), "application/json");
        json_t *doc = body_of(&req);
        assert_int_equal(json_object_size(doc), 7);
        assert_member(doc, "maDonVi", UNIT_CODE);
        assert_member(doc, "maYeuCau", MESSAGE_ID);
        assert_member(doc, "maCanBo", "CB-0042");
        assert_member(doc, "mucDich", "Hồ sơ HS-2026-000123");
        assert_member(doc, "loaiTraCuu", types[i][1]);
        assert_member(doc, "soDinhDanh", CHILD_ID);
        assert_member(doc, "hoTen", "Nguyễn Minh Khôi");
        /* UTF-8 goes as it is, not as \u escapes. */
        assert_non_null(strstr(req.body, "Nguyễn Minh Khôi"));
        json_decref(doc);
        fixture_call_free(fc);
    }
}

static void no_name_no_hoten(void **state)
{
    fixture_call_t *fc = fixture_call_new(MOTHER_ID, "marital_status", NULL);
    lt_upstream_request_t req;
    lt_error_t err = {0};
    assert_int_equal(fixture_lookup()->build(&fc->call, &req, &err), LT_STEP_DONE);
    json_t *doc = body_of(&req);
    assert_null(json_object_get(doc, "hoTen"));
    assert_int_equal(json_object_size(doc), 6);
    json_decref(doc);
    fixture_call_free(fc);
}

/* Values with quotes, backslashes and markup stay values: the body is written by jansson, not by hand. */
static void caller_text_cannot_change_the_body(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", "Lê \"Văn\" \\ <b>");
    fc->ctx.purpose = "HS \"1\",\"loaiTraCuu\":\"KT";
    lt_upstream_request_t req;
    lt_error_t err = {0};
    assert_int_equal(fixture_lookup()->build(&fc->call, &req, &err), LT_STEP_DONE);
    json_t *doc = body_of(&req);
    assert_member(doc, "hoTen", "Lê \"Văn\" \\ <b>");
    assert_member(doc, "mucDich", "HS \"1\",\"loaiTraCuu\":\"KT");
    assert_member(doc, "loaiTraCuu", "KS");
    json_decref(doc);
    fixture_call_free(fc);
}

static void refuses_to_build_without_context(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    lt_upstream_request_t req;
    lt_error_t err = {0};
    fc->call.token = NULL;
    assert_int_equal(fixture_lookup()->build(&fc->call, &req, &err), LT_STEP_FAIL);
    assert_string_equal(err.code, "no_token");
    fc->call.token = TOKEN;
    fc->ctx.officer_id = "";
    assert_int_equal(fixture_lookup()->build(&fc->call, &req, &err), LT_STEP_FAIL);
    assert_string_equal(err.code, "missing_header");
    fc->ctx.officer_id = "CB-0042";
    fc->ctx.purpose = "line\nbreak";
    assert_int_equal(fixture_lookup()->build(&fc->call, &req, &err), LT_STEP_FAIL);
    assert_string_equal(err.code, "invalid_header");
    fc->ctx.purpose = "HS-1";
    fc->ctx.message_id = "not-a-uuid";
    assert_int_equal(fixture_lookup()->build(&fc->call, &req, &err), LT_STEP_FAIL);
    assert_string_equal(err.code, "bad_message_id");
    fixture_call_free(fc);
}

static void session_request_is_the_icds(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    lt_upstream_request_t req;
    lt_error_t err = {0};
    assert_int_equal(lt_civil_status_adapter.token_build(fc->settings, fc->arena, &req, &err), 0);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/api/auth/token");
    assert_string_equal(header(&req, "Content-Type"), "application/json; charset=utf-8");
    assert_null(header(&req, "Authorization"));
    json_t *doc = body_of(&req);
    assert_int_equal(json_object_size(doc), 2);
    assert_member(doc, "userName", USER_NAME);
    /* The password file's line, trimmed of its newline, quotes and backslash intact. */
    assert_member(doc, "password", PASSWORD);
    json_decref(doc);
    fixture_call_free(fc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lookup_request_is_the_icds),         cmocka_unit_test(no_name_no_hoten),
        cmocka_unit_test(caller_text_cannot_change_the_body), cmocka_unit_test(refuses_to_build_without_context),
        cmocka_unit_test(session_request_is_the_icds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
