/*
 * lienthong-gateway: the roof. Reads the configuration, checks every TLS file
 * and cache key, creates the process-wide cache, the workers and the admin
 * listener (with its own cache handle, for purges), and turns SIGTERM/SIGINT into a
 * graceful drain: stop accepting, let in-flight requests finish within
 * limits.shutdown_grace_ms, exit 0.
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lt_admin.h"
#include "lt_cache.h"
#include "lt_certs.h"
#include "lt_config.h"
#include "lt_log.h"
#include "lt_probe.h"
#include "lt_reload.h"
#include "lt_pay_runtime.h"
#include "lt_pay_service.h"
#include "lt_tls.h"
#include "lt_upstream.h"
#include "lt_worker.h"
#include "lt_xml.h"

typedef struct gateway {
    lt_config_t *config;
    SSL_CTX *api_tls;
    SSL_CTX *callbacks_tls;     /* payments only: the callbacks listener's server certificate */
    lt_pay_service_t *payments; /* NULL without a payments section */
    lt_pay_runtime_t *pay_runtime;
    lt_upstream_state_t *states; /* per upstream, shared by every worker */
    lt_cache_t *cache;           /* shared by every worker */
    struct event_base *base;
    lt_cache_worker_t *admin_cache; /* the main loop's: purges from the admin listener */
    lt_admin_t *admin;
    lt_probes_t *probes; /* on the main loop */
    json_t *raw_config;  /* the file as loaded, for what a reload changes */
    struct event *sighup_ev;
    lt_worker_t **workers;
    int nworkers;
    _Atomic int workers_exited;
    struct event *worker_exit_ev;
    struct event *sigterm_ev, *sigint_ev;
    _Atomic bool draining;
    int signals_seen;
} gateway_t;

static void usage(FILE *out)
{
    fputs("Usage: lienthong-gateway --config FILE [--check-config]\n"
          "       lienthong-gateway --help | --version\n"
          "\n"
          "Liên Thông: the interoperability gateway between a province's portal and the\n"
          "national systems (population, business registration, tax, social insurance,\n"
          "payments).\n"
          "\n"
          "  -c, --config FILE   the JSON configuration (see docs/operations.md)\n"
          "  -t, --check-config  load the configuration and every certificate and key it\n"
          "                      names, report the first problem, and exit (0 when valid)\n"
          "  -h, --help          this text\n"
          "  -V, --version       the version\n"
          "\n"
          "Signals: SIGTERM or SIGINT stop accepting and exit 0 once in-flight requests\n"
          "are answered (within limits.shutdown_grace_ms); a second signal stops at once.\n"
          "SIGHUP reloads the configuration: log_level applies at once, other changes are\n"
          "reported as needing a restart (as POST /reload on the admin listener).\n"
          "\n"
          "With a payments section, the payment store is opened at start-up: the journal\n"
          "is replayed (and locked against a second gateway), or Redis is reached.\n",
          out);
}

/* Everything that can be checked before binding: the config and every TLS file it names. */
static int check_tls_material(gateway_t *gw, lt_error_t *err)
{
    const lt_config_t *c = gw->config;
    gw->api_tls = lt_tls_server_ctx_new(c->api.cert, c->api.key, c->api.client_ca, err);
    if (gw->api_tls == NULL)
        return -1;
    /* The payment gateway and citizens' browsers present no certificate: server authentication only. */
    if (c->payments.enabled &&
        (gw->callbacks_tls = lt_tls_server_ctx_new(c->callbacks.cert, c->callbacks.key, NULL, err)) == NULL)
        return -1;
    for (size_t i = 0; i < c->nupstreams; i++) {
        const lt_upstream_conf_t *u = &c->upstreams[i];
        char what[128];
        snprintf(what, sizeof(what), "upstreams.%s", u->name);
        if (lt_tls_check_client_files(what, u->cert, u->key, u->ca, err) != 0)
            return -1;
        lt_certs_note_file("upstream_client", u->name, u->cert); /* for its expiry on /metrics and /status */
    }
    lt_certs_note("api_server", "api", SSL_CTX_get0_certificate(gw->api_tls));
    if (gw->callbacks_tls != NULL)
        lt_certs_note("callbacks_server", "callbacks", SSL_CTX_get0_certificate(gw->callbacks_tls));
    return 0;
}

