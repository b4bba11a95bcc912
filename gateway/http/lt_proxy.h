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
/* The request body as a JSON object (415, 413 and 400 problems otherwise); owned by the request's arena. */
json_t *lt_proxy_read_json_body(lt_request_t *r, lt_error_t *err);
/* "GET", "POST"... of the request. */
const char *lt_proxy_method(const lt_request_t *r);

#endif
