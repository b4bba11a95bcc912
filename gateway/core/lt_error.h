/*
 * The error model shared by every floor: a small struct carried by pointer,
 * never a global. Each kind maps to exactly one northbound HTTP status, so a
 * module deep in the stack decides *what* went wrong and the HTTP layer alone
 * decides how to say it (application/problem+json, see docs/api.md).
 */
#ifndef LT_ERROR_H
#define LT_ERROR_H

#include <stdbool.h>

typedef enum {
    LT_ERR_NONE = 0,
    LT_ERR_BAD_REQUEST,          /* 400: malformed identifier, missing header, bad body */
    LT_ERR_FORBIDDEN,            /* 403: valid client, operation not allowed for it */
    LT_ERR_NOT_FOUND,            /* 404: no such route, or the national system has no record */
    LT_ERR_METHOD,               /* 405 */
    LT_ERR_TOO_LARGE,            /* 413 */
    LT_ERR_MEDIA_TYPE,           /* 415 */
    LT_ERR_RATE_LIMITED,         /* 429: over this client's rate */
    LT_ERR_INTERNAL,             /* 500: our own bug or resource exhaustion */
    LT_ERR_UPSTREAM_BAD,         /* 502: the national system answered something unusable */
    LT_ERR_UPSTREAM_UNAVAILABLE, /* 503: unavailable, quota exhausted, maintenance, circuit open */
    LT_ERR_UPSTREAM_TIMEOUT,     /* 504: no answer in time */
    LT_ERR_CONFLICT,             /* 422: contradicts an earlier request (an Idempotency-Key reused) */
} lt_error_kind_t;

typedef struct lt_error {
    lt_error_kind_t kind;
    int retry_after_s;   /* > 0: send the caller Retry-After with this many seconds */
    int upstream_wait_s; /* > 0: the national system itself demanded this wait (its Retry-After header, or an
                            ICD rule such as "quota exhausted until the minute ends"); binds our retries */
    bool retryable;      /* the failure may be retried against the upstream (idempotent calls only) */
    char code[48];       /* stable machine-readable reason, e.g. "invalid_identifier", "DC-429" */
    char detail[320];    /* human-readable, safe to show the caller: never holds personal data */
} lt_error_t;

/* Fill err and return -1, so callers can write `return lt_error_set(...)`. */
int lt_error_set(lt_error_t *err, lt_error_kind_t kind, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

void lt_error_clear(lt_error_t *err);
int lt_error_http_status(lt_error_kind_t kind);
/* Short English title for the problem document, e.g. "Bad Gateway". */
const char *lt_error_title(lt_error_kind_t kind);
/* Stable identifier used in problem "type" URIs and metrics, e.g. "upstream-bad". */
const char *lt_error_kind_name(lt_error_kind_t kind);

#endif
