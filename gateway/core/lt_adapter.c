/* Adapter look-up and request helpers shared by every adapter. */
#include "lt_adapter.h"

#include <string.h>

const lt_adapter_t *lt_adapter_find(const char *name)
{
    for (size_t i = 0; lt_adapters[i] != NULL; i++)
        if (strcmp(lt_adapters[i]->name, name) == 0)
            return lt_adapters[i];
    return NULL;
}

int lt_upstream_request_add_header(lt_arena_t *arena, lt_upstream_request_t *req, const char *name,
                                   const char *value)
{
    if (req->nheaders >= LT_UPSTREAM_MAX_HEADERS)
        return -1;
    req->headers[req->nheaders++] = lt_arena_sprintf(arena, "%s: %s", name, value);
    return 0;
}
