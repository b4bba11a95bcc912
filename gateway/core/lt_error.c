/* The error model: kinds, their HTTP statuses, titles and what each means for a call (its flags). */
#include "lt_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ANSWER        LT_ERRF_ANSWER
#define UPSTREAM_FAIL (LT_ERRF_UPSTREAM | LT_ERRF_STALE | LT_ERRF_BREAKER)

static const struct {
    int status;
    const char *title;
    const char *name;
    unsigned flags;
} kind_table[LT_ERR_KIND_COUNT] = {
    [LT_ERR_NONE] = {200, "OK", "none", 0},
    [LT_ERR_BAD_REQUEST] = {400, "Bad Request", "bad-request", ANSWER},
    [LT_ERR_FORBIDDEN] = {403, "Forbidden", "forbidden", ANSWER},
    [LT_ERR_NOT_FOUND] = {404, "Not Found", "not-found", ANSWER},
    [LT_ERR_METHOD] = {405, "Method Not Allowed", "method-not-allowed", ANSWER},
    [LT_ERR_TOO_LARGE] = {413, "Content Too Large", "too-large", ANSWER},
    [LT_ERR_MEDIA_TYPE] = {415, "Unsupported Media Type", "unsupported-media-type", ANSWER},
    [LT_ERR_RATE_LIMITED] = {429, "Too Many Requests", "rate-limited", ANSWER},
    /* Our own bug: not the national system's failure, so it neither moves a breaker nor hides behind a copy. */
    [LT_ERR_INTERNAL] = {500, "Internal Server Error", "internal", 0},
    [LT_ERR_UPSTREAM_BAD] = {502, "Bad Gateway", "upstream-bad-response", UPSTREAM_FAIL},
    [LT_ERR_UPSTREAM_UNAVAILABLE] = {503, "Service Unavailable", "upstream-unavailable", UPSTREAM_FAIL},
    [LT_ERR_UPSTREAM_TIMEOUT] = {504, "Gateway Timeout", "upstream-timeout", UPSTREAM_FAIL},
    [LT_ERR_CONFLICT] = {422, "Unprocessable Content", "conflict", ANSWER},
    /* The resource is already past this (a dossier version not newer): the store answered, and said no. */
    [LT_ERR_STATE_CONFLICT] = {409, "Conflict", "state-conflict", ANSWER},
};

int lt_error_set(lt_error_t *err, lt_error_kind_t kind, const char *code, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    err->kind = kind;
    err->retry_after_s = 0;
    err->upstream_wait_s = 0;
    err->upstream_closed_s = 0;
    err->retryable = false;
    snprintf(err->code, sizeof(err->code), "%s", code ? code : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
    return -1;
}

void lt_error_clear(lt_error_t *err)
{
    memset(err, 0, sizeof(*err));
}

int lt_error_http_status(lt_error_kind_t kind)
{
    return kind_table[kind].status;
}

bool lt_error_is(lt_error_kind_t kind, unsigned flags)
{
    return (unsigned)kind < LT_ERR_KIND_COUNT && (kind_table[kind].flags & flags) == flags;
}

const char *lt_error_title(lt_error_kind_t kind)
{
    return kind_table[kind].title;
}

const char *lt_error_kind_name(lt_error_kind_t kind)
{
    return kind_table[kind].name;
}
