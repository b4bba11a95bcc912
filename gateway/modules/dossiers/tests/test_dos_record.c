/*
 * The canonical dossier (lt_dossier.c): what a PUT or a step body becomes before it is stored, and every way a
 * body is refused (400, with the field named). Required are only version and seq.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_dos_fees.h"
#include "lt_dossier.h"

#define ID "000.00.12.H53-261122-0001"

static json_t *read_snapshot(const char *body_text, lt_error_t *err, long long *version)
{
    json_t *body = json_loads(body_text, 0, NULL);
    if (body == NULL)
        fail_msg("not JSON: %s", body_text);
    json_t *canonical = NULL;
    long long v = 0;
    int rc = lt_dos_snapshot_read(ID, body, &canonical, &v, err);
    json_decref(body);
    if (version)
        *version = v;
    assert_true(rc == 0 ? canonical != NULL : canonical == NULL);
    return canonical;
}

static char *text_of(const char *body_text)
{
    lt_error_t err = {0};
    json_t *c = read_snapshot(body_text, &err, NULL);
    if (c == NULL)
        fail_msg("refused: %s", err.detail);
    char *text = lt_dos_canonical_text(c);
    json_decref(c);
    return text;
}

static void a_snapshot_is_put_in_normal_form(void **state)
{
    /* "Nguyễn" typed with combining marks (NFD), a time in UTC, blank and null fields. */
    char *t = text_of("{\"version\": 3, \"applicant_name\": \"  Nguye\\u0302\\u0303n Thi\\u0323  \","
                      " \"received_at\": \"2026-11-22T02:00:00.750Z\", \"due_at\": \"2026-11-29T17:00:00+07:00\","
                      " \"note\": \"   \", \"returned_at\": null, \"status\": \"received\","
                      " \"fees\": [{\"name\": \"Lệ phí\", \"amount_vnd\": 0}]}");
    assert_string_equal(
        t, "{\"applicant_name\":\"Nguyễn Thị\",\"due_at\":\"2026-11-29T17:00:00+07:00\","
           "\"fees\":[{\"amount_vnd\":0,\"name\":\"Lệ phí\"}],\"received_at\":\"2026-11-22T09:00:00+07:00\","
           "\"status\":\"received\",\"version\":3}");
    free(t);
}

/* What tells a repeat from a different body: the same dossier said another way is the same text. */
static void the_same_snapshot_said_twice_has_one_fingerprint(void **state)
{
    char *a = text_of("{\"version\":1,\"status\":\"processing\",\"due_at\":\"2026-11-29T10:00:00Z\"}");
    char *b = text_of("{\"due_at\":\"2026-11-29T17:00:00+07:00\",\"status\":\"processing\",\"version\":1,"
                      "\"dossier_id\":\"" ID "\"}");
    char *c = text_of("{\"version\":1,\"status\":\"finished\",\"due_at\":\"2026-11-29T10:00:00Z\"}");
    char fa[65], fb[65], fc[65];
    lt_dos_fingerprint(a, fa);
    lt_dos_fingerprint(b, fb);
    lt_dos_fingerprint(c, fc);
    assert_string_equal(fa, fb);
    assert_string_not_equal(fa, fc);
    assert_int_equal(strlen(fa), 64);
    free(a);
    free(b);
    free(c);
}

static void only_the_version_is_required(void **state)
{
    lt_error_t err = {0};
    long long version = 0;
    json_t *c = read_snapshot("{\"version\": 99999999999999}", &err, &version);
    assert_non_null(c);
    assert_int_equal(version, 99999999999999LL);
    assert_int_equal(json_object_size(c), 1);
    json_decref(c);
}

