/*
 * lienthong-gateway: the roof. Reads the configuration with the modules'
 * sections, checks every TLS file, cache key and module file, creates the
 * process-wide cache, starts the modules, the workers and the admin listener
 * (with its own cache handle, for purges), and turns SIGTERM/SIGINT into a
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
#include <time.h>
#include <unistd.h>

#include "lt_adapters.h"
#include "lt_admin.h"
#include "lt_audit.h"
#include "lt_bind.h"
#include "lt_cache.h"
#include "lt_ratelimit.h"
#include "lt_certs.h"
#include "lt_conf.h"
#include "lt_config.h"
#include "lt_crl.h"
#include "lt_log.h"
#include "lt_modules.h"
#include "lt_notify.h"
#include "lt_probes.h"
#include "lt_reload.h"
#include "lt_tls.h"
#include "lt_upstream.h"
#include "lt_worker.h"
#include "lt_xml.h"

typedef struct gateway {
    lt_config_t *config;
    SSL_CTX *api_tls;
    SSL_CTX **listener_tls; /* per configured module listener: its server certificate */
    void **module_state;    /* per module: its process state on the main loop (NULL: none, or off) */
    bool modules_started;
    lt_module_peers_t peers;     /* the table and module_state, for the modules' hand-offs */
    lt_upstream_state_t *states; /* per upstream, shared by every worker */
    lt_cache_t *cache;           /* shared by every worker */
    lt_audit_t *audit;           /* the audit trail's writer, shared by every worker; NULL without a section */
    lt_ratelimit_t *ratelimit;   /* the clients' buckets, shared by every worker */
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
    lt_notify_t *notify;  /* systemd: READY=1, STOPPING=1, the watchdog */
    lt_process_t process; /* name, start, reloads, drained: for the admin listener */
} gateway_t;

static void usage(FILE *out)
{
    fputs("Usage: lienthong-gateway --config FILE [--check-config | --print-config-keys]\n"
          "       lienthong-gateway --help | --version\n"
          "\n"
          "Liên Thông: the interoperability gateway between a province's portal and the\n"
          "national systems (population, business registration, tax, social insurance,\n"
          "payments, the national public-service portal).\n"
          "\n"
          "  -c, --config FILE   the JSON configuration (see docs/operations.md)\n"
          "  -t, --check-config  load the configuration and every certificate and key it\n"
          "                      names, report the first problem, and exit (0 when valid)\n"
          "      --print-config-keys  load the configuration, then print every key the\n"
          "                      loader offered in the sections it read, one JSON object\n"
          "                      a line (path, type, required, min, max, default)\n"
          "  -h, --help          this text\n"
          "  -V, --version       the version\n"
          "\n"
          "Signals: SIGTERM or SIGINT stop accepting and exit 0 once in-flight requests\n"
          "are answered (within limits.shutdown_grace_ms); a second signal stops at once.\n"
          "SIGHUP reloads the configuration: log_level and the api listener's revocation\n"
          "lists (listeners.api.crl_*, re-read from their files) apply at once, other\n"
          "changes are reported as needing a restart (as POST /reload on the admin listener).\n"
          "\n"
          "With a payments or a dossiers section, its store is opened at start-up: the\n"
          "journal is replayed (and locked against a second gateway), or Redis is reached.\n",
          out);
}

/* The TLS layer names the file and what is wrong with it; the operator also needs the key path that names it. */
static int in_section(const char *path, lt_error_t *err)
{
    char detail[sizeof(err->detail)];
    memcpy(detail, err->detail, sizeof(detail));
    return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s: %s", path, detail);
}

/* A module's listener serves peers that present no certificate (the payment gateway, citizens' browsers). */
static int load_listener_tls(gateway_t *gw, lt_error_t *err)
{
    const lt_config_t *c = gw->config;
    gw->listener_tls = calloc(c->nlisteners + 1, sizeof(*gw->listener_tls));
    for (size_t i = 0; i < c->nlisteners; i++) {
        const lt_module_listener_conf_t *l = &c->listeners[i];
        char role[64];
        if ((gw->listener_tls[i] = lt_tls_server_ctx_new(l->conf.cert, l->conf.key, NULL, err)) == NULL) {
            snprintf(role, sizeof(role), "listeners.%s", l->name);
            return in_section(role, err);
        }
        snprintf(role, sizeof(role), "%s_server", l->name);
        lt_certs_note(role, l->name, SSL_CTX_get0_certificate(gw->listener_tls[i]));
    }
    return 0;
}

