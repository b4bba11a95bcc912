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

/* "dd<sep>MM<sep>yyyy" to "yyyy-MM-dd": the two national orders differ only in their separator. */
static int day_month_year_to_iso(const char *s, char sep, const char *expected, char out[11], lt_error_t *err)
{
    int y, m, d;
    if (s == NULL || strlen(s) != 10 || !read_digits(s, 2, &d) || s[2] != sep || !read_digits(s + 3, 2, &m) ||
        s[5] != sep || !read_digits(s + 6, 4, &y) || !lt_date_is_valid(y, m, d))
        return bad_upstream_date(err, expected);
    /* The moduli only tell the compiler the ranges read_digits already guarantees. */
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
    return 0;
}

int lt_date_dmy_to_iso(const char *s, char out[11], lt_error_t *err)
{
    return day_month_year_to_iso(s, '/', "a valid dd/MM/yyyy", out, err);
}

int lt_date_dotted_to_iso(const char *s, char out[11], lt_error_t *err)
{
    return day_month_year_to_iso(s, '.', "a valid dd.MM.yyyy", out, err);
}

int lt_date_vn_stamp_to_unix(const char *s, time_t *out)
{
    int y, mo, d, h, mi, sec;
    if (s == NULL || strlen(s) != 14 || !read_digits(s, 4, &y) || !read_digits(s + 4, 2, &mo) ||
        !read_digits(s + 6, 2, &d) || !read_digits(s + 8, 2, &h) || !read_digits(s + 10, 2, &mi) ||
        !read_digits(s + 12, 2, &sec) || !lt_date_is_valid(y, mo, d) || h > 23 || mi > 59 || sec > 59)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    /* timegm reads the fields as UTC; the stamp is seven hours ahead of UTC all year. */
    *out = timegm(&tm) - LT_DATE_VN_OFFSET_S;
    return 0;
}

/* "yyyy-MM-dd" at s, a real date; the caller has checked that 10 characters are there. */
static bool iso_date_at(const char *s)
{
    int y, m, d;
    return read_digits(s, 4, &y) && s[4] == '-' && read_digits(s + 5, 2, &m) && s[7] == '-' &&
           read_digits(s + 8, 2, &d) && lt_date_is_valid(y, m, d);
}

bool lt_date_is_iso_date(const char *s)
{
    return s != NULL && strlen(s) == 10 && iso_date_at(s);
}

/* "HH:mm:ss" at s; a leap second (:60) is allowed, as ISO 8601 does. */
static bool iso_time_at(const char *s)
{
    int h, mi, sec;
    return read_digits(s, 2, &h) && s[2] == ':' && read_digits(s + 3, 2, &mi) && s[5] == ':' &&
           read_digits(s + 6, 2, &sec) && h <= 23 && mi <= 59 && sec <= 60;
}

/* "Z" or "±HH:MM", and nothing after it. */
static bool iso_offset(const char *s)
{
    int h, m;
    if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0')
        return true;
    return (s[0] == '+' || s[0] == '-') && strlen(s) == 6 && read_digits(s + 1, 2, &h) && s[3] == ':' &&
           read_digits(s + 4, 2, &m) && h <= 23 && m <= 59;
}

const char *lt_date_upstream_timestamp(lt_arena_t *arena, const char *s)
{
    if (s == NULL || strlen(s) < 19 || !iso_date_at(s) || (s[10] != 'T' && s[10] != 't') || !iso_time_at(s + 11))
        return NULL;
    const char *rest = s + 19;
    if (*rest == '.') {
        const char *digits = ++rest;
        while (isdigit((unsigned char)*rest))
            rest++;
        if (rest == digits)
            return NULL;
    }
    if (*rest == '\0')
        return lt_arena_sprintf(arena, "%s+07:00", s);
    return iso_offset(rest) ? s : NULL;
}

static char *put_digits(char *out, int v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        out[i] = (char)('0' + v % 10);
    return out + n;
}

size_t lt_date_format_seconds(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    int year = tm.tm_year + 1900;
    if (year < 0 || year > 9999) /* beyond four digits: strftime's own width */
        return strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    char *p = put_digits(out, year, 4);
    *p++ = '-';
    p = put_digits(p, tm.tm_mon + 1, 2);
    *p++ = '-';
    p = put_digits(p, tm.tm_mday, 2);
    *p++ = 'T';
    p = put_digits(p, tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_min, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_sec, 2);
    *p = '\0';
    return (size_t)(p - out);
}

