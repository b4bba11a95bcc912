/* The audit trail's record format and hash chain (gateway/core/lt_audit_format.c). Expected hashes, tags and
 * times were computed outside this code (FIPS 180-2's vector, Python's hashlib, hmac and datetime). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_audit_format.h"

static const char *const RELEASED[] = {"id", "full_name", "birth_date"};
static const char *const WITHHELD[] = {"religion"};

static lt_audit_record_t full_record(void)
{
    return (lt_audit_record_t){.time_ms = 1764633600123LL,
                               .request_id = "req-1",
                               .message_id = "6f1c9a52-8d1e-4c51-9a57-3b0f1d2e4a10",
                               .client = "portal",
                               .officer = "CB-000123",
                               .purpose = "HS-2025-000042",
                               .procedure = "1.001612",
                               .operation = "population.lookup",
                               .subject = "001090012345",
                               .released = RELEASED,
                               .nreleased = 3,
                               .withheld = WITHHELD,
                               .nwithheld = 1,
                               .status = 200,
                               .cache = "hit"};
}

static json_t *body_json(const lt_audit_record_t *rec)
{
    size_t len;
    char *text = lt_audit_format_body(rec, "gw-1", &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    assert_true(json_is_object(o));
    return o;
}

static void body_has_every_member_in_order(void **state)
{
    lt_audit_record_t rec = full_record();
    json_t *o = body_json(&rec);
    static const char *const order[] = {"time",     "instance", "request_id", "message_id", "client",
                                        "officer",  "purpose",  "procedure",  "operation",  "subject",
                                        "released", "withheld", "status",     "cache",      "code"};
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        assert_true(i < sizeof(order) / sizeof(order[0]));
        assert_string_equal(key, order[i++]);
    }
    assert_int_equal(i, sizeof(order) / sizeof(order[0]));
    assert_string_equal(json_string_value(json_object_get(o, "time")), "2025-12-02T07:00:00.123+07:00");
    assert_string_equal(json_string_value(json_object_get(o, "instance")), "gw-1");
    assert_string_equal(json_string_value(json_object_get(o, "subject")), "001090012345");
    assert_string_equal(json_string_value(json_object_get(o, "cache")), "hit");
    assert_int_equal(json_integer_value(json_object_get(o, "status")), 200);
    assert_true(json_is_null(json_object_get(o, "code")));
    json_t *released = json_object_get(o, "released");
    assert_int_equal(json_array_size(released), 3);
    assert_string_equal(json_string_value(json_array_get(released, 1)), "full_name");
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "withheld"), 0)), "religion");
    json_decref(o);
}

static void body_of_a_refusal(void **state)
{
    lt_audit_record_t rec = {.time_ms = 1, .request_id = "r", .status = 400, .code = "invalid_purpose"};
    json_t *o = body_json(&rec);
    assert_string_equal(json_string_value(json_object_get(o, "client")), "-");
    assert_string_equal(json_string_value(json_object_get(o, "operation")), "-");
    assert_string_equal(json_string_value(json_object_get(o, "cache")), "none");
    assert_string_equal(json_string_value(json_object_get(o, "code")), "invalid_purpose");
    for (const char *const *k = (const char *const[]){"officer", "purpose", "procedure", "subject", "message_id", NULL};
         *k != NULL; k++) {
        assert_non_null(json_object_get(o, *k));
        assert_true(json_is_null(json_object_get(o, *k)));
    }
    assert_int_equal(json_array_size(json_object_get(o, "released")), 0);
    assert_int_equal(json_array_size(json_object_get(o, "withheld")), 0);
    json_decref(o);
}

static void body_keeps_a_record_of_text_that_is_not_utf8(void **state)
{
    lt_audit_record_t rec = full_record();
    rec.subject = "00109\xff"
                  "0012345";
    json_t *o = body_json(&rec);
    assert_true(json_is_null(json_object_get(o, "subject"))); /* recorded as absent, the record kept */
    json_decref(o);
    /* a field name that is not UTF-8 is left out of its list, first, between others or last, and no stray comma
     * is left behind (body_json parses the text) */
    const char *lists[][4] = {{"\xff", "full_name", "ethnicity", "\xc3"},
                              {"full_name", "\xe1\xba", "ethnicity", NULL},
                              {"\xff", "\xfe", NULL, NULL}};
    for (size_t i = 0; i < 3; i++) {
        rec.released = lists[i];
        rec.nreleased = lists[i][3] != NULL ? 4 : lists[i][2] != NULL ? 3 : 2;
        o = body_json(&rec);
        json_t *released = json_object_get(o, "released");
        size_t want = i == 2 ? 0 : 2;
        assert_int_equal(json_array_size(released), want);
        if (want == 2) {
            assert_string_equal(json_string_value(json_array_get(released, 0)), "full_name");
            assert_string_equal(json_string_value(json_array_get(released, 1)), "ethnicity");
        }
        json_decref(o);
    }
}

