/*
 * The request path for /v1 operations (floor 4): admit the request (route,
 * method, headers, body), let the adapter validate and build, send through
 * the upstream client, let the adapter parse, and answer in canonical JSON or
 * problem+json. Everything between "request arrived" and "answer sent" for
 * an adapter operation happens here.
 */
#ifndef LT_PROXY_H
#define LT_PROXY_H

#include "lt_request.h"

void lt_proxy_handle(lt_request_t *r);

#endif
