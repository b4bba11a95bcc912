/*
 * Date codecs between the national systems' formats and ISO 8601, which is all
 * the canonical records use. A date known only as a year stays a year ("1995"):
 * the registers hold such dates and the gateway must not invent a day.
 * Vietnam time is UTC+07:00 all year (no daylight saving), so no tz database.
 */
#ifndef LT_DATE_H
#define LT_DATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lt_arena.h"
#include "lt_error.h"

#define LT_DATE_VN_OFFSET_S (7 * 3600)

/* A proleptic Gregorian calendar date: month 1-12, day within the month (leap years counted). */
bool lt_date_is_valid(int year, int month, int day);

/*
 * A birth date from a northbound request: "yyyy-MM-dd" (a real date) or "yyyy",
 * from 1900 up to today in Vietnam. Copies it to iso_out and its year to *year
 * (either may be NULL). Fails with LT_ERR_BAD_REQUEST, code "invalid_birth_date".
 */
int lt_date_parse_request(const char *s, char iso_out[11], int *year, lt_error_t *err);

/* Upstream "yyyyMMdd" to "yyyy-MM-dd", "yyyy" to "yyyy". Fails with LT_ERR_UPSTREAM_BAD, "bad_response". */
int lt_date_compact_to_iso(const char *s, char out[11], lt_error_t *err);

/* Upstream "dd/MM/yyyy" to "yyyy-MM-dd". Fails with LT_ERR_UPSTREAM_BAD, "bad_response". */
int lt_date_dmy_to_iso(const char *s, char out[11], lt_error_t *err);

/* Upstream "dd.MM.yyyy" (the civil-status registers' dates of birth) to "yyyy-MM-dd". Fails as lt_date_dmy_to_iso. */
int lt_date_dotted_to_iso(const char *s, char out[11], lt_error_t *err);

/*
 * An upstream "yyyyMMddHHmmss" in Vietnam time (a real date, hours 00-23,
 * minutes and seconds 00-59) as a Unix time. Returns 0, or -1 when s is not
 * such a stamp.
 */
int lt_date_vn_stamp_to_unix(const char *s, time_t *out);

/* Whether s is exactly "yyyy-MM-dd" and a real calendar date. */
bool lt_date_is_iso_date(const char *s);

/*
 * An upstream ISO 8601 date and time, "yyyy-MM-ddTHH:mm:ss" with an optional
 * fraction, then "Z", "±HH:MM" or nothing. Nothing means Vietnam time (the
 * ICDs' rule), so the result always carries its offset: s itself, or an arena
 * copy with "+07:00" appended. NULL when s is not such a date and time.
 */
const char *lt_date_upstream_timestamp(lt_arena_t *arena, const char *s);

/*
 * t, a time already shifted to the wanted zone, as "2026-11-22T21:48:12" (19 bytes and a NUL): what
 * strftime("%Y-%m-%dT%H:%M:%S") writes, digit by digit. Every answer and every audit record writes one, and
 * strftime's locale handling costs several times the rest of the formatting. Returns the length written.
 */
size_t lt_date_format_seconds(time_t t, char out[32]);

/* Now as an HTTP Date header writes it (RFC 9110 5.6.7, "Sun, 06 Nov 1994 08:49:37 GMT"); formatted once a
 * second per thread, so every answer can carry it for the cost of a copy. */
const char *lt_date_http_now(void);

/* t as "2026-11-22T21:48:12+07:00" (Vietnam time). */
void lt_date_format_iso8601(time_t t, char out[32]);

/* The current time as lt_date_format_iso8601 writes it. */
void lt_date_now_iso8601(char out[32]);

/*
 * An instant written as ISO 8601 with its offset: "2026-11-22T09:00:00+07:00", "2026-11-22T02:00:00Z", with
 * optional fractional seconds (dropped: the national systems count whole seconds). A time without an offset is
 * refused: it would be read in a zone its writer never named. 0, or -1 when s is not such a time.
 */
int lt_date_parse_iso8601(const char *s, time_t *t);

/*
 * A display zone as a fixed offset from UTC: "+07:00" (Vietnam, the default of the status page), "Z" or
 * "-hh:mm", within ±14:00. Seconds east of UTC; -1 when s is none of these.
 */
int lt_date_parse_zone(const char *s, long *offset_s);

/* unix_ms at a zone's offset, with that offset written: "2026-12-01T06:18:07+07:00" ("Z" for 0). */
void lt_date_format_zone(int64_t unix_ms, long offset_s, char out[32]);

/* An age for people: "just now", "45 s ago", "5 min ago", "3 h ago", "2 days ago" (negative: "just now"). */
void lt_date_ago(long long seconds, char out[32]);

/* A length of time for people: "40 s", "12 min", "3 h 12 min", "2 days 4 h". */
void lt_date_duration(long long seconds, char out[32]);

/* t as yyyyMMddHHmmss in Vietnam time (UTC+07:00), as several national systems write times. */
void lt_date_format_vn_compact(time_t t, char out[15]);

#endif
