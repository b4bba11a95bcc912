/* Matching a module's route against a request path, and finding a hand-off's taker (lt_module.h). */
#include "lt_module.h"

#include <string.h>

bool lt_module_route_matches(const lt_module_route_t *route, const char *path)
{
    size_t n = strlen(route->path);
    if (strncmp(path, route->path, n) != 0)
        return false;
    if (path[n] == '\0')
        return true;
    /* "/v1/payments" covers "/v1/payments/{id}" but not "/v1/paymentsX"; "/v1/" covers everything below it. */
    return route->prefix && (path[n] == '/' || (n > 0 && route->path[n - 1] == '/'));
}

const lt_module_t *lt_module_payment_taker(const lt_module_peers_t *peers, void **state)
{
    for (size_t m = 0; peers != NULL && m < peers->nmodules; m++) {
        if (peers->modules[m]->take_payment_final != NULL && peers->states[m] != NULL) {
            *state = peers->states[m];
            return peers->modules[m];
        }
    }
    *state = NULL;
    return NULL;
}
