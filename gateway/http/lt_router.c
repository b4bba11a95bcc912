/* Matching a request against the modules' routes, and against every configured adapter's operations. */
#include "lt_router.h"

#include <string.h>

/* Exactly `want` non-empty segments separated by single '/', and nothing around them. */
static bool is_segments(const char *s, int want)
{
    int n = 0;
    for (;;) {
        size_t len = strcspn(s, "/");
        if (len == 0)
            return false;
        n++;
        if (s[len] == '\0')
            return n == want;
        s += len + 1;
    }
}

/* Exact routes match the whole path; PATH_PARAM routes match prefix + param_segments (1) non-empty segments. */
static bool path_matches(const lt_operation_t *op, const char *path, const char **param)
{
    if (op->input_kind == LT_INPUT_JSON_BODY)
        return strcmp(op->route, path) == 0;
    size_t n = strlen(op->route);
    if (strncmp(op->route, path, n) != 0 || !is_segments(path + n, op->param_segments > 1 ? op->param_segments : 1))
        return false;
    *param = path + n;
    return true;
}

static void note_allowed(lt_route_match_t *m, const char *method)
{
    if (strstr(m->allow, method) != NULL)
        return;
    if (m->allow[0] != '\0')
        strncat(m->allow, ", ", sizeof(m->allow) - strlen(m->allow) - 1);
    strncat(m->allow, method, sizeof(m->allow) - strlen(m->allow) - 1);
}

int lt_router_match(const lt_config_t *config, const char *method, const char *path, lt_route_match_t *m)
{
    memset(m, 0, sizeof(*m));
    for (size_t i = 0; i < config->nupstreams; i++) {
        const lt_upstream_conf_t *u = &config->upstreams[i];
        for (const lt_operation_t *op = u->adapter->operations; op->name != NULL; op++) {
            const char *param = NULL;
            if (!path_matches(op, path, &param))
                continue;
            m->path_known = true;
            note_allowed(m, op->method);
            if (strcmp(op->method, method) == 0) {
                m->upstream = u;
                m->op = op;
                m->param = param;
                return 0;
            }
        }
    }
    return -1;
}

/* ---- module routes ------------------------------------------------------------------------------ */

static void append_method(char *allow, size_t size, const char *method)
{
    if (strstr(allow, method) != NULL)
        return;
    if (allow[0] != '\0')
        strncat(allow, ", ", size - strlen(allow) - 1);
    strncat(allow, method, size - strlen(allow) - 1);
}

/* How specific a route is: an exact path beats any prefix, a longer prefix a shorter one. */
static size_t route_rank(const lt_module_route_t *route)
{
    return strlen(route->path) * 2 + (route->prefix ? 0 : 1);
}

int lt_router_route(const lt_config_t *config, const char *listener, const char *method, const char *path,
                    lt_module_match_t *m)
{
    memset(m, 0, sizeof(*m));
    size_t best = 0;
    for (size_t i = 0; i < config->nmodules; i++) {
        for (const lt_module_route_t *route = config->modules[i]->routes; route && route->handle; route++) {
            if (strcmp(route->listener, listener) != 0 || !lt_module_route_matches(route, path))
                continue;
            if (route->method != NULL && strcmp(route->method, method) != 0) {
                append_method(m->allow, sizeof(m->allow), route->method);
                continue;
            }
            size_t rank = route_rank(route);
            if (m->route != NULL && rank <= best)
                continue;
            best = rank;
            m->route = route;
            m->module = i;
        }
    }
    if (m->route == NULL)
        return -1;
    m->module_off = !config->module_on[m->module];
    m->allow[0] = '\0';
    return 0;
}
