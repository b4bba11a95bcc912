/*
 * Reading what the civil-status database answers: its envelope (every answer
 * is HTTP 200 with {"status","errorCode","errorDescription",...}), the HTTP
 * statuses that come without one (the 429 of its rate limit, a proxy's error
 * page), and the mapping of both to the gateway's error model (the rows live
 * in codes.c). The envelope decides whenever there is one: an HTTP 200 is not
 * a success by itself. Details never quote the body, except a short
 * errorDescription that cannot hold an identifier.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "civil_status.h"
#include "codes.h"
#include "lt_text.h"

#define BAD              "bad_response"
#define MESSAGE_MAX      120 /* bytes of an upstream errorDescription quoted in a detail */
#define DIGIT_RUN_UNSAFE 8   /* a run this long might be an identifier or a date: the message is withheld */
#define CODE_MAX         24  /* an unknown errorCode longer than this is not quoted */

static void free_json(void *j)
{
    json_decref(j);
}

static bool has_digit_run(const char *s)
{
    int run = 0;
    for (; *s; s++) {
        run = isdigit((unsigned char)*s) ? run + 1 : 0;
        if (run >= DIGIT_RUN_UNSAFE)
            return true;
    }
    return false;
}

/* The national system's own words, when they are short, printable and cannot quote an identifier. */
static const char *safe_message(lt_arena_t *a, const char *text)
{
    if (text == NULL || !lt_text_is_utf8(text) || has_digit_run(text))
        return NULL;
    const char *m = lt_text_squeeze(a, text);
    for (const unsigned char *p = (const unsigned char *)m; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '"')
            return NULL;
    m = lt_text_nfc(a, lt_text_truncate_utf8(a, m, MESSAGE_MAX));
    return m && *m ? m : NULL;
}

/* A member that must be a string, or absent/null (NULL). */
static int string_member(const json_t *obj, const char *key, const char *what, const char **out, lt_error_t *err)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, BAD, "%s: %s is not a string", what, key);
    *out = json_string_value(v);
    return 0;
}

static json_t *load_object(lt_arena_t *a, const lt_upstream_response_t *resp, const char *what, lt_error_t *err)
{
    json_error_t jerr;
    /* Duplicate keys make an answer ambiguous; \u0000 is refused by jansson unless asked, which we do not. */
    json_t *doc = json_loadb(resp->body ? resp->body : "", resp->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        /* jerr.text may quote the body; say only what went wrong and where. */
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, BAD, "%s is not usable JSON (line %d)", what, jerr.line);
        return NULL;
    }
    lt_arena_on_destroy(a, free_json, doc);
    if (!json_is_object(doc)) {
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, BAD, "%s is not a JSON object", what);
        return NULL;
    }
    return doc;
}

static int read_verdict(lt_civil_status_envelope_t *env, const char *status, const char *what, lt_error_t *err)
{
    /* status is the envelope's verdict; without one, the errorCode alone decides (the ICD never says it is sent). */
    if (status == NULL || strcmp(status, "1") == 0 || strcmp(status, "0") == 0) {
        bool said_failure = status != NULL && strcmp(status, "0") == 0;
        if (status != NULL && !said_failure && env->error_code != NULL)
            return lt_error_set(err, LT_ERR_UPSTREAM_BAD, BAD, "%s says status 1 (success) with an errorCode", what);
        env->failed = said_failure || env->error_code != NULL;
        return 0;
    }
    return lt_error_set(err, LT_ERR_UPSTREAM_BAD, BAD, "%s has a status that is neither \"1\" nor \"0\"", what);
}

int lt_civil_status_envelope_read(lt_arena_t *a, const lt_upstream_response_t *resp, const char *what,
                                  lt_civil_status_envelope_t *env, lt_error_t *err)
{
    memset(env, 0, sizeof(*env));
    json_t *doc = load_object(a, resp, what, err);
    if (doc == NULL)
        return -1;
    const char *status, *code, *description;
    if (string_member(doc, "status", what, &status, err) != 0 ||
        string_member(doc, "errorCode", what, &code, err) != 0 ||
        string_member(doc, "errorDescription", what, &description, err) != 0)
        return -1;
    env->doc = doc;
    env->error_code = code != NULL && *code != '\0' ? lt_text_trim(a, code) : NULL;
    env->description = safe_message(a, description);
    return read_verdict(env, status, what, err);
}

