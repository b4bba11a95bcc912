/*
 * The portal's wire format (lt_dos_portal.c) on the ICD's own samples (icd/national-portal.md, in fixtures/): a
 * canonical snapshot and step become the ICD's records, calls carry the ICD's envelope, and every answer the ICD
 * shows is read into the outcome the outbox acts on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_dos_portal.h"

static json_t *fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", LT_DOS_FIXTURES, name);
    json_error_t e;
    json_t *doc = json_load_file(path, 0, &e);
    if (doc == NULL)
        fail_msg("%s: %s", path, e.text);
    return doc;
}

static json_t *canonical_snapshot(const char *id)
{
    json_t *body = fixture("DongBoHoSoMC.canonical.json"), *canonical = NULL;
    long long version;
    lt_error_t err = {0};
    if (lt_dos_snapshot_read(id, body, &canonical, &version, &err) != 0)
        fail_msg("the canonical fixture is refused: %s", err.detail);
    json_decref(body);
    return canonical;
}

/* The ICD's sample record, field for field, except what the gateway leaves out rather than invent: an empty
 * NgayTra and GhiChu (nothing to say), and the two document lists (no canonical field holds them). */
static void a_snapshot_becomes_the_icd_record(void **state)
{
    json_t *canonical = canonical_snapshot("000.00.12.H33-261122-0001");
    json_t *rec = lt_dos_portal_record(LT_PORTAL_SNAPSHOTS, "000.00.12.H33-261122-0001", canonical);
    json_t *want = fixture("DongBoHoSoMC.data.json");
    static const char *const left_out[] = {"NgayTra", "GhiChu", "TaiLieuNop", "DanhSachGiayToKetQua"};
    for (size_t i = 0; i < sizeof(left_out) / sizeof(left_out[0]); i++) {
        assert_null(json_object_get(rec, left_out[i]));
        json_object_del(want, left_out[i]);
    }
    char *got_text = json_dumps(rec, JSON_SORT_KEYS), *want_text = json_dumps(want, JSON_SORT_KEYS);
    assert_string_equal(got_text, want_text);
    /* MaHoSo first, as in the sample. */
    char *ordered = json_dumps(rec, JSON_COMPACT);
    assert_int_equal(strncmp(ordered, "{\"MaHoSo\":", 10), 0);
    free(ordered);
    free(got_text);
    free(want_text);
    json_decref(want);
    json_decref(rec);
    json_decref(canonical);
}

static void statuses_map_to_the_icd_code_table(void **state)
{
    static const char *const names[] = {
        "submitted",        "received",  "not_received", "processing", "more_documents_required",
        "payment_required", "withdrawn", "stopped",      "finished",   "result_delivered"};
    for (int i = 0; i < 10; i++) {
        json_t *c = json_pack("{s:s}", "status", names[i]);
        json_t *snap = lt_dos_portal_record(LT_PORTAL_SNAPSHOTS, "D", c);
        json_t *step = lt_dos_portal_record(LT_PORTAL_STEPS, "D", c);
        char code[4];
        snprintf(code, sizeof(code), "%d", i + 1);
        assert_string_equal(json_string_value(json_object_get(snap, "TrangThaiHoSo")), code);
        assert_string_equal(json_string_value(json_object_get(step, "TrangThai")), code);
        json_decref(snap);
        json_decref(step);
        json_decref(c);
    }
    json_t *c = json_pack("{s:s}", "applicant_type", "enterprise");
    json_t *snap = lt_dos_portal_record(LT_PORTAL_SNAPSHOTS, "D", c);
    assert_string_equal(json_string_value(json_object_get(snap, "LoaiDoiTuong")), "2");
    json_decref(snap);
    json_decref(c);
}

/* Every field of the ICD's step sample is filled from the canonical step, times as yyyyMMddHHmmss in UTC+07:00. */
static void a_step_becomes_the_icd_record(void **state)
{
    json_t *body = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "seq", 4, "officer_name", "Trần Văn Bình",
                             "officer_title", "Chuyên viên", "processed_at", "2026-11-23T01:30:00Z", "department",
                             "Phòng Tư pháp", "content", "Thẩm định hồ sơ", "status", "processing", "started_at",
                             "2026-11-23T08:00:00+07:00", "due_at", "2026-11-25T17:00:00+07:00");
    json_t *canonical = NULL;
    long long seq;
    lt_error_t err = {0};
    assert_int_equal(lt_dos_step_read("000.00.12.H33-261122-0001", body, &canonical, &seq, &err), 0);
    json_t *rec = lt_dos_portal_record(LT_PORTAL_STEPS, "000.00.12.H33-261122-0001", canonical);
    json_t *sample = fixture("CapNhatTienDoHoSoMC.data.json");
    const char *key;
    json_t *v;
    json_object_foreach(sample, key, v) assert_non_null(json_object_get(rec, key));
    assert_int_equal(json_object_size(rec), json_object_size(sample));
    assert_string_equal(json_string_value(json_object_get(rec, "ThoiDiemXuLy")), "20261123083000");
    assert_string_equal(json_string_value(json_object_get(rec, "NgayBatDau")), "20261123080000");
    assert_string_equal(json_string_value(json_object_get(rec, "NgayKetThucTheoQuyDinh")), "20261125170000");
    assert_string_equal(json_string_value(json_object_get(rec, "TrangThai")), "4");
    assert_string_equal(json_string_value(json_object_get(rec, "NguoiXuLy")), "Trần Văn Bình");
    assert_null(json_object_get(rec, "seq")); /* the gateway's own number stays with the gateway */
    json_decref(sample);
    json_decref(rec);
    json_decref(canonical);
    json_decref(body);
}

