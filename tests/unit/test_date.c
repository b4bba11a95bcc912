/* Date codecs (gateway/core/lt_date.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lt_date.h"

static void request_ok(const char *in, int want_year)
{
    char iso[11] = "";
    int year = 0;
    lt_error_t err = {0};
    assert_int_equal(lt_date_parse_request(in, iso, &year, &err), 0);
    assert_string_equal(iso, in);
    assert_int_equal(year, want_year);
}

static void request_bad(const char *in, const char *detail)
{
    char iso[11] = "";
    int year = -7;
    lt_error_t err = {0};
    assert_int_equal(lt_date_parse_request(in, iso, &year, &err), -1);
    assert_int_equal(err.kind, LT_ERR_BAD_REQUEST);
    assert_string_equal(err.code, "invalid_birth_date");
    assert_string_equal(err.detail, detail);
    assert_int_equal(year, -7);
}

static void parse_request_accepts(void **state)
{
    request_ok("1995-03-12", 1995);
    request_ok("1995", 1995);
    request_ok("2000-02-29", 2000); /* divisible by 400: leap */
    request_ok("2024-02-29", 2024);
    request_ok("1900-12-31", 1900);
    request_ok("1999-04-30", 1999);
}

static void parse_request_refuses(void **state)
{
    const char *shape = "birth_date must be yyyy-MM-dd or yyyy";
    const char *cal = "birth_date is not a real calendar date";
    request_bad("1995-02-30", cal);
    request_bad("1900-02-29", cal); /* divisible by 100, not 400: not leap */
    request_bad("2023-02-29", cal);
    request_bad("1995-04-31", cal);
    request_bad("1995-13-01", cal);
    request_bad("1995-00-10", cal);
    request_bad("1995-01-00", cal);
    request_bad("19950312", shape);
    request_bad("12/03/1995", shape);
    request_bad("1995-3-12", shape);
    request_bad("95", shape);
    request_bad("1995-03-12T00:00:00", shape);
    request_bad(" 1995", shape);
    request_bad("", shape);
    request_bad(NULL, shape);
    request_bad("1899-12-31", "birth_date must be in 1900 or later");
    request_bad("2999-01-01", "birth_date is in the future");
    request_bad("2999", "birth_date is in the future");
}

static void compact_to_iso(void **state)
{
    char out[11];
    lt_error_t err = {0};
    assert_int_equal(lt_date_compact_to_iso("19950312", out, &err), 0);
    assert_string_equal(out, "1995-03-12");
    assert_int_equal(lt_date_compact_to_iso("1995", out, &err), 0);
    assert_string_equal(out, "1995");
    assert_int_equal(lt_date_compact_to_iso("20000229", out, &err), 0);
    assert_string_equal(out, "2000-02-29");
    const char *bad[] = {"19950230", "19951301", "1995-03-12", "199503", "", "0000", "1995031a", NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lt_error_clear(&err);
        assert_int_equal(lt_date_compact_to_iso(bad[i], out, &err), -1);
        assert_int_equal(err.kind, LT_ERR_UPSTREAM_BAD);
        assert_string_equal(err.code, "bad_response");
    }
}

static void dmy_to_iso(void **state)
{
    char out[11];
    lt_error_t err = {0};
    assert_int_equal(lt_date_dmy_to_iso("12/03/1995", out, &err), 0);
    assert_string_equal(out, "1995-03-12");
    assert_int_equal(lt_date_dmy_to_iso("29/02/2024", out, &err), 0);
    assert_string_equal(out, "2024-02-29");
    assert_int_equal(lt_date_dmy_to_iso("29/02/2023", out, &err), -1);
    assert_int_equal(err.kind, LT_ERR_UPSTREAM_BAD);
    assert_int_equal(lt_date_dmy_to_iso("1995-03-12", out, &err), -1);
    assert_int_equal(lt_date_dmy_to_iso("3/12/1995", out, &err), -1);
}

static void iso8601_vietnam_time(void **state)
{
    char out[32];
    /* 2026-11-22T14:48:12Z is 21:48:12 in Vietnam. */
    lt_date_format_iso8601(1795358892, out);
    assert_string_equal(out, "2026-11-22T21:48:12+07:00");
    /* 17:30Z crosses midnight into the next day in Vietnam. */
    lt_date_format_iso8601(1704130200, out); /* 2024-01-01T17:30:00Z */
    assert_string_equal(out, "2024-01-02T00:30:00+07:00");

    lt_date_now_iso8601(out);
    assert_int_equal(strlen(out), 25);
    assert_string_equal(out + 19, "+07:00");
    char expect[32];
    time_t now = time(NULL);
    lt_date_format_iso8601(now, expect);
    /* Same minute, unless the test straddled a minute boundary. */
    assert_memory_equal(out, expect, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_request_accepts), cmocka_unit_test(parse_request_refuses),
        cmocka_unit_test(compact_to_iso),        cmocka_unit_test(dmy_to_iso),
        cmocka_unit_test(iso8601_vietnam_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
