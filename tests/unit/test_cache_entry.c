/* A lookup's answer from its record: a miss serialises the record once, every waiter's answer (and a hit's) is built
 * from that text with its own "source", byte for byte what jansson writes for the record with source added. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lt_cache_crypto.h"
#include "lt_cache_entry.h"

static const unsigned char NAME[LT_CACHE_KEY_LEN] = {7, 7, 7};

static json_t *a_record(void)
{
    return json_pack("{s:s, s:s, s:s, s:{s:s, s:i}, s:[s, s], s:b, s:n, s:f}", "id", "001095012345", "full_name",
                     "Nguyễn Văn An", "birth_date", "1995", "permanent_address", "province", "Hà Nội", "ward_code", 267,
                     "nationalities", "VN", "\"quoted\"", "alive", 1, "death_date", "ratio", 0.25);
}

static json_t *a_source(const char *request_id, const char *cache)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "system", "population", "request_id", request_id, "fetched_at",
                     "2026-11-22T21:48:12+07:00", "cache", cache);
}

/* What the answer must be: the record with "source" set, as jansson writes it. */
static char *expected_answer(const json_t *record, json_t *source)
{
    json_t *whole = json_deep_copy(record);
    json_object_set(whole, "source", source);
    char *text = json_dumps(whole, JSON_COMPACT);
    json_decref(whole);
    return text;
}

