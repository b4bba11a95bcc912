/* The Prometheus text exposition helpers. */
#include "lt_mbuf.h"

#include <stdlib.h>
#include <string.h>

void lt_mbuf_label_value(lt_buf_t *b, const char *value)
{
    size_t n = strlen(value);
    lt_buf_reserve(b, 2 * n);
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"') {
            b->data[b->len++] = '\\';
            b->data[b->len++] = *p;
        } else if (*p == '\n') {
            b->data[b->len++] = '\\';
            b->data[b->len++] = 'n';
        } else {
            b->data[b->len++] = *p;
        }
    }
    b->data[b->len] = '\0';
}

void lt_mbuf_family(lt_buf_t *b, const char *name, const char *type, const char *help)
{
    lt_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void lt_mbuf_histogram(lt_buf_t *b, const char *name, const char *labels, const lt_histogram_t *h)
{
    const char *sep = labels[0] ? "," : "";
    uint64_t cumulative = 0;
    for (int i = 0; i < LT_HISTOGRAM_NBUCKETS; i++) {
        cumulative += atomic_load(&h->buckets[i]);
        lt_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, lt_histogram_bound(i),
                      (unsigned long long)cumulative);
    }
    cumulative += atomic_load(&h->buckets[LT_HISTOGRAM_NBUCKETS]);
    lt_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)cumulative);
    const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";
    lt_buf_printf(b, "%s_sum%s%s%s %.9f\n", name, open, labels, close, (double)atomic_load(&h->sum_ns) / 1e9);
    lt_buf_printf(b, "%s_count%s%s%s %llu\n", name, open, labels, close, (unsigned long long)cumulative);
}
