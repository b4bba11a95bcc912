/*
 * sim_clock: the ICD's UTC+07:00 stamps and ISO 8601 for control answers.
 */
#include "sim_clock.h"

#include <stdio.h>
#include <string.h>

#define SIM_CLOCK_VN_OFFSET_S (7 * 3600)

long long sim_clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sim_clock_vn_stamp(time_t t, char out[SIM_CLOCK_VN_LEN + 1])
{
    time_t vn = t + SIM_CLOCK_VN_OFFSET_S;
    struct tm tm;
    gmtime_r(&vn, &tm);
    strftime(out, SIM_CLOCK_VN_LEN + 1, "%Y%m%d%H%M%S", &tm);
}

static int sim_clock_digits(const char *s, size_t from, size_t n)
{
    int v = 0;
    for (size_t i = from; i < from + n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static int sim_clock_days_in(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

int sim_clock_vn_stamp_valid(const char *s)
{
    if (strlen(s) != SIM_CLOCK_VN_LEN || strspn(s, "0123456789") != SIM_CLOCK_VN_LEN)
        return 0;
    int year = sim_clock_digits(s, 0, 4), month = sim_clock_digits(s, 4, 2), day = sim_clock_digits(s, 6, 2);
    int hour = sim_clock_digits(s, 8, 2), minute = sim_clock_digits(s, 10, 2), second = sim_clock_digits(s, 12, 2);
    return year >= 1970 && month >= 1 && month <= 12 && day >= 1 && day <= sim_clock_days_in(year, month) &&
           hour < 24 && minute < 60 && second < 60;
}

void sim_clock_iso(long long ms, char out[SIM_CLOCK_ISO_LEN + 1])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, SIM_CLOCK_ISO_LEN + 1, "%Y-%m-%dT%H:%M:%S", &tm);
    int milli = (int)(ms % 1000);
    char frac[6] = {'.', (char)('0' + milli / 100), (char)('0' + milli / 10 % 10), (char)('0' + milli % 10), 'Z', 0};
    memcpy(out + 19, frac, sizeof frac);
}
