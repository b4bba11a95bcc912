/*
 * Shared between the civil-status adapter's modules: its parsed settings, the
 * envelope every answer comes in, and the token hooks. Everything here is
 * pure (no I/O after start-up); the one clock read is token_parse()'s, and it
 * hands the time to lt_civil_status_token_read(), which tests call directly.
 */
#ifndef LT_CIVIL_STATUS_H
#define LT_CIVIL_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "lt_adapter.h"
#include "lt_arena.h"
#include "lt_error.h"

#define LT_CIVIL_STATUS_TOKEN_PATH  "/api/auth/token"
#define LT_CIVIL_STATUS_LOOKUP_PATH "/api/hotich/tracuu"

/* upstreams.civil-status.service, read once at start-up and then shared read-only by every worker. */
typedef struct lt_civil_status_settings {
    char *unit_code;                     /* maDonVi */
    char *user_name;                     /* the Ministry of Justice's service account */
    char *password_file;                 /* its password, one line */
    long long rate_retry_after_s;        /* Retry-After on 429 when the response has no usable one */
    long long unavailable_retry_after_s; /* Retry-After on 503 when the response has no usable one */
    char *password;                      /* the file's contents, trimmed */
} lt_civil_status_settings_t;

/*
 * Every answer's envelope: {"status","errorCode","errorDescription",...}.
 * `failed` is the envelope's verdict: status "0", or an errorCode. A
 * contradiction (status "1" with an errorCode) is refused when read.
 */
typedef struct lt_civil_status_envelope {
    const json_t *doc;
    const char *error_code;  /* NULL when absent or empty */
    const char *description; /* errorDescription, fit to quote (short, no digit runs), or NULL */
    bool failed;
} lt_civil_status_envelope_t;

/*
 * Reads resp->body as an envelope. Returns 0 with *env filled; -1 with err
 * (LT_ERR_UPSTREAM_BAD "bad_response") when the body is not JSON, not an
 * object, has members of the wrong type, or contradicts itself. The detail
 * never quotes the body. `what` names the answer in details.
 */
int lt_civil_status_envelope_read(lt_arena_t *a, const lt_upstream_response_t *resp, const char *what,
                                  lt_civil_status_envelope_t *env, lt_error_t *err);

/* Maps an envelope whose verdict is failure (not HT-401 at the lookup, which is a new token). Always fills err. */
void lt_civil_status_map_fault(const lt_civil_status_envelope_t *env, lt_error_t *err);

/* Maps an HTTP status that carries no envelope (429, a proxy's 5xx page, anything else). Always fills err. */
void lt_civil_status_map_http(const lt_civil_status_settings_t *s, const lt_upstream_response_t *resp, const char *what,
                              lt_error_t *err);

/*
 * Reads an answer of either endpoint: the envelope when the body holds one
 * (it decides, whatever the HTTP status), else the HTTP status. Returns 0 with
 * *env when there is an envelope whose verdict the caller must act on (success
 * or failure), -1 with err otherwise.
 */
int lt_civil_status_answer_read(lt_arena_t *a, const lt_civil_status_settings_t *s, const lt_upstream_response_t *resp,
                                const char *what, lt_civil_status_envelope_t *env, lt_error_t *err);

/* The token hooks (session.c). */
int lt_civil_status_token_build(const void *settings, lt_arena_t *arena, lt_upstream_request_t *out, lt_error_t *err);
int lt_civil_status_token_parse(const void *settings, lt_arena_t *arena, const lt_upstream_response_t *resp,
                                const char **token, long *expires_in_s, lt_error_t *err);

/*
 * token_parse() at a given time: the token and its remaining life in seconds,
 * computed from hetHan (the expiry, yyyyMMddHHmmss in UTC+07:00) and `now`.
 */
int lt_civil_status_token_read(const lt_civil_status_settings_t *s, lt_arena_t *arena,
                               const lt_upstream_response_t *resp, time_t now, const char **token, long *expires_in_s,
                               lt_error_t *err);

#endif
