/*
 * The land adapter (icd/land.md): parcel and certificate lookups at the
 * national land database, REST/JSON over HTTPS. Mutual TLS is the only
 * authentication, and the core owns it; the unit, the officer and the purpose
 * travel in headers. Pure build and parse; the core owns the transport,
 * retries and the breaker. See README.md in this folder for the mappings and
 * the decisions behind them.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "land.h"
#include "lt_adapter.h"
#include "lt_conf.h"
#include "parcel.h"

#define SHEET_DIGITS_MAX  6
#define PARCEL_DIGITS_MAX 6

/* ---- settings ---- */

static const lt_conf_field_t settings_fields[] = {
    {.key = "unit_code", .type = LT_CONF_STRING, .offset = offsetof(lt_land_settings_t, unit_code), .required = true},
    {.key = "sync_window_start",
     .type = LT_CONF_STRING,
     .offset = offsetof(lt_land_settings_t, sync_window_start),
     .default_str = "23:00"},
    {.key = "sync_window_end",
     .type = LT_CONF_STRING,
     .offset = offsetof(lt_land_settings_t, sync_window_end),
     .default_str = "05:00"},
    LT_ADAPTER_RETRY_AFTER_FIELD(lt_land_settings_t, unavailable_retry_after_s, 30),
    LT_ADAPTER_RETRY_AFTER_FIELD(lt_land_settings_t, rate_limited_retry_after_s, 1),
    LT_CONF_END,
};

static void settings_free(void *settings)
{
    lt_land_settings_t *s = settings;
    if (s == NULL)
        return;
    lt_conf_free(settings_fields, s);
    free(s);
}

/* Visible ASCII only: the unit code travels in an HTTP header. */
static bool is_visible_ascii(const char *s, size_t max)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return n > 0 && n <= max;
}

static int check_settings(lt_land_settings_t *s, const char *path, lt_error_t *err)
{
    if (!is_visible_ascii(s->unit_code, LT_LAND_UNIT_CODE_MAX))
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.unit_code: must be 1-%d visible ASCII characters", path,
                            LT_LAND_UNIT_CODE_MAX);
    s->window_start_s = lt_land_parse_clock(s->sync_window_start);
    s->window_end_s = lt_land_parse_clock(s->sync_window_end);
    if (s->window_start_s < 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.sync_window_start: must be \"HH:MM\" (00:00-23:59)",
                            path);
    if (s->window_end_s < 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.sync_window_end: must be \"HH:MM\" (00:00-23:59)",
                            path);
    if (s->window_start_s == s->window_end_s)
        return lt_error_set(err, LT_ERR_INTERNAL, "config",
                            "%s.sync_window_end: must differ from sync_window_start (a window of no time or all day)",
                            path);
    return 0;
}

static int settings_load(const json_t *section, const char *path, void **settings, lt_error_t *err)
{
    lt_land_settings_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "out_of_memory", "cannot allocate land settings");
    if (lt_conf_read(section, path, settings_fields, s, err) != 0 || check_settings(s, path, err) != 0) {
        settings_free(s);
        return -1;
    }
    *settings = s;
    return 0;
}

/* ---- validate ---- */

/* The string member, or NULL when it is absent, not a string, or holds a NUL (%00 would make C see less). */
static const char *input_string(const json_t *input, const char *key)
{
    const json_t *v = json_is_object(input) ? json_object_get(input, key) : NULL;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return json_string_value(v);
}

static bool is_digits(const char *s, size_t len, size_t min, size_t max)
{
    return len >= min && len <= max && strspn(s, "0123456789") >= len;
}

/*
 * "12616/12/345": the commune (5 digits, the ICD's maXa), the map sheet and the
 * parcel number (1-6 digits each). The parts are added to the input as
 * commune, sheet and parcel, for build() and the cache.
 */
/* Exactly three '/'-separated parts (empty ones allowed here, refused by their own checks). */
static bool split3(const char *s, const char *part[3], size_t len[3])
{
    for (int i = 0; s != NULL && i < 3; i++) {
        part[i] = s;
        len[i] = strcspn(s, "/");
        char end = s[len[i]];
        if (end != (i == 2 ? '\0' : '/'))
            return false;
        s += len[i] + 1;
    }
    return s != NULL;
}

static int validate_parcel(json_t *input, lt_error_t *err)
{
    const char *part[3];
    size_t len[3];
    if (!split3(input_string(input, LT_LAND_PARAM_PARCEL), part, len))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_identifier",
                            "a parcel is {commune}/{sheet}/{parcel}: three path segments");
    if (!is_digits(part[0], len[0], 5, 5))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_identifier", "the commune code must be 5 digits");
    if (!is_digits(part[1], len[1], 1, SHEET_DIGITS_MAX))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_identifier", "the map sheet must be 1-%d digits",
                            SHEET_DIGITS_MAX);
    if (!is_digits(part[2], len[2], 1, PARCEL_DIGITS_MAX))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_identifier", "the parcel number must be 1-%d digits",
                            PARCEL_DIGITS_MAX);
    json_object_set_new(input, LT_LAND_INPUT_COMMUNE, json_stringn(part[0], len[0]));
    json_object_set_new(input, LT_LAND_INPUT_SHEET, json_stringn(part[1], len[1]));
    json_object_set_new(input, LT_LAND_INPUT_PARCEL, json_stringn(part[2], len[2]));
    return 0;
}