static bool is_ready(void *arg, json_t *reasons)
{
    gateway_t *gw = arg;
    if (gw->draining) {
        json_array_append_new(reasons, json_string("shutting down"));
        return false;
    }
    return true;
}

/* POST /reload and SIGHUP: see lt_reload.h. */
static int reload(void *arg, json_t *report)
{
    gateway_t *gw = arg;
    return lt_reload_run(gw->config->path, gw->config, gw->raw_config, report);
}

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
    json_t *report = json_object();
    reload(arg, report);
    char *text = json_dumps(report, JSON_COMPACT);
    lt_log_info("SIGHUP: %s", text);
    free(text);
    json_decref(report);
}

static void on_worker_exit(void *arg)
{
    gateway_t *gw = arg;
    /* Runs on the worker's thread: hand over to the main loop. */
    event_active(gw->worker_exit_ev, EV_READ, 0);
}

static void on_worker_exit_main(evutil_socket_t fd, short what, void *arg)
{
    gateway_t *gw = arg;
    /* event_active() calls may coalesce: count the exits ourselves. */
    if (atomic_load(&gw->workers_exited) >= gw->nworkers)
        event_base_loopexit(gw->base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    gateway_t *gw = arg;
    if (gw->signals_seen++ > 0) {
        lt_log_warn("second signal: stopping now");
        for (int i = 0; i < gw->nworkers; i++)
            lt_worker_request_abort(gw->workers[i]);
        return;
    }
    lt_log_info("signal %d: draining (grace %lld ms)", (int)sig, gw->config->shutdown_grace_ms);
    gw->draining = true;
    for (int i = 0; i < gw->nworkers; i++)
        lt_worker_request_stop(gw->workers[i]);
}

static void count_exit(void *arg)
{
    gateway_t *gw = arg;
    atomic_fetch_add(&gw->workers_exited, 1);
    on_worker_exit(gw);
}

static int start_workers(gateway_t *gw, lt_error_t *err)
{
    long n = gw->config->workers;
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0)
        n = 1;
    if (n > 256) /* the per-upstream token and cache wake-up tables hold 256 loops, as `workers` allows */
        n = 256;
    gw->workers = calloc((size_t)n, sizeof(*gw->workers));
    for (int i = 0; i < n; i++) {
        lt_worker_shared_t shared = {.config = gw->config,
                                     .api_tls = gw->api_tls,
                                     .callbacks_tls = gw->callbacks_tls,
                                     .states = gw->states,
                                     .cache = gw->cache,
                                     .payments = gw->payments};
        gw->workers[i] = lt_worker_new(i, &shared, count_exit, gw, err);
        if (gw->workers[i] == NULL)
            return -1;
        gw->nworkers++;
    }
    for (int i = 0; i < gw->nworkers; i++) {
        if (lt_worker_start(gw->workers[i]) != 0) {
            /* The ones already running must stop, or cleanup() would wait on them forever. */
            for (int j = 0; j < i; j++)
                lt_worker_request_abort(gw->workers[j]);
            return lt_error_set(err, LT_ERR_INTERNAL, "thread", "cannot start worker thread %d", i);
        }
    }
    return 0;
}

/* The store (journal replay, or Redis), then the main loop's outbox and reconciliation. */
static int start_payments(gateway_t *gw, lt_error_t *err)
{
    if (!gw->config->payments.enabled)
        return 0;
    if ((gw->payments = lt_pay_service_new(gw->config, err)) == NULL)
        return -1;
    gw->pay_runtime = lt_pay_runtime_new(gw->payments, gw->base);
    lt_log_info("payments: %s store, callbacks on %s", lt_pay_store_backend(gw->payments->store),
                gw->config->callbacks.bind);
    return 0;
}

