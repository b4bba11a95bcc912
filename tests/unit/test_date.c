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

static void iso_date(void **state)
{
    assert_true(lt_date_is_iso_date("2010-05-20"));
    assert_true(lt_date_is_iso_date("2016-02-29"));
    const char *bad[] = {"2015-02-29",  "2010-13-01", "2010-5-20", "20100520", "2010-05-20T00:00:00",
                         " 2010-05-20", "2010/05/20", "",          NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(lt_date_is_iso_date(bad[i]));
}

static void upstream_timestamp(void **state)
{
    lt_arena_t *a = lt_arena_new();
    /* With an offset, or Z, the text is kept as it came. */
    const char *kept[] = {"2024-06-01T10:00:00+07:00",     "2023-12-31T23:59:59Z",      "2023-12-31t23:59:59z",
                          "2025-07-01T08:30:15.250+07:00", "2024-02-29T00:00:00-03:30", "2016-12-31T23:59:60Z"};
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        assert_ptr_equal(lt_date_upstream_timestamp(a, kept[i]), kept[i]);
    /* Without one it is Vietnam time, and says so. */
    assert_string_equal(lt_date_upstream_timestamp(a, "2024-06-01T10:00:00"), "2024-06-01T10:00:00+07:00");
    assert_string_equal(lt_date_upstream_timestamp(a, "2024-06-01T10:00:00.5"), "2024-06-01T10:00:00.5+07:00");
    const char *bad[] = {
        "2024-06-01",                 /* a date alone */
        "2024-06-01 10:00:00",        /* a space for the T */
        "2024-06-01T10:00",           /* no seconds */
        "2023-02-29T10:00:00Z",       /* not a leap year */
        "2024-06-01T24:00:00Z",       /* hour 24 */
        "2024-06-01T10:60:00Z",       /* minute 60 */
        "2024-06-01T10:00:61Z",       /* second 61 */
        "2024-06-01T10:00:00.Z",      /* a point without digits */
        "2024-06-01T10:00:00+0700",   /* offset without its colon */
        "2024-06-01T10:00:00+24:00",  /* offset hour 24 */
        "2024-06-01T10:00:00+07:60",  /* offset minute 60 */
        "2024-06-01T10:00:00Zjunk",   /* something after the Z */
        "2024-06-01T10:00:00+07:00x", /* something after the offset */
        "2024-6-01T10:00:00Z",        /* a one-digit month */
        "",
        NULL,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_null(lt_date_upstream_timestamp(a, bad[i]));
    lt_arena_destroy(a);
}

static void dotted_to_iso(void **state)
{
    char out[11];
    lt_error_t err = {0};
    assert_int_equal(lt_date_dotted_to_iso("02.03.2019", out, &err), 0);
    assert_string_equal(out, "2019-03-02");
    assert_int_equal(lt_date_dotted_to_iso("29.02.2024", out, &err), 0);
    assert_string_equal(out, "2024-02-29");
    const char *bad[] = {"29.02.2023", "02/03/2019", "2.03.2019", "02.03.19", "02.13.2019", "", NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lt_error_clear(&err);
        assert_int_equal(lt_date_dotted_to_iso(bad[i], out, &err), -1);
        assert_int_equal(err.kind, LT_ERR_UPSTREAM_BAD);
        assert_string_equal(err.code, "bad_response");
        assert_string_equal(err.detail, "national system sent a date that is not a valid dd.MM.yyyy");
    }
}

static void vn_stamp_to_unix(void **state)
{
    time_t t = 0;
    /* 2026-11-22 18:30:00 in Vietnam is 11:30:00 UTC: 1795347000 (date -u -d '2026-11-22 11:30:00' +%s). */
    assert_int_equal(lt_date_vn_stamp_to_unix("20261122183000", &t), 0);
    assert_int_equal((long long)t, 1795347000LL);
    /* Just after midnight in Vietnam is still the previous day in UTC. */
    assert_int_equal(lt_date_vn_stamp_to_unix("20240102003000", &t), 0);
    assert_int_equal((long long)t, 1704130200LL);
    const char *bad[] = {"20261122183060",
                         "20261122240000",
                         "20260230120000",
                         "2026112218300",
                         "202611221830000",
                         "2026-11-22T18:",
                         "20261122 83000",
                         "",
                         NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        t = 42;
        assert_int_equal(lt_date_vn_stamp_to_unix(bad[i], &t), -1);
        assert_int_equal((long long)t, 42);
    }
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

/* An instant from ISO 8601 with its offset, whatever the offset; and back as the national systems' compact form. */
static void iso8601_instants(void **state)
{
    time_t t = 0;
    assert_int_equal(lt_date_parse_iso8601("2026-11-22T14:48:12Z", &t), 0);
    assert_int_equal(t, 1795358892);
    assert_int_equal(lt_date_parse_iso8601("2026-11-22T21:48:12+07:00", &t), 0);
    assert_int_equal(t, 1795358892);
    assert_int_equal(lt_date_parse_iso8601("2026-11-22T13:18:12.999-01:30", &t), 0);
    assert_int_equal(t, 1795358892);
    assert_int_equal(lt_date_parse_iso8601("2024-02-29T00:00:00Z", &t), 0);
    static const char *const bad[] = {"2026-11-22T14:48:12",
                                      "2026-11-22 14:48:12Z",
                                      "2026-11-22T14:48Z",
                                      "2025-02-29T00:00:00Z",
                                      "2026-11-22T24:00:00Z",
                                      "2026-11-22T14:48:60Z",
                                      "2026-11-22T14:48:12+0700",
                                      "2026-11-22T14:48:12+15:00",
                                      "2026-11-22T14:48:12.Z",
                                      "2026-11-22T14:48:12Zjunk",
                                      "20261122144812",
                                      "",
                                      NULL};
    for (size_t i = 0; bad[i] != NULL; i++)
        if (lt_date_parse_iso8601(bad[i], &t) == 0)
            fail_msg("'%s' was read as a time", bad[i]);
    assert_int_equal(lt_date_parse_iso8601(NULL, &t), -1);
    char out[15];
    lt_date_format_vn_compact(1795358892, out);
    assert_string_equal(out, "20261122214812");
    lt_date_format_vn_compact(1704130200, out); /* 2024-01-01T17:30:00Z: the next day in Vietnam */
    assert_string_equal(out, "20240102003000");
}

/* The status page's zone: written with its offset, and read back to the same instant by the ISO 8601 reader. */
static void display_zone(void **state)
{
    (void)state;
    long off;
    assert_int_equal(lt_date_parse_zone("+07:00", &off), 0);
    assert_int_equal(off, 7 * 3600);
    assert_int_equal(lt_date_parse_zone("Z", &off), 0);
    assert_int_equal(off, 0);
    assert_int_equal(lt_date_parse_zone("-03:30", &off), 0);
    assert_int_equal(off, -(3 * 3600 + 30 * 60));
    static const char *const bad[] = {"+7", "07:00", "+07:60", "+15:00", "UTC", "", "+07:00 ", NULL};
    for (size_t i = 0; bad[i] != NULL; i++)
        if (lt_date_parse_zone(bad[i], &off) == 0)
            fail_msg("'%s' was read as a zone", bad[i]);
    char out[32];
    time_t back;
    lt_date_format_zone(1704130200123LL, 7 * 3600, out); /* 2024-01-01T17:30:00.123Z */
    assert_string_equal(out, "2024-01-02T00:30:00+07:00");
    assert_int_equal(lt_date_parse_iso8601(out, &back), 0);
    assert_int_equal(back, 1704130200);
    lt_date_format_zone(1704130200000LL, 0, out);
    assert_string_equal(out, "2024-01-01T17:30:00Z");
    lt_date_format_zone(1704130200000LL, -(3 * 3600 + 30 * 60), out);
    assert_string_equal(out, "2024-01-01T14:00:00-03:30");
    assert_int_equal(lt_date_parse_iso8601(out, &back), 0);
    assert_int_equal(back, 1704130200);
}

static void ages_and_durations(void **state)
{
    (void)state;
    char out[32];
    static const struct {
        long long s;
        const char *ago, *duration;
    } cases[] = {{-5, "just now", "0 s"},
                 {0, "just now", "0 s"},
                 {59, "59 s ago", "59 s"},
                 {60, "1 min ago", "1 min"},
                 {3599, "59 min ago", "59 min"},
                 {3600, "1 h ago", "1 h 0 min"},
                 {7322, "2 h ago", "2 h 2 min"},
                 {86400 + 3600, "25 h ago", "1 day 1 h"},
                 {2 * 86400, "2 days ago", "2 days 0 h"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lt_date_ago(cases[i].s, out);
        assert_string_equal(out, cases[i].ago);
        lt_date_duration(cases[i].s, out);
        assert_string_equal(out, cases[i].duration);
    }
}

/* The digit-by-digit writer gives what strftime gives, across leap days, year and century ends, and the epoch. */
static void seconds_as_strftime_writes_them(void **state)
{
    (void)state;
    static const time_t edges[] = {0,          951782400,  951868799,  951868800,  1709164800,
                                   1735689599, 1735689600, 4107542399, 4107542400, 253402300799LL};
    char got[32], want[32];
    struct tm tm;
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        for (time_t t = edges[i] - 2; t <= edges[i] + 2; t++) {
            gmtime_r(&t, &tm);
            size_t n = strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
            assert_int_equal(lt_date_format_seconds(t, got), n);
            assert_string_equal(got, want);
        }
    }
    /* a spread of ordinary instants: every 7,919 s over about forty years */
    for (time_t t = 946684800; t < 2208988800; t += 7919) {
        gmtime_r(&t, &tm);
        strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
        lt_date_format_seconds(t, got);
        assert_string_equal(got, want);
    }
}

/* The Date header: now, in RFC 9110's fixed English form, whatever the second it is asked in. */
static void http_date_is_now(void **state)
{
    (void)state;
    time_t before = time(NULL);
    const char *got = lt_date_http_now();
    time_t after = time(NULL);
    bool matched = false;
    for (time_t t = before; t <= after && !matched; t++) {
        struct tm tm;
        gmtime_r(&t, &tm);
        char want[40];
        strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm); /* the C locale: a test sets none */
        matched = strcmp(got, want) == 0;
    }
    assert_true(matched);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_request_accepts),
        cmocka_unit_test(parse_request_refuses),
        cmocka_unit_test(compact_to_iso),
        cmocka_unit_test(dmy_to_iso),
        cmocka_unit_test(dotted_to_iso),
        cmocka_unit_test(vn_stamp_to_unix),
        cmocka_unit_test(iso_date),
        cmocka_unit_test(upstream_timestamp),
        cmocka_unit_test(iso8601_vietnam_time),
        cmocka_unit_test(iso8601_instants),
        cmocka_unit_test(seconds_as_strftime_writes_them),
        cmocka_unit_test(http_date_is_now),
        cmocka_unit_test(display_zone),
        cmocka_unit_test(ages_and_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
