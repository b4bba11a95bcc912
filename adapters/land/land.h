/*
 * The land adapter's settings and the ICD's fixed names, shared by its files
 * and its tests. See README.md in this folder.
 */
#ifndef LT_LAND_H
#define LT_LAND_H

#include <stdbool.h>
#include <time.h>

#define LT_LAND_PARCEL_PATH      "/api/v1/thua-dat"
#define LT_LAND_CERTIFICATE_PATH "/api/v1/giay-chung-nhan/"
#define LT_LAND_UNIT_CODE_MAX    64

/* The northbound inputs: the path parameters, and what validate() derives from them. */
#define LT_LAND_PARAM_PARCEL  "parcel_id" /* "12616/12/345" */
#define LT_LAND_PARAM_SERIAL  "serial"    /* "DA%2001234567" in the path, "DA 01234567" once validated */
#define LT_LAND_INPUT_COMMUNE "commune"
#define LT_LAND_INPUT_SHEET   "sheet"
#define LT_LAND_INPUT_PARCEL  "parcel"

/* upstreams.land.service, read once at start-up and shared read-only by every thread. */
typedef struct lt_land_settings {
    char *unit_code;                      /* X-Ma-Don-Vi */
    char *sync_window_start;              /* "HH:MM", UTC+07:00: the nightly synchronisation window (ICD: 23:00) */
    char *sync_window_end;                /* "HH:MM", UTC+07:00 (ICD: 05:00) */
    long long unavailable_retry_after_s;  /* HTTP 503 outside the window, without a usable Retry-After */
    long long rate_limited_retry_after_s; /* HTTP 429 without a usable Retry-After */
    /* Not from the key table: the window's ends in seconds after midnight, Vietnam time. */
    int window_start_s, window_end_s;
} lt_land_settings_t;

/*
 * Seconds from t until the synchronisation window ends, when t (Vietnam time)
 * falls inside it; 0 outside. A window may run past midnight (23:00-05:00).
 */
int lt_land_window_remaining_s(const lt_land_settings_t *s, time_t t);

/* "HH:MM" (00:00-23:59, two digits each) to seconds after midnight; -1 for anything else. */
int lt_land_parse_clock(const char *text);

#endif
