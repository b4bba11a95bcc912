/* Text helpers (gateway/core/lt_text.c): NFC, trimming, joining. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

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

/* utf8proc's NFC of the code points cps, as UTF-8, and the same code points as they are: equal when NFC keeps them. */
static bool nfc_keeps(const utf8proc_int32_t *cps, int n)
{
    utf8proc_uint8_t in[16];
    utf8proc_ssize_t len = 0;
    for (int i = 0; i < n; i++)
        len += utf8proc_encode_char(cps[i], in + len);
    in[len] = '\0';
    utf8proc_uint8_t *out = NULL;
    utf8proc_ssize_t m = utf8proc_map(in, len, &out, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    bool same = m == len && memcmp(in, out, (size_t)len) == 0;
    free(out);
    return same;
}

/*
 * lt_text_nfc copies text made only of "inert" characters without asking utf8proc. That is right only if NFC
 * keeps each of them, and every pair of them (composition looks at a starter and what follows it), as it is.
 * Checked here against utf8proc itself, for every character lt_text_nfc_inert accepts and every ordered pair.
 */
static void nfc_inert_characters_are_what_utf8proc_keeps(void **state)
{
    (void)state;
    static utf8proc_int32_t inert[4096];
    int n = 0;
    for (utf8proc_int32_t cp = 1; cp <= 0x10FFFF; cp++) {
        if (!lt_text_nfc_inert(cp))
            continue;
        assert_true(utf8proc_codepoint_valid(cp));
        assert_true(n < (int)(sizeof(inert) / sizeof(inert[0])));
        assert_true(nfc_keeps(&cp, 1));
        inert[n++] = cp;
    }
    assert_int_equal(n, 0x24F + 0x100); /* U+0001-U+024F and U+1E00-U+1EFF */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            utf8proc_int32_t pair[2] = {inert[i], inert[j]};
            if (!nfc_keeps(pair, 2))
                fail_msg("NFC changes U+%04X U+%04X", (unsigned)pair[0], (unsigned)pair[1]);
        }
}

/* Text with a character outside the inert ranges still goes through utf8proc: a combining mark after them. */
static void nfc_composes_marks_after_inert_letters(void **state)
{
    lt_arena_t *a = *state;
    /* "Đặng" typed with a combining dot below and breve after a: U+0110 a U+0323 U+0306 n g */
    assert_string_equal(lt_text_nfc(a, "\xC4\x90"
                                       "a\xCC\xA3\xCC\x86ng"),
                        "\xC4\x90\xE1\xBA\xB7ng");
    /* Precomposed Vietnamese comes back byte for byte. */
    assert_string_equal(lt_text_nfc(a, "Tr\xE1\xBA\xA7n Th\xE1\xBB\x8B \xC4\x90\xC6\xB0\xE1\xBB\x9Dng"),
                        "Tr\xE1\xBA\xA7n Th\xE1\xBB\x8B \xC4\x90\xC6\xB0\xE1\xBB\x9Dng");
    /* U+212B ANGSTROM SIGN is outside the ranges and NFC maps it to U+00C5. */
    assert_string_equal(lt_text_nfc(a, "\xE2\x84\xAB"), "\xC3\x85");
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
        cmocka_unit_test(nfc_inert_characters_are_what_utf8proc_keeps),
        cmocka_unit_test_setup_teardown(nfc_composes_marks_after_inert_letters, setup, teardown),
        cmocka_unit_test_setup_teardown(trim_and_squeeze, setup, teardown),
        cmocka_unit_test_setup_teardown(join_skips_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(truncate_keeps_characters_whole, setup, teardown),
        cmocka_unit_test(tokens_and_header_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
