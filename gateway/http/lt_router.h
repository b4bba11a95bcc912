/*
 * Northbound routing (floor 4), in two steps, neither written in the core:
 *   - lt_router_route picks the module whose route covers the request on its
 *     listener (lt_module.h), from the modules' route tables;
 *   - lt_router_match, for the lookup module, picks the adapter operation
 *     from the operation tables of the configured upstreams, so a new
 *     national system brings its own routes.
 */
#ifndef LT_ROUTER_H
#define LT_ROUTER_H

#include <stdbool.h>

#include "lt_adapter.h"
#include "lt_config.h"

typedef struct lt_route_match {
    const lt_upstream_conf_t *upstream;
    const lt_operation_t *op;
    const char *param; /* PATH_PARAM routes: the path after the route (points into the path) */
    bool path_known;   /* the path exists, maybe under another method */
    char allow[64];    /* methods allowed on this path, for 405 */
} lt_route_match_t;

typedef struct lt_module_match {
    size_t module;                  /* the module's index in config->modules */
    const lt_module_route_t *route; /* NULL: no module serves this path on this listener */
    bool module_off;                /* the route's module has no section in the configuration */
    char allow[64];                 /* route NULL but the path is known: the methods it accepts, for 405 */
} lt_module_match_t;

/*
 * The route of the module that serves method and path on the named listener: an exact path before a prefix, a
 * longer prefix before a shorter one, modules that are off included (so that they can say so). Returns 0 with
 * m->route set, or -1 (m->allow non-empty when only the method is wrong).
 */
int lt_router_route(const lt_config_t *config, const char *listener, const char *method, const char *path,
                    lt_module_match_t *m);

/* Returns 0 when method and path match an operation; -1 otherwise (see path_known). */
int lt_router_match(const lt_config_t *config, const char *method, const char *path, lt_route_match_t *m);

#endif
