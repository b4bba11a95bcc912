/* A worker thread: its loop, server, upstream client and cache handle, and its graceful stop. */
#include "lt_worker.h"

#include <pthread.h>
#include <stdlib.h>

#include "lt_call.h"
#include "lt_callbacks.h"
#include "lt_log.h"
#include "lt_pay_service.h"
#include "lt_pay_store.h"
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
    lt_server_t *server;
    lt_server_t *callbacks; /* the payments' callbacks listener, NULL without payments */
    lt_pay_conn_t *pay;     /* this loop's payment store conn, NULL without payments */
    int servers_draining;   /* servers not drained yet */
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
        return; /* the other listener still has requests in flight */
    if (lt_cache_worker_busy(w->cache) > 0)
        lt_cache_worker_on_idle(w->cache, exit_loop, w);
    else
        exit_loop(w);
}

static void on_grace_over(evutil_socket_t fd, short what, void *arg)
{
    lt_worker_t *w = arg;
    lt_log_warn("worker %d: %d request(s) still in flight after the grace period; stopping anyway", w->index,
                lt_server_inflight(w->server));
    w->forced = true;
    event_base_loopexit(w->base, NULL);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    lt_worker_t *w = arg;
    long long ms = w->config->shutdown_grace_ms;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(w->grace_ev, &tv);
    w->servers_draining = w->callbacks != NULL ? 2 : 1;
    lt_server_drain(w->server);
    if (w->callbacks != NULL)
        lt_server_drain(w->callbacks);
}

static void on_abort(evutil_socket_t fd, short what, void *arg)
{
    lt_worker_t *w = arg;
    w->forced = true;
    event_base_loopbreak(w->base);
}

/* The callbacks listener: same worker, same drain, its own TLS context (server certificate only) and handler. */
static int add_callbacks_server(lt_worker_t *w, const lt_worker_shared_t *shared, lt_server_deps_t deps,
                                lt_error_t *err)
{
    deps.api_tls = shared->callbacks_tls;
    deps.listener = &shared->config->callbacks;
    deps.handle = lt_callbacks_handle;
    w->callbacks = lt_server_new(&deps, err);
    return w->callbacks != NULL ? 0 : -1;
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
    if (shared->payments != NULL)
        w->pay = lt_pay_conn_new(shared->payments->store, w->base);
    w->stop_ev = event_new(w->base, -1, 0, on_stop, w);
    w->abort_ev = event_new(w->base, -1, 0, on_abort, w);
    w->grace_ev = evtimer_new(w->base, on_grace_over, w);
    lt_server_deps_t deps = {
        .base = w->base,
        .config = config,
        .api_tls = shared->api_tls,
        .upstreams = w->upstreams,
        .calls = w->calls,
        .cache = w->cache,
        .payments = shared->payments,
        .pay = w->pay,
        .on_drained = on_drained,
        .on_drained_arg = w,
    };
    w->server = lt_server_new(&deps, err);
    if (w->server == NULL || (shared->payments != NULL && add_callbacks_server(w, shared, deps, err) != 0)) {
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

void lt_worker_join_and_free(lt_worker_t *w)
{
    if (w == NULL)
        return;
    if (w->started)
        pthread_join(w->thread, NULL);
    /* After a forced stop, requests still hold libevent objects: leave them to process exit rather than free
     * connections under live requests. */
    if (!w->forced) {
        lt_server_free(w->server);
        lt_server_free(w->callbacks);
        if (w->pay != NULL)
            lt_pay_conn_free(w->pay);
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
