/* Date codecs: strict shape checks, then a calendar check, never a guess. */
#include "lt_date.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define BAD_BIRTH_DATE "invalid_birth_date"

bool lt_date_is_valid(int year, int month, int day)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1)
        return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day <= days[month - 1] + (month == 2 && leap);
}

/* Reads n digits at s into *v; false if any is not a digit. */
static bool read_digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

/* Today's date in Vietnam, packed as yyyymmdd for comparisons. */
static long today_vn(void)
{
    time_t t = time(NULL) + LT_DATE_VN_OFFSET_S;
    struct tm tm;
    gmtime_r(&t, &tm);
    return (tm.tm_year + 1900L) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

int lt_date_parse_request(const char *s, char iso_out[11], int *year, lt_error_t *err)
{
    int y, m = 0, d = 0;
    size_t n = s ? strlen(s) : 0;
    bool year_only = n == 4 && read_digits(s, 4, &y);
    bool full = n == 10 && read_digits(s, 4, &y) && s[4] == '-' && read_digits(s + 5, 2, &m) && s[7] == '-' &&
                read_digits(s + 8, 2, &d);
    if (!year_only && !full)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, BAD_BIRTH_DATE, "birth_date must be yyyy-MM-dd or yyyy");
    if (full && !lt_date_is_valid(y, m, d))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, BAD_BIRTH_DATE, "birth_date is not a real calendar date");
    /* Personal identification numbers only encode births from 1900 on. */
    if (y < 1900)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, BAD_BIRTH_DATE, "birth_date must be in 1900 or later");
    long packed = year_only ? y * 10000L + 101 : y * 10000L + m * 100 + d;
    if (packed > today_vn())
        return lt_error_set(err, LT_ERR_BAD_REQUEST, BAD_BIRTH_DATE, "birth_date is in the future");
    if (iso_out != NULL)
        memcpy(iso_out, s, n + 1);
    if (year != NULL)
        *year = y;
    return 0;
}

static int bad_upstream_date(lt_error_t *err, const char *expected)
{
    return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "bad_response", "national system sent a date that is not %s",
                        expected);
}

int lt_date_compact_to_iso(const char *s, char out[11], lt_error_t *err)
{
    int y, m, d;
    size_t n = s ? strlen(s) : 0;
    if (n == 4 && read_digits(s, 4, &y) && y >= 1) {
        memcpy(out, s, 5);
        return 0;
    }
    if (n != 8 || !read_digits(s, 4, &y) || !read_digits(s + 4, 2, &m) || !read_digits(s + 6, 2, &d) ||
        !lt_date_is_valid(y, m, d))
        return bad_upstream_date(err, "a valid yyyyMMdd or yyyy");
    /* The moduli only tell the compiler the ranges read_digits already guarantees. */
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
    return 0;
}

int lt_date_dmy_to_iso(const char *s, char out[11], lt_error_t *err)
{
    int y, m, d;
    if (s == NULL || strlen(s) != 10 || !read_digits(s, 2, &d) || s[2] != '/' || !read_digits(s + 3, 2, &m) ||
        s[5] != '/' || !read_digits(s + 6, 4, &y) || !lt_date_is_valid(y, m, d))
        return bad_upstream_date(err, "a valid dd/MM/yyyy");
    /* The moduli only tell the compiler the ranges read_digits already guarantees. */
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
    return 0;
}

void lt_date_format_iso8601(time_t t, char out[32])
{
    /* Shift to Vietnam time and format as if UTC: no tz database, no TZ variable, thread-safe. */
    time_t local = t + LT_DATE_VN_OFFSET_S;
    struct tm tm;
    gmtime_r(&local, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S+07:00", &tm);
}

void lt_date_now_iso8601(char out[32])
{
    lt_date_format_iso8601(time(NULL), out);
}