static void bad_snapshots_are_refused_with_the_field_named(void **state)
{
    static const struct {
        const char *body, *code, *field;
    } cases[] = {
        {"{}", "invalid_version", "version"},
        {"{\"version\": 0}", "invalid_version", "version"},
        {"{\"version\": \"1\"}", "invalid_version", "version"},
        {"{\"version\": 1.5}", "invalid_version", "version"},
        {"{\"version\": 100000000000000}", "invalid_version", "version"},
        {"{\"version\": 1, \"seq\": 1}", "unknown_field", "seq"},
        {"{\"version\": 1, \"colour\": \"red\"}", "unknown_field", "colour"},
        {"{\"version\": 1, \"received_at\": \"2026-11-22T09:00:00\"}", "invalid_time", "received_at"},
        {"{\"version\": 1, \"received_at\": \"2026-02-30T09:00:00+07:00\"}", "invalid_time", "received_at"},
        {"{\"version\": 1, \"received_at\": \"20261122090000\"}", "invalid_time", "received_at"},
        {"{\"version\": 1, \"received_at\": 1764000000}", "invalid_time", "received_at"},
        {"{\"version\": 1, \"status\": \"Received\"}", "invalid_status", "status"},
        {"{\"version\": 1, \"status\": \"2\"}", "invalid_status", "status"},
        {"{\"version\": 1, \"applicant_type\": \"1\"}", "invalid_applicant_type", "applicant_type"},
        {"{\"version\": 1, \"procedure_code\": \"1 001\"}", "invalid_code", "procedure_code"},
        {"{\"version\": 1, \"channel_code\": \"online\"}", "invalid_code", "channel_code"},
        {"{\"version\": 1, \"applicant_name\": 5}", "invalid_text", "applicant_name"},
        {"{\"version\": 1, \"applicant_name\": \"a\\u0007b\"}", "invalid_text", "applicant_name"},
        {"{\"version\": 1, \"applicant_name\": \"a\\nb\"}", "invalid_text", "applicant_name"},
        {"{\"version\": 1, \"fees\": {}}", "invalid_fees", "fees"},
        {"{\"version\": 1, \"fees\": [1]}", "invalid_fees", "fees[0]"},
        {"{\"version\": 1, \"fees\": [{\"amount_vnd\": -5}]}", "invalid_amount", "fees[0].amount_vnd"},
        {"{\"version\": 1, \"fees\": [{}, {\"price\": 1}]}", "unknown_field", "fees[1].price"},
        {"{\"version\": 1, \"dossier_id\": \"another\"}", "dossier_id_mismatch", "dossier_id"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lt_error_t err = {0};
        json_t *c = read_snapshot(cases[i].body, &err, NULL);
        if (c != NULL || strcmp(err.code, cases[i].code) != 0 || strstr(err.detail, cases[i].field) == NULL)
            fail_msg("%s: got %s (%s)", cases[i].body, c ? "accepted" : err.code, err.detail);
        assert_int_equal(err.kind, LT_ERR_BAD_REQUEST);
    }
    /* Long text in a note keeps its line breaks. */
    lt_error_t err = {0};
    json_t *c = read_snapshot("{\"version\": 1, \"note\": \"dòng 1\\ndòng 2\"}", &err, NULL);
    assert_non_null(c);
    json_decref(c);
    json_t *list = json_pack("[i]", 1);
    assert_int_equal(lt_dos_snapshot_read(ID, list, &c, &(long long){0}, &err), -1);
    assert_string_equal(err.code, "invalid_body");
    json_decref(list);
}

static void steps_are_read_the_same_way(void **state)
{
    json_t *body = json_pack("{s:i, s:s, s:s}", "seq", 2, "processed_at", "2026-11-23T08:00:00-01:00", "status",
                             "more_documents_required");
    json_t *c = NULL;
    long long seq = 0;
    lt_error_t err = {0};
    assert_int_equal(lt_dos_step_read(ID, body, &c, &seq, &err), 0);
    assert_int_equal(seq, 2);
    char *t = lt_dos_canonical_text(c);
    assert_string_equal(t, "{\"processed_at\":\"2026-11-23T16:00:00+07:00\",\"seq\":2,"
                           "\"status\":\"more_documents_required\"}");
    free(t);
    json_decref(c);
    json_decref(body);
    static const char *const bad[][2] = {
        {"{}", "invalid_seq"},
        {"{\"seq\": -1}", "invalid_seq"},
        {"{\"seq\": 1, \"version\": 2}", "unknown_field"},
        {"{\"seq\": 1, \"fees\": []}", "unknown_field"},
        {"{\"seq\": 1, \"started_at\": \"yyyyMMddHHmmss\"}", "invalid_time"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *b = json_loads(bad[i][0], 0, NULL);
        c = NULL;
        assert_int_equal(lt_dos_step_read(ID, b, &c, &seq, &err), -1);
        if (strcmp(err.code, bad[i][1]) != 0)
            fail_msg("%s: got %s", bad[i][0], err.code);
        assert_null(c);
        json_decref(b);
    }
}

static void dossier_and_record_ids(void **state)
{
    assert_true(lt_dos_id_is_valid(ID));
    assert_false(lt_dos_id_is_valid(""));
    assert_false(lt_dos_id_is_valid("a/b"));
    assert_false(lt_dos_id_is_valid("a:b"));
    assert_false(lt_dos_id_is_valid("a b"));
    char long_id[80];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    assert_false(lt_dos_id_is_valid(long_id));
    char rid[LT_DOS_RECORD_ID_MAX + 1], id[LT_DOS_ID_MAX + 1];
    bool step;
    long long n;
    lt_dos_record_id(ID, true, 12, rid);
    assert_string_equal(rid, ID ":s12");
    assert_int_equal(lt_dos_record_id_parse(rid, id, &step, &n), 0);
    assert_string_equal(id, ID);
    assert_true(step);
    assert_int_equal(n, 12);
    lt_dos_record_id(ID, false, 3, rid);
    assert_int_equal(lt_dos_record_id_parse(rid, id, &step, &n), 0);
    assert_false(step);
    static const char *const bad[] = {
        "", ID, ID ":", ID ":x3", ID ":v", ID ":v0", ID ":v01", ID ":s-1", "a b:v1", ":v1", ID ":v100000000000000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (lt_dos_record_id_parse(bad[i], id, &step, &n) == 0)
            fail_msg("'%s' parsed", bad[i]);
}

static void statuses_are_the_ten_of_the_contract(void **state)
{
    int n = 0;
    while (lt_dos_statuses[n] != NULL)
        n++;
    assert_int_equal(n, 10);
    assert_int_equal(lt_dos_status_index("submitted"), 0);
    assert_int_equal(lt_dos_status_index("result_delivered"), 9);
    assert_int_equal(lt_dos_status_index("done"), -1);
    assert_int_equal(lt_dos_status_index(NULL), -1);
}

static lt_payment_final_t paid(const char *description)
{
    return (lt_payment_final_t){.payment_id = "LT20261123-9f3a1c2b4d5e6f70",
                                .dossier_id = ID,
                                .amount_vnd = 150000,
                                .status = "paid",
                                .description = description,
                                .paid_at = "2026-11-23T10:30:00+07:00",
                                .bank_code = "NCB",
                                .transaction_no = "14123456"};
}

static char *fee_text(const lt_dossiers_conf_t *conf, const lt_payment_final_t *p)
{
    json_t *fee = lt_dos_fee_of_payment(conf, p);
    char *text = fee ? lt_dos_canonical_text(fee) : NULL;
    json_decref(fee);
    return text;
}

/* A paid payment becomes one canonical fee: its amount, what it paid for as the name, the configured codes. */
static void a_paid_payment_is_one_fee(void **state)
{
    lt_dossiers_conf_t conf = {0};
    conf.payment_fees.collection_method_code = "3";
    conf.payment_fees.code = "LPTT";
    lt_payment_final_t p = paid("  Lệ phí cấp bản sao  ");
    char *text = fee_text(&conf, &p);
    assert_string_equal(text, "{\"amount_vnd\":150000,\"code\":\"LPTT\",\"collection_method_code\":\"3\",\"name\":"
                              "\"Lệ phí cấp bản sao\"}");
    free(text);

    lt_dossiers_conf_t bare = {0}; /* no code configured: left out, never made up */
    p = paid("Lệ phí");
    text = fee_text(&bare, &p);
    assert_string_equal(text, "{\"amount_vnd\":150000,\"name\":\"Lệ phí\"}");
    free(text);

    p = paid("tab\there"); /* a name the fee fields refuse is left out, the fee is not */
    text = fee_text(&bare, &p);
    assert_string_equal(text, "{\"amount_vnd\":150000}");
    free(text);

    char long_name[700];
    memset(long_name, 'a', 499);
    strcpy(long_name + 499, "ệ and more"); /* the 500-byte cut falls inside "ệ": the character is dropped whole */
    p = paid(long_name);
    json_t *fee = lt_dos_fee_of_payment(&bare, &p);
    assert_int_equal(strlen(json_string_value(json_object_get(fee, "name"))), 499);
    json_decref(fee);
}

static void only_a_paid_payment_for_a_dossier_is_a_fee(void **state)
{
    lt_dossiers_conf_t conf = {0};
    lt_payment_final_t p = paid("x");
    p.status = "failed";
    assert_null(lt_dos_fee_of_payment(&conf, &p));
    p.status = "expired";
    assert_null(lt_dos_fee_of_payment(&conf, &p));
    p = paid("x");
    p.dossier_id = "";
    assert_null(lt_dos_fee_of_payment(&conf, &p));
    p.dossier_id = "a/b"; /* a payment's dossier id may hold '/', a dossier's may not */
    assert_null(lt_dos_fee_of_payment(&conf, &p));
}

/* The portal gets the one-stop system's fees, then the gateway's. */
static void the_gateways_fees_follow_the_snapshots_own(void **state)
{
    json_t *c = json_loads("{\"version\":1,\"fees\":[{\"amount_vnd\":1}]}", 0, NULL);
    lt_dos_with_fees(c, "[{\"amount_vnd\":2},{\"amount_vnd\":3}]");
    char *text = lt_dos_canonical_text(c);
    assert_string_equal(text, "{\"fees\":[{\"amount_vnd\":1},{\"amount_vnd\":2},{\"amount_vnd\":3}],\"version\":1}");
    free(text);
    json_decref(c);
    c = json_loads("{\"version\":1}", 0, NULL);
    lt_dos_with_fees(c, NULL);
    lt_dos_with_fees(c, "[]");
    assert_null(json_object_get(c, "fees")); /* nothing to add: no empty list made up */
    lt_dos_with_fees(c, "[{\"amount_vnd\":2}]");
    assert_int_equal(json_array_size(json_object_get(c, "fees")), 1);
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_snapshot_is_put_in_normal_form),
        cmocka_unit_test(the_same_snapshot_said_twice_has_one_fingerprint),
        cmocka_unit_test(only_the_version_is_required),
        cmocka_unit_test(bad_snapshots_are_refused_with_the_field_named),
        cmocka_unit_test(steps_are_read_the_same_way),
        cmocka_unit_test(dossier_and_record_ids),
        cmocka_unit_test(statuses_are_the_ten_of_the_contract),
        cmocka_unit_test(a_paid_payment_is_one_fee),
        cmocka_unit_test(only_a_paid_payment_for_a_dossier_is_a_fee),
        cmocka_unit_test(the_gateways_fees_follow_the_snapshots_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
