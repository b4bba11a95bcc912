/* Request helpers shared by every adapter. */
#include "lt_adapter.h"

int lt_upstream_request_add_header(lt_arena_t *arena, lt_upstream_request_t *req, const char *name, const char *value)
{
    if (req->nheaders >= LT_UPSTREAM_MAX_HEADERS)
        return -1;
    req->headers[req->nheaders++] = lt_arena_sprintf(arena, "%s: %s", name, value);
    return 0;
}
