/*
 * Reading what the national system says when it does not answer with a
 * record: JSON helpers shared by the lookup and the token endpoint, and the
 * mapping of statuses and maLoi codes to the gateway's error model (the rows
 * live in codes.c). Details never quote the upstream body, except a short
 * thongDiep that cannot hold an identifier.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "business.h"
#include "codes.h"
#include "lt_text.h"

#define MESSAGE_MAX      120 /* bytes of an upstream thongDiep quoted in a detail */
#define DIGIT_RUN_UNSAFE 8   /* a run this long might be an identifier: the message is withheld */
#define RETRY_AFTER_MAX  86400

int lt_business_retry_after(const char *header)
{
    if (header == NULL)
        return 0;
    const char *p = header;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!isdigit((unsigned char)*p))
        return 0; /* an HTTP-date: the configured default is the safer guess than parsing clocks */
    long long v = 0;
    for (; isdigit((unsigned char)*p); p++)
        if ((v = v * 10 + (*p - '0')) > RETRY_AFTER_MAX)
            v = RETRY_AFTER_MAX;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0')
        return 0;
    return v < 1 ? 1 : (int)v;
}

static void free_json(void *j)
{
    json_decref(j);
}

json_t *lt_business_json_object(lt_arena_t *a, const lt_upstream_response_t *resp, const char *what, lt_error_t *err)
{
    json_error_t jerr;
    /* Duplicate keys make a record ambiguous; \u0000 is refused by jansson unless asked, which we do not. */
    json_t *doc = json_loadb(resp->body ? resp->body : "", resp->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        /* jerr.text may quote the body; say only what went wrong and where. */
        bool too_big = strstr(jerr.text, "too big") != NULL;
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "bad_response", "%s is not usable JSON: %s (line %d)", what,
                     too_big ? "a number is out of range" : "syntax error", jerr.line);
        return NULL;
    }
    lt_arena_on_destroy(a, free_json, doc);
    if (!json_is_object(doc)) {
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "bad_response", "%s is not a JSON object", what);
        return NULL;
    }
    return doc;
}

int lt_business_json_string(const json_t *obj, const char *key, const char **out, lt_error_t *err)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "bad_response", "response field %s is not a string", key);
    *out = json_string_value(v);
    return 0;
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

void lt_business_map_status(const lt_business_settings_t *s, const lt_upstream_response_t *resp, const char *maloi,
                            const char *what, lt_error_t *err)
{
    const lt_business_fault_t *row = lt_business_fault_find(resp->status, maloi);
    int header = lt_business_retry_after(resp->retry_after);
    if (row->status == -1 || row->status == 0)
        lt_error_set(err, row->kind, row->code, "%s: %s (HTTP %ld)", what, row->detail, resp->status);
    else
        lt_error_set(err, row->kind, row->code, "%s: %s", what, row->detail);
    err->retryable = row->retryable;
    switch (row->wait) {
    case LT_BUSINESS_WAIT_RATE:
        err->retry_after_s = header ? header : (int)s->rate_retry_after_s;
        /* The ICD's limit is per second: its Retry-After, or our one-second rule, binds our own retry too. */
        err->upstream_wait_s = err->retry_after_s;
        break;
    case LT_BUSINESS_WAIT_UNAVAILABLE:
        err->retry_after_s = header ? header : (int)s->unavailable_retry_after_s;
        /* Only a wait the national system asked for holds back a retry; our default is advice to callers. */
        err->upstream_wait_s = header;
        break;
    case LT_BUSINESS_WAIT_NONE:
        break;
    }
}

void lt_business_map_error(const lt_business_settings_t *s, lt_arena_t *a, const lt_upstream_response_t *resp,
                           lt_error_t *err)
{
    const char *maloi = NULL, *message = NULL;
    lt_error_t ignored;
    /* Error bodies are JSON in the ICD, but a proxy may answer HTML: then there is simply no maLoi. */
    json_t *body = lt_business_json_object(a, resp, "error body", &ignored);
    if (body != NULL) {
        lt_business_json_string(body, "maLoi", &maloi, &ignored);
        lt_business_json_string(body, "thongDiep", &message, &ignored);
    }
    lt_business_map_status(s, resp, maloi, "enterprise lookup", err);
    const lt_business_fault_t *row = lt_business_fault_find(resp->status, maloi);
    message = row->maloi != NULL ? safe_message(a, message) : NULL;
    if (message != NULL) {
        size_t n = strlen(err->detail);
        snprintf(err->detail + n, sizeof(err->detail) - n, " (national system says: \"%s\")", message);
    }
}
