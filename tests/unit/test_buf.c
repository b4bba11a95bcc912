/* The growable byte buffer (gateway/core/lt_buf.c): what every writer of records, pages and answers relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lt_buf.h"

static void an_empty_buffer_grows_on_its_first_write(void **state)
{
    (void)state;
    lt_buf_t b = {0};
    lt_buf_adds(&b, "ab");
    assert_non_null(b.data);
    assert_int_equal(b.len, 2);
    assert_string_equal(b.data, "ab");
    lt_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

static void growing_past_its_capacity_keeps_every_byte_and_the_nul(void **state)
{
    (void)state;
    lt_buf_t b;
    lt_buf_init(&b, 4);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    char want[10001];
    for (int i = 0; i < 10000; i++) {
        char c = (char)('a' + i % 26);
        lt_buf_add(&b, &c, 1);
        want[i] = c;
    }
    want[10000] = '\0';
    assert_int_equal(b.len, 10000);
    assert_true(b.cap > b.len);
    assert_memory_equal(b.data, want, sizeof(want)); /* the NUL included */
    lt_buf_free(&b);
}

static void bytes_with_nuls_inside_are_kept(void **state)
{
    (void)state;
    lt_buf_t b = {0};
    lt_buf_add(&b, "a\0b", 3);
    lt_buf_add(&b, "", 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "a\0b\0", 4);
    lt_buf_free(&b);
}

static void printf_appends_formatted_text(void **state)
{
    (void)state;
    lt_buf_t b = {0};
    lt_buf_adds(&b, "x=");
    lt_buf_printf(&b, "%d %s", 42, "và");
    lt_buf_printf(&b, "%s", ""); /* nothing to add: nothing changes */
    assert_string_equal(b.data, "x=42 và");
    assert_int_equal(b.len, strlen("x=42 và"));
    char big[6000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    lt_buf_printf(&b, "[%s]", big);
    assert_int_equal(b.len, strlen("x=42 và") + sizeof(big) + 1);
    assert_int_equal(b.data[b.len - 1], ']');
    lt_buf_free(&b);
}

static void take_hands_the_bytes_over_and_leaves_it_empty(void **state)
{
    (void)state;
    lt_buf_t b = {0};
    assert_null(lt_buf_take(&b));
    lt_buf_adds(&b, "kept");
    char *mine = lt_buf_take(&b);
    assert_string_equal(mine, "kept");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    lt_buf_adds(&b, "again");
    assert_string_equal(b.data, "again");
    free(mine);
    lt_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_empty_buffer_grows_on_its_first_write),
        cmocka_unit_test(growing_past_its_capacity_keeps_every_byte_and_the_nul),
        cmocka_unit_test(bytes_with_nuls_inside_are_kept),
        cmocka_unit_test(printf_appends_formatted_text),
        cmocka_unit_test(take_hands_the_bytes_over_and_leaves_it_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