static int run(gateway_t *gw, lt_error_t *err)
{
    evthread_use_pthreads();
    signal(SIGPIPE, SIG_IGN);
    if (lt_upstream_global_init(err) != 0)
        return -1;
    lt_xml_init();
    gw->base = event_base_new();
    gw->worker_exit_ev = event_new(gw->base, -1, 0, on_worker_exit_main, gw);
    gw->sigterm_ev = evsignal_new(gw->base, SIGTERM, on_signal, gw);
    gw->sigint_ev = evsignal_new(gw->base, SIGINT, on_signal, gw);
    gw->sighup_ev = evsignal_new(gw->base, SIGHUP, on_sighup, gw);
    event_add(gw->sigterm_ev, NULL);
    event_add(gw->sigint_ev, NULL);
    event_add(gw->sighup_ev, NULL);
    gw->admin_cache = lt_cache_worker_new(gw->cache, gw->base, NULL);
    gw->states = lt_upstream_states_new(gw->config); /* before the admin listener, whose /metrics reads them */
    gw->probes = lt_probes_new(gw->base, gw->config, gw->states);
    if (start_payments(gw, err) != 0)
        return -1;
    lt_admin_deps_t admin = {.base = gw->base,
                             .bind = gw->config->admin.bind,
                             .is_ready = is_ready,
                             .arg = gw,
                             .cache = gw->cache,
                             .cache_loop = gw->admin_cache,
                             .states = gw->states,
                             .nstates = gw->config->nupstreams,
                             .probes = gw->probes,
                             .reload = reload,
                             .payments_summary = gw->pay_runtime ? lt_pay_runtime_summary : NULL,
                             .payments_admin = gw->pay_runtime ? lt_pay_runtime_admin : NULL,
                             .payments_arg = gw->pay_runtime};
    if ((gw->admin = lt_admin_new(&admin, err)) == NULL)
        return -1;
    if (start_workers(gw, err) != 0)
        return -1;
    lt_log_info("lienthong-gateway %s: %d worker(s), api on %s, admin on %s", LT_VERSION, gw->nworkers,
                gw->config->api.bind, gw->config->admin.bind);
    event_base_dispatch(gw->base);
    return 0;
}

static void cleanup(gateway_t *gw)
{
    for (int i = 0; i < gw->nworkers; i++)
        lt_worker_join_and_free(gw->workers[i]);
    free(gw->workers);
    lt_admin_free(gw->admin); /* cancels its purges before their cache handle goes */
    lt_probes_free(gw->probes);
    lt_cache_worker_free(gw->admin_cache);
    lt_pay_runtime_free(gw->pay_runtime); /* after the workers: their store conns are gone, then the main loop's */
    lt_pay_service_free(gw->payments);
    SSL_CTX_free(gw->callbacks_tls);
    if (gw->base != NULL) {
        event_free(gw->worker_exit_ev);
        event_free(gw->sigterm_ev);
        event_free(gw->sigint_ev);
        event_free(gw->sighup_ev);
        event_base_free(gw->base);
    }
    SSL_CTX_free(gw->api_tls);
    lt_cache_free(gw->cache);
    if (gw->config != NULL)
        lt_upstream_states_free(gw->states, gw->config->nupstreams);
    lt_config_free(gw->config);
    json_decref(gw->raw_config);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"check-config", no_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    const char *config_path = NULL;
    bool check_only = false;
    /* systemd's ExecReload may send SIGHUP while start-up still runs, before the loop handles it. */
    signal(SIGHUP, SIG_IGN);
    int opt;
    while ((opt = getopt_long(argc, argv, "c:thV", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 't':
            check_only = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("lienthong-gateway %s\n", LT_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (config_path == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    gateway_t gw = {0};
    lt_error_t err;
    lt_error_clear(&err);
    gw.config = lt_config_load(config_path, &err);
    gw.raw_config = gw.config != NULL ? json_load_file(config_path, 0, NULL) : NULL;
    int rc = gw.config != NULL && check_tls_material(&gw, &err) == 0 ? 0 : -1;
    /* The cache's key files and Redis address are checked here too, so --check-config sees them. */
    if (rc == 0 && (gw.cache = lt_cache_new(gw.config, &err)) == NULL)
        rc = -1;
    if (rc == 0) {
        lt_log_level_t level;
        if (lt_log_parse_level(gw.config->log_level, &level) != 0)
            rc = lt_error_set(&err, LT_ERR_INTERNAL, "config", "log_level: must be error, warn, info or debug");
        else
            lt_log_set_level(level);
    }
    if (rc == 0 && check_only) {
        printf("lienthong-gateway: configuration %s is valid\n", config_path);
    } else if (rc == 0) {
        rc = run(&gw, &err);
    }
    if (rc != 0)
        fprintf(stderr, "lienthong-gateway: %s\n", err.detail);
    cleanup(&gw);
    return rc == 0 ? 0 : 1;
}