/* The ICD's serial: two capital letters, a space, then 6 to 8 digits ("DA 01234567"). */
static bool is_serial(const char *s, size_t n)
{
    size_t digits = n > 3 ? n - 3 : 0;
    return n >= 9 && n <= 11 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == ' ' &&
           strspn(s + 3, "0123456789") == digits;
}

/* The path segment is percent-decoded (the space arrives as %20); the input then holds the serial itself. */
static int validate_certificate(json_t *input, lt_error_t *err)
{
    const char *raw = input_string(input, LT_LAND_PARAM_SERIAL);
    int len = 0;
    char *serial = raw ? curl_easy_unescape(NULL, raw, 0, &len) : NULL;
    bool ok = serial != NULL && (size_t)len == strlen(serial) && is_serial(serial, (size_t)len);
    if (ok)
        json_object_set_new(input, LT_LAND_PARAM_SERIAL, json_stringn(serial, (size_t)len));
    curl_free(serial);
    if (!ok)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_identifier",
                            "a certificate serial is two capital letters, a space (%%20) and 6 to 8 digits");
    return 0;
}

/* ---- build ---- */

/* Values that go into upstream headers: present, and no control characters (header injection). */
static int header_value(const char *v, const char *header, lt_error_t *err)
{
    if (v == NULL || *v == '\0')
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "missing_header", "%s is required", header);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_header",
                                "%s holds characters that cannot be sent upstream", header);
    return 0;
}

/* The ICD's three headers on every call, and JSON asked for. */
static lt_step_t add_headers(lt_call_t *call, lt_upstream_request_t *out, lt_error_t *err)
{
    const lt_land_settings_t *s = call->settings;
    const lt_call_context_t *ctx = call->ctx;
    if (ctx == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "no_context", "the call has no context");
        return LT_STEP_FAIL;
    }
    if (header_value(ctx->officer_id, "X-Officer-Id", err) != 0 || header_value(ctx->purpose, "X-Purpose", err) != 0)
        return LT_STEP_FAIL;
    lt_arena_t *a = call->arena;
    lt_adapter_request_add_header(a, out, "Accept", "application/json");
    lt_adapter_request_add_header(a, out, "X-Ma-Don-Vi", s->unit_code);
    lt_adapter_request_add_header(a, out, "X-Ma-Can-Bo", ctx->officer_id);
    lt_adapter_request_add_header(a, out, "X-Muc-Dich", ctx->purpose);
    return LT_STEP_DONE;
}

static lt_step_t unvalidated(lt_error_t *err)
{
    lt_error_set(err, LT_ERR_INTERNAL, "unvalidated_input", "build() got input validate() did not pass");
    return LT_STEP_FAIL;
}

static lt_step_t build_parcel(lt_call_t *call, lt_upstream_request_t *out, lt_error_t *err)
{
    const char *commune = input_string(call->input, LT_LAND_INPUT_COMMUNE);
    const char *sheet = input_string(call->input, LT_LAND_INPUT_SHEET);
    const char *parcel = input_string(call->input, LT_LAND_INPUT_PARCEL);
    if (commune == NULL || sheet == NULL || parcel == NULL)
        return unvalidated(err);
    memset(out, 0, sizeof(*out));
    out->method = "GET";
    /* validate() allowed digits only, so the values need no percent-encoding. */
    out->path =
        lt_arena_sprintf(call->arena, "%s?maXa=%s&soTo=%s&soThua=%s", LT_LAND_PARCEL_PATH, commune, sheet, parcel);
    return add_headers(call, out, err);
}

static lt_step_t build_certificate(lt_call_t *call, lt_upstream_request_t *out, lt_error_t *err)
{
    const char *serial = input_string(call->input, LT_LAND_PARAM_SERIAL);
    if (serial == NULL)
        return unvalidated(err);
    /* RFC 3986 by libcurl: the space becomes %20, as the ICD says (never '+'). */
    char *escaped = curl_easy_escape(NULL, serial, 0);
    if (escaped == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "out_of_memory", "cannot encode the certificate serial");
        return LT_STEP_FAIL;
    }
    memset(out, 0, sizeof(*out));
    out->method = "GET";
    out->path = lt_arena_sprintf(call->arena, "%s%s", LT_LAND_CERTIFICATE_PATH, escaped);
    curl_free(escaped);
    return add_headers(call, out, err);
}

/* ---- parse ---- */

