/* Text helpers (gateway/core/lt_text.c): NFC, trimming, joining. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lt_text.h"

#define NFD_NGUYEN "Nguye\xCC\x82\xCC\x83n" /* e + U+0302 + U+0303 */
#define NFC_NGUYEN "Nguy\xE1\xBB\x85n"      /* U+1EC5 */

static int setup(void **state)
{
    *state = lt_arena_new();
    return 0;
}

static int teardown(void **state)
{
    lt_arena_destroy(*state);
    return 0;
}

static void nfc_composes(void **state)
{
    lt_arena_t *a = *state;
    assert_string_equal(lt_text_nfc(a, NFD_NGUYEN), NFC_NGUYEN);
    assert_string_equal(lt_text_nfc(a, NFC_NGUYEN), NFC_NGUYEN);
    /* "Văn" with a + U+0306 (breve). */
    assert_string_equal(lt_text_nfc(a, "Va\xCC\x86n"), "V\xC4\x83n");
    assert_string_equal(lt_text_nfc(a, ""), "");
    assert_string_equal(lt_text_nfc(a, "ASCII only"), "ASCII only");
    assert_null(lt_text_nfc(a, NULL));
}

static void nfc_refuses_invalid_utf8(void **state)
{
    lt_arena_t *a = *state;
    assert_null(lt_text_nfc(a, "\xC3\x28"));         /* truncated sequence */
    assert_null(lt_text_nfc(a, "\xC0\xAF"));         /* overlong '/' */
    assert_null(lt_text_nfc(a, "\xED\xA0\x80"));     /* surrogate U+D800 */
    assert_null(lt_text_nfc(a, "\xF4\x90\x80\x80")); /* above U+10FFFF */
    assert_null(lt_text_nfc(a, "Nguy\xE1\xBB"));     /* cut mid-character */
    assert_false(lt_text_is_utf8("\xC0\xAF"));
    assert_false(lt_text_is_utf8("\xED\xA0\x80"));
    assert_true(lt_text_is_utf8(NFC_NGUYEN));
    assert_true(lt_text_is_utf8(""));
}

static void trim_and_squeeze(void **state)
{
    lt_arena_t *a = *state;
    assert_string_equal(lt_text_trim(a, "  \t\r\n An \n"), "An");
    assert_string_equal(lt_text_trim(a, "   "), "");
    assert_string_equal(lt_text_trim(a, "a  b"), "a  b");
    assert_null(lt_text_trim(a, NULL));
    assert_string_equal(lt_text_squeeze(a, "  Nguy\xE1\xBB\x85n \t V\xC4\x83n\n\nAn  "), NFC_NGUYEN " V\xC4\x83n An");
    assert_string_equal(lt_text_squeeze(a, " \n "), "");
}

static void join_skips_empty(void **state)
{
    lt_arena_t *a = *state;
    const char *parts[] = {"Nguyễn", "", NULL, "An"};
    assert_string_equal(lt_text_join(a, parts, 4, " "), "Nguyễn An");
    const char *none[] = {NULL, ""};
    assert_string_equal(lt_text_join(a, none, 2, " "), "");
    const char *three[] = {"a", "b", "c"};
    assert_string_equal(lt_text_join(a, three, 3, ", "), "a, b, c");
}

static void truncate_keeps_characters_whole(void **state)
{
    lt_arena_t *a = *state;
    /* "Nguyễn": N g u y = 4 bytes, then the 3-byte U+1EC5. */
    assert_string_equal(lt_text_truncate_utf8(a, NFC_NGUYEN, 5), "Nguy");
    assert_string_equal(lt_text_truncate_utf8(a, NFC_NGUYEN, 6), "Nguy");
    assert_string_equal(lt_text_truncate_utf8(a, NFC_NGUYEN, 7), "Nguy\xE1\xBB\x85");
    assert_string_equal(lt_text_truncate_utf8(a, NFC_NGUYEN, 100), NFC_NGUYEN);
}

static void tokens_and_header_text(void **state)
{
    assert_true(lt_text_is_token("req-1.a_b:c", 128, "._:-"));
    assert_false(lt_text_is_token("", 128, "._:-"));
    assert_false(lt_text_is_token("has space", 128, "._:-"));
    assert_false(lt_text_is_token("abcd", 3, ""));
    assert_true(lt_text_is_header_text("Xác minh hồ sơ 123", 256));
    assert_false(lt_text_is_header_text("tab\tinside", 256));
    assert_false(lt_text_is_header_text("del\x7f", 256));
    assert_false(lt_text_is_header_text("   ", 256));
    assert_false(lt_text_is_header_text("", 256));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(nfc_composes, setup, teardown),
        cmocka_unit_test_setup_teardown(nfc_refuses_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(trim_and_squeeze, setup, teardown),
        cmocka_unit_test_setup_teardown(join_skips_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(truncate_keeps_characters_whole, setup, teardown),
        cmocka_unit_test(tokens_and_header_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