static void calls_carry_the_icd_envelope(void **state)
{
    json_t *records = json_pack("[{s:s}]", "MaHoSo", "D1");
    char *text = lt_dos_portal_call_body(LT_PORTAL_SNAPSHOTS, "S3SS10N", "000.00.00.H33", records);
    json_t *body = json_loads(text, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "session")), "S3SS10N");
    assert_string_equal(json_string_value(json_object_get(body, "madonvi")), "000.00.00.H33");
    assert_string_equal(json_string_value(json_object_get(body, "service")), "DongBoHoSoMC");
    assert_true(json_is_false(json_object_get(body, "isUpdating")));
    assert_true(json_equal(json_object_get(body, "data"), records));
    json_decref(body);
    free(text);
    text = lt_dos_portal_call_body(LT_PORTAL_STEPS, "S", "U", records);
    body = json_loads(text, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "service")), "CapNhatTienDoHoSoMC");
    assert_null(json_object_get(body, "isUpdating"));
    json_decref(body);
    free(text);
    json_decref(records);
    text = lt_dos_portal_auth_body("lienthong", "p\"w");
    body = json_loads(text, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "password")), "p\"w");
    json_decref(body);
    free(text);
}

static lt_portal_answer_t auth(long status, const char *retry_after, const char *body)
{
    lt_portal_answer_t a;
    lt_dos_portal_read_auth(status, retry_after, body, body ? strlen(body) : 0, &a);
    return a;
}

static lt_portal_answer_t call(long status, const char *retry_after, const char *body)
{
    static const char *const ids[] = {"000.00.12.H33-261122-0001", "000.00.12.H33-261122-0002"};
    lt_portal_answer_t a;
    lt_dos_portal_read_call(status, retry_after, body, body ? strlen(body) : 0, ids, 2, &a);
    return a;
}

/* The answers the ICD shows, in its own words ("Session", "Calls", "A call with a bad record", "Limits"). */
static void the_icd_answers_are_read(void **state)
{
    lt_portal_answer_t a = auth(200, NULL, "{\"session\":\"<opaque>\",\"error_code\":0}");
    assert_int_equal(a.outcome, LT_PORTAL_OK);
    assert_string_equal(a.session, "<opaque>");
    a = auth(200, NULL, "{\"error_code\":-1,\"message\":\"...\"}");
    assert_int_equal(a.outcome, LT_PORTAL_REFUSED_ALL);
    assert_string_equal(a.message, "...");
    assert_int_equal(call(200, NULL, "{\"error_code\":0,\"message\":\"...\"}").outcome, LT_PORTAL_OK);
    assert_int_equal(call(200, NULL, "{\"error_code\":401,\"message\":\"session expired\"}").outcome, LT_PORTAL_REAUTH);
    a = call(200, NULL, "{\"error_code\":-1,\"message\":\"MaHoSo 000.00.12.H33-261122-0002: ngày sai\"}");
    assert_int_equal(a.outcome, LT_PORTAL_REFUSED);
    assert_string_equal(a.dossier_id, "000.00.12.H33-261122-0002");
    assert_string_equal(a.message, "MaHoSo 000.00.12.H33-261122-0002: ngày sai");
    a = call(200, NULL, "{\"error_code\":-1,\"message\":\"too many records\"}");
    assert_int_equal(a.outcome, LT_PORTAL_REFUSED_ALL);
    assert_string_equal(a.message, "too many records");
    /* A record the call does not hold, or a prefix of one, is not named by the message. */
    assert_int_equal(call(200, NULL, "{\"error_code\":-1,\"message\":\"MaHoSo 000.00.12.H33-261122-0009: x\"}").outcome,
                     LT_PORTAL_REFUSED_ALL);
    assert_int_equal(call(200, NULL, "{\"error_code\":-1,\"message\":\"MaHoSo 000.00.12.H33-261122-000: x\"}").outcome,
                     LT_PORTAL_REFUSED_ALL);
    a = call(429, "7", "");
    assert_int_equal(a.outcome, LT_PORTAL_BUSY);
    assert_int_equal(a.retry_after_s, 7);
    assert_int_equal(call(429, NULL, "").retry_after_s, 1);
    assert_int_equal(call(503, NULL, "<html>maintenance</html>").outcome, LT_PORTAL_DOWN);
    assert_int_equal(call(500, NULL, NULL).outcome, LT_PORTAL_DOWN);
}

static void anything_else_is_a_bad_answer(void **state)
{
    assert_int_equal(call(404, NULL, "{\"error_code\":0}").outcome, LT_PORTAL_BAD);
    assert_int_equal(call(200, NULL, "not json").outcome, LT_PORTAL_BAD);
    assert_int_equal(call(200, NULL, "{\"message\":\"ok\"}").outcome, LT_PORTAL_BAD);
    assert_int_equal(call(200, NULL, "{\"error_code\":\"0\"}").outcome, LT_PORTAL_BAD);
    lt_portal_answer_t a = call(200, NULL, "{\"error_code\":7,\"message\":\"lạ\"}");
    assert_int_equal(a.outcome, LT_PORTAL_BAD);
    assert_non_null(strstr(a.message, "error_code 7"));
    assert_int_equal(auth(200, NULL, "{\"error_code\":0}").outcome, LT_PORTAL_BAD); /* no session */
    assert_int_equal(auth(200, NULL, "{\"error_code\":0,\"session\":\"\"}").outcome, LT_PORTAL_BAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_snapshot_becomes_the_icd_record), cmocka_unit_test(statuses_map_to_the_icd_code_table),
        cmocka_unit_test(a_step_becomes_the_icd_record),     cmocka_unit_test(calls_carry_the_icd_envelope),
        cmocka_unit_test(the_icd_answers_are_read),          cmocka_unit_test(anything_else_is_a_bad_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
