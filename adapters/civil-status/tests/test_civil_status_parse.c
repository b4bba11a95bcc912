/*
 * The civil-status adapter's parse(): the ICD's four record samples
 * (fixtures/lookup-*.json) to canonical answers written out by hand from
 * icd/civil-status.md and README.md, never captured from the code; the
 * envelope's verdict over the HTTP status; every errorCode; HT-401 as a new
 * token; an empty value as 404; fields the ICD shows but does not require;
 * and answers that must be refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

/* Compares the result with JSON text, and prints both when they differ. */
static void assert_json(json_t *got, const char *want_text)
{
    json_error_t jerr;
    json_t *want = json_loads(want_text, 0, &jerr);
    if (want == NULL)
        fail_msg("bad expected JSON in test: %s (line %d)", jerr.text, jerr.line);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_INDENT(1)),
             *w = json_dumps(want, JSON_SORT_KEYS | JSON_INDENT(1));
        fprintf(stderr, "got:\n%s\nwant:\n%s\n", g, w);
        free(g);
        free(w);
        json_decref(want);
        fail_msg("canonical answer differs");
    }
    json_decref(want);
}

static json_t *parse_ok(fixture_call_t *fc, long status, const char *name)
{
    lt_test_outcome_t o = fixture_parse(fc, status, name);
    if (o.step != LT_STEP_DONE)
        fail_msg("%s: step %d, %s: %s", name, o.step, o.err.code, o.err.detail);
    assert_non_null(o.result);
    assert_null(json_object_get(o.result, "source")); /* the core adds it */
    return o.result;
}

static void assert_fails(lt_test_outcome_t o, lt_error_kind_t kind, const char *code)
{
    if (o.step != LT_STEP_FAIL)
        fail_msg("expected FAIL %s, got step %d", code, o.step);
    assert_int_equal(o.err.kind, kind);
    assert_string_equal(o.err.code, code);
}

/* The detail of any error must not repeat the identifiers of the samples. */
static void assert_no_identifiers(const lt_error_t *err)
{
    const char *ids[] = {CHILD_ID, MOTHER_ID, HUSBAND_ID, DECEASED_ID};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        assert_null(strstr(err->detail, ids[i]));
}

/* ---- the four ICD samples, every field ---- */

static void birth_sample(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    json_t *r = parse_ok(fc, 200, "lookup-ks.json");
    assert_json(r,
                "{\"type\": \"birth\", \"record\": {"
                " \"registration\": {\"number\": \"125\", \"book\": \"01/2019\", \"page\": \"42\","
                "   \"registered_on\": \"2019-03-15\", \"office\": {\"code\": \"12631\", \"name\": \"UBND xã Vũ Hội\"},"
                "   \"kind\": {\"code\": \"on_time\", \"source_code\": \"1\"}},"
                " \"child\": {\"id\": \"034219004321\", \"full_name\": \"Nguyễn Minh Khôi\","
                "   \"sex\": {\"code\": \"male\", \"source_code\": \"1\"}, \"birth_date\": \"2019-03-02\","
                "   \"birth_place\": \"Bệnh viện Đa khoa tỉnh Thái Bình\","
                "   \"ethnicity\": {\"name\": \"Kinh\", \"source_code\": \"01\"}, \"nationality\": \"VN\"},"
                " \"mother\": {\"id\": \"034195001234\", \"full_name\": \"Nguyễn Thị Hồng Nhung\","
                "   \"birth_date\": \"1995-03-12\", \"ethnicity\": {\"name\": \"Kinh\", \"source_code\": \"01\"},"
                "   \"nationality\": \"VN\"},"
                " \"father\": null}}");
    json_decref(r);
    fixture_call_free(fc);
}

static const char *const MARRIAGE_2020 =
    "{\"registration\": {\"number\": \"18\", \"book\": \"01/2020\", \"page\": null, \"registered_on\": \"2020-10-20\","
    "   \"office\": {\"code\": \"12631\", \"name\": \"UBND xã Vũ Hội\"}},"
    " \"status\": {\"code\": \"%s\", \"source_code\": \"%s\"},"
    " \"husband\": {\"id\": \"034093004567\", \"full_name\": \"Trần Văn Minh\", \"birth_date\": \"1993-07-05\","
    "   \"marriage_count\": 1},"
    " \"wife\": {\"id\": \"034195001234\", \"full_name\": \"Nguyễn Thị Hồng Nhung\", \"birth_date\": \"1995-03-12\","
    "   \"marriage_count\": 1}}";

