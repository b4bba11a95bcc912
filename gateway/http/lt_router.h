/*
 * Northbound routing (floor 4): routes are not written in the core, they are
 * read from the adapters' operation tables of the configured upstreams, so a
 * new national system brings its own routes.
 */
#ifndef LT_ROUTER_H
#define LT_ROUTER_H

#include <stdbool.h>

#include "lt_adapter.h"
#include "lt_config.h"

typedef struct lt_route_match {
    const lt_upstream_conf_t *upstream;
    const lt_operation_t *op;
    const char *param; /* PATH_PARAM routes: the last segment (points into the path) */
    bool path_known;   /* the path exists, maybe under another method */
    char allow[64];    /* methods allowed on this path, for 405 */
} lt_route_match_t;

/* Returns 0 when method and path match an operation; -1 otherwise (see path_known). */
int lt_router_match(const lt_config_t *config, const char *method, const char *path, lt_route_match_t *m);

#endif