/* The text itself, byte for byte what jansson writes for the same members (quotes, control characters, text past
 * ASCII, a negative status), so that a trail written before and after stays one format. */
static void body_is_the_text_jansson_writes(void **state)
{
    lt_audit_record_t rec = full_record();
    rec.officer = "CB\"01\\2\t";
    rec.purpose = "Hồ sơ số 42/2025";
    rec.procedure = NULL;
    rec.status = -7;
    rec.code = "x\x01y";
    json_t *released = json_array();
    for (size_t i = 0; i < rec.nreleased; i++)
        json_array_append_new(released, json_string(rec.released[i]));
    json_t *want = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:s, s:s, s:o, s:[s], s:i, s:s, s:s}", "time",
                             "2025-12-02T07:00:00.123+07:00", "instance", "gw-1", "request_id", "req-1", "message_id",
                             rec.message_id, "client", "portal", "officer", rec.officer, "purpose", rec.purpose,
                             "procedure", "operation", "population.lookup", "subject", "001090012345", "released",
                             released, "withheld", "religion", "status", -7, "cache", "hit", "code", rec.code);
    assert_non_null(want);
    char *want_text = json_dumps(want, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t len;
    char *text = lt_audit_format_body(&rec, "gw-1", &len);
    assert_string_equal(text, want_text);
    assert_int_equal(len, strlen(want_text));
    free(text);
    free(want_text);
    json_decref(want);
}

