/* Circuit breaker state machine; see lt_breaker.h for the transitions. */
#include "lt_breaker.h"

#include <string.h>

void lt_breaker_init(lt_breaker_t *b, const lt_breaker_conf_t *conf, int64_t now_ms)
{
    memset(b, 0, sizeof(*b));
    pthread_mutex_init(&b->lock, NULL);
    b->conf = *conf;
    if (b->conf.window > LT_BREAKER_MAX_WINDOW)
        b->conf.window = LT_BREAKER_MAX_WINDOW;
    if (b->conf.window < 1)
        b->conf.window = 1;
    b->state = LT_BREAKER_CLOSED;
    b->state_since_ms = now_ms;
}

void lt_breaker_destroy(lt_breaker_t *b)
{
    pthread_mutex_destroy(&b->lock);
}

static void set_state(lt_breaker_t *b, lt_breaker_state_t s, int64_t now_ms)
{
    b->state = s;
    b->state_since_ms = now_ms;
    if (s == LT_BREAKER_OPEN)
        b->open_until_ms = now_ms + b->conf.cooldown_ms;
    if (s != LT_BREAKER_HALF_OPEN)
        b->probe_out = false;
    if (s == LT_BREAKER_CLOSED) {
        /* A fresh start: old failures must not reopen a breaker that just closed. */
        b->consecutive = 0;
        b->filled = b->next = 0;
    }
}

lt_breaker_verdict_t lt_breaker_admit(lt_breaker_t *b, int64_t now_ms, int64_t *retry_after_ms)
{
    lt_breaker_verdict_t v = LT_BREAKER_ALLOW;
    pthread_mutex_lock(&b->lock);
    if (b->state == LT_BREAKER_OPEN && now_ms >= b->open_until_ms)
        set_state(b, LT_BREAKER_HALF_OPEN, now_ms);
    if (b->state == LT_BREAKER_OPEN) {
        v = LT_BREAKER_DENY;
        *retry_after_ms = b->open_until_ms - now_ms;
    } else if (b->state == LT_BREAKER_HALF_OPEN) {
        if (b->probe_out) {
            v = LT_BREAKER_DENY;
            *retry_after_ms = 1000;
        } else {
            b->probe_out = true;
            v = LT_BREAKER_PROBE;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return v;
}

static bool ratio_exceeded(const lt_breaker_t *b)
{
    if (b->filled < b->conf.min_calls || b->conf.failure_ratio <= 0)
        return false;
    int failures = 0;
    for (int i = 0; i < b->filled; i++)
        failures += b->outcomes[i];
    return (double)failures >= b->conf.failure_ratio * (double)b->filled;
}

void lt_breaker_report(lt_breaker_t *b, bool failed, bool probe, int64_t now_ms)
{
    pthread_mutex_lock(&b->lock);
    if (probe && b->state == LT_BREAKER_HALF_OPEN) {
        set_state(b, failed ? LT_BREAKER_OPEN : LT_BREAKER_CLOSED, now_ms);
    } else if (b->state == LT_BREAKER_CLOSED) {
        b->outcomes[b->next] = failed;
        b->next = (b->next + 1) % b->conf.window;
        if (b->filled < b->conf.window)
            b->filled++;
        b->consecutive = failed ? b->consecutive + 1 : 0;
        if ((b->conf.consecutive_failures > 0 && b->consecutive >= b->conf.consecutive_failures) || ratio_exceeded(b))
            set_state(b, LT_BREAKER_OPEN, now_ms);
    }
    /* Outcomes of calls admitted before the breaker opened change nothing while it is open. */
    pthread_mutex_unlock(&b->lock);
}

void lt_breaker_hold_open(lt_breaker_t *b, int64_t now_ms, int64_t until_ms)
{
    pthread_mutex_lock(&b->lock);
    if (b->state != LT_BREAKER_OPEN)
        set_state(b, LT_BREAKER_OPEN, now_ms);
    if (until_ms > b->open_until_ms)
        b->open_until_ms = until_ms;
    pthread_mutex_unlock(&b->lock);
}

void lt_breaker_release_probe(lt_breaker_t *b)
{
    pthread_mutex_lock(&b->lock);
    if (b->state == LT_BREAKER_HALF_OPEN)
        b->probe_out = false;
    pthread_mutex_unlock(&b->lock);
}

lt_breaker_state_t lt_breaker_state(lt_breaker_t *b, int64_t *since_ms)
{
    pthread_mutex_lock(&b->lock);
    lt_breaker_state_t s = b->state;
    if (since_ms != NULL)
        *since_ms = b->state_since_ms;
    pthread_mutex_unlock(&b->lock);
    return s;
}

const char *lt_breaker_state_name(lt_breaker_state_t s)
{
    switch (s) {
    case LT_BREAKER_CLOSED:
        return "closed";
    case LT_BREAKER_OPEN:
        return "open";
    case LT_BREAKER_HALF_OPEN:
        return "half_open";
    }
    return "?";
}

lt_breaker_state_t lt_breaker_view(lt_breaker_t *b, int64_t now_ms, int64_t *since_ms, int64_t *retry_in_ms)
{
    pthread_mutex_lock(&b->lock);
    lt_breaker_state_t s = b->state;
    int64_t since = b->state_since_ms, retry_in = 0;
    if (s == LT_BREAKER_OPEN && now_ms >= b->open_until_ms) {
        s = LT_BREAKER_HALF_OPEN;
        since = b->open_until_ms;
    } else if (s == LT_BREAKER_OPEN) {
        retry_in = b->open_until_ms - now_ms;
    }
    pthread_mutex_unlock(&b->lock);
    if (since_ms != NULL)
        *since_ms = since;
    if (retry_in_ms != NULL)
        *retry_in_ms = retry_in;
    return s;
}

void lt_breaker_probe_result(lt_breaker_t *b, bool ok, int64_t now_ms)
{
    pthread_mutex_lock(&b->lock);
    bool cooled = b->state == LT_BREAKER_OPEN && now_ms >= b->open_until_ms;
    bool idle_half_open = b->state == LT_BREAKER_HALF_OPEN && !b->probe_out;
    if (cooled || idle_half_open)
        set_state(b, ok ? LT_BREAKER_CLOSED : LT_BREAKER_OPEN, now_ms);
    pthread_mutex_unlock(&b->lock);
}
