/*
 * sim_clock: wall-clock helpers of the payment and webhook simulators.
 *
 * The payment ICD writes every date as yyyyMMddHHmmss in UTC+07:00 (Vietnam
 * has no daylight saving time), whatever the host's time zone; control
 * answers use ISO 8601 in UTC with milliseconds.
 */
#ifndef SIM_CLOCK_H
#define SIM_CLOCK_H

#include <stddef.h>
#include <time.h>

#define SIM_CLOCK_VN_LEN  14 /* yyyyMMddHHmmss */
#define SIM_CLOCK_ISO_LEN 24 /* 2025-01-31T23:59:59.123Z */

/* Milliseconds since the epoch. */
long long sim_clock_now_ms(void);
/* t as yyyyMMddHHmmss in UTC+07:00. */
void sim_clock_vn_stamp(time_t t, char out[SIM_CLOCK_VN_LEN + 1]);
/* 1 when s is exactly 14 digits naming a real date and time (leap years counted, no leap seconds). */
int sim_clock_vn_stamp_valid(const char *s);
/* ms as ISO 8601 UTC with milliseconds. */
void sim_clock_iso(long long ms, char out[SIM_CLOCK_ISO_LEN + 1]);

#endif
