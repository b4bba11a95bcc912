/* A worker thread: its loop, servers, upstream client, cache handle and module contexts, and its graceful stop. */
#include "lt_worker.h"

#include <pthread.h>
#include <stdlib.h>

#include "lt_call.h"
#include "lt_log.h"
#include "lt_module.h"
#include "lt_server.h"
#include "lt_upstream.h"

struct lt_worker {
    int index;
    pthread_t thread;
    bool started;
    const lt_config_t *config;
    struct event_base *base;
    lt_upstream_client_t *upstreams;
    lt_call_env_t *calls;
    lt_cache_worker_t *cache;
    lt_audit_loop_t *audit;         /* this loop's handle on the trail: the writer answers records through it */
    lt_ratelimit_loop_t *ratelimit; /* this loop's handle on the rate limits (its Redis connection) */
    lt_server_t **servers;          /* [0] the api listener's, then one per configured module listener */
    int nservers;
    void **module_ctx;    /* per module of config->modules: its context on this loop, NULL: none */
    int servers_draining; /* servers not drained yet */
    struct event *stop_ev, *abort_ev, *grace_ev;
    bool forced; /* the grace period ran out or an abort came: requests were abandoned */
    void (*on_exit)(void *);
    void *on_exit_arg;
};

static void exit_loop(void *arg)
{
    lt_worker_t *w = arg;
    event_base_loopexit(w->base, NULL);
}

/* This worker's requests are answered; cache flights it leads may still serve other workers' requests, so the
 * loop runs until they end too (the grace period still bounds it). */
static void on_drained(void *arg)
{
    lt_worker_t *w = arg;
    if (--w->servers_draining > 0)
        return; /* another listener still has requests in flight */
    if (lt_cache_worker_busy(w->cache) > 0)
        lt_cache_worker_on_idle(w->cache, exit_loop, w);
    else
        exit_loop(w);
}

static void on_grace_over(evutil_socket_t fd, short what, void *arg)
{
    lt_worker_t *w = arg;
    int inflight = 0;
    for (int i = 0; i < w->nservers; i++)
        inflight += lt_server_inflight(w->servers[i]);
    lt_log_warn("worker %d: %d request(s) still in flight after the grace period; stopping anyway", w->index, inflight);
    w->forced = true;
    event_base_loopexit(w->base, NULL);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    lt_worker_t *w = arg;
    long long ms = w->config->shutdown_grace_ms;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(w->grace_ev, &tv);
    w->servers_draining = w->nservers;
    for (int i = 0; i < w->nservers; i++)
        lt_server_drain(w->servers[i]);
}

static void on_abort(evutil_socket_t fd, short what, void *arg)
{
    lt_worker_t *w = arg;
    w->forced = true;
    event_base_loopbreak(w->base);
}

/* Each module that is on gets its context on this loop, with the clients that live on it. */
static void new_module_contexts(lt_worker_t *w, const lt_worker_shared_t *shared)
{
    const lt_config_t *c = shared->config;
    w->module_ctx = calloc(c->nmodules + 1, sizeof(void *));
    for (size_t m = 0; m < c->nmodules; m++) {
        if (!c->module_on[m] || c->modules[m]->worker_new == NULL)
            continue;
        lt_worker_env_t env = {.index = w->index,
                               .base = w->base,
                               .config = c,
                               .state = shared->module_state[m],
                               .upstreams = w->upstreams,
                               .calls = w->calls,
                               .cache = w->cache};
        w->module_ctx[m] = c->modules[m]->worker_new(&env);
    }
}

/* The api listener, then every configured module listener: same worker, same drain, each its TLS context. */
static int add_servers(lt_worker_t *w, const lt_worker_shared_t *shared, lt_error_t *err)
{
    const lt_config_t *c = shared->config;
    w->servers = calloc(c->nlisteners + 1, sizeof(*w->servers));
    for (size_t i = 0; i <= c->nlisteners; i++) {
        lt_server_deps_t deps = {
            .base = w->base,
            .config = c,
            .tls = i == 0 ? shared->api_tls : shared->listener_tls[i - 1],
            .listener_name = i == 0 ? LT_LISTENER_API : c->listeners[i - 1].name,
            .listener = i == 0 ? &c->api : &c->listeners[i - 1].conf,
            .module_ctx = w->module_ctx,
            .audit = w->audit,
            .ratelimit = w->ratelimit,
            .on_drained = on_drained,
            .on_drained_arg = w,
        };
        if ((w->servers[i] = lt_server_new(&deps, err)) == NULL)
            return -1;
        w->nservers++;
    }
    return 0;
}

lt_worker_t *lt_worker_new(int index, const lt_worker_shared_t *shared, void (*on_exit)(void *), void *on_exit_arg,
                           lt_error_t *err)
{
    const lt_config_t *config = shared->config;
    lt_worker_t *w = calloc(1, sizeof(*w));
    w->index = index;
    w->config = config;
    w->on_exit = on_exit;
    w->on_exit_arg = on_exit_arg;
    w->base = event_base_new();
    w->upstreams = lt_upstream_client_new(w->base);
    w->calls = lt_call_env_new(w->base, w->upstreams, config, shared->states);
    w->cache = lt_cache_worker_new(shared->cache, w->base, w->calls);
    w->audit = lt_audit_loop_new(shared->audit, w->base);
    w->ratelimit = lt_ratelimit_loop_new(shared->ratelimit, w->base);
    w->stop_ev = event_new(w->base, -1, 0, on_stop, w);
    w->abort_ev = event_new(w->base, -1, 0, on_abort, w);
    w->grace_ev = evtimer_new(w->base, on_grace_over, w);
    new_module_contexts(w, shared);
    if (add_servers(w, shared, err) != 0) {
        lt_worker_join_and_free(w);
        return NULL;
    }
    return w;
}

static void *worker_main(void *arg)
{
    lt_worker_t *w = arg;
    event_base_dispatch(w->base);
    w->on_exit(w->on_exit_arg);
    return NULL;
}

int lt_worker_start(lt_worker_t *w)
{
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return -1;
    w->started = true;
    return 0;
}

void lt_worker_request_stop(lt_worker_t *w)
{
    event_active(w->stop_ev, EV_READ, 0);
}

void lt_worker_request_abort(lt_worker_t *w)
{
    event_active(w->abort_ev, EV_READ, 0);
}

/* After the servers: no request of this loop is left to use a module's context. */
static void free_module_contexts(lt_worker_t *w)
{
    const lt_config_t *c = w->config;
    for (size_t m = 0; m < c->nmodules && w->module_ctx != NULL; m++)
        if (w->module_ctx[m] != NULL)
            c->modules[m]->worker_free(w->module_ctx[m]);
    free(w->module_ctx);
}

void lt_worker_join_and_free(lt_worker_t *w)
{
    if (w == NULL)
        return;
    if (w->started)
        pthread_join(w->thread, NULL);
    /* After a forced stop, requests still hold libevent objects: leave them to process exit rather than free
     * connections under live requests. */
    if (!w->forced) {
        for (int i = 0; i < w->nservers; i++)
            lt_server_free(w->servers[i]);
        free(w->servers);
        free_module_contexts(w);
        lt_audit_loop_free(w->audit); /* every request was answered, so every record of this loop too */
        lt_ratelimit_loop_free(w->ratelimit);
        lt_cache_worker_free(w->cache);
        lt_call_env_free(w->calls);
        lt_upstream_client_free(w->upstreams);
        event_free(w->stop_ev);
        event_free(w->abort_ev);
        event_free(w->grace_ev);
        event_base_free(w->base);
        free(w);
    }
}