static void assert_answer(const lt_cache_entry_t *e, const json_t *record, const char *request_id, const char *cache)
{
    json_t *source = a_source(request_id, cache);
    size_t len = 0;
    char *got = lt_cache_entry_answer(e, source, &len);
    char *want = expected_answer(record, source);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    json_t *back = json_loads(got, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(back);
    assert_true(json_equal(json_object_get(back, "source"), source));
    json_decref(back);
    free(got);
    free(want);
    json_decref(source);
}

static void a_miss_serialises_its_record_once(void **state)
{
    json_t *record = a_record();
    uint64_t before = lt_cache_entry_records_encoded();
    lt_cache_entry_t e;
    assert_int_equal(lt_cache_entry_from_record(&e, record, 1700000000000), 0);
    assert_int_equal(lt_cache_entry_records_encoded(), before + 1);
    assert_int_equal(e.kind, LT_CACHE_FOUND);
    assert_int_equal(e.fetched_ms, 1700000000000);
    /* Three waiters of one flight, each with its own request id. */
    assert_answer(&e, record, "req-1", "miss");
    assert_answer(&e, record, "req-2", "miss");
    assert_answer(&e, record, "req-3", "bypass");
    assert_int_equal(lt_cache_entry_records_encoded(), before + 1);
    lt_cache_entry_clear(&e);
    json_decref(record);
}

static void a_hit_answers_from_the_stored_text_without_encoding(void **state)
{
    lt_cache_keys_t keys;
    lt_cache_crypto_keys_random(&keys);
    json_t *record = a_record();
    lt_cache_entry_t e, opened;
    assert_int_equal(lt_cache_entry_from_record(&e, record, 1000), 0);
    e.fresh_until_ms = 2000;
    e.stale_until_ms = 3000;
    unsigned char *sealed;
    size_t sealed_len;
    assert_int_equal(lt_cache_entry_seal(&keys, NAME, &e, &sealed, &sealed_len), 0);
    uint64_t before = lt_cache_entry_records_encoded();
    lt_error_t err;
    assert_int_equal(lt_cache_entry_open(&keys, NAME, sealed, sealed_len, &opened, &err), 0);
    assert_answer(&opened, record, "req-hit", "hit");
    assert_int_equal(lt_cache_entry_records_encoded(), before);
    free(sealed);
    lt_cache_entry_clear(&e);
    lt_cache_entry_clear(&opened);
    lt_cache_crypto_keys_wipe(&keys);
    json_decref(record);
}

static void an_empty_record_gets_only_its_source(void **state)
{
    json_t *record = json_object();
    lt_cache_entry_t e;
    assert_int_equal(lt_cache_entry_from_record(&e, record, 0), 0);
    assert_answer(&e, record, "req-empty", "miss");
    lt_cache_entry_clear(&e);
    json_decref(record);
}

static void only_an_object_is_a_record(void **state)
{
    lt_cache_entry_t e;
    json_t *array = json_pack("[i]", 1);
    assert_int_equal(lt_cache_entry_from_record(&e, array, 0), -1);
    assert_null(e.body);
    assert_int_equal(lt_cache_entry_from_record(&e, NULL, 0), -1);
    json_decref(array);
}

static void a_body_that_is_no_object_is_not_answered(void **state)
{
    json_t *source = a_source("req-bad", "hit");
    size_t len;
    char array[] = "[1,2]", empty[] = "", brace[] = "{";
    lt_cache_entry_t e = {.kind = LT_CACHE_FOUND, .body = array, .body_len = strlen(array)};
    assert_null(lt_cache_entry_answer(&e, source, &len));
    e.body = empty;
    e.body_len = 0;
    assert_null(lt_cache_entry_answer(&e, source, &len));
    e.body = brace;
    e.body_len = 1;
    assert_null(lt_cache_entry_answer(&e, source, &len));
    char record[] = "{\"a\":1}";
    e = (lt_cache_entry_t){.kind = LT_CACHE_NOT_FOUND, .body = record, .body_len = strlen(record)};
    assert_null(lt_cache_entry_answer(&e, source, &len));
    json_decref(source);
}

static void a_not_found_answers_the_same_404_again(void **state)
{
    lt_cache_keys_t keys;
    lt_cache_crypto_keys_random(&keys);
    lt_error_t upstream, again;
    lt_error_set(&upstream, LT_ERR_NOT_FOUND, "DC-404", "không tìm thấy công dân");
    lt_cache_entry_t e, opened;
    assert_int_equal(lt_cache_entry_from_not_found(&e, &upstream, 5000), 0);
    e.fresh_until_ms = e.stale_until_ms = 6000;
    unsigned char *sealed;
    size_t sealed_len;
    assert_int_equal(lt_cache_entry_seal(&keys, NAME, &e, &sealed, &sealed_len), 0);
    assert_int_equal(lt_cache_entry_open(&keys, NAME, sealed, sealed_len, &opened, &again), 0);
    assert_int_equal(opened.kind, LT_CACHE_NOT_FOUND);
    assert_int_equal(lt_cache_entry_not_found_error(&opened, &again), 0);
    assert_int_equal(again.kind, LT_ERR_NOT_FOUND);
    assert_string_equal(again.code, "DC-404");
    assert_string_equal(again.detail, "không tìm thấy công dân");
    /* A body that is not the problem it should be is our own fault, not a 404. */
    char junk[] = "not json";
    lt_cache_entry_t bad = {.kind = LT_CACHE_NOT_FOUND, .body = junk, .body_len = strlen(junk)};
    assert_int_equal(lt_cache_entry_not_found_error(&bad, &again), -1);
    assert_int_equal(again.kind, LT_ERR_INTERNAL);
    free(sealed);
    lt_cache_entry_clear(&e);
    lt_cache_entry_clear(&opened);
    lt_cache_crypto_keys_wipe(&keys);
}

/* What a projected answer must be: jansson's text of the record without the withheld fields, with source (and its
 * "withheld" list when any was withheld). */
static char *expected_projection(const json_t *record, const char *const *withheld, size_t nwithheld, json_t *source)
{
    json_t *whole = json_deep_copy(record), *src = json_deep_copy(source), *names = json_array();
    for (size_t i = 0; i < nwithheld; i++) {
        json_object_del(whole, withheld[i]);
        json_array_append_new(names, json_string(withheld[i]));
    }
    if (nwithheld > 0)
        json_object_set_new(src, "withheld", names);
    else
        json_decref(names);
    json_object_set_new(whole, "source", src);
    char *text = json_dumps(whole, JSON_COMPACT);
    json_decref(whole);
    return text;
}

static void assert_members_answer(const lt_cache_entry_t *e, const json_t *record, const char *const *withheld,
                                  size_t nwithheld, const char *system)
{
    lt_cache_member_t members[32];
    int n = lt_cache_entry_members(e, members, 32);
    assert_int_equal(n, (int)json_object_size(record));
    const lt_cache_member_t *kept[32], *left[32];
    size_t nkept = 0, nleft = 0;
    for (int i = 0; i < n; i++) {
        bool out = false;
        for (size_t j = 0; j < nwithheld; j++)
            out |= strlen(withheld[j]) == members[i].key_len &&
                   memcmp(withheld[j], members[i].key, members[i].key_len) == 0;
        if (out)
            left[nleft++] = &members[i];
        else
            kept[nkept++] = &members[i];
    }
    assert_int_equal(nleft, nwithheld);
    json_t *source = json_pack("{s:s, s:s, s:s, s:s}", "system", system, "request_id", "req-7", "fetched_at",
                               "2026-11-22T21:48:12+07:00", "cache", "hit");
    lt_cache_answer_source_t src = {.system = system,
                                    .request_id = "req-7",
                                    .fetched_at = "2026-11-22T21:48:12+07:00",
                                    .cache = "hit",
                                    .withheld = left,
                                    .nwithheld = nleft};
    size_t len = 0;
    char *got = lt_cache_entry_answer_members(kept, nkept, &src, &len);
    char *want = expected_projection(record, withheld, nwithheld, source);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    free(got);
    free(want);
    json_decref(source);
}

static void a_hit_projects_the_stored_members_as_jansson_would(void **state)
{
    json_t *record = a_record();
    lt_cache_entry_t e;
    assert_int_equal(lt_cache_entry_from_record(&e, record, 0), 0);
    const char *const none[] = {NULL}, *const some[] = {"full_name", "ratio"}, *const first[] = {"id"};
    assert_members_answer(&e, record, none, 0, "population");
    assert_members_answer(&e, record, some, 2, "population");
    assert_members_answer(&e, record, first, 1, "population");
    /* A system name jansson escapes, and one past ASCII. */
    assert_members_answer(&e, record, some, 2, "pop\"ul\tation");
    assert_members_answer(&e, record, some, 2, "dân cư");
    lt_cache_entry_clear(&e);
    json_decref(record);
}

static void a_key_with_an_escape_is_marked_and_other_text_is_refused(void **state)
{
    json_t *record = json_pack("{s:i, s:s}", "a\"b", 1, "c", "x}y,\"z");
    lt_cache_entry_t e;
    assert_int_equal(lt_cache_entry_from_record(&e, record, 0), 0);
    lt_cache_member_t members[4];
    assert_int_equal(lt_cache_entry_members(&e, members, 4), 2);
    assert_false(members[0].key_plain);
    assert_true(members[1].key_plain);
    assert_int_equal(lt_cache_entry_members(&e, members, 1), -1); /* more members than room */
    lt_cache_entry_clear(&e);
    json_decref(record);
    char spaced[] = "{\"a\": 1}", array[] = "[1]", open[] = "{\"a\":1";
    lt_cache_entry_t odd = {.kind = LT_CACHE_FOUND, .body = spaced, .body_len = strlen(spaced)};
    assert_int_equal(lt_cache_entry_members(&odd, members, 4), -1);
    odd.body = array;
    odd.body_len = strlen(array);
    assert_int_equal(lt_cache_entry_members(&odd, members, 4), -1);
    odd.body = open;
    odd.body_len = strlen(open);
    assert_int_equal(lt_cache_entry_members(&odd, members, 4), -1);
}

/* The plain text's head: its kind and three times, exactly; anything else is a malformed value. */
static void the_head_is_read_exactly(void **state)
{
    lt_cache_entry_t e;
    const char good[] = "F -5 20 3000000000000\n{}";
    assert_int_equal(lt_cache_entry_decode(good, strlen(good), &e), 0);
    assert_int_equal(e.kind, LT_CACHE_FOUND);
    assert_int_equal(e.fetched_ms, -5);
    assert_int_equal(e.fresh_until_ms, 20);
    assert_int_equal(e.stale_until_ms, 3000000000000LL);
    assert_string_equal(e.body, "{}");
    lt_cache_entry_clear(&e);
    const char *bad[] = {"F 1 2\n{}",   "F 1 2 3 4\n{}", "F 1 x 3\n{}", "F 1 2 \n3{}",
                         "Q 1 2 3\n{}", "F1 2 3\n{}",    "\n{}",        "F 1 2 99999999999999999999\n{}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(lt_cache_entry_decode(bad[i], strlen(bad[i]), &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_miss_serialises_its_record_once),
        cmocka_unit_test(a_hit_answers_from_the_stored_text_without_encoding),
        cmocka_unit_test(an_empty_record_gets_only_its_source),
        cmocka_unit_test(only_an_object_is_a_record),
        cmocka_unit_test(a_body_that_is_no_object_is_not_answered),
        cmocka_unit_test(a_not_found_answers_the_same_404_again),
        cmocka_unit_test(a_hit_projects_the_stored_members_as_jansson_would),
        cmocka_unit_test(a_key_with_an_escape_is_marked_and_other_text_is_refused),
        cmocka_unit_test(the_head_is_read_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
