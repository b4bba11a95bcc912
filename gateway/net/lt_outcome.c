/* How an upstream attempt ended, from its error and HTTP status. */
#include "lt_outcome.h"

#include <string.h>

const char *lt_outcome_name(lt_outcome_t o)
{
    static const char *const names[LT_OUTCOME_COUNT] = {"ok",       "timeout",  "connect", "tls",
                                                        "http_4xx", "http_5xx", "fault",   "bad_response"};
    return (unsigned)o < LT_OUTCOME_COUNT ? names[o] : "fault";
}

lt_outcome_t lt_outcome_classify(const lt_error_t *err, long http_status)
{
    if (err == NULL)
        return LT_OUTCOME_OK;
    /* A business answer (no record, refused input): the system worked, and said no. */
    if (lt_error_is(err->kind, LT_ERRF_ANSWER))
        return LT_OUTCOME_HTTP_4XX;
    if (http_status == 0) { /* transport: no HTTP response */
        if (err->kind == LT_ERR_UPSTREAM_TIMEOUT || strcmp(err->code, "timeout") == 0)
            return LT_OUTCOME_TIMEOUT;
        if (strcmp(err->code, "tls") == 0)
            return LT_OUTCOME_TLS;
        if (strcmp(err->code, "truncated") == 0 || strcmp(err->code, "response_too_large") == 0)
            return LT_OUTCOME_BAD_RESPONSE;
        return LT_OUTCOME_CONNECT; /* connect, reset, other transport failures */
    }
    if (strcmp(err->code, "bad_response") == 0 || strcmp(err->code, "truncated") == 0 ||
        strcmp(err->code, "response_too_large") == 0)
        return LT_OUTCOME_BAD_RESPONSE;
    /* The adapter saw a bare HTTP error status (no fault document it could read). */
    if (strncmp(err->code, "upstream_http_", 14) == 0) {
        if (http_status >= 500)
            return LT_OUTCOME_HTTP_5XX;
        if (http_status >= 400)
            return LT_OUTCOME_HTTP_4XX;
    }
    return LT_OUTCOME_FAULT; /* a fault the system reported in its own format */
}