static void free_json(void *j)
{
    json_decref(j);
}

/* The 200 body's document, owned by the arena, or NULL when it is not a JSON object. */
static json_t *load_document(lt_arena_t *a, const lt_upstream_response_t *resp)
{
    if (resp->body == NULL || resp->body_len == 0)
        return NULL;
    json_t *doc = json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES, NULL);
    if (doc == NULL)
        return NULL;
    lt_arena_on_destroy(a, free_json, doc);
    return json_is_object(doc) ? doc : NULL;
}

/* Map sheets and parcel numbers are numbers: "012" and "12" name the same one. */
static bool same_number(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return false;
    while (*a == '0' && a[1] != '\0')
        a++;
    while (*b == '0' && b[1] != '\0')
        b++;
    return strcmp(a, b) == 0;
}

static bool answers_parcel(const json_t *input, const json_t *record)
{
    const json_t *p = json_object_get(record, "parcel");
    const char *commune = json_string_value(json_object_get(p, "commune_code"));
    const char *asked = input_string(input, LT_LAND_INPUT_COMMUNE);
    return commune != NULL && asked != NULL && strcmp(commune, asked) == 0 &&
           same_number(json_string_value(json_object_get(p, "map_sheet")), input_string(input, LT_LAND_INPUT_SHEET)) &&
           same_number(json_string_value(json_object_get(p, "parcel_number")),
                       input_string(input, LT_LAND_INPUT_PARCEL));
}

static bool answers_certificate(const json_t *input, const json_t *record)
{
    const char *asked = input_string(input, LT_LAND_PARAM_SERIAL);
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(record, "certificates"), i, c)
    {
        const char *serial = json_string_value(json_object_get(c, "serial"));
        if (serial != NULL && asked != NULL && strcmp(serial, asked) == 0)
            return true;
    }
    return false;
}

/*
 * Both lookups answer the same document. The record must be about what was
 * asked: a parcel lookup needs its parcel's identity, a certificate lookup the
 * serial among the certificates. Someone else's land must never reach the caller.
 */
static lt_step_t parse_document(lt_call_t *call, const lt_upstream_response_t *resp, lt_land_asked_t asked,
                                json_t **result, lt_error_t *err)
{
    if (resp->status != 200) {
        lt_land_map_answer(call->settings, resp, asked, call->now, err);
        return LT_STEP_FAIL;
    }
    const json_t *doc = load_document(call->arena, resp);
    if (doc == NULL) {
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "bad_response", "the land database's answer is not a JSON object");
        return LT_STEP_FAIL;
    }
    json_t *record;
    if (lt_land_document_to_json(call->arena, doc, &record, err) != 0)
        return LT_STEP_FAIL;
    bool ok =
        asked == LT_LAND_ASKED_PARCEL ? answers_parcel(call->input, record) : answers_certificate(call->input, record);
    if (!ok) {
        json_decref(record);
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_record_mismatch",
                     asked == LT_LAND_ASKED_PARCEL
                         ? "the land database returned a document for another parcel, or one without its identity"
                         : "the land database returned a document without the certificate asked for");
        return LT_STEP_FAIL;
    }
    *result = record;
    return LT_STEP_DONE;
}

static lt_step_t parse_parcel(lt_call_t *call, const lt_upstream_response_t *resp, json_t **result,
                              lt_upstream_request_t *next, lt_error_t *err)
{
    return parse_document(call, resp, LT_LAND_ASKED_PARCEL, result, err);
}

static lt_step_t parse_certificate(lt_call_t *call, const lt_upstream_response_t *resp, json_t **result,
                                   lt_upstream_request_t *next, lt_error_t *err)
{
    return parse_document(call, resp, LT_LAND_ASKED_CERTIFICATE, result, err);
}

static const lt_operation_t operations[] = {
    {
        .name = "parcel",
        .method = "GET",
        .route = "/v1/land/parcels/",
        .input_kind = LT_INPUT_PATH_PARAM,
        .param_name = LT_LAND_PARAM_PARCEL,
        .param_segments = 3, /* {commune}/{sheet}/{parcel} */
        .idempotent = true,
        .personal_data = true, /* the document names the holders and their identification numbers */
        .validate = validate_parcel,
        .build = build_parcel,
        .parse = parse_parcel,
    },
    {
        .name = "certificate",
        .method = "GET",
        .route = "/v1/land/certificates/",
        .input_kind = LT_INPUT_PATH_PARAM,
        .param_name = LT_LAND_PARAM_SERIAL,
        .idempotent = true,
        .personal_data = true,
        .validate = validate_certificate,
        .build = build_certificate,
        .parse = parse_certificate,
    },
    {.name = NULL},
};

const lt_adapter_t lt_land_adapter = {
    .name = "land",
    .title = "Đất đai · Land",
    .operations = operations,
    .settings_load = settings_load,
    .settings_free = settings_free,
};
