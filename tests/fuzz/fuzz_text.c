/*
 * The text helpers every adapter runs names and addresses through (lt_text,
 * lt_xml_is_valid_text, lt_vnp_fold_ascii), on the input as a C string.
 *
 * Checked besides the sanitizers:
 *   - NFC is only given for valid UTF-8, is valid UTF-8, and is idempotent;
 *   - trim and squeeze leave no ASCII whitespace at either end, squeeze no
 *     run of it inside, and neither changes anything else;
 *   - truncation keeps at most max bytes, a prefix, valid UTF-8 from valid;
 *   - text valid for XML is valid UTF-8;
 *   - vnp_OrderInfo folding gives at most max bytes of [A-Za-z0-9 ._-].
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lt_arena.h"
#include "lt_text.h"
#include "lt_vnpay.h"
#include "lt_xml.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static void check_nfc(lt_arena_t *a, const char *s)
{
    bool valid = lt_text_is_utf8(s);
    const char *nfc = lt_text_nfc(a, s);
    FUZZ_CHECK((nfc != NULL) == valid, "lt_text_nfc: %s for %s UTF-8", nfc ? "a result" : "no result",
               valid ? "valid" : "invalid");
    if (nfc == NULL)
        return;
    FUZZ_CHECK(lt_text_is_utf8(nfc), "lt_text_nfc gave invalid UTF-8");
    const char *again = lt_text_nfc(a, nfc);
    FUZZ_CHECK(again != NULL && strcmp(again, nfc) == 0, "lt_text_nfc is not idempotent");
}

static void check_trim(lt_arena_t *a, const char *s)
{
    const char *t = lt_text_trim(a, s);
    size_t n = strlen(t);
    FUZZ_CHECK(n == 0 || (!is_space(t[0]) && !is_space(t[n - 1])), "lt_text_trim left whitespace at an end");
    FUZZ_CHECK(strstr(s, t) != NULL, "lt_text_trim changed more than the ends");
    const char *q = lt_text_squeeze(a, s);
    n = strlen(q);
    FUZZ_CHECK(n == 0 || (!is_space(q[0]) && !is_space(q[n - 1])), "lt_text_squeeze left whitespace at an end");
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(!is_space(q[i]) || (q[i] == ' ' && !is_space(q[i + 1])), "lt_text_squeeze left a run of spaces");
    /* Same text once whitespace is ignored. */
    const char *p = s;
    for (const char *r = q; *r; r++) {
        if (*r == ' ')
            continue;
        while (is_space(*p))
            p++;
        FUZZ_CHECK(*p == *r, "lt_text_squeeze changed a character");
        p++;
    }
    while (is_space(*p))
        p++;
    FUZZ_CHECK(*p == '\0', "lt_text_squeeze dropped a character");
}

static void check_truncate(lt_arena_t *a, const char *s, size_t max)
{
    const char *t = lt_text_truncate_utf8(a, s, max);
    size_t n = strlen(t);
    FUZZ_CHECK(n <= max && strncmp(s, t, n) == 0, "lt_text_truncate_utf8 gave more than max or not a prefix");
    if (lt_text_is_utf8(s))
        FUZZ_CHECK(lt_text_is_utf8(t), "lt_text_truncate_utf8 cut a UTF-8 sequence");
}

static void check_fold(const char *s, size_t max)
{
    char out[300];
    size_t n = lt_vnp_fold_ascii(s, out, max);
    FUZZ_CHECK(n <= max && strlen(out) == n, "lt_vnp_fold_ascii: length %zu for max %zu", n, max);
    FUZZ_CHECK(strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .-_") == n,
               "lt_vnp_fold_ascii kept a character vnp_OrderInfo cannot hold");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strndup(data, size);
    lt_arena_t *a = lt_arena_new();
    check_nfc(a, s);
    check_trim(a, s);
    check_truncate(a, s, size % 64);
    if (lt_xml_is_valid_text(s))
        FUZZ_CHECK(lt_text_is_utf8(s), "lt_xml_is_valid_text accepted invalid UTF-8");
    check_fold(s, 255);
    check_fold(s, size % 32);
    lt_arena_destroy(a);
    free(s);
    return 0;
}
