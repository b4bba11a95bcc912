/*
 * Shared between the business adapter's modules: its parsed settings and the
 * small helpers that reading upstream JSON and HTTP needs in more than one
 * place. Everything here is pure (no I/O after start-up).
 */
#ifndef LT_BUSINESS_H
#define LT_BUSINESS_H

#include <jansson.h>

#include "lt_adapter.h"
#include "lt_arena.h"
#include "lt_error.h"

#define LT_BUSINESS_DEFAULT_SCOPE "dkdn.read"

/* upstreams.business.service, read once at start-up and then shared read-only by every worker. */
typedef struct lt_business_settings {
    char *client_id;
    char *client_secret_file;
    char *scope;
    long long rate_retry_after_s;        /* Retry-After on 429 when the response has no usable one */
    long long unavailable_retry_after_s; /* Retry-After on 503 when the response has no usable one */
    char *client_secret;                 /* the file's contents, trimmed */
    char *authorization;                 /* "Basic base64(client_id:client_secret)", made once */
} lt_business_settings_t;

/* A Retry-After given as delta-seconds, clamped to 1-86400; 0 when absent or not delta-seconds (an HTTP-date). */
int lt_business_retry_after(const char *header);

/*
 * Parses an upstream JSON body into an object owned by the arena. The error
 * detail never quotes the body (it may hold personal data): only what kind of
 * problem it was. Fails with LT_ERR_UPSTREAM_BAD, code "bad_response".
 */
json_t *lt_business_json_object(lt_arena_t *a, const lt_upstream_response_t *resp, const char *what, lt_error_t *err);

/* A member that must be a string (or absent/null → NULL). Anything else fails as bad_response naming the key. */
int lt_business_json_string(const json_t *obj, const char *key, const char **out, lt_error_t *err);

/* The request side of the token hooks (oauth.c). */
int lt_business_token_build(const void *settings, lt_arena_t *arena, lt_upstream_request_t *out, lt_error_t *err);
int lt_business_token_parse(const void *settings, lt_arena_t *arena, const lt_upstream_response_t *resp,
                            const char **token, long *expires_in_s, lt_error_t *err);

/* Maps a lookup answer other than 200 and 401 (errors.c). Always fills err. */
void lt_business_map_error(const lt_business_settings_t *s, lt_arena_t *a, const lt_upstream_response_t *resp,
                           lt_error_t *err);

/* Maps a 5xx or other unexpected status of either endpoint; `what` names the endpoint in the detail. */
void lt_business_map_status(const lt_business_settings_t *s, const lt_upstream_response_t *resp, const char *maloi,
                            const char *what, lt_error_t *err);

#endif
