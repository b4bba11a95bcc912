/*
 * The module interface: every kind of work the gateway does beside the
 * plumbing is a module. Adapter lookups are one (`lookup`), fee payments are
 * another (`payments`); the dossier push, the audit trail and rate limits are
 * the same shape. The roof, the router, admin and status walk the table of
 * modules and never name a particular one (as nginx's ngx_modules[], h2o's
 * handlers and HAProxy's filters).
 *
 * A module is a `static const lt_module_t` in its own folder under
 * gateway/modules/<name>/, declared as `lt_<name>_module`; the build collects
 * them into the table that the roof hands to the layers that walk it (see
 * CMakeLists.txt and gateway/modules/module_table.c.in). Nothing below the
 * roof links against a module.
 *
 * A module declares, each part optional:
 *   - a config section: a top-level key of the configuration file, loaded,
 *     checked (the files it names: at start-up, --check-config and reload) and
 *     freed by the module; the core never reads inside it;
 *   - listeners of its own beside api and admin (`listeners.<name>` in the
 *     file), e.g. the payments' callbacks listener;
 *   - process state, started on the main loop after the configuration is
 *     loaded and before any worker starts, stopped after every worker ended;
 *   - a context per worker, created on the worker's loop (in the roof's thread,
 *     before the loop runs) and freed after it stopped;
 *   - routes: listener, method, path or path prefix, and a handler that
 *     receives the request and this worker's context;
 *   - admin routes under a path prefix, on the main loop with the process state;
 *   - hooks for /status.json, /metrics and reload;
 *   - hand-offs: a fact one module publishes and another takes, through this header only, so that neither
 *     includes the other's (today one: a fee payment that reached its final state, published by the module that
 *     settles payments and taken by the one that keeps dossiers, which lists it in its dossier's fees).
 *
 * Lifetimes: a module's config lives as long as the configuration snapshot;
 * its process state from start to stop; a worker context from worker_new to
 * worker_free, and every request a handler saw is finished or abandoned
 * before worker_free runs.
 */
#ifndef LT_MODULE_H
#define LT_MODULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lt_error.h"

struct event_base;
struct evhttp_request;
struct lt_config;
struct lt_request;
struct lt_buf;
struct lt_upstream_client;
struct lt_call_env;
struct lt_cache_worker;

/* A listener a module brings, read from listeners.<name>: TLS with a server certificate. */
typedef struct lt_module_listener {
    const char *name;         /* "callbacks": its key under listeners and the listener of the module's routes */
    const char *default_bind; /* "0.0.0.0:8444" */
} lt_module_listener_t;

/* The listener every gateway has for the province's systems (mutual TLS). */
#define LT_LISTENER_API "api"

typedef struct lt_module_route {
    const char *listener; /* LT_LISTENER_API or the name of one of the module's listeners */
    const char *method;   /* "GET"; NULL: any method, the handler answers a wrong one with 405 itself */
    const char *path;     /* "/v1/payments": the path, or with `prefix` the path and everything below it */
    bool prefix;          /* the path matches itself and every path below it ("/v1/payments/{id}") */
    /* What a client must be allowed (lt_client.h) to use this route ("payments"); NULL: the handler decides
     * (the lookup module checks "<system>.<operation>"), or the listener has no clients. */
    const char *permission;
    /* The route serves personal data: every answer of it, a refusal by `permission` included, is in the audit
     * trail (gateway/net/lt_audit.h). The handler records its own answers; the server records that refusal. */
    bool personal_data;
    /*
     * Answers the request, exactly once (lt_request_reply_*), now or from a later callback. worker_ctx is what
     * the module's worker_new returned on this worker (NULL for a module without one).
     */
    void (*handle)(struct lt_request *r, void *worker_ctx);
} lt_module_route_t;

/* What a worker hands each module's worker_new: its loop and the clients that live on it. */
typedef struct lt_worker_env {
    int index; /* 0..workers-1 */
    struct event_base *base;
    const struct lt_config *config;
    void *state;                          /* the module's process state (start's result), NULL without one */
    struct lt_upstream_client *upstreams; /* this worker's HTTP client toward the national systems */
    struct lt_call_env *calls;            /* this worker's view of the upstreams' shared state */
    struct lt_cache_worker *cache;        /* this worker's handle on the lookup cache */
} lt_worker_env_t;

/*
 * The other modules, as a module's start receives them, for hand-offs: the table and every module's process state
 * by the table's index. The roof fills the states as the modules start, all of them before the main loop runs,
 * and frees them after every module stopped, so a hand-off made from the main loop always finds them.
 */
typedef struct lt_module_peers {
    const struct lt_module *const *modules;
    size_t nmodules;
    void *const *states; /* NULL for a module that is off or has no state */
} lt_module_peers_t;

