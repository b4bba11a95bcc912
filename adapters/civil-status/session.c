/*
 * The session of icd/civil-status.md: POST /api/auth/token with the service
 * account, answered by a token and hetHan, its expiry as a Vietnam-time
 * timestamp rather than a lifetime. The core owns the token's life (single
 * flight, refresh margin, rate limit) and wants seconds from now, so
 * token_parse() turns hetHan into them against the wall clock.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil_status.h"
#include "codes.h"
#include "lt_date.h"

#define TOKEN_MAX      2000  /* bytes; the core stores tokens in LT_TOKEN_MAX (2048) */
#define LIFETIME_MIN_S 120   /* the ICD: a token may live as little as 2 minutes */
#define LIFETIME_MAX_S 86400 /* longer lifetimes are cut: refreshing daily costs nothing */
#define WHAT           "civil-status token endpoint"
#define TOKEN_BAD      "token_bad_response"

int lt_civil_status_token_build(const void *settings, lt_arena_t *arena, lt_upstream_request_t *out, lt_error_t *err)
{
    const lt_civil_status_settings_t *s = settings;
    memset(out, 0, sizeof(*out));
    out->method = "POST";
    out->path = LT_CIVIL_STATUS_TOKEN_PATH;
    /* jansson escapes both values, so a password holding '"' or '\' cannot change the document. */
    json_t *body = json_pack("{s:s, s:s}", "userName", s->user_name, "password", s->password);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "request_build", "could not write the civil-status token request");
    out->body = lt_arena_strdup(arena, text);
    out->body_len = strlen(text);
    free(text);
    if (lt_adapter_request_add_header(arena, out, "Content-Type", "application/json; charset=utf-8") != 0 ||
        lt_adapter_request_add_header(arena, out, "Accept", "application/json") != 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "too_many_headers", "token request has too many headers");
    return 0;
}

/* The token goes into an Authorization header as it is: printable ASCII without spaces, or it cannot be sent. */
static bool is_token_text(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > TOKEN_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)t; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return false;
    return true;
}

/*
 * HT-401 at the token endpoint is the ICD's "wrong account": nothing a caller
 * can fix, so a 502 that tells operators where to look, never a 401 or 403.
 * Any other error here is our request or their service failing: a 502 too.
 */
static int session_refused(const lt_civil_status_envelope_t *env, lt_error_t *err)
{
    if (env->error_code != NULL && strcmp(env->error_code, LT_CIVIL_STATUS_TOKEN_REFUSED) == 0)
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_account_rejected",
                            "the civil-status database refused the gateway's service account (HT-401 at the token "
                            "endpoint); operators must check upstreams.civil-status.service.user_name and "
                            "password_file");
    lt_error_t row;
    lt_civil_status_map_fault(env, &row);
    return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "token_error", "%s: %s", WHAT, row.detail);
}

/* Seconds from now to hetHan; without a hetHan, the shortest life the ICD allows, so that we refresh in time. */
static int lifetime(const json_t *doc, time_t now, long *expires_in_s, lt_error_t *err)
{
    const json_t *v = json_object_get(doc, "hetHan");
    if (v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
        *expires_in_s = LIFETIME_MIN_S;
        return 0;
    }
    time_t expiry;
    if (!json_is_string(v) || lt_date_vn_stamp_to_unix(json_string_value(v), &expiry) != 0)
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, TOKEN_BAD,
                            "token response hetHan is not a yyyyMMddHHmmss time (UTC+07:00)");
    long long left = (long long)expiry - (long long)now;
    if (left <= 0)
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "token_expired_on_arrival",
                            "the civil-status token endpoint issued a token whose hetHan is already past by the "
                            "gateway's clock (%lld s ago); check the gateway's clock",
                            -left);
    *expires_in_s = left > LIFETIME_MAX_S ? LIFETIME_MAX_S : (long)left;
    return 0;
}

int lt_civil_status_token_read(const lt_civil_status_settings_t *s, lt_arena_t *arena,
                               const lt_upstream_response_t *resp, time_t now, const char **token, long *expires_in_s,
                               lt_error_t *err)
{
    lt_civil_status_envelope_t env;
    if (lt_civil_status_answer_read(arena, s, resp, WHAT " answer", &env, err) != 0) {
        if (strcmp(err->code, "bad_response") == 0)
            snprintf(err->code, sizeof(err->code), "%s", TOKEN_BAD);
        return -1;
    }
    if (env.failed)
        return session_refused(&env, err);
    const json_t *t = json_object_get(env.doc, "token");
    if (!json_is_string(t) || !is_token_text(json_string_value(t)))
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, TOKEN_BAD, "token response has no usable token");
    if (lifetime(env.doc, now, expires_in_s, err) != 0)
        return -1;
    *token = lt_arena_strdup(arena, json_string_value(t));
    return 0;
}

int lt_civil_status_token_parse(const void *settings, lt_arena_t *arena, const lt_upstream_response_t *resp,
                                const char **token, long *expires_in_s, lt_error_t *err)
{
    /* hetHan is a moment, and the core wants a lifetime: the wall clock is the only bridge between the two. */
    return lt_civil_status_token_read(settings, arena, resp, time(NULL), token, expires_in_s, err);
}
