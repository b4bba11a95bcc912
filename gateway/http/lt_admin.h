/*
 * The admin listener (floor 4): plain HTTP on a loopback address, served by
 * the main thread's loop so that it answers even while every worker is busy.
 * It asks the roof for the process state through a callback, reports the
 * cache's state in /readyz, and purges cached entries for data corrections
 * (POST /cache/purge), with the main loop's own cache handle, and serves
 * Prometheus metrics (GET /metrics, lt_metrics.h), the operators' status
 * (GET /status.json and the page GET /status, lt_status.h), a configuration
 * reload (POST /reload, through a hook of the roof) and the payments' admin
 * paths (/payments/..., through a hook of the payments module).
 */
#ifndef LT_ADMIN_H
#define LT_ADMIN_H

#include <event2/event.h>
#include <event2/http.h>
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
    const struct lt_probes *probes; /* the main loop's probes (lt_probe.h), or NULL: for /status and /metrics */
    /*
     * POST /reload: re-reads the configuration and applies what can change live. Fills report (an object) and
     * returns the HTTP status to answer (200, or 400/500 with report.error). NULL: 501.
     */
    int (*reload)(void *arg, json_t *report);
    /*
     * Payments (optional; NULL until payments are configured), both called with payments_arg:
     *   - payments_summary fills `out` (an object) with
     *     {"backend": "journal|redis", "store_ok": bool,
     *      "by_state": {"pending": n, "paid": n, "failed": n, "expired": n},
     *      "outbox": {"backlog": n, "dead_letters": n, "oldest_backlog_age_s": x},
     *      "ipn_answers": {"00": n, "01": n, "02": n, "04": n, "97": n, "99": n}}
     *     shown under "payments" in /status.json and /status, and exported in /metrics;
     *   - payments_admin answers every admin request whose path starts with /payments/ (lienthong-ctl's
     *     `outbox list` and `outbox redrive`). Without it those paths answer 404 problem+json.
     */
    void (*payments_summary)(void *arg, json_t *out);
    void (*payments_admin)(void *arg, struct evhttp_request *req);
    void *payments_arg;
} lt_admin_deps_t;

lt_admin_t *lt_admin_new(const lt_admin_deps_t *deps, lt_error_t *err);
void lt_admin_free(lt_admin_t *admin);

#endif