/* What the roof hands a module's start on the main loop. */
typedef struct lt_module_start {
    struct event_base *base; /* the main loop */
    const struct lt_config *config;
    const void *conf;               /* the module's section as its conf_load made it; NULL without a section */
    const lt_module_peers_t *peers; /* lives as long as the module's state */
} lt_module_start_t;

/* A fee payment that reached its final state, as its publisher hands it over. Strings are "" when unknown. */
typedef struct lt_payment_final {
    const char *payment_id;  /* "LT20261123-9f3a1c2b4d5e6f70": what tells a repeat from a new payment */
    const char *dossier_id;  /* the dossier it pays for (the portal's MaHoSo) */
    long long amount_vnd;    /* what was paid, in dong */
    const char *status;      /* "paid", "failed" or "expired" */
    const char *description; /* what the citizen paid for, as the portal wrote it */
    const char *paid_at;     /* ISO 8601 with +07:00, "" unless paid */
    const char *bank_code, *transaction_no;
} lt_payment_final_t;

/* The taker's one answer: kept true once it holds the payment durably (or held it already: a repeat adds
 * nothing); false when it could not (its store did not answer), and the publisher hands it over again later. */
typedef void (*lt_payment_final_done_fn)(void *arg, bool kept);

typedef struct lt_module {
    const char *name;  /* "payments": logs, /status.json key, and the reason prefix on the status page */
    const char *title; /* shown on the status page: "Thanh toán · Payments" */

    /*
     * Its config section: the top-level key `section` (NULL: the module has none and is always on). A module
     * whose section is absent is off: it has no state, no worker context, no route and no listener.
     * conf_load reads the section (`path` is its key path for messages) into *conf; conf_check checks what
     * the section names outside the file (keys, certificates, secrets), as start-up would; conf_free frees.
     */
    const char *section;
    int (*conf_load)(const json_t *section, const char *path, const struct lt_config *config, void **conf,
                     lt_error_t *err);
    int (*conf_check)(const void *conf, const struct lt_config *config, lt_error_t *err);
    void (*conf_free)(void *conf);
    const lt_module_listener_t *listeners; /* terminated by an entry whose name is NULL; NULL for none */

    /* Process state on the main loop: after the config is loaded, before the admin listener and the workers. */
    void *(*start)(const lt_module_start_t *start, lt_error_t *err);
    void (*stop)(void *state); /* after every worker ended */

    void *(*worker_new)(const lt_worker_env_t *env);
    void (*worker_free)(void *worker_ctx);

    /* Routes, terminated by an entry whose handle is NULL. The router prefers an exact path over a prefix,
     * and a longer prefix over a shorter one. */
    const lt_module_route_t *routes;

    /* Admin routes: every admin request whose path starts with admin_prefix, on the main loop. */
    const char *admin_prefix;
    void (*admin)(void *state, struct evhttp_request *req);

    /*
     * /status.json: fills `out`, shown under the module's name, with at least "color" ("green", "amber",
     * "red") and, when not green, "reason" (said on the page as "<name>: <reason>"). The page draws the
     * module's card from out.card {"subtitle", "rows": [[label, value], ...]}.
     */
    void (*status)(void *state, json_t *out);
    /* /metrics: the module's families, in Prometheus text (lt_metrics.h's lt_mbuf helpers). */
    void (*metrics)(void *state, struct lt_buf *out);
    /* POST /reload and SIGHUP, after the new configuration passed every check: applies what the module can
     * change live from next_conf and lists it in report.applied; NULL: every change needs a restart. */
    void (*reload)(void *state, const void *next_conf, json_t *applied);

    /*
     * Hand-off: takes a payment that reached its final state, on the main loop. Answers `done` exactly once, on
     * the main loop, never inside the call, and never after stop (an answer still pending then is dropped: the
     * publisher, stopped too, hands the payment over again at the next start). The same payment may come again
     * (after a crash, or a lost answer): that must add nothing.
     */
    void (*take_payment_final)(void *state, const lt_payment_final_t *p, lt_payment_final_done_fn done, void *arg);
} lt_module_t;

/* The modules the build knows, NULL-terminated, in a fixed order (the roof's generated table). */
typedef const lt_module_t *const lt_module_table_t[];

/* Does `route` match `path`? Exact, or for a prefix route, the path itself or below it at a '/'. */
bool lt_module_route_matches(const lt_module_route_t *route, const char *path);

/* The first started module that takes payments' final states, with its state in *state; NULL when none is on. */
const lt_module_t *lt_module_payment_taker(const lt_module_peers_t *peers, void **state);

#endif
