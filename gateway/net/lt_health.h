/*
 * Health of one national system as its probes see it (floor 3): up, degraded
 * or down, with hysteresis so that one lost probe never pages anybody and one
 * lucky answer never hides an outage, and a reason in words. Pure: no clock,
 * no I/O, unit-tested (tests/unit/test_health.c).
 *
 *   - a failed probe: down once `down_after` probes in a row have failed,
 *     degraded before that;
 *   - an answered probe: up at once from unknown or up; from degraded or down,
 *     up only after `up_after` answers in a row, degraded ("recovering") until
 *     then.
 */
#ifndef LT_HEALTH_H
#define LT_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { LT_HEALTH_UNKNOWN, LT_HEALTH_UP, LT_HEALTH_DEGRADED, LT_HEALTH_DOWN } lt_health_state_t;

typedef struct lt_health {
    int down_after, up_after;
    lt_health_state_t state;
    int fails, oks;        /* consecutive */
    int64_t since_ms;      /* when the state was entered (the caller's clock) */
    int64_t last_probe_ms; /* 0: no probe yet */
    int64_t last_ok_ms, last_fail_ms;
    double last_seconds; /* how long the last probe took */
    char reason[480];
} lt_health_t;

void lt_health_init(lt_health_t *h, int down_after, int up_after, int64_t now_ms);
/* One probe ended: ok, or failed with `why` (no personal data). Returns true when the state changed. */
bool lt_health_report(lt_health_t *h, bool ok, const char *why, double seconds, int64_t now_ms);
const char *lt_health_state_name(lt_health_state_t s);

#endif