/* What each module's section names outside the file (secrets, keys), as its start would read them. */
static int check_modules(const lt_config_t *c, lt_error_t *err)
{
    for (size_t m = 0; m < c->nmodules; m++)
        if (c->module_on[m] && c->modules[m]->conf_check != NULL &&
            c->modules[m]->conf_check(c->module_conf[m], c, err) != 0)
            return -1;
    return 0;
}

/* Everything that can be checked before binding: the config and every TLS file it names. */
static int check_tls_material(gateway_t *gw, lt_error_t *err)
{
    const lt_config_t *c = gw->config;
    gw->api_tls = lt_tls_server_ctx_new(c->api.cert, c->api.key, c->api.client_ca, err);
    if (gw->api_tls == NULL)
        return in_section("listeners.api", err);
    if (lt_tls_tickets_configure(gw->api_tls, c->api.ticket_key_rotate_s, c->api.ticket_key_file, err) != 0)
        return -1;
    if (load_listener_tls(gw, err) != 0)
        return -1;
    /* The client CAs' revocation lists: read and checked here, so --check-config refuses a bad one too. */
    lt_tls_trust_t *trust = lt_tls_trust_new(gw->api_tls, &c->api, err);
    if (trust == NULL)
        return -1;
    lt_tls_trust_install(gw->api_tls, trust);
    for (size_t i = 0; i < c->nupstreams; i++) {
        const lt_upstream_conf_t *u = &c->upstreams[i];
        char what[128];
        snprintf(what, sizeof(what), "upstreams.%s", u->name);
        if (lt_tls_check_client_files(what, u->cert, u->key, u->ca, err) != 0)
            return -1;
        lt_certs_note_file("upstream_client", u->name, u->cert); /* for its expiry on /metrics and /status */
    }
    lt_certs_note("api_server", "api", SSL_CTX_get0_certificate(gw->api_tls));
    return check_modules(c, err);
}

/* --check-config binds every listener as start-up would (SO_REUSEPORT where the workers share the port) and
 * closes it again, so that a port already taken is reported now, with the system's reason. */
static int try_listeners(const lt_config_t *c, lt_error_t *err)
{
    char why[200];
    if (lt_bind_try(c->api.bind, true, why, sizeof(why)) != 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "listen", "listeners.%s.bind: %s", LT_LISTENER_API, why);
    if (lt_bind_try(c->admin.bind, false, why, sizeof(why)) != 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "listen", "listeners.admin.bind: %s", why);
    for (size_t i = 0; i < c->nlisteners; i++)
        if (lt_bind_try(c->listeners[i].conf.bind, true, why, sizeof(why)) != 0)
            return lt_error_set(err, LT_ERR_INTERNAL, "listen", "listeners.%s.bind: %s", c->listeners[i].name, why);
    return 0;
}

static bool is_ready(void *arg, json_t *reasons)
{
    gateway_t *gw = arg;
    if (gw->draining) {
        json_array_append_new(reasons, json_string("shutting down"));
        return false;
    }
    if (atomic_load(&gw->process.drained)) {
        json_array_append_new(reasons, json_string("drained by an operator (lienthong-ctl undrain to take traffic)"));
        return false;
    }
    /* An instance that cannot audit answers every personal-data request 503: a balancer should send them on. */
    if (gw->audit != NULL && !lt_audit_available(gw->audit)) {
        json_array_append_new(reasons, json_string("the audit trail cannot be written"));
        return false;
    }
    return true;
}

/* POST /reload and SIGHUP: see lt_reload.h. */
static int reload(void *arg, json_t *report)
{
    gateway_t *gw = arg;
    int status = lt_reload_run(gw->config->path, gw->config, gw->raw_config, gw->module_state, gw->api_tls, report);
    lt_process_reloaded(&gw->process, status);
    if (status == 200 && gw->admin != NULL) /* the token file is re-read: rotation needs no restart */
        lt_admin_reload_token(gw->admin, json_object_get(report, "applied"));
    return status;
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
    lt_notify_stopping(gw->notify);
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
                                     .listener_tls = gw->listener_tls,
                                     .states = gw->states,
                                     .cache = gw->cache,
                                     .audit = gw->audit,
                                     .ratelimit = gw->ratelimit,
                                     .module_state = gw->module_state};
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

/* Each module that is on starts its process state on the main loop, in table order. */
static int start_modules(gateway_t *gw, lt_error_t *err)
{
    const lt_config_t *c = gw->config;
    gw->module_state = calloc(c->nmodules + 1, sizeof(void *));
    gw->modules_started = true;
    gw->peers = (lt_module_peers_t){.modules = c->modules, .nmodules = c->nmodules, .states = gw->module_state};
    for (size_t m = 0; m < c->nmodules; m++) {
        if (!c->module_on[m] || c->modules[m]->start == NULL)
            continue;
        lt_module_start_t start = {.base = gw->base, .config = c, .conf = c->module_conf[m], .peers = &gw->peers};
        if ((gw->module_state[m] = c->modules[m]->start(&start, err)) == NULL)
            return -1;
    }
    return 0;
}

