/*
 * The operators' picture (floor 4): GET /status.json, and the page GET /status
 * renders from the same document (lt_status_html.c), so the two never disagree;
 * lienthong-ctl prints it too. Per national system: a colour (red, amber,
 * green) with the reason that decided it, the probe's state, the circuit, the
 * last success and last error, latency percentiles and request and error
 * counts over the last five minutes, its certificates' days left, its token.
 * Then the cache, each module's part (its status hook, lt_module.h), and
 * every certificate.
 *
 * "Recent" figures come from snapshots of the process-wide counters that a
 * timer on the admin loop takes every 10 s: the difference between now and the
 * oldest snapshot (at most 5 minutes old). Nothing here blocks: counters are
 * atomics and the rest are short mutex-held copies.
 */
#ifndef LT_STATUS_H
#define LT_STATUS_H

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>

#include "lt_audit.h"
#include "lt_cache.h"
#include "lt_call.h"
#include "lt_module.h"
#include "lt_probes.h"
#include "lt_process.h"
#include "lt_ratelimit.h"

typedef struct lt_status lt_status_t;

typedef struct lt_status_deps {
    struct event_base *base;
    lt_upstream_state_t *states;
    size_t nstates;
    const lt_probes_t *probes; /* NULL: no probes */
    lt_cache_t *cache;
    lt_audit_t *audit;         /* NULL: no audit section (amber: personal data is not audited) */
    lt_ratelimit_t *ratelimit; /* the clients' rate limits: amber while Redis does not answer */
    bool (*is_ready)(void *arg, json_t *reasons);
    void *arg;
    const struct lt_config *config; /* its modules */
    void *const *module_state;      /* per module: its process state (NULL: none, or off) */
    const lt_process_t *process;    /* name, uptime, reloads, drained, the zone of every time (NULL: +07:00) */
} lt_status_deps_t;

#define LT_STATUS_WINDOW_S 300
#define LT_STATUS_TICK_S   10

/* Certificates: amber under 30 days left, red under 7 (and once expired). */
#define LT_STATUS_CERT_AMBER_DAYS 30
#define LT_STATUS_CERT_RED_DAYS   7

lt_status_t *lt_status_new(const lt_status_deps_t *deps);
void lt_status_free(lt_status_t *s);
/* The /status.json document (a new reference). */
json_t *lt_status_build(lt_status_t *s);

/* "red", "amber" or "green" for a certificate with this many whole days left. */
const char *lt_status_cert_color(long days_left);

/* The page: one self-contained HTML document (malloc'd), from a document of lt_status_build; cards take their
 * titles from the adapter and module tables of the configuration (config may be NULL: names then). */
char *lt_status_html(const json_t *status, const struct lt_config *config, int refresh_s);

#endif
