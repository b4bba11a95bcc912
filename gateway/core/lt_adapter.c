/* Request helpers shared by every adapter, and the checks over a table of adapters. */
#include "lt_adapter.h"

#include <stdbool.h>
#include <string.h>

int lt_adapter_request_add_header(lt_arena_t *arena, lt_upstream_request_t *req, const char *name, const char *value)
{
    if (req->nheaders >= LT_UPSTREAM_MAX_HEADERS)
        return -1;
    req->headers[req->nheaders++] = lt_arena_sprintf(arena, "%s: %s", name, value);
    return 0;
}

int lt_adapter_retry_after_seconds(const char *header, int fallback)
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

const lt_adapter_t *lt_adapter_table_find(const lt_adapter_t *const *table, const char *name)
{
    for (size_t i = 0; name != NULL && table[i] != NULL; i++)
        if (strcmp(table[i]->name, name) == 0)
            return table[i];
    return NULL;
}

/* Whether a path-parameter operation serves this exact path: its prefix, then one non-empty segment (lt_router). */
static bool prefix_serves(const lt_operation_t *op, const char *path)
{
    size_t n = strlen(op->route);
    return strncmp(op->route, path, n) == 0 && path[n] != '\0' && strchr(path + n, '/') == NULL;
}

/*
 * Two prefixes share a path when one starts with the other and what the longer adds holds no '/': a segment
 * after the longer one is then also one segment after the shorter ("/v1/x/" and "/v1/x/a" both serve
 * "/v1/x/ab"; "/v1/x/" and "/v1/x/a/" share nothing).
 */
static bool prefixes_overlap(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    const char *shorter = na <= nb ? a : b, *longer = na <= nb ? b : a;
    size_t ns = na <= nb ? na : nb;
    return strncmp(shorter, longer, ns) == 0 && strchr(longer + ns, '/') == NULL;
}

static bool routes_overlap(const lt_operation_t *a, const lt_operation_t *b)
{
    if (strcmp(a->method, b->method) != 0)
        return false;
    bool a_body = a->input_kind == LT_INPUT_JSON_BODY, b_body = b->input_kind == LT_INPUT_JSON_BODY;
    if (a_body && b_body)
        return strcmp(a->route, b->route) == 0;
    if (a_body)
        return prefix_serves(b, a->route);
    if (b_body)
        return prefix_serves(a, b->route);
    return prefixes_overlap(a->route, b->route);
}

static int route_conflict(const lt_adapter_t *x, const lt_operation_t *a, const lt_adapter_t *y,
                          const lt_operation_t *b, lt_error_t *err)
{
    if (x == y)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "adapter %s claims %s %s twice (operations %s and %s)",
                            x->name, a->method, a->route, a->name, b->name);
    if (strcmp(a->route, b->route) == 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "adapters %s and %s both claim %s %s", x->name, y->name,
                            a->method, a->route);
    return lt_error_set(err, LT_ERR_INTERNAL, "config",
                        "adapters %s and %s both claim %s paths: %s (%s) and %s (%s) overlap", x->name, y->name,
                        a->method, a->route, x->name, b->route, y->name);
}

int lt_adapter_routes_check(const lt_adapter_t *const *adapters, size_t n, lt_error_t *err)
{
    for (size_t i = 0; i < n; i++)
        for (const lt_operation_t *a = adapters[i]->operations; a->name != NULL; a++)
            for (size_t j = i; j < n; j++)
                for (const lt_operation_t *b = i == j ? a + 1 : adapters[j]->operations; b->name != NULL; b++)
                    if (routes_overlap(a, b))
                        return route_conflict(adapters[i], a, adapters[j], b, err);
    return 0;
}
