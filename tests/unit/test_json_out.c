/* JSON text written without a jansson tree (gateway/core/lt_json_out.c): the same bytes jansson's json_dumps writes,
 * which is what the expectations here are made with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_json_out.h"

static void assert_flat_as_jansson(json_t *obj)
{
    char *want = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    lt_buf_t o;
    lt_buf_init(&o, 4);
    assert_int_equal(lt_json_out_flat_sorted(&o, obj), 0);
    assert_string_equal(o.data, want);
    assert_int_equal(o.len, strlen(want));
    free(o.data);
    free(want);
    json_decref(obj);
}

static void flat_objects_of_strings_are_jansson_sorted_text(void **state)
{
    assert_flat_as_jansson(json_pack("{s:s}", "tax_code", "0100109106"));
    assert_flat_as_jansson(
        json_pack("{s:s, s:s, s:s}", "id", "001095012345", "full_name", "Nguyễn Văn An", "birth_date", "1995-03-02"));
    assert_flat_as_jansson(
        json_pack("{s:s, s:s, s:s, s:s}", "b", "x\"y\\z", "a", "tab\there", "ab", "\x01\x1f", "B", "/slash/"));
    assert_flat_as_jansson(json_object());
}

static void anything_else_is_left_to_jansson(void **state)
{
    lt_buf_t o;
    lt_buf_init(&o, 4);
    json_t *nested = json_pack("{s:s, s:{s:s}}", "a", "1", "b", "c", "d");
    json_t *number = json_pack("{s:i}", "a", 1);
    json_t *array = json_pack("[s]", "a");
    json_t *nul = json_object();
    json_object_set_new(nul, "a", json_stringn("x\0y", 3));
    assert_int_equal(lt_json_out_flat_sorted(&o, nested), -1);
    assert_int_equal(lt_json_out_flat_sorted(&o, number), -1);
    assert_int_equal(lt_json_out_flat_sorted(&o, array), -1);
    assert_int_equal(lt_json_out_flat_sorted(&o, nul), -1);
    assert_int_equal(o.len, 0);
    json_t *many = json_object();
    char key[8];
    for (int i = 0; i <= LT_JSON_OUT_FLAT_MAX; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        json_object_set_new(many, key, json_string("v"));
    }
    assert_int_equal(lt_json_out_flat_sorted(&o, many), -1);
    json_decref(nested);
    json_decref(number);
    json_decref(array);
    json_decref(nul);
    json_decref(many);
    free(o.data);
}

static void strings_and_integers_as_jansson_writes_them(void **state)
{
    const char *texts[] = {"plain", "qu\"ote", "back\\slash", "nl\nx", "\x7f", "Hà Nội", ""};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        json_t *j = json_string(texts[i]);
        char *want = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
        lt_buf_t o;
        lt_buf_init(&o, 1);
        assert_int_equal(lt_json_out_string(&o, texts[i]), 0);
        assert_string_equal(o.data, want);
        free(o.data);
        free(want);
        json_decref(j);
    }
    lt_buf_t o;
    lt_buf_init(&o, 1);
    assert_int_equal(lt_json_out_string(&o, "bad \xff utf-8"), -1);
    lt_json_out_string_or_null(&o, "bad \xff");
    lt_buf_add(&o, ",", 1);
    lt_json_out_int(&o, 0);
    lt_buf_add(&o, ",", 1);
    lt_json_out_int(&o, -9223372036854775807LL - 1);
    lt_buf_add(&o, ",", 1);
    lt_json_out_int(&o, 503);
    assert_string_equal(o.data, "null,0,-9223372036854775808,503");
    free(o.data);
}

static void assert_value_as_jansson(json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    lt_buf_t o;
    lt_buf_init(&o, 1);
    assert_int_equal(lt_json_out_value(&o, v), 0);
    assert_string_equal(o.data, want);
    assert_int_equal(o.len, strlen(want));
    free(o.data);
    free(want);
    json_decref(v);
}

static void any_value_as_jansson_writes_it(void **state)
{
    /* a record as an adapter builds it: members in their order, nested codes, lists, numbers, null */
    assert_value_as_jansson(json_pack("{s:s, s:s, s:{s:s, s:s}, s:[s, s], s:i, s:I, s:f, s:b, s:b, s:n, s:{}, s:[]}",
                                      "tax_code", "0100109106", "name", "Công ty TNHH Thương mại Đông Á", "status",
                                      "code", "active", "source_code", "00", "phones", "024 3825 1234", "0912 345 678",
                                      "employees", 42, "capital", (json_int_t)-9000000000000LL, "area", 152.5, "listed",
                                      1, "closed", 0, "closed_on", "empty", "none"));
    /* strings jansson escapes, keys that need it, and a NUL inside a string */
    json_t *odd = json_object();
    json_object_set_new(odd, "q\"k", json_string("a\"b\\c\n\t\x01\x1f\x7f/é"));
    json_object_set_new(odd, "Hà Nội", json_string("Nguyễn"));
    json_object_set_new(odd, "nul", json_stringn("x\0y", 3));
    json_object_set_new(odd, "reals", json_pack("[f, f, f]", 0.1, 1e300, -2.0));
    assert_value_as_jansson(odd);
    assert_value_as_jansson(json_string("alone"));
    assert_value_as_jansson(json_integer(0));
    assert_value_as_jansson(json_pack("[[[]],{s:[{}]}]", "x"));
}

/* What json_dumps refuses is refused: a string that is not UTF-8 (only a _nocheck call makes one). So is nesting
 * past the depth bound, which no record reaches. */
static void values_jansson_cannot_write_are_refused(void **state)
{
    (void)state;
    lt_buf_t o;
    lt_buf_init(&o, 1);
    json_t *bad = json_pack("{s:o}", "name", json_string_nocheck("Nguy\xE1\xBB"));
    assert_null(json_dumps(bad, JSON_COMPACT));
    assert_int_equal(lt_json_out_value(&o, bad), -1);
    json_decref(bad);
    json_t *deep = json_array(), *inner = deep;
    for (int i = 0; i < LT_JSON_OUT_DEPTH_MAX + 1; i++) {
        json_t *next = json_array();
        json_array_append_new(inner, next);
        inner = next;
    }
    o.len = 0;
    assert_int_equal(lt_json_out_value(&o, deep), -1);
    json_decref(deep);
    free(o.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flat_objects_of_strings_are_jansson_sorted_text),
        cmocka_unit_test(anything_else_is_left_to_jansson),
        cmocka_unit_test(strings_and_integers_as_jansson_writes_them),
        cmocka_unit_test(any_value_as_jansson_writes_it),
        cmocka_unit_test(values_jansson_cannot_write_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
