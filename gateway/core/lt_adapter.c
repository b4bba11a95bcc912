/* Request helpers shared by every adapter. */
#include "lt_adapter.h"

int lt_upstream_request_add_header(lt_arena_t *arena, lt_upstream_request_t *req, const char *name, const char *value)
{
    if (req->nheaders >= LT_UPSTREAM_MAX_HEADERS)
        return -1;
    req->headers[req->nheaders++] = lt_arena_sprintf(arena, "%s: %s", name, value);
    return 0;
}

int lt_upstream_retry_after_seconds(const char *header, int fallback)
{
    if (header == NULL)
        return fallback;
    const char *t = header;
    while (*t == ' ')
        t++;
    long long v = 0;
    const char *p = t;
    while (*p >= '0' && *p <= '9' && v <= LT_RETRY_AFTER_MAX_S)
        v = v * 10 + (*p++ - '0');
    while (*p == ' ')
        p++;
    return (p != t && *p == '\0' && v > 0 && v <= LT_RETRY_AFTER_MAX_S) ? (int)v : fallback;
}
