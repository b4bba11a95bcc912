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
    LT_ERR_STATE_CONFLICT,       /* 409: the resource is already past this (a dossier version not newer) */
    LT_ERR_KIND_COUNT
} lt_error_kind_t;

/*
 * What a kind means for the machinery around a call, from the table in lt_error.c: ask lt_error_is(), never
 * compare kinds by their order in the enum (the order says nothing: 422 is declared after 504).
 */
enum {
    LT_ERRF_ANSWER = 1 << 0,   /* a business answer (4xx toward the caller): the system worked, and said no */
    LT_ERRF_UPSTREAM = 1 << 1, /* the national system failed (502, 503, 504): neither our input nor our bug */
    LT_ERRF_STALE = 1 << 2,    /* a cached copy past its TTL may be served instead (stale if error) */
    LT_ERRF_BREAKER = 1 << 3,  /* counts as a failure for the upstream's circuit breaker */
};

typedef struct lt_error {
    lt_error_kind_t kind;
    int retry_after_s;   /* > 0: send the caller Retry-After with this many seconds */
    int upstream_wait_s; /* > 0: the national system itself demanded this wait (its Retry-After header, or an
                            ICD rule such as "quota exhausted until the minute ends"); binds our retries */
    bool retryable;      /* the failure may be retried against the upstream (idempotent calls only) */
    char code[48];       /* stable machine-readable reason, e.g. "invalid_identifier", "DC-429" */
    char detail[320];    /* human-readable, safe to show the caller: never holds personal data */
    /* > 0: the national system is closed to every caller for this long (a documented maintenance window): the
     * core holds its circuit open that long, so no call of any worker reaches it meanwhile, and this one is not
     * retried. */
    int upstream_closed_s;
} lt_error_t;

/* Fill err and return -1, so callers can write `return lt_error_set(...)`. */
int lt_error_set(lt_error_t *err, lt_error_kind_t kind, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

void lt_error_clear(lt_error_t *err);
int lt_error_http_status(lt_error_kind_t kind);
/* Whether kind has every one of flags (LT_ERRF_*). */
bool lt_error_is(lt_error_kind_t kind, unsigned flags);
/* Short English title for the problem document, e.g. "Bad Gateway". */
const char *lt_error_title(lt_error_kind_t kind);
/* Stable identifier used in problem "type" URIs and metrics, e.g. "upstream-bad". */
const char *lt_error_kind_name(lt_error_kind_t kind);

#endif
