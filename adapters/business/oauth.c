/*
 * The token endpoint of icd/business-registration.md: OAuth 2.0 client
 * credentials (RFC 6749 §4.4). Builds the one request the ICD shows and reads
 * its answer; the core owns the token's life (single flight, refresh margin,
 * the endpoint's 10-per-minute limit).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "business.h"
#include "codes.h"

#define TOKEN_MAX          2000  /* bytes; the core stores tokens in LT_TOKEN_MAX (2048) */
#define EXPIRES_IN_DEFAULT 300   /* the ICD's example, used when a 200 leaves expires_in out (RFC 6749 §5.1) */
#define EXPIRES_IN_MAX     86400 /* longer lifetimes are cut: refreshing daily costs nothing */
#define RATE_WINDOW_S      60    /* the ICD: 10 token requests per minute */

/* application/x-www-form-urlencoded: unreserved characters stay, space is '+', the rest %XX. */
static char *form_encode(lt_arena_t *a, const char *s)
{
    char *out = lt_arena_alloc(a, strlen(s) * 3 + 1), *w = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p) != NULL)
            *w++ = (char)*p;
        else if (*p == ' ')
            *w++ = '+';
        else
            w += sprintf(w, "%%%02X", *p);
    }
    *w = '\0';
    return out;
}

int lt_business_token_build(const void *settings, lt_arena_t *arena, lt_upstream_request_t *out, lt_error_t *err)
{
    const lt_business_settings_t *s = settings;
    memset(out, 0, sizeof(*out));
    out->method = "POST";
    out->path = "/oauth2/token";
    out->body = lt_arena_sprintf(arena, "grant_type=client_credentials&scope=%s", form_encode(arena, s->scope));
    out->body_len = strlen(out->body);
    if (lt_adapter_request_add_header(arena, out, "Authorization", s->authorization) != 0 ||
        lt_adapter_request_add_header(arena, out, "Content-Type", "application/x-www-form-urlencoded") != 0 ||
        lt_adapter_request_add_header(arena, out, "Accept", "application/json") != 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "too_many_headers", "token request has too many headers");
    return 0;
}

/* RFC 6749 Appendix A: access-token = 1*VSCHAR. Spaces are VSCHAR there, but not in a Bearer header (RFC 6750). */
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

/* The scope the server granted must include ours: RFC 6749 §3.3 says it names the scope when it differs. */
static bool scope_granted(const char *granted, const char *wanted)
{
    size_t n = strlen(wanted);
    for (const char *p = granted; (p = strstr(p, wanted)) != NULL; p += n) {
        bool start = p == granted || p[-1] == ' ';
        bool end = p[n] == '\0' || p[n] == ' ';
        if (start && end)
            return true;
    }
    return false;
}

/* expires_in is a JSON number; some servers send it as a string of digits, which is accepted too. */
static int read_expires_in(const json_t *doc, long *out, lt_error_t *err)
{
    const json_t *v = json_object_get(doc, "expires_in");
    long long n;
    if (v == NULL || json_is_null(v)) {
        *out = EXPIRES_IN_DEFAULT;
        return 0;
    }
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= 9 &&
               strspn(json_string_value(v), "0123456789") == json_string_length(v)) {
        n = atoll(json_string_value(v));
    } else {
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "token_bad_response",
                            "token response expires_in is not a whole number of seconds");
    }
    if (n <= 0)
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "token_bad_response",
                            "token response expires_in is not positive");
    *out = n > EXPIRES_IN_MAX ? EXPIRES_IN_MAX : (long)n;
    return 0;
}

static int parse_granted(const lt_business_settings_t *s, lt_arena_t *a, const lt_upstream_response_t *resp,
                         const char **token, long *expires_in_s, lt_error_t *err)
{
    json_t *doc = lt_business_json_object(a, resp, "token response", err);
    const char *access = NULL, *type = NULL, *scope = NULL;
    if (doc == NULL) {
        strcpy(err->code, "token_bad_response");
        return -1;
    }
    if (lt_business_json_string(doc, "access_token", &access, err) != 0 ||
        lt_business_json_string(doc, "token_type", &type, err) != 0 ||
        lt_business_json_string(doc, "scope", &scope, err) != 0) {
        strcpy(err->code, "token_bad_response");
        return -1;
    }
    if (access == NULL || !is_token_text(access))
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "token_bad_response",
                            "token response has no usable access_token");
    /* RFC 6749 §7.1: the type name is case-insensitive. Anything but Bearer cannot be sent as the ICD says. */
    if (type == NULL || strcasecmp(type, "Bearer") != 0)
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "token_bad_response", "token response token_type is not Bearer");
    if (scope != NULL && !scope_granted(scope, s->scope))
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "token_invalid_scope",
                            "the token endpoint granted a scope without %s", s->scope);
    if (read_expires_in(doc, expires_in_s, err) != 0)
        return -1;
    *token = lt_arena_strdup(a, access);
    return 0;
}

/* RFC 6749 §5.2: 400 (or 401 for client authentication) with {"error": "..."}. */
static int parse_refused(const lt_upstream_response_t *resp, lt_arena_t *a, lt_error_t *err)
{
    lt_error_t ignored;
    const char *error = NULL;
    json_t *doc = lt_business_json_object(a, resp, "token error", &ignored);
    if (doc != NULL)
        lt_business_json_string(doc, "error", &error, &ignored);
    const lt_business_token_error_t *row = lt_business_token_error_find(error);
    /* A 401 means the client failed to authenticate, whatever its body says (RFC 6749 §5.2). */
    if (row == NULL && resp->status == 401)
        row = lt_business_token_error_find("invalid_client");
    if (row == NULL)
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "token_error",
                            "the token endpoint refused the gateway's request (HTTP %ld) without an RFC 6749 error",
                            resp->status);
    return lt_error_set(err, LT_ERR_UPSTREAM_BAD, row->code, "%s", row->detail);
}

int lt_business_token_parse(const void *settings, lt_arena_t *arena, const lt_upstream_response_t *resp,
                            const char **token, long *expires_in_s, lt_error_t *err)
{
    const lt_business_settings_t *s = settings;
    if (resp->status == 200)
        return parse_granted(s, arena, resp, token, expires_in_s, err);
    if (resp->status == 400 || resp->status == 401)
        return parse_refused(resp, arena, err);
    if (resp->status == 429) {
        /* Our own limiter should keep us under 10 a minute; if the endpoint still refuses, retrying now only
         * spends more of its window, so this is not retried within the call. */
        lt_error_set(err, LT_ERR_UPSTREAM_UNAVAILABLE, "token_rate_limited",
                     "the token endpoint's rate limit refused the gateway's token request");
        int header = lt_business_retry_after(resp->retry_after);
        err->retry_after_s = header ? header : RATE_WINDOW_S;
        return -1;
    }
    lt_business_map_status(s, resp, NULL, "token endpoint", err);
    return -1;
}
