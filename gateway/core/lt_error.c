/* The error model: kinds, their HTTP statuses and titles. */
#include "lt_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    int status;
    const char *title;
    const char *name;
} kind_table[] = {
    [LT_ERR_NONE] = {200, "OK", "none"},
    [LT_ERR_BAD_REQUEST] = {400, "Bad Request", "bad-request"},
    [LT_ERR_FORBIDDEN] = {403, "Forbidden", "forbidden"},
    [LT_ERR_NOT_FOUND] = {404, "Not Found", "not-found"},
    [LT_ERR_METHOD] = {405, "Method Not Allowed", "method-not-allowed"},
    [LT_ERR_TOO_LARGE] = {413, "Content Too Large", "too-large"},
    [LT_ERR_MEDIA_TYPE] = {415, "Unsupported Media Type", "unsupported-media-type"},
    [LT_ERR_RATE_LIMITED] = {429, "Too Many Requests", "rate-limited"},
    [LT_ERR_INTERNAL] = {500, "Internal Server Error", "internal"},
    [LT_ERR_UPSTREAM_BAD] = {502, "Bad Gateway", "upstream-bad-response"},
    [LT_ERR_UPSTREAM_UNAVAILABLE] = {503, "Service Unavailable", "upstream-unavailable"},
    [LT_ERR_UPSTREAM_TIMEOUT] = {504, "Gateway Timeout", "upstream-timeout"},
    [LT_ERR_CONFLICT] = {422, "Unprocessable Content", "conflict"},
};

int lt_error_set(lt_error_t *err, lt_error_kind_t kind, const char *code, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    err->kind = kind;
    err->retry_after_s = 0;
    err->upstream_wait_s = 0;
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

const char *lt_error_title(lt_error_kind_t kind)
{
    return kind_table[kind].title;
}

const char *lt_error_kind_name(lt_error_kind_t kind)
{
    return kind_table[kind].name;
}
