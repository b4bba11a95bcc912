/*
 * The admin listener (floor 4): plain HTTP on a loopback address, served by
 * the main thread's loop so that it answers even while every worker is busy.
 * It asks the roof for the process state through a callback, reports the
 * cache's state in /readyz, and purges cached entries for data corrections
 * (POST /cache/purge), with the main loop's own cache handle, and serves
 * Prometheus metrics (GET /metrics, lt_metrics.h).
 */
#ifndef LT_ADMIN_H
#define LT_ADMIN_H

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>

#include "lt_cache.h"
#include "lt_call.h"
#include "lt_error.h"

typedef struct lt_admin lt_admin_t;

typedef struct lt_admin_deps {
    struct event_base *base;
    const char *bind;
    /* Fills reasons (an array) and returns true when the gateway can serve. */
    bool (*is_ready)(void *arg, json_t *reasons);
    void *arg;
    lt_cache_t *cache;             /* for /readyz: a degraded cache is reported, not a reason to refuse */
    lt_cache_worker_t *cache_loop; /* this loop's handle, for purges */
    lt_upstream_state_t *states;   /* per upstream, shared with the workers: for /metrics */
    size_t nstates;
} lt_admin_deps_t;

lt_admin_t *lt_admin_new(const lt_admin_deps_t *deps, lt_error_t *err);
void lt_admin_free(lt_admin_t *admin);

#endif