/* In reverse order, after every worker ended. */
static void stop_modules(gateway_t *gw)
{
    if (!gw->modules_started)
        return;
    for (size_t m = gw->config->nmodules; m-- > 0;)
        if (gw->module_state[m] != NULL && gw->config->modules[m]->stop != NULL)
            gw->config->modules[m]->stop(gw->module_state[m]);
    free(gw->module_state);
}

/* The trail opens before anything is served: a directory it cannot write stops start-up. */
static int start_audit(gateway_t *gw, lt_error_t *err)
{
    if (!gw->config->audit.enabled) {
        lt_log_warn("no audit section: personal-data operations are not audited (docs/operations.md, \"audit\")");
        return 0;
    }
    return (gw->audit = lt_audit_new(gw->config, err)) != NULL ? 0 : -1;
}

static int run(gateway_t *gw, lt_error_t *err)
{
    evthread_use_pthreads();
    signal(SIGPIPE, SIG_IGN);
    if (lt_upstream_global_init(err) != 0)
        return -1;
    lt_xml_init();
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    gw->process.instance = gw->config->instance;
    gw->process.zone_offset_s = gw->config->time_zone_offset_s;
    gw->process.started_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    gw->base = event_base_new();
    gw->notify = lt_notify_new(gw->base);
    gw->worker_exit_ev = event_new(gw->base, -1, 0, on_worker_exit_main, gw);
    gw->sigterm_ev = evsignal_new(gw->base, SIGTERM, on_signal, gw);
    gw->sigint_ev = evsignal_new(gw->base, SIGINT, on_signal, gw);
    gw->sighup_ev = evsignal_new(gw->base, SIGHUP, on_sighup, gw);
    event_add(gw->sigterm_ev, NULL);
    event_add(gw->sigint_ev, NULL);
    event_add(gw->sighup_ev, NULL);
    gw->admin_cache = lt_cache_worker_new(gw->cache, gw->base, NULL);
    gw->states = lt_call_states_new(gw->config); /* before the admin listener, whose /metrics reads them */
    gw->probes = lt_probes_new(gw->base, gw->config, gw->states);
    if (start_modules(gw, err) != 0)
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
                             .config = gw->config,
                             .audit = gw->audit,
                             .ratelimit = gw->ratelimit,
                             .module_state = gw->module_state,
                             .process = &gw->process};
    /* The admin listener last: its /readyz answers only once every other listener is bound (run-dev.sh waits on it). */
    if (start_workers(gw, err) != 0)
        return -1;
    if ((gw->admin = lt_admin_new(&admin, err)) == NULL) {
        for (int i = 0; i < gw->nworkers; i++)
            lt_worker_request_abort(gw->workers[i]); /* or cleanup() would wait on them forever */
        return -1;
    }
    lt_notify_ready(gw->notify); /* every listener is bound and listening: connections queue until served */
    lt_log_info("lienthong-gateway %s: %d worker(s), api on %s, admin on %s", LT_VERSION, gw->nworkers,
                gw->config->api.bind, gw->config->admin.bind);
    lt_crl_announce();
    event_base_dispatch(gw->base);
    return 0;
}

static void cleanup(gateway_t *gw)
{
    for (int i = 0; i < gw->nworkers; i++)
        lt_worker_join_and_free(gw->workers[i]);
    free(gw->workers);
    lt_admin_free(gw->admin); /* cancels its purges before their cache handle goes */
    lt_audit_free(gw->audit); /* after the workers: every record they submitted is answered */
    lt_probes_free(gw->probes);
    lt_cache_worker_free(gw->admin_cache);
    stop_modules(gw); /* after the workers: their module contexts are gone */
    for (size_t i = 0; gw->listener_tls != NULL && i < gw->config->nlisteners; i++)
        SSL_CTX_free(gw->listener_tls[i]);
    free(gw->listener_tls);
    if (gw->base != NULL) {
        event_free(gw->worker_exit_ev);
        event_free(gw->sigterm_ev);
        event_free(gw->sigint_ev);
        event_free(gw->sighup_ev);
        lt_notify_free(gw->notify);
        event_base_free(gw->base);
    }
    SSL_CTX_free(gw->api_tls);
    lt_cache_free(gw->cache);
    lt_ratelimit_free(gw->ratelimit); /* after the workers, whose loops had its connections */
    if (gw->config != NULL)
        lt_call_states_free(gw->states, gw->config->nupstreams);
    lt_config_free(gw->config);
    json_decref(gw->raw_config);
}

