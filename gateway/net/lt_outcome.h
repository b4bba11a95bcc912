/* Upstream attempt outcomes (floor 3): the label of an upstream's attempt counters. Includes only the ground. */
#ifndef LT_OUTCOME_H
#define LT_OUTCOME_H

#include "lt_error.h"

/* How one upstream attempt ended; see docs/operations.md "Metrics" for the classification. */
typedef enum {
    LT_OUTCOME_OK,
    LT_OUTCOME_TIMEOUT,
    LT_OUTCOME_CONNECT,
    LT_OUTCOME_TLS,
    LT_OUTCOME_HTTP_4XX,
    LT_OUTCOME_HTTP_5XX,
    LT_OUTCOME_FAULT,
    LT_OUTCOME_BAD_RESPONSE,
    LT_OUTCOME_COUNT
} lt_outcome_t;

const char *lt_outcome_name(lt_outcome_t o);
/* err NULL: the attempt got a usable answer. http_status 0: no HTTP response (transport failure). */
lt_outcome_t lt_outcome_classify(const lt_error_t *err, long http_status);

#endif