static char *marriage_2020(const char *code, const char *source)
{
    char *out = malloc(2048);
    snprintf(out, 2048, MARRIAGE_2020, code, source);
    return out;
}

static void marriage_sample(void **state)
{
    /* Either spouse's number finds the registration. */
    const char *ids[] = {MOTHER_ID, HUSBAND_ID};
    for (size_t i = 0; i < 2; i++) {
        fixture_call_t *fc = fixture_call_new(ids[i], "marriages", NULL);
        json_t *r = parse_ok(fc, 200, "lookup-kh.json");
        char *one = marriage_2020("in_force", "HIEU_LUC"), want[4096];
        snprintf(want, sizeof(want), "{\"type\": \"marriages\", \"records\": [%s]}", one);
        assert_json(r, want);
        free(one);
        json_decref(r);
        fixture_call_free(fc);
    }
}

static void marriages_keep_the_icds_order(void **state)
{
    fixture_call_t *fc = fixture_call_new(MOTHER_ID, "marriages", NULL);
    json_t *r = parse_ok(fc, 200, "lookup-kh-two.json");
    char *older = marriage_2020("divorced", "DA_LY_HON"), want[8192];
    snprintf(want, sizeof(want),
             "{\"type\": \"marriages\", \"records\": ["
             "{\"registration\": {\"number\": \"31\", \"book\": \"01/2023\", \"page\": null,"
             "   \"registered_on\": \"2023-02-14\", \"office\": {\"code\": \"12616\", \"name\": \"UBND xã Vũ Tiên\"}},"
             " \"status\": {\"code\": \"in_force\", \"source_code\": \"HIEU_LUC\"},"
             " \"husband\": {\"id\": \"034090007788\", \"full_name\": \"Lê Quang Huy\", \"birth_date\": \"1990-11-21\","
             "   \"marriage_count\": 1},"
             " \"wife\": {\"id\": \"034195001234\", \"full_name\": \"Nguyễn Thị Hồng Nhung\","
             "   \"birth_date\": \"1995-03-12\", \"marriage_count\": 2}},"
             "%s]}",
             older);
    assert_json(r, want);
    free(older);
    json_decref(r);
    fixture_call_free(fc);
}

static void death_sample(void **state)
{
    fixture_call_t *fc = fixture_call_new(DECEASED_ID, "death", NULL);
    json_t *r = parse_ok(fc, 200, "lookup-kt.json");
    assert_json(
        r, "{\"type\": \"death\", \"record\": {"
           " \"registration\": {\"number\": \"7\", \"book\": \"01/2024\", \"page\": null,"
           "   \"registered_on\": \"2024-01-05\", \"office\": {\"code\": \"12631\", \"name\": \"UBND xã Vũ Hội\"}},"
           " \"deceased\": {\"id\": \"034045000789\", \"full_name\": \"Phạm Văn Thành\","
           "   \"died_on\": \"2024-01-03\", \"place_of_death\": \"Bệnh viện Đa khoa tỉnh Thái Bình\"},"
           " \"death_notice\": {\"kind\": {\"code\": \"hospital\", \"source_code\": \"1\"},"
           "   \"number\": \"125/GBT\", \"issued_on\": \"2024-01-03\","
           "   \"issued_by\": \"Bệnh viện Đa khoa tỉnh Thái Bình\"}}}");
    json_decref(r);
    fixture_call_free(fc);
}

