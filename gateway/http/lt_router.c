/* Matching method and path against every configured adapter's operations. */
#include "lt_router.h"

#include <string.h>

/* Exact routes match the whole path; PATH_PARAM routes match prefix + one non-empty segment. */
static bool path_matches(const lt_operation_t *op, const char *path, const char **param)
{
    if (op->input_kind == LT_INPUT_JSON_BODY)
        return strcmp(op->route, path) == 0;
    size_t n = strlen(op->route);
    if (strncmp(op->route, path, n) != 0 || path[n] == '\0' || strchr(path + n, '/') != NULL)
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
