/*
 * Worker threads (roof): one event loop per thread, each with a server per
 * listener (api, and the modules' own), its upstream client, its cache handle
 * (with its own Redis connection) and each module's context on that loop.
 * What workers share is read-only (the config snapshot, TLS contexts) or
 * guarded on purpose (the upstreams' breakers and tokens, the cache's store
 * and single-flight table).
 */
#ifndef LT_WORKER_H
#define LT_WORKER_H

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdbool.h>

#include "lt_audit.h"
#include "lt_cache.h"
#include "lt_call.h"
#include "lt_config.h"
#include "lt_error.h"
#include "lt_ratelimit.h"

typedef struct lt_worker lt_worker_t;

/* What every worker shares: read-only, or guarded on purpose. */
typedef struct lt_worker_shared {
    const lt_config_t *config;
    SSL_CTX *api_tls;
    SSL_CTX *const *listener_tls; /* per configured module listener (config->listeners), its TLS context */
    lt_upstream_state_t *states;
    lt_cache_t *cache;
    lt_audit_t *audit;         /* the audit trail's writer, NULL without an audit section */
    lt_ratelimit_t *ratelimit; /* the clients' buckets (each worker has its own Redis connection to them) */
    void *const *module_state; /* per module of config->modules: its process state (NULL: none, or off) */
} lt_worker_shared_t;

/* Creates the worker's loop and binds its listeners in the calling thread, so bind errors stop start-up. */
lt_worker_t *lt_worker_new(int index, const lt_worker_shared_t *shared, void (*on_exit)(void *), void *on_exit_arg,
                           lt_error_t *err);
int lt_worker_start(lt_worker_t *w);
/* Thread-safe: ask the worker to stop accepting and exit once drained or after the grace period. */
void lt_worker_request_stop(lt_worker_t *w);
/* Thread-safe: stop now, abandoning what is in flight. */
void lt_worker_request_abort(lt_worker_t *w);
void lt_worker_join_and_free(lt_worker_t *w);

#endif
