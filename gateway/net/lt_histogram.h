/*
 * Seconds histograms (floor 3) with Prometheus' default buckets, updated
 * lock-free (atomics) by every worker thread. Includes nothing of ours.
 */
#ifndef LT_HISTOGRAM_H
#define LT_HISTOGRAM_H

#include <stdatomic.h>
#include <stdint.h>

#define LT_HISTOGRAM_NBUCKETS 11 /* finite bucket bounds; +Inf is one more */

/* A seconds histogram; buckets are stored per bucket (not cumulative) and summed when rendered. */
typedef struct lt_histogram {
    _Atomic uint64_t buckets[LT_HISTOGRAM_NBUCKETS + 1]; /* the last is (largest bound, +Inf) */
    _Atomic uint64_t sum_ns;
} lt_histogram_t;

void lt_histogram_observe(lt_histogram_t *h, double seconds);
/* The upper bound of finite bucket i (0 <= i < LT_HISTOGRAM_NBUCKETS), in seconds. */
double lt_histogram_bound(int i);
/*
 * The q-quantile (0 < q < 1) of observations counted per bucket (not cumulative; the last is +Inf), interpolated
 * linearly inside its bucket as Prometheus' histogram_quantile() does. An answer in the +Inf bucket is the largest
 * finite bound. Returns -1 when there is no observation.
 */
double lt_histogram_quantile(const uint64_t per_bucket[LT_HISTOGRAM_NBUCKETS + 1], double q);

#endif
