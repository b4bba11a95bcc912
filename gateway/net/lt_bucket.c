/* Token-bucket arithmetic (GCRA): see lt_bucket.h. */
#include "lt_bucket.h"

#define US_PER_S 1000000LL

lt_bucket_limit_t lt_bucket_limit(long long rate, long long period_s, long long burst)
{
    int64_t interval = (int64_t)period_s * US_PER_S / (int64_t)rate;
    if (interval < 1)
        interval = 1;
    return (lt_bucket_limit_t){.interval_us = interval, .tolerance_us = (int64_t)(burst - 1) * interval};
}

int64_t lt_bucket_take(const lt_bucket_limit_t *limit, int64_t tat_us, int64_t now_us, int64_t *next_tat_us)
{
    int64_t tat = tat_us > now_us ? tat_us : now_us; /* a bucket idle long enough is full, never fuller */
    int64_t wait = tat - now_us - limit->tolerance_us;
    if (wait > 0)
        return wait;
    *next_tat_us = tat + limit->interval_us;
    return 0;
}

int64_t lt_bucket_retry_after_s(int64_t wait_us)
{
    int64_t s = (wait_us + US_PER_S - 1) / US_PER_S;
    return s < 1 ? 1 : s;
}
