/*
 * A circuit breaker per upstream, shared by every worker (floor 3).
 *
 * closed    -> open       after `consecutive_failures` failures in a row, or
 *                         when at least `min_calls` of the last `window`
 *                         calls ended and `failure_ratio` of them failed
 * open      -> half-open  once `cooldown_ms` has passed: one probe may go
 * half-open -> closed     the probe succeeded
 * half-open -> open       the probe failed (cool-down starts again)
 *                         (with no traffic, an active probe decides instead)
 * any       -> open       held open until a given time, because the national
 *                         system said it is closed until then (a maintenance
 *                         window); the half-open probe comes after that time
 *
 * While open (and while the probe is out) callers are refused at once, so a
 * sick national system costs the portal nothing but a fast 503. Time is
 * passed in, in milliseconds, so the state machine is tested without sleeping.
 */
#ifndef LT_BREAKER_H
#define LT_BREAKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define LT_BREAKER_MAX_WINDOW 256

typedef enum { LT_BREAKER_CLOSED, LT_BREAKER_OPEN, LT_BREAKER_HALF_OPEN } lt_breaker_state_t;

typedef struct lt_breaker_conf {
    int consecutive_failures;
    double failure_ratio;
    int window;
    int min_calls;
    int64_t cooldown_ms;
} lt_breaker_conf_t;

typedef struct lt_breaker {
    pthread_mutex_t lock;
    lt_breaker_conf_t conf;
    lt_breaker_state_t state;
    int consecutive;
    bool outcomes[LT_BREAKER_MAX_WINDOW]; /* ring of recent results: true = failure */
    int filled, next;
    int64_t open_until_ms; /* while open: when the next probe may go (the cool-down's end, or a hold's) */
    bool probe_out;
    int64_t state_since_ms;
} lt_breaker_t;

typedef enum {
    LT_BREAKER_ALLOW, /* go ahead */
    LT_BREAKER_PROBE, /* go ahead: this call is the half-open probe, and must report its outcome */
    LT_BREAKER_DENY,  /* refuse now; *retry_after_ms says when the breaker may let a probe through */
} lt_breaker_verdict_t;

void lt_breaker_init(lt_breaker_t *b, const lt_breaker_conf_t *conf, int64_t now_ms);
void lt_breaker_destroy(lt_breaker_t *b);
lt_breaker_verdict_t lt_breaker_admit(lt_breaker_t *b, int64_t now_ms, int64_t *retry_after_ms);
/* Report a call's outcome. `probe` is true when admit() said LT_BREAKER_PROBE. */
void lt_breaker_report(lt_breaker_t *b, bool failed, bool probe, int64_t now_ms);
/* Holds the breaker open until at least until_ms, whatever its state: nothing is admitted before then. */
void lt_breaker_hold_open(lt_breaker_t *b, int64_t now_ms, int64_t until_ms);
/* A probe that was admitted but never ran (cancelled) gives its place back. */
void lt_breaker_release_probe(lt_breaker_t *b);
lt_breaker_state_t lt_breaker_state(lt_breaker_t *b, int64_t *since_ms);
/*
 * The state as a caller arriving now would find it: an open breaker whose cool-down (or hold) has ended is
 * half-open, even if no call came to move it. *retry_in_ms (may be NULL): while open, the time until then.
 */
lt_breaker_state_t lt_breaker_view(lt_breaker_t *b, int64_t now_ms, int64_t *since_ms, int64_t *retry_in_ms);
/*
 * An active probe's outcome (lt_probes, outside the breaker's admission; operation probes only): when the breaker is
 * half-open (its cool-down over) and no trial call is out, the probe decides as a trial call would: closed on success,
 * open again on failure. At any other time it changes nothing. So a system that recovered while nobody called it does
 * not stay "open" on the status page until a citizen's request happens by.
 */
void lt_breaker_probe_result(lt_breaker_t *b, bool ok, int64_t now_ms);
const char *lt_breaker_state_name(lt_breaker_state_t s);

#endif