/* ---- --print-config-keys -------------------------------------------------------------------------------- */

static const char *conf_type_name(lt_conf_type_t t)
{
    static const char *const names[] = {
        [LT_CONF_STRING] = "string", [LT_CONF_INT] = "integer",   [LT_CONF_BOOL] = "boolean",
        [LT_CONF_FILE] = "file",     [LT_CONF_OBJECT] = "object", [LT_CONF_ARRAY] = "array",
    };
    return names[t];
}

/* One row as a JSON object, appended to the list in ctx: the loader's own data, so nothing is restated by hand. */
static void note_config_key(const char *path, const lt_conf_field_t *f, void *ctx)
{
    json_t *row = json_object();
    json_object_set_new(row, "path", json_sprintf("%s%s%s", path, *path ? "." : "", f->key));
    json_object_set_new(row, "type", json_string(conf_type_name(f->type)));
    json_object_set_new(row, "required", json_boolean(f->required));
    if (f->type == LT_CONF_INT) {
        json_object_set_new(row, "min", json_integer(f->min));
        json_object_set_new(row, "max", json_integer(f->max));
        json_object_set_new(row, "default", json_integer(f->default_int));
    } else if (f->type == LT_CONF_BOOL) {
        json_object_set_new(row, "default", json_boolean(f->default_int != 0));
    } else if ((f->type == LT_CONF_STRING || f->type == LT_CONF_FILE) && f->default_str != NULL) {
        json_object_set_new(row, "default", json_string(f->default_str));
    }
    json_array_append_new(ctx, row);
}

/* Every key the tables offer in the sections this file has (a section it lacks is not read, so not listed). */
static int print_config_keys(const char *config_path)
{
    json_t *rows = json_array();
    lt_error_t err;
    lt_error_clear(&err);
    lt_conf_set_observer(note_config_key, rows);
    lt_config_t *config = lt_config_load(config_path, lt_adapters, lt_modules, &err);
    lt_conf_set_observer(NULL, NULL);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        char *line = config != NULL ? json_dumps(row, JSON_COMPACT) : NULL;
        if (line != NULL)
            printf("%s\n", line);
        free(line);
    }
    json_decref(rows);
    if (config == NULL)
        fprintf(stderr, "lienthong-gateway: %s\n", err.detail);
    lt_config_free(config);
    return config != NULL ? 0 : 1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},      {"check-config", no_argument, NULL, 't'},
        {"print-config-keys", no_argument, NULL, 'K'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},           {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL;
    bool check_only = false, print_keys = false;
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
        case 'K':
            print_keys = true;
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
    if (config_path == NULL || optind != argc || (check_only && print_keys)) {
        usage(stderr);
        return 2;
    }
    if (print_keys)
        return print_config_keys(config_path);
    gateway_t gw = {0};
    lt_error_t err;
    lt_error_clear(&err);
    gw.config = lt_config_load(config_path, lt_adapters, lt_modules, &err);
    gw.raw_config = gw.config != NULL ? json_load_file(config_path, 0, NULL) : NULL;
    int rc = gw.config != NULL && check_tls_material(&gw, &err) == 0 ? 0 : -1;
    /* The cache's key files and Redis address are checked here too, so --check-config sees them. */
    if (rc == 0 && (gw.cache = lt_cache_new(gw.config, &err)) == NULL)
        rc = -1;
    if (rc == 0 && (gw.ratelimit = lt_ratelimit_new(gw.config, &err)) == NULL)
        rc = -1;
    if (rc == 0 && gw.config->audit.enabled && lt_audit_check(&gw.config->audit, &err) != 0)
        rc = -1;
    if (rc == 0) {
        lt_log_level_t level;
        if (lt_log_parse_level(gw.config->log_level, &level) != 0)
            rc = lt_error_set(&err, LT_ERR_INTERNAL, "config", "log_level: must be error, warn, info or debug");
        else
            lt_log_set_level(level);
        lt_log_format_t format = LT_LOG_FORMAT_JSON;
        lt_log_parse_format(gw.config->log_format, &format); /* checked by the loader */
        lt_log_set_format(format);
        lt_log_set_instance(gw.config->instance);
    }
    if (rc == 0 && check_only)
        rc = try_listeners(gw.config, &err);
    if (rc == 0 && check_only) {
        printf("lienthong-gateway: configuration %s is valid\n", config_path);
    } else if (rc == 0) {
        rc = start_audit(&gw, &err) == 0 ? run(&gw, &err) : -1;
    }
    if (rc != 0)
        fprintf(stderr, "lienthong-gateway: %s\n", err.detail);
    cleanup(&gw);
    return rc == 0 ? 0 : 1;
}