/* True for a short code of [A-Za-z0-9_-]: safe to quote back. */
static bool is_quotable_code(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CODE_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (!isalnum(*p) && *p != '-' && *p != '_')
            return false;
    return true;
}

void lt_civil_status_map_fault(const lt_civil_status_envelope_t *env, lt_error_t *err)
{
    const lt_civil_status_fault_t *row = lt_civil_status_fault_find(env->error_code);
    if (row != NULL)
        lt_error_set(err, row->kind, row->code, "%s", row->detail);
    else if (env->error_code == NULL)
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_error",
                     "the civil-status database reported an error (status 0) without an errorCode");
    else if (is_quotable_code(env->error_code))
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_error",
                     "the civil-status database answered errorCode %s, which the ICD does not list", env->error_code);
    else
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_error",
                     "the civil-status database answered an errorCode the ICD does not list");
    if (env->description != NULL) {
        size_t n = strlen(err->detail);
        snprintf(err->detail + n, sizeof(err->detail) - n, " (national system says: \"%s\")", env->description);
    }
}

void lt_civil_status_map_http(const lt_civil_status_settings_t *s, const lt_upstream_response_t *resp, const char *what,
                              lt_error_t *err)
{
    switch (resp->status) {
    case 429:
        /* The ICD's 20 requests/s per unit: its Retry-After (or a second) binds our own retry too, which would
         * otherwise only spend more of the same second. */
        lt_error_set(err, LT_ERR_UPSTREAM_UNAVAILABLE, "upstream_rate_limited",
                     "%s: the civil-status database is over its request rate limit for the province's unit", what);
        err->retryable = true;
        err->retry_after_s = lt_adapter_retry_after_seconds(resp->retry_after, (int)s->rate_retry_after_s);
        err->upstream_wait_s = err->retry_after_s;
        return;
    case 502:
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_http_502", "%s: the civil-status database answered HTTP 502",
                     what);
        return;
    case 503:
        lt_error_set(err, LT_ERR_UPSTREAM_UNAVAILABLE, "upstream_http_503",
                     "%s: the civil-status database is unavailable (HTTP 503)", what);
        err->retryable = true;
        err->retry_after_s = lt_adapter_retry_after_seconds(resp->retry_after, (int)s->unavailable_retry_after_s);
        /* Only a wait the national system asked for holds back a retry; our default is advice to callers. */
        err->upstream_wait_s = lt_adapter_retry_after_seconds(resp->retry_after, 0);
        return;
    case 504:
        lt_error_set(err, LT_ERR_UPSTREAM_TIMEOUT, "upstream_http_504",
                     "%s: the civil-status database's gateway timed out (HTTP 504)", what);
        err->retryable = true;
        return;
    default:
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_http_status",
                     "%s: the civil-status database answered HTTP %ld without its envelope", what, resp->status);
        return;
    }
}

/* An error page or an empty body is no envelope; a JSON object naming status or errorCode is. */
static bool holds_envelope(const lt_civil_status_envelope_t *env)
{
    return json_object_get(env->doc, "status") != NULL || json_object_get(env->doc, "errorCode") != NULL;
}

int lt_civil_status_answer_read(lt_arena_t *a, const lt_civil_status_settings_t *s, const lt_upstream_response_t *resp,
                                const char *what, lt_civil_status_envelope_t *env, lt_error_t *err)
{
    lt_error_t unread;
    if (resp->status == 200)
        return lt_civil_status_envelope_read(a, resp, what, env, err);
    /* Not the ICD's HTTP 200: an error envelope still decides (the status alone never does); anything else,
     * including a "success" on an error status, is the HTTP status talking. */
    if (lt_civil_status_envelope_read(a, resp, what, env, &unread) == 0 && holds_envelope(env) && env->failed)
        return 0;
    lt_civil_status_map_http(s, resp, what, err);
    return -1;
}
