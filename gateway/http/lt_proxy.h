/*
 * The request path for /v1 operations (floor 4): admit the request (route,
 * method, headers, body), let the adapter validate its input, hand the call to
 * lt_call (floor 3: breaker, token, adapter steps, retries), and answer in
 * canonical JSON or problem+json.
 */
#ifndef LT_PROXY_H
#define LT_PROXY_H

#include "lt_request.h"

void lt_proxy_handle(lt_request_t *r);

#endif