static void marital_status_sample(void **state)
{
    fixture_call_t *fc = fixture_call_new(MOTHER_ID, "marital_status", NULL);
    json_t *r = parse_ok(fc, 200, "lookup-tthn.json");
    assert_json(r, "{\"type\": \"marital_status\", \"record\": {\"id\": \"034195001234\","
                   " \"status\": {\"code\": \"married\", \"source_code\": \"DANG_CO_VO_CHONG\"},"
                   " \"as_of\": \"2026-11-22\","
                   " \"basis\": {\"kind\": {\"code\": \"marriage\", \"source_code\": \"KH\"}, \"number\": \"18\","
                   "   \"book\": \"01/2020\", \"registered_on\": \"2020-10-20\"}}}");
    json_decref(r);
    fixture_call_free(fc);

    fc = fixture_call_new(CHILD_ID, "marital_status", NULL);
    r = parse_ok(fc, 200, "lookup-tthn-never.json");
    assert_json(r, "{\"type\": \"marital_status\", \"record\": {\"id\": \"034219004321\","
                   " \"status\": {\"code\": \"never_married\", \"source_code\": \"CHUA_DANG_KY_KET_HON\"},"
                   " \"as_of\": \"2026-11-22\", \"basis\": null}}");
    json_decref(r);
    fixture_call_free(fc);
}

