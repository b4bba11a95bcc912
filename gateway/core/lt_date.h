/*
 * Date codecs between the national systems' formats and ISO 8601, which is all
 * the canonical records use. A date known only as a year stays a year ("1995"):
 * the registers hold such dates and the gateway must not invent a day.
 * Vietnam time is UTC+07:00 all year (no daylight saving), so no tz database.
 */
#ifndef LT_DATE_H
#define LT_DATE_H

#include <stdbool.h>
#include <time.h>

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

/* t as "2026-11-22T21:48:12+07:00" (Vietnam time). */
void lt_date_format_iso8601(time_t t, char out[32]);

/* The current time as lt_date_format_iso8601 writes it. */
void lt_date_now_iso8601(char out[32]);

#endif