const char *lt_date_http_now(void)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static _Thread_local time_t formatted = -1;
    static _Thread_local char text[80]; /* room for any int in each field, as the compiler counts them */
    time_t now = time(NULL);
    if (now == formatted)
        return text;
    struct tm tm;
    gmtime_r(&now, &tm);
    /* English names whatever the locale, as the header requires */
    snprintf(text, sizeof(text), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    formatted = now;
    return text;
}

void lt_date_format_iso8601(time_t t, char out[32])
{
    /* Shift to Vietnam time and format as if UTC: no tz database, no TZ variable, thread-safe. */
    size_t n = lt_date_format_seconds(t + LT_DATE_VN_OFFSET_S, out);
    if (n + sizeof("+07:00") <= 32)
        memcpy(out + n, "+07:00", sizeof("+07:00"));
}

void lt_date_now_iso8601(char out[32])
{
    lt_date_format_iso8601(time(NULL), out);
}

/* The offset after the seconds: "Z", or "+hh:mm" / "-hh:mm" within ±14:00. */
static bool read_offset(const char *s, long *offset_s)
{
    int oh, om;
    if (s[0] == 'Z' && s[1] == '\0') {
        *offset_s = 0;
        return true;
    }
    if ((s[0] != '+' && s[0] != '-') || !read_digits(s + 1, 2, &oh) || s[3] != ':' || !read_digits(s + 4, 2, &om) ||
        s[6] != '\0' || oh > 14 || om > 59)
        return false;
    *offset_s = (s[0] == '-' ? -1L : 1L) * (oh * 3600L + om * 60L);
    return true;
}

int lt_date_parse_iso8601(const char *s, time_t *t)
{
    int y, mo, d, h, mi, se;
    if (s == NULL || strlen(s) < 20 || !read_digits(s, 4, &y) || s[4] != '-' || !read_digits(s + 5, 2, &mo) ||
        s[7] != '-' || !read_digits(s + 8, 2, &d) || s[10] != 'T' || !read_digits(s + 11, 2, &h) || s[13] != ':' ||
        !read_digits(s + 14, 2, &mi) || s[16] != ':' || !read_digits(s + 17, 2, &se))
        return -1;
    const char *rest = s + 19;
    if (*rest == '.') {
        size_t n = strspn(rest + 1, "0123456789");
        if (n == 0 || n > 9)
            return -1;
        rest += 1 + n;
    }
    long offset_s;
    if (!lt_date_is_valid(y, mo, d) || h > 23 || mi > 59 || se > 59 || !read_offset(rest, &offset_s))
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = se};
    *t = timegm(&tm) - offset_s;
    return 0;
}

int lt_date_parse_zone(const char *s, long *offset_s)
{
    return s != NULL && read_offset(s, offset_s) ? 0 : -1;
}

void lt_date_format_zone(int64_t unix_ms, long offset_s, char out[32])
{
    size_t n = lt_date_format_seconds((time_t)(unix_ms / 1000) + offset_s, out);
    long a = offset_s < 0 ? -offset_s : offset_s;
    if (offset_s == 0)
        snprintf(out + n, 32 - n, "Z");
    else
        snprintf(out + n, 32 - n, "%c%02ld:%02ld", offset_s < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
}

void lt_date_ago(long long seconds, char out[32])
{
    if (seconds < 1)
        snprintf(out, 32, "just now");
    else if (seconds < 60)
        snprintf(out, 32, "%lld s ago", seconds);
    else if (seconds < 3600)
        snprintf(out, 32, "%lld min ago", seconds / 60);
    else if (seconds < 2 * 86400)
        snprintf(out, 32, "%lld h ago", seconds / 3600);
    else
        snprintf(out, 32, "%lld days ago", seconds / 86400);
}

void lt_date_duration(long long seconds, char out[32])
{
    if (seconds < 0)
        seconds = 0;
    if (seconds < 60)
        snprintf(out, 32, "%lld s", seconds);
    else if (seconds < 3600)
        snprintf(out, 32, "%lld min", seconds / 60);
    else if (seconds < 86400)
        snprintf(out, 32, "%lld h %lld min", seconds / 3600, seconds % 3600 / 60);
    else
        snprintf(out, 32, "%lld day%s %lld h", seconds / 86400, seconds < 2 * 86400 ? "" : "s", seconds % 86400 / 3600);
}

void lt_date_format_vn_compact(time_t t, char out[15])
{
    time_t local = t + LT_DATE_VN_OFFSET_S;
    struct tm tm;
    gmtime_r(&local, &tm);
    strftime(out, 15, "%Y%m%d%H%M%S", &tm);
}
