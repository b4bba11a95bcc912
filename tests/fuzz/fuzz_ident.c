/*
 * The identifier and date codecs of the ground floor (lt_ident, lt_date,
 * lt_log_mask), each run on the whole input as a C string (up to its first NUL).
 *
 * Checked besides the sanitizers, as properties that hold between the
 * functions rather than a second copy of their rules:
 *   - a personal number accepted without a year encodes a year it is then
 *     accepted with, and one accepted with a year encodes that year;
 *   - an accepted tax code, insurance number or UUID has the documented shape;
 *   - an accepted birth date or upstream date is copied or converted to a
 *     real calendar date, in the shape its header promises;
 *   - a refusal passes fuzz_check_error() (in particular, never quotes the
 *     identifier back);
 *   - lt_log_mask keeps at most the first 3 and last 2 bytes of a value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lt_date.h"
#include "lt_ident.h"
#include "lt_log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    return 0;
}

static bool all_digits(const char *s, size_t n)
{
    return strspn(s, "0123456789") >= n;
}

static void check_personal_id(const char *s)
{
    lt_error_t err = {0};
    if (lt_ident_check_personal_id(s, -1, &err) != 0) {
        fuzz_check_error(&err, 9, "lt_ident_check_personal_id");
        return;
    }
    FUZZ_CHECK(strlen(s) == 12 && all_digits(s, 12), "personal id accepted without being 12 digits");
    int year = lt_ident_personal_id_year(s);
    FUZZ_CHECK(year >= 1900 && year <= 2099, "personal id accepted, its year is %d", year);
    FUZZ_CHECK(lt_ident_check_personal_id(s, year, &err) == 0, "personal id refused with its own year %d: %s", year,
               err.detail);
    /* Any other year is refused, and the refusal does not quote the number. */
    int other = year == 1995 ? 1996 : 1995;
    FUZZ_CHECK(lt_ident_check_personal_id(s, other, &err) != 0, "personal id of %d accepted for %d", year, other);
    fuzz_check_error(&err, 9, "lt_ident_check_personal_id with a year");
}

static void check_tax_code(const char *s)
{
    lt_error_t err = {0};
    if (lt_ident_check_tax_code(s, &err) != 0) {
        fuzz_check_error(&err, 9, "lt_ident_check_tax_code");
        return;
    }
    size_t n = strlen(s);
    FUZZ_CHECK((n == 10 && all_digits(s, 10)) || (n == 14 && all_digits(s, 10) && s[10] == '-' &&
                                                  all_digits(s + 11, 3) && strcmp(s + 11, "000") != 0),
               "tax code accepted in a shape the ICD does not have");
}

static void check_insurance_number(const char *s)
{
    lt_error_t err = {0};
    if (lt_ident_check_insurance_number(s, &err) != 0) {
        fuzz_check_error(&err, 9, "lt_ident_check_insurance_number");
        return;
    }
    size_t n = strlen(s);
    FUZZ_CHECK((n == 10 && all_digits(s, 10)) || (n == 12 && lt_ident_check_personal_id(s, -1, &err) == 0),
               "insurance number accepted in a shape the ICD does not have");
}

static void check_uuid(const char *s)
{
    if (!lt_ident_is_uuid(s))
        return;
    FUZZ_CHECK(strlen(s) == 36 && strspn(s, "0123456789abcdefABCDEF-") == 36 && s[8] == '-' && s[13] == '-' &&
                   s[18] == '-' && s[23] == '-',
               "UUID accepted in another shape");
}

static void check_birth_date(const char *s)
{
    char iso[11];
    int year = -1;
    lt_error_t err = {0};
    memset(iso, 'x', sizeof(iso));
    if (lt_date_parse_request(s, iso, &year, &err) != 0) {
        FUZZ_CHECK(err.kind == LT_ERR_BAD_REQUEST, "birth date refused with kind %d", (int)err.kind);
        fuzz_check_error(&err, 9, "lt_date_parse_request");
        return;
    }
    FUZZ_CHECK(strcmp(iso, s) == 0, "birth date accepted but not copied as given");
    FUZZ_CHECK(year >= 1900 && atoi(s) == year, "birth date accepted with year %d", year);
    if (strlen(s) == 10)
        FUZZ_CHECK(lt_date_is_valid(year, atoi(s + 5), atoi(s + 8)), "birth date accepted that is not a real date");
}

/* out is "yyyy" or "yyyy-MM-dd" naming a real date. */
static void check_iso(const char *out, const char *where)
{
    size_t n = strnlen(out, 11);
    FUZZ_CHECK(n == 4 || n == 10, "%s: gave %zu bytes", where, n);
    FUZZ_CHECK(all_digits(out, 4) && atoi(out) >= 1, "%s: gave a year that is not one", where);
    if (n == 10)
        FUZZ_CHECK(out[4] == '-' && out[7] == '-' && all_digits(out + 5, 2) && all_digits(out + 8, 2) &&
                       lt_date_is_valid(atoi(out), atoi(out + 5), atoi(out + 8)),
                   "%s: gave %s, not a real yyyy-MM-dd", where, out);
}

static void check_upstream_dates(const char *s)
{
    char out[11];
    lt_error_t err = {0};
    if (lt_date_compact_to_iso(s, out, &err) == 0) {
        check_iso(out, "lt_date_compact_to_iso");
        FUZZ_CHECK(strncmp(out, s, 4) == 0, "lt_date_compact_to_iso changed the year");
    } else {
        FUZZ_CHECK(err.kind == LT_ERR_UPSTREAM_BAD, "lt_date_compact_to_iso refused with kind %d", (int)err.kind);
        fuzz_check_error(&err, 9, "lt_date_compact_to_iso");
    }
    if (lt_date_dmy_to_iso(s, out, &err) == 0) {
        check_iso(out, "lt_date_dmy_to_iso");
        FUZZ_CHECK(strlen(out) == 10 && strncmp(out, s + 6, 4) == 0 && strncmp(out + 5, s + 3, 2) == 0 &&
                       strncmp(out + 8, s, 2) == 0,
                   "lt_date_dmy_to_iso moved a field");
    } else {
        FUZZ_CHECK(err.kind == LT_ERR_UPSTREAM_BAD, "lt_date_dmy_to_iso refused with kind %d", (int)err.kind);
        fuzz_check_error(&err, 9, "lt_date_dmy_to_iso");
    }
}

static void check_mask(const char *s, size_t buflen)
{
    char buf[64];
    lt_log_mask(s, buf, buflen);
    size_t len = strlen(s), out = strlen(buf);
    FUZZ_CHECK(out < buflen, "lt_log_mask wrote past its buffer's end");
    size_t head = len >= 8 ? 3 : 0, tail = len >= 8 ? 2 : 0;
    for (size_t i = 0; i < out; i++)
        FUZZ_CHECK(buf[i] == ((i < head || i >= len - tail) ? s[i] : '*'), "lt_log_mask kept byte %zu of %zu", i, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strndup(data, size);
    check_personal_id(s);
    check_tax_code(s);
    check_insurance_number(s);
    check_uuid(s);
    check_birth_date(s);
    check_upstream_dates(s);
    check_mask(s, 64);
    check_mask(s, 1 + size % 16);
    free(s);
    return 0;
}