static void sha256_of_a_line(void **state)
{
    char hex[LT_AUDIT_HASH_HEX + 1];
    lt_audit_hash("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void line_is_the_body_after_prev_and_seq(void **state)
{
    const char *body = "{\"time\":\"t\",\"status\":200}";
    char line[512];
    size_t n = lt_audit_format_line(lt_audit_genesis, 7, body, strlen(body), line, lt_audit_line_size(strlen(body)));
    const char *want =
        "{\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"seq\":7,\"time\":\"t\","
        "\"status\":200}\n";
    assert_int_equal(n, strlen(want));
    assert_string_equal(line, want);
    /* An object without members still makes a record of its own. */
    n = lt_audit_format_line(lt_audit_genesis, 1, "{}", 2, line, sizeof(line));
    assert_string_equal(line, "{\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\","
                              "\"seq\":1}\n");
    /* Too small, or not an object: nothing. */
    assert_int_equal(lt_audit_format_line(lt_audit_genesis, 1, body, strlen(body), line, 40), 0);
    assert_int_equal(lt_audit_format_line(lt_audit_genesis, 1, "[1]", 3, line, sizeof(line)), 0);
}

static void a_chain_links_each_line_to_the_one_before(void **state)
{
    char prev[LT_AUDIT_HASH_HEX + 1];
    memcpy(prev, lt_audit_genesis, sizeof(prev));
    char lines[3][1024];
    size_t lens[3];
    for (int i = 0; i < 3; i++) {
        lt_audit_record_t rec = full_record();
        rec.status = 200 + i;
        size_t blen;
        char *body = lt_audit_format_body(&rec, "gw-1", &blen);
        lens[i] = lt_audit_format_line(prev, (uint64_t)i + 1, body, blen, lines[i], sizeof(lines[i]));
        free(body);
        assert_true(lens[i] > 0);
        lt_audit_hash(lines[i], lens[i] - 1, prev); /* without the newline */
    }
    char got[LT_AUDIT_HASH_HEX + 1], expect[LT_AUDIT_HASH_HEX + 1];
    uint64_t seq;
    assert_int_equal(lt_audit_line_chain(lines[0], lens[0] - 1, got, &seq), 0);
    assert_string_equal(got, lt_audit_genesis);
    assert_int_equal(seq, 1);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(lt_audit_line_chain(lines[i], lens[i] - 1, got, &seq), 0);
        lt_audit_hash(lines[i - 1], lens[i - 1] - 1, expect);
        assert_string_equal(got, expect);
        assert_int_equal(seq, (uint64_t)i + 1);
    }
    /* One byte changed in a line changes the hash its successor must carry. */
    lines[1][strlen(lines[1]) - 3] ^= 1;
    lt_audit_hash(lines[1], lens[1] - 1, expect);
    assert_int_equal(lt_audit_line_chain(lines[2], lens[2] - 1, got, &seq), 0);
    assert_string_not_equal(got, expect);
}

static void chain_refuses_what_is_not_a_record(void **state)
{
    char prev[LT_AUDIT_HASH_HEX + 1];
    uint64_t seq;
    static const char *const bad[] = {
        "",
        "not json",
        "[1,2]",
        "{\"seq\":1}",
        "{\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\"}",
        "{\"prev\":\"00\",\"seq\":1}",
        "{\"prev\":\"000000000000000000000000000000000000000000000000000000000000000A\",\"seq\":1}",
        "{\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"seq\":0}",
        "{\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"seq\":\"1\"}",
        "{\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"seq\":1,\"seq\":2}",
        NULL,
    };
    for (const char *const *b = bad; *b != NULL; b++)
        assert_int_equal(lt_audit_line_chain(*b, strlen(*b), prev, &seq), -1);
}

static void subject_tag_is_a_truncated_hmac(void **state)
{
    unsigned char key[LT_AUDIT_KEY_LEN];
    for (int i = 0; i < LT_AUDIT_KEY_LEN; i++)
        key[i] = (unsigned char)i;
    char tag[LT_AUDIT_TAG_HEX + 1];
    lt_audit_subject_tag(key, "001090012345", tag);
    assert_string_equal(tag, "b353f0f89b4f2deaaf58402bf0cc70c5");
    assert_null(strstr(tag, "001090012345"));
}

static void times_in_vietnam_time(void **state)
{
    char out[LT_AUDIT_TIME_LEN];
    lt_audit_format_time(0, out);
    assert_string_equal(out, "1970-01-01T07:00:00.000+07:00");
    lt_audit_format_time(1764633600123LL, out);
    assert_string_equal(out, "2025-12-02T07:00:00.123+07:00");
    int64_t ms;
    assert_int_equal(lt_audit_parse_time("2025-12-02T07:00:00.123+07:00", &ms), 0);
    assert_int_equal(ms, 1764633600123LL);
    assert_int_equal(lt_audit_parse_time("2026-11-22", &ms), 0); /* a date alone: its first moment, +07:00 */
    assert_int_equal(ms, 1795280400000LL);
    assert_int_equal(lt_audit_parse_time("2026-11-22T08:30:15.25-05:30", &ms), 0);
    assert_int_equal(ms, 1795356015250LL);
    assert_int_equal(lt_audit_parse_time("2026-11-22T08:30Z", &ms), 0);
    assert_int_equal(ms, 1795336200000LL);
    static const char *const bad[] = {"",
                                      "2026-13-01",
                                      "2026-02-30",
                                      "2026-11-22T25:00",
                                      "2026-11-22T08:00+7",
                                      "2026-11-22T08:00:00.",
                                      "2026-11-22 08:00",
                                      "2026-11-22T08:00:00+07:00x",
                                      NULL};
    for (const char *const *b = bad; *b != NULL; b++)
        assert_int_equal(lt_audit_parse_time(*b, &ms), -1);
}

static void local_day_and_hour(void **state)
{
    assert_int_equal(lt_audit_local_day(0), 0);
    assert_int_equal(lt_audit_local_hour(0), 7);
    int64_t midnight = 17LL * 3600 * 1000; /* 1970-01-02T00:00+07:00 */
    assert_int_equal(lt_audit_local_day(midnight - 1), 0);
    assert_int_equal(lt_audit_local_day(midnight), 1);
    assert_int_equal(lt_audit_local_hour(midnight), 24);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(body_has_every_member_in_order),
        cmocka_unit_test(body_of_a_refusal),
        cmocka_unit_test(body_keeps_a_record_of_text_that_is_not_utf8),
        cmocka_unit_test(body_is_the_text_jansson_writes),
        cmocka_unit_test(sha256_of_a_line),
        cmocka_unit_test(line_is_the_body_after_prev_and_seq),
        cmocka_unit_test(a_chain_links_each_line_to_the_one_before),
        cmocka_unit_test(chain_refuses_what_is_not_a_record),
        cmocka_unit_test(subject_tag_is_a_truncated_hmac),
        cmocka_unit_test(times_in_vietnam_time),
        cmocka_unit_test(local_day_and_hour),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
