/*
 * The lookup module (lt_module.h): the handler for every adapter operation
 * under /v1. It admits the request (route among the configured adapters'
 * operations, accountability headers, body, the adapter's validate), hands the
 * call to the cache and lt_call (breaker, token, adapter steps, retries), and
 * answers in canonical JSON or problem+json.
 */
#ifndef LT_LOOKUP_H
#define LT_LOOKUP_H

#include "lt_request.h"

/* A route handler (lt_module.h): worker_ctx is the module's context on this worker. */
void lt_lookup_handle(lt_request_t *r, void *worker_ctx);

#endif
