/* Lock-free seconds histograms: Prometheus' default buckets, and quantiles read off the buckets. */
#include "lt_histogram.h"

/* Prometheus' default buckets, in seconds. */
static const double bounds[LT_HISTOGRAM_NBUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

void lt_histogram_observe(lt_histogram_t *h, double seconds)
{
    if (seconds < 0)
        seconds = 0;
    int i = 0;
    while (i < LT_HISTOGRAM_NBUCKETS && seconds > bounds[i])
        i++;
    atomic_fetch_add(&h->buckets[i], 1);
    atomic_fetch_add(&h->sum_ns, (uint64_t)(seconds * 1e9));
}

double lt_histogram_bound(int i)
{
    return i >= 0 && i < LT_HISTOGRAM_NBUCKETS ? bounds[i] : bounds[LT_HISTOGRAM_NBUCKETS - 1];
}

double lt_histogram_quantile(const uint64_t per_bucket[LT_HISTOGRAM_NBUCKETS + 1], double q)
{
    uint64_t total = 0;
    for (int i = 0; i <= LT_HISTOGRAM_NBUCKETS; i++)
        total += per_bucket[i];
    if (total == 0)
        return -1;
    double rank = q * (double)total, below = 0;
    for (int i = 0; i < LT_HISTOGRAM_NBUCKETS; i++) {
        double here = (double)per_bucket[i];
        if (here > 0 && below + here >= rank) {
            double lower = i == 0 ? 0 : bounds[i - 1];
            return lower + (bounds[i] - lower) * (rank - below) / here;
        }
        below += here;
    }
    return bounds[LT_HISTOGRAM_NBUCKETS - 1];
}
