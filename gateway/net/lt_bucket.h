/*
 * The arithmetic of one token bucket (floor 3, pure), as the generic cell rate algorithm (GCRA) keeps it: one
 * number per bucket, the theoretical arrival time `tat` of the next request at the sustained rate. A bucket of
 * `burst` tokens refilled one every `interval` is full when tat <= now, and admits a request while
 * tat - now <= (burst - 1) * interval. One number is what makes a bucket atomic: a compare-and-swap in this
 * process (lt_ratelimit.c), one small Lua script in Redis, the same arithmetic on both.
 *
 * Times are microseconds. Integers only, so the process and the script agree to the microsecond.
 */
#ifndef LT_BUCKET_H
#define LT_BUCKET_H

#include <stdint.h>

typedef struct lt_bucket_limit {
    int64_t interval_us;  /* one token comes back every interval_us (period / rate, at least 1 µs) */
    int64_t tolerance_us; /* (burst - 1) * interval_us: how far ahead of now tat may run */
} lt_bucket_limit_t;

/* rate requests per period_s seconds, with up to burst at once (rate, period_s, burst >= 1). */
lt_bucket_limit_t lt_bucket_limit(long long rate, long long period_s, long long burst);

/*
 * One request at now_us against the bucket whose state is tat_us. Admitted: returns 0 and sets *next_tat_us, the
 * state to keep. Refused: returns how long (µs, > 0) until a token is back, and the state is unchanged.
 */
int64_t lt_bucket_take(const lt_bucket_limit_t *limit, int64_t tat_us, int64_t now_us, int64_t *next_tat_us);

/* A wait in whole seconds for Retry-After: rounded up, at least 1. */
int64_t lt_bucket_retry_after_s(int64_t wait_us);

#endif