/* Every code of every table: the ICD's meaning, and an unknown code kept with a null enum. */
static void every_code_maps(void **state)
{
    static const struct {
        const char *type, *fixture, *from, *to, *path, *code;
    } cases[] = {
        {"birth", "lookup-ks.json", "\"loaiDangKy\":\"1\"", "\"loaiDangKy\":\"2\"", "registration.kind", "late"},
        {"birth", "lookup-ks.json", "\"loaiDangKy\":\"1\"", "\"loaiDangKy\":\"3\"", "registration.kind",
         "re_registration"},
        {"birth", "lookup-ks.json", "\"loaiDangKy\":\"1\"", "\"loaiDangKy\":\"9\"", "registration.kind", NULL},
        {"birth", "lookup-ks.json", "\"nksGioiTinh\":\"1\"", "\"nksGioiTinh\":\"2\"", "child.sex", "female"},
        {"birth", "lookup-ks.json", "\"nksGioiTinh\":\"1\"", "\"nksGioiTinh\":\"0\"", "child.sex", NULL},
        {"marriages", "lookup-kh.json", "HIEU_LUC", "DA_HUY", "status", "annulled"},
        {"marriages", "lookup-kh.json", "HIEU_LUC", "TAM_HOAN", "status", NULL},
        {"death", "lookup-kt.json", "\"gbtLoai\":\"1\"", "\"gbtLoai\":\"2\"", "death_notice.kind", "police"},
        {"death", "lookup-kt.json", "\"gbtLoai\":\"1\"", "\"gbtLoai\":\"3\"", "death_notice.kind", "court"},
        {"death", "lookup-kt.json", "\"gbtLoai\":\"1\"", "\"gbtLoai\":\"4\"", "death_notice.kind", "other"},
        {"death", "lookup-kt.json", "\"gbtLoai\":\"1\"", "\"gbtLoai\":\"5\"", "death_notice.kind", NULL},
        {"marital_status", "lookup-tthn.json", "DANG_CO_VO_CHONG", "DA_LY_HON", "status", "divorced"},
        {"marital_status", "lookup-tthn.json", "DANG_CO_VO_CHONG", "GOA", "status", "widowed"},
        {"marital_status", "lookup-tthn.json", "DANG_CO_VO_CHONG", "LY_THAN", "status", NULL},
        {"marital_status", "lookup-tthn.json", "\"loai\":\"KH\"", "\"loai\":\"KT\"", "basis.kind", "death"},
        {"marital_status", "lookup-tthn.json", "\"loai\":\"KH\"", "\"loai\":\"XX\"", "basis.kind", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fixture_call_t *fc = fixture_call_new(strcmp(cases[i].type, "death") == 0   ? DECEASED_ID
                                              : strcmp(cases[i].type, "birth") == 0 ? CHILD_ID
                                                                                    : MOTHER_ID,
                                              cases[i].type, NULL);
        const char *body =
            lt_test_replace(fc->arena, fixture_read(fc->arena, cases[i].fixture, NULL), cases[i].from, cases[i].to);
        lt_test_outcome_t o = fixture_parse_text(fc, 200, body, NULL);
        assert_int_equal(o.step, LT_STEP_DONE);
        json_t *rec = json_object_get(o.result, "record");
        if (rec == NULL)
            rec = json_array_get(json_object_get(o.result, "records"), 0);
        char path[64];
        snprintf(path, sizeof(path), "%s", cases[i].path);
        json_t *v = rec;
        for (char *part = strtok(path, "."); part != NULL; part = strtok(NULL, "."))
            v = json_object_get(v, part);
        const char *source = strchr(cases[i].to, ':') ? strrchr(cases[i].to, ':') + 2 : cases[i].to;
        char want_source[32];
        snprintf(want_source, sizeof(want_source), "%.*s", (int)strcspn(source, "\""), source);
        assert_string_equal(json_string_value(json_object_get(v, "source_code")), want_source);
        if (cases[i].code == NULL)
            assert_true(json_is_null(json_object_get(v, "code")));
        else
            assert_string_equal(json_string_value(json_object_get(v, "code")), cases[i].code);
        json_decref(o.result);
        fixture_call_free(fc);
    }
}

/* ---- the envelope decides ---- */

static void empty_value_is_404(void **state)
{
    static const char *const types[] = {"birth", "marriages", "death", "marital_status"};
    static const char *const bodies[] = {
        "{\"status\":\"1\",\"errorCode\":\"\",\"errorDescription\":\"\",\"value\":[]}",
        "{\"status\":\"1\",\"errorCode\":\"\",\"errorDescription\":\"\",\"value\":null}",
        "{\"status\":\"1\",\"errorCode\":\"\",\"errorDescription\":\"\"}",
    };
    for (size_t t = 0; t < 4; t++)
        for (size_t b = 0; b < 3; b++) {
            fixture_call_t *fc = fixture_call_new(MOTHER_ID, types[t], "Nguyễn Thị Hồng Nhung");
            lt_test_outcome_t o = fixture_parse_text(fc, 200, bodies[b], NULL);
            assert_fails(o, LT_ERR_NOT_FOUND, "record_not_found");
            assert_no_identifiers(&o.err);
            assert_null(strstr(o.err.detail, "Nhung"));
            fixture_call_free(fc);
        }
    fixture_call_t *fc = fixture_call_new(MOTHER_ID, "birth", NULL);
    lt_test_outcome_t o = fixture_parse(fc, 200, "lookup-empty.json");
    assert_fails(o, LT_ERR_NOT_FOUND, "record_not_found");
    assert_string_equal(o.err.detail, "the civil-status database holds no birth registration for this person");
    fixture_call_free(fc);
}

static void error_codes_map(void **state)
{
    static const struct {
        const char *fixture;
        lt_error_kind_t kind;
        const char *code;
    } cases[] = {
        {"error-ht-400.json", LT_ERR_BAD_REQUEST, "HT-400"},
        {"error-ht-403.json", LT_ERR_UPSTREAM_BAD, "HT-403"},
        {"error-ht-500.json", LT_ERR_UPSTREAM_BAD, "HT-500"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
        lt_test_outcome_t o = fixture_parse(fc, 200, cases[i].fixture);
        assert_fails(o, cases[i].kind, cases[i].code);
        assert_false(o.err.retryable);
        /* The national system's own words follow, quoted. */
        assert_non_null(strstr(o.err.detail, "(national system says: \""));
        fixture_call_free(fc);
    }
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    lt_test_outcome_t o = fixture_parse_text(
        fc, 200, "{\"status\":\"0\",\"errorCode\":\"HT-999\",\"errorDescription\":\"034219004321 lỗi\"}", NULL);
    assert_fails(o, LT_ERR_UPSTREAM_BAD, "upstream_error");
    assert_string_equal(o.err.detail,
                        "the civil-status database answered errorCode HT-999, which the ICD does not list");
    o = fixture_parse_text(fc, 200, "{\"status\":\"0\",\"errorCode\":\"\",\"value\":[]}", NULL);
    assert_fails(o, LT_ERR_UPSTREAM_BAD, "upstream_error");
    fixture_call_free(fc);
}

/* HT-401 is "get a new token and retry once", wherever it comes: inside HTTP 200, or on another status. */
static void ht_401_asks_for_a_new_token(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    lt_test_outcome_t o = fixture_parse(fc, 200, "error-ht-401.json");
    assert_int_equal(o.step, LT_STEP_REAUTH);
    o = fixture_parse(fc, 500, "error-ht-401.json");
    assert_int_equal(o.step, LT_STEP_REAUTH);
    /* Without the envelope's verdict, the same HTTP 200 is a record again. */
    o = fixture_parse_text(fc, 200,
                           lt_test_replace(fc->arena, fixture_read(fc->arena, "lookup-ks.json", NULL),
                                           "\"errorCode\":\"\"", "\"errorCode\":\"HT-401\""),
                           NULL);
    assert_int_equal(o.step, LT_STEP_FAIL); /* status 1 and an errorCode contradict each other */
    assert_string_equal(o.err.code, "bad_response");
    fixture_call_free(fc);
}

/* A success is the envelope's word, not HTTP 200's: status 0 in HTTP 200 is a failure, and a status the ICD does not
 * define is refused. Without status, the errorCode alone decides (the ICD shows status but never says it is sent). */
static void the_envelope_decides(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    const char *ks = fixture_read(fc->arena, "lookup-ks.json", NULL);
    lt_test_outcome_t o =
        fixture_parse_text(fc, 200, lt_test_replace(fc->arena, ks, "\"status\":\"1\"", "\"status\":\"0\""), NULL);
    assert_fails(o, LT_ERR_UPSTREAM_BAD, "upstream_error");
    o = fixture_parse_text(fc, 200, lt_test_replace(fc->arena, ks, "\"status\":\"1\"", "\"status\":\"OK\""), NULL);
    assert_fails(o, LT_ERR_UPSTREAM_BAD, "bad_response");
    o = fixture_parse_text(fc, 200, lt_test_replace(fc->arena, ks, "\"status\":\"1\"", "\"status\":1"), NULL);
    assert_fails(o, LT_ERR_UPSTREAM_BAD, "bad_response");
    /* No status, no errorCode, no errorDescription: the value is the answer. */
    o = fixture_parse_text(
        fc, 200, lt_test_replace(fc->arena, ks, "\"status\":\"1\",\"errorCode\":\"\",\"errorDescription\":\"\",", ""),
        NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    json_decref(o.result);
    /* No status, an errorCode: a failure. */
    o = fixture_parse_text(fc, 200, "{\"errorCode\":\"HT-500\"}", NULL);
    assert_fails(o, LT_ERR_UPSTREAM_BAD, "HT-500");
    /* A "success" envelope on an error status is the status talking. */
    o = fixture_parse(fc, 500, "lookup-ks.json");
    assert_fails(o, LT_ERR_UPSTREAM_BAD, "upstream_http_status");
    fixture_call_free(fc);
}

static void http_statuses_without_an_envelope(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    /* The ICD's rate limit: 429, an empty body and Retry-After, which also holds back our own retry. */
    lt_test_outcome_t o = fixture_parse_text(fc, 429, "", "2");
    assert_fails(o, LT_ERR_UPSTREAM_UNAVAILABLE, "upstream_rate_limited");
    assert_true(o.err.retryable);
    assert_int_equal(o.err.retry_after_s, 2);
    assert_int_equal(o.err.upstream_wait_s, 2);
    o = fixture_parse_text(fc, 429, "", NULL);
    assert_int_equal(o.err.retry_after_s, 1); /* rate_retry_after_s */
    o = fixture_parse(fc, 502, "http-502.html");
    assert_fails(o, LT_ERR_UPSTREAM_BAD, "upstream_http_502");
    o = fixture_parse(fc, 503, "http-503.html");
    assert_fails(o, LT_ERR_UPSTREAM_UNAVAILABLE, "upstream_http_503");
    assert_true(o.err.retryable);
    assert_int_equal(o.err.retry_after_s, 30); /* unavailable_retry_after_s */
    assert_int_equal(o.err.upstream_wait_s, 0);
    o = fixture_parse_text(fc, 504, "<html></html>", NULL);
    assert_fails(o, LT_ERR_UPSTREAM_TIMEOUT, "upstream_http_504");
    assert_true(o.err.retryable);
    o = fixture_parse_text(fc, 404, "<html>Not Found</html>", NULL);
    assert_fails(o, LT_ERR_UPSTREAM_BAD, "upstream_http_status");
    /* A 200 that is not the envelope. */
    o = fixture_parse_text(fc, 200, "<html>maintenance</html>", NULL);
    assert_fails(o, LT_ERR_UPSTREAM_BAD, "bad_response");
    o = fixture_parse_text(fc, 200, "[]", NULL);
    assert_fails(o, LT_ERR_UPSTREAM_BAD, "bad_response");
    fixture_call_free(fc);
}

/* ---- what the ICD shows but does not require ---- */

static void absent_fields_are_null(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    /* A birth record with nothing but its number: every other field the ICD shows may be missing. */
    lt_test_outcome_t o = fixture_parse_text(fc, 200, "{\"status\":\"1\",\"value\":[{\"so\":\"125\"}]}", NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    assert_json(o.result, "{\"type\": \"birth\", \"record\": {"
                          " \"registration\": {\"number\": \"125\", \"book\": null, \"page\": null,"
                          "   \"registered_on\": null, \"office\": null, \"kind\": null},"
                          " \"child\": {\"id\": null, \"full_name\": null, \"sex\": null, \"birth_date\": null,"
                          "   \"birth_place\": null, \"ethnicity\": null, \"nationality\": null},"
                          " \"mother\": null, \"father\": null}}");
    json_decref(o.result);
    /* Empty strings are absent values too; an unknown ethnicity keeps its code. */
    o = fixture_parse_text(
        fc, 200,
        "{\"status\":\"1\",\"value\":[{\"so\":\"\",\"ngayDangKy\":\" \",\"noiDangKy\":{},"
        "\"cha\":{\"hoTen\":\"Trần Văn Minh\",\"danToc\":\"55\"},\"ghiChu\":\"unknown fields are fine\"}]}",
        NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    json_t *rec = json_object_get(o.result, "record");
    assert_json(json_object_get(rec, "registration"),
                "{\"number\": null, \"book\": null, \"page\": null, \"registered_on\": null, \"office\": null,"
                " \"kind\": null}");
    assert_json(json_object_get(rec, "father"),
                "{\"id\": null, \"full_name\": \"Trần Văn Minh\", \"birth_date\": null,"
                " \"ethnicity\": {\"name\": null, \"source_code\": \"55\"}, \"nationality\": null}");
    json_decref(o.result);
    fixture_call_free(fc);

    fc = fixture_call_new(DECEASED_ID, "death", NULL);
    o = fixture_parse_text(fc, 200, "{\"status\":\"1\",\"value\":[{\"nktHoTen\":\"Phạm Văn Thành\"}]}", NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    assert_true(json_is_null(json_object_get(json_object_get(o.result, "record"), "death_notice")));
    json_decref(o.result);
    fixture_call_free(fc);

    fc = fixture_call_new(MOTHER_ID, "marriages", NULL);
    o = fixture_parse_text(fc, 200, "{\"status\":\"1\",\"value\":[{\"trangThai\":\"HIEU_LUC\"}]}", NULL);
    assert_int_equal(o.step, LT_STEP_DONE);
    assert_json(json_object_get(json_array_get(json_object_get(o.result, "records"), 0), "wife"),
                "{\"id\": null, \"full_name\": null, \"birth_date\": null, \"marriage_count\": null}");
    json_decref(o.result);
    fixture_call_free(fc);
}

/* ---- answers to refuse ---- */

static void record_about_someone_else(void **state)
{
    static const struct {
        const char *asked, *type, *fixture;
    } cases[] = {
        {MOTHER_ID, "birth", "lookup-ks.json"},    /* the child's record, asked about the mother */
        {CHILD_ID, "marriages", "lookup-kh.json"}, /* neither spouse */
        {CHILD_ID, "death", "lookup-kt.json"},     /* another deceased */
        {CHILD_ID, "marital_status", "lookup-tthn.json"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fixture_call_t *fc = fixture_call_new(cases[i].asked, cases[i].type, NULL);
        lt_test_outcome_t o = fixture_parse(fc, 200, cases[i].fixture);
        assert_fails(o, LT_ERR_UPSTREAM_BAD, "upstream_record_mismatch");
        assert_no_identifiers(&o.err);
        fixture_call_free(fc);
    }
}

static void malformed_records(void **state)
{
    static const struct {
        const char *type, *asked, *fixture, *from, *to;
    } cases[] = {
        {"birth", CHILD_ID, "lookup-ks.json", "02.03.2019", "02/03/2019"},     /* a date of birth is dd.MM.yyyy */
        {"birth", CHILD_ID, "lookup-ks.json", "15/03/2019", "15.03.2019"},     /* a registration date dd/MM/yyyy */
        {"birth", CHILD_ID, "lookup-ks.json", "02.03.2019", "30.02.2019"},     /* no such day */
        {"birth", CHILD_ID, "lookup-ks.json", "\"so\":\"125\"", "\"so\":125"}, /* wrong JSON type */
        {"birth", CHILD_ID, "lookup-ks.json", "\"cha\":null", "\"cha\":\"\""}, /* a parent is an object or null */
        {"death", DECEASED_ID, "lookup-kt.json", "03.01.2024", "03/01/2024"},  /* date of death as the ICD writes it */
        {"marriages", MOTHER_ID, "lookup-kh.json", "\"voSoLanKH\":\"1\"", "\"voSoLanKH\":\"một\""},
        {"marital_status", MOTHER_ID, "lookup-tthn.json", "22/11/2026", "2026-11-22"},
        {"birth", CHILD_ID, "lookup-ks.json", "\"value\":[", "\"value\":{\"a\":["},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fixture_call_t *fc = fixture_call_new(cases[i].asked, cases[i].type, NULL);
        const char *body = fixture_read(fc->arena, cases[i].fixture, NULL);
        if (strcmp(cases[i].from, "\"value\":[") == 0)
            body =
                lt_test_replace(fc->arena, lt_test_replace(fc->arena, body, cases[i].from, cases[i].to), "]}", "]}}");
        else
            body = lt_test_replace(fc->arena, body, cases[i].from, cases[i].to);
        lt_test_outcome_t o = fixture_parse_text(fc, 200, body, NULL);
        assert_fails(o, LT_ERR_UPSTREAM_BAD, "bad_response");
        assert_no_identifiers(&o.err);
        fixture_call_free(fc);
    }
}

/* KS and KT hold at most one record, TTHN exactly one; only KH is a list. */
static void one_record_types_refuse_two(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    const char *ks = fixture_read(fc->arena, "lookup-ks.json", NULL);
    const char *rec = strchr(ks, '[') + 1;
    size_t n = strrchr(ks, ']') - rec;
    char *two = lt_arena_sprintf(fc->arena, "{\"status\":\"1\",\"value\":[%.*s,%.*s]}", (int)n, rec, (int)n, rec);
    lt_test_outcome_t o = fixture_parse_text(fc, 200, two, NULL);
    assert_fails(o, LT_ERR_UPSTREAM_BAD, "bad_response");
    assert_string_equal(
        o.err.detail,
        "the civil-status database returned 2 records for a birth registration, where the ICD allows one");
    fixture_call_free(fc);
}

static void duplicate_keys_refused(void **state)
{
    fixture_call_t *fc = fixture_call_new(CHILD_ID, "birth", NULL);
    lt_test_outcome_t o = fixture_parse_text(fc, 200, "{\"status\":\"1\",\"status\":\"0\",\"value\":[]}", NULL);
    assert_fails(o, LT_ERR_UPSTREAM_BAD, "bad_response");
    fixture_call_free(fc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(birth_sample),
        cmocka_unit_test(marriage_sample),
        cmocka_unit_test(marriages_keep_the_icds_order),
        cmocka_unit_test(death_sample),
        cmocka_unit_test(marital_status_sample),
        cmocka_unit_test(every_code_maps),
        cmocka_unit_test(empty_value_is_404),
        cmocka_unit_test(error_codes_map),
        cmocka_unit_test(ht_401_asks_for_a_new_token),
        cmocka_unit_test(the_envelope_decides),
        cmocka_unit_test(http_statuses_without_an_envelope),
        cmocka_unit_test(absent_fields_are_null),
        cmocka_unit_test(record_about_someone_else),
        cmocka_unit_test(malformed_records),
        cmocka_unit_test(one_record_types_refuse_two),
        cmocka_unit_test(duplicate_keys_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
