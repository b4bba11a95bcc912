/* The Prometheus text exposition (format 0.0.4) helpers (floor 3) that /metrics is rendered with. */
#ifndef LT_MBUF_H
#define LT_MBUF_H

#include <stddef.h>

#include "lt_buf.h"
#include "lt_histogram.h"

/* The page is written into an lt_buf_t (lt_buf_printf for the samples); these write what the format asks for. */
/* Appends a label value escaped for the text format: \ as \\, " as \", newline as \n. */
void lt_mbuf_label_value(lt_buf_t *b, const char *value);
/* "# HELP name help\n# TYPE name type\n" */
void lt_mbuf_family(lt_buf_t *b, const char *name, const char *type, const char *help);
/* name_bucket{labels,le=...}, name_sum, name_count; labels is already rendered (may be ""). */
void lt_mbuf_histogram(lt_buf_t *b, const char *name, const char *labels, const lt_histogram_t *h);

#endif
