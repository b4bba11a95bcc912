/*
 * The admin listener (floor 4): plain HTTP on a loopback address, served by
 * the main thread's loop so that it answers even while every worker is busy.
 * It asks the roof for the process state through a callback, reports the
 * cache's state in /readyz, and purges cached entries for data corrections
 * (POST /cache/purge), with the main loop's own cache handle, and serves
 * Prometheus metrics (GET /metrics, lt_metrics.h), the operators' status
 * (GET /status.json and the page GET /status, lt_status.h), a configuration
 * reload (POST /reload, through a hook of the roof), drain for a load balancer
 * (POST /drain and /undrain: /readyz 503 while every request is still served) and each module's admin
 * paths (lt_module.h: admin_prefix and admin).
 *
 * Its door (docs/operations.md, "The admin listener"): every request must
 * name one of the listener's own Host names (421 otherwise: DNS rebinding),
 * and every change (POST) must carry the bearer token of
 * listeners.admin.token_file (401 otherwise). Reads stay open to the box.
 */
#ifndef LT_ADMIN_H
#define LT_ADMIN_H

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdbool.h>

#include "lt_audit.h"
#include "lt_cache.h"
#include "lt_call.h"
#include "lt_error.h"
#include "lt_process.h"
#include "lt_ratelimit.h"

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
    const struct lt_probes *probes; /* the main loop's probes (lt_probes.h), or NULL: for /status and /metrics */
    /*
     * POST /reload: re-reads the configuration and applies what can change live. Fills report (an object) and
     * returns the HTTP status to answer (200, or 400/500 with report.error). NULL: 501.
     */
    int (*reload)(void *arg, json_t *report);
    /* The modules (config->modules) and their process state on the main loop (NULL where a module has none or
     * is off): their admin routes (admin_prefix), their /metrics families and their /status.json parts. A module
     * that is off answers its admin routes with 404 problem+json "<name>_not_configured". */
    const struct lt_config *config;
    void *const *module_state;
    lt_audit_t *audit; /* the audit trail, for /metrics and /status; NULL without an audit section */
    /* The process: its name, start and reloads for /status and /metrics; POST /drain and /undrain set its drained
     * flag, which the roof's is_ready reads. */
    lt_process_t *process;
    lt_ratelimit_t *ratelimit; /* the clients' rate limits, for /metrics and /status */
} lt_admin_deps_t;

/* Reads listeners.admin.token_file of deps->config (a start-up error when it cannot be used), then listens. */
lt_admin_t *lt_admin_new(const lt_admin_deps_t *deps, lt_error_t *err);
/*
 * Re-reads the token file after a reload (rotation: a new token in the same file). A changed token is in force at
 * once and noted in applied (an array, or NULL). A file that no longer reads keeps the token in force, logged: -1.
 */
int lt_admin_reload_token(lt_admin_t *admin, json_t *applied);
void lt_admin_free(lt_admin_t *admin);

#endif
