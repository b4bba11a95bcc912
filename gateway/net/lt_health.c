/* The probe state machine: consecutive answers and failures, with hysteresis both ways. */
#include "lt_health.h"

#include <stdio.h>
#include <string.h>

const char *lt_health_state_name(lt_health_state_t s)
{
    static const char *const names[] = {"unknown", "up", "degraded", "down"};
    return (unsigned)s < 4 ? names[s] : "unknown";
}

void lt_health_init(lt_health_t *h, int down_after, int up_after, int64_t now_ms)
{
    memset(h, 0, sizeof(*h));
    h->down_after = down_after > 0 ? down_after : 1;
    h->up_after = up_after > 0 ? up_after : 1;
    h->since_ms = now_ms;
    snprintf(h->reason, sizeof(h->reason), "no probe yet");
}

static bool enter(lt_health_t *h, lt_health_state_t s, int64_t now_ms)
{
    if (h->state == s)
        return false;
    h->state = s;
    h->since_ms = now_ms;
    return true;
}

static bool answered(lt_health_t *h, double seconds, int64_t now_ms)
{
    h->oks++;
    h->fails = 0;
    h->last_ok_ms = now_ms;
    bool recovering = h->state == LT_HEALTH_DEGRADED || h->state == LT_HEALTH_DOWN;
    if (recovering && h->oks < h->up_after) {
        snprintf(h->reason, sizeof(h->reason), "recovering: %d of %d probes in a row answered", h->oks, h->up_after);
        return enter(h, LT_HEALTH_DEGRADED, now_ms);
    }
    snprintf(h->reason, sizeof(h->reason), "probe answered in %.0f ms", seconds * 1e3);
    return enter(h, LT_HEALTH_UP, now_ms);
}

static bool failed(lt_health_t *h, const char *why, int64_t now_ms)
{
    h->fails++;
    h->oks = 0;
    h->last_fail_ms = now_ms;
    if (h->fails >= h->down_after) {
        snprintf(h->reason, sizeof(h->reason), "%s (%d probe%s in a row failed)", why, h->fails,
                 h->fails == 1 ? "" : "s");
        return enter(h, LT_HEALTH_DOWN, now_ms);
    }
    snprintf(h->reason, sizeof(h->reason), "%s (%d of %d failed probes before down)", why, h->fails, h->down_after);
    return enter(h, LT_HEALTH_DEGRADED, now_ms);
}

bool lt_health_report(lt_health_t *h, bool ok, const char *why, double seconds, int64_t now_ms)
{
    h->last_probe_ms = now_ms;
    h->last_seconds = seconds;
    return ok ? answered(h, seconds, now_ms) : failed(h, why && *why ? why : "probe failed", now_ms);
}
