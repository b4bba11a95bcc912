/*
 * The social insurance adapter (icd/social-insurance.md): insured person
 * lookup at Vietnam Social Security over REST/JSON, each request signed with
 * HMAC-SHA256 over a canonical string. Pure build and parse; the core owns the
 * mutual-TLS transport, retries and the breaker. README.md in this folder has
 * the mappings and the decisions behind them.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "insurance.h"
#include "insured.h"
#include "lt_adapter.h"
#include "lt_conf.h"
#include "lt_ident.h"
#include "lt_log.h"
#include "signing.h"

#define PARAM "number"

/* ---- settings ---- */

static const lt_conf_field_t settings_fields[] = {
    {.key = "client_id",
     .type = LT_CONF_STRING,
     .offset = offsetof(lt_insurance_settings_t, client_id),
     .required = true},
    {.key = "hmac_secret_file",
     .type = LT_CONF_FILE,
     .offset = offsetof(lt_insurance_settings_t, hmac_secret_file),
     .required = true},
    LT_ADAPTER_RETRY_AFTER_FIELD(lt_insurance_settings_t, rate_limited_retry_after_s, 60),
    LT_ADAPTER_RETRY_AFTER_FIELD(lt_insurance_settings_t, unavailable_retry_after_s, 30),
    LT_CONF_END,
};

static void settings_free(void *settings)
{
    lt_insurance_settings_t *s = settings;
    if (s == NULL)
        return;
    if (s->secret != NULL) {
        OPENSSL_cleanse(s->secret, s->secret_len);
        free(s->secret);
    }
    lt_conf_free(settings_fields, s);
    free(s);
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Visible ASCII only: the value travels in an HTTP header, or is a key typed into a file. */
static bool is_token(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return n > 0;
}

/*
 * The key is the file's text without surrounding whitespace, byte for byte:
 * gen-pki.sh writes 64 hex digits, and the national system issues a string,
 * so the string is the secret (not the bytes it might decode to).
 */
static int read_secret(lt_insurance_settings_t *s, const char *path, lt_error_t *err)
{
    unsigned char buf[LT_INSURANCE_SECRET_MAX + 64];
    FILE *f = fopen(s->hmac_secret_file, "rb");
    if (f == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.hmac_secret_file: cannot open '%s'", path,
                            s->hmac_secret_file);
    size_t n = fread(buf, 1, sizeof(buf), f);
    bool too_long = n == sizeof(buf) || ferror(f);
    fclose(f);
    size_t start = 0;
    while (start < n && is_space(buf[start]))
        start++;
    while (n > start && is_space(buf[n - 1]))
        n--;
    size_t len = n - start;
    int rc = 0;
    if (too_long || len < LT_INSURANCE_SECRET_MIN || len > LT_INSURANCE_SECRET_MAX || !is_token(buf + start, len)) {
        rc = lt_error_set(err, LT_ERR_INTERNAL, "config",
                          "%s.hmac_secret_file: '%s' must hold one secret of %d-%d visible ASCII characters", path,
                          s->hmac_secret_file, LT_INSURANCE_SECRET_MIN, LT_INSURANCE_SECRET_MAX);
    } else {
        s->secret = malloc(len);
        memcpy(s->secret, buf + start, len);
        s->secret_len = len;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

static int settings_load(const json_t *section, const char *path, void **settings, lt_error_t *err)
{
    lt_insurance_settings_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "out_of_memory", "cannot allocate insurance settings");
    if (lt_conf_read(section, path, settings_fields, s, err) != 0)
        goto fail;
    if (strlen(s->client_id) > 128 || !is_token((const unsigned char *)s->client_id, strlen(s->client_id))) {
        lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.client_id: must be 1-128 visible ASCII characters", path);
        goto fail;
    }
    if (read_secret(s, path, err) != 0)
        goto fail;
    *settings = s;
    return 0;
fail:
    settings_free(s);
    return -1;
}

/* ---- validate ---- */

static int validate(json_t *input, lt_error_t *err)
{
    const json_t *v = json_object_get(input, PARAM);
    /* An embedded NUL (%00) would make C see a different string from the one the caller sent. */
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_identifier",
                            "social insurance number must be 10 digits or a 12-digit personal identification number");
    return lt_ident_check_insurance_number(json_string_value(v), err);
}

/* ---- build ---- */

/* Values that go into upstream headers: required ones present, none with control characters (header injection). */
static int header_value(const char *v, const char *header, bool required, lt_error_t *err)
{
    if (v == NULL || *v == '\0')
        return required ? lt_error_set(err, LT_ERR_BAD_REQUEST, "missing_header", "%s is required", header) : 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_header",
                                "%s holds characters that cannot be sent upstream", header);
    return 0;
}

static int check_context(const lt_call_context_t *ctx, lt_error_t *err)
{
    if (ctx == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "no_context", "the call has no context");
    if (header_value(ctx->officer_id, "X-Officer-Id", true, err) != 0 ||
        header_value(ctx->purpose, "X-Purpose", true, err) != 0 ||
        header_value(ctx->request_id, "X-Request-Id", false, err) != 0)
        return -1;
    return 0;
}

static void add_headers(lt_call_t *call, lt_upstream_request_t *out, const char *timestamp, const char *nonce,
                        const char *signature)
{
    const lt_insurance_settings_t *s = call->settings;
    const lt_call_context_t *ctx = call->ctx;
    lt_arena_t *a = call->arena;
    lt_adapter_request_add_header(a, out, "Accept", "application/json");
    lt_adapter_request_add_header(a, out, "X-VSS-Client", s->client_id);
    lt_adapter_request_add_header(a, out, "X-VSS-Timestamp", timestamp);
    lt_adapter_request_add_header(a, out, "X-VSS-Nonce", nonce);
    lt_adapter_request_add_header(a, out, "X-VSS-Signature", signature);
    lt_adapter_request_add_header(a, out, "X-Officer-ID", ctx->officer_id);
    lt_adapter_request_add_header(a, out, "X-Purpose", ctx->purpose);
    if (ctx->request_id != NULL && *ctx->request_id != '\0')
        lt_adapter_request_add_header(a, out, "X-Request-ID", ctx->request_id);
}

/* Called again for every retry: a fresh nonce and the core's new call->now each time, so no attempt replays one. */
static lt_step_t build(lt_call_t *call, lt_upstream_request_t *out, lt_error_t *err)
{
    const lt_insurance_settings_t *s = call->settings;
    lt_arena_t *a = call->arena;
    const char *number = json_string_value(json_object_get(call->input, PARAM));
    if (number == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "unvalidated_input", "build() got input validate() did not pass");
        return LT_STEP_FAIL;
    }
    char nonce[LT_INSURANCE_NONCE_LEN + 1];
    if (check_context(call->ctx, err) != 0 || lt_insurance_nonce(nonce, err) != 0)
        return LT_STEP_FAIL;
    const lt_insurance_param_t params[] = {{LT_INSURANCE_QUERY_NUMBER, number}};
    const char *timestamp = lt_arena_sprintf(a, "%lld", (long long)call->now);
    const char *canonical = lt_insurance_canonical(a, "GET", LT_INSURANCE_PATH, params, 1, timestamp, nonce, NULL, 0);
    const char *signature = canonical ? lt_insurance_sign(a, s->secret, s->secret_len, canonical) : NULL;
    if (signature == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "signing", "cannot sign the request (OpenSSL failed)");
        return LT_STEP_FAIL;
    }
    memset(out, 0, sizeof(*out));
    out->method = "GET";
    out->path = lt_arena_sprintf(a, "%s?%s", LT_INSURANCE_PATH, lt_insurance_query(a, params, 1));
    add_headers(call, out, timestamp, nonce, signature);
    return LT_STEP_DONE;
}

/* ---- parse ---- */

static void free_json(void *j)
{
    json_decref(j);
}

/* The body as a JSON object owned by the arena, or NULL when it is not one. */
static json_t *load_object(lt_arena_t *a, const lt_upstream_response_t *resp)
{
    if (resp->body == NULL || resp->body_len == 0)
        return NULL;
    json_t *doc = json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES, NULL);
    if (doc == NULL)
        return NULL;
    lt_arena_on_destroy(a, free_json, doc);
    return json_is_object(doc) ? doc : NULL;
}

static void log_auth_failure(const lt_call_t *call, const char *what, const char *detail)
{
    /* The request id and the ICD status only: the query held the insured person's number. */
    lt_log_warn("insurance: request %s: the national system refused the gateway's authentication: %s: %s",
                call->ctx && call->ctx->request_id ? call->ctx->request_id : "-", what, detail);
}

static int map_documented(const lt_call_t *call, const lt_insurance_answer_t *row, const lt_upstream_response_t *resp,
                          lt_error_t *err)
{
    const lt_insurance_settings_t *s = call->settings;
    lt_error_set(err, row->kind, row->code, "%s", row->detail);
    err->retryable = row->retryable;
    if (row->retry_after)
        err->retry_after_s = lt_adapter_retry_after_seconds(resp->retry_after, (int)s->rate_limited_retry_after_s);
    if (row->auth_failure)
        log_auth_failure(call, row->status, row->detail);
    return -1;
}

/*
 * A 404 or 400 without the ICD's body is not the national system's business
 * answer but something in between (a wrong base_url, a proxy): it must never
 * reach the caller as "no such person".
 */
static int map_undocumented(const lt_call_t *call, const lt_upstream_response_t *resp, lt_error_t *err)
{
    const lt_insurance_settings_t *s = call->settings;
    switch (resp->status) {
    case 401:
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_auth",
                     "the social insurance system refused the gateway's authentication without a documented reason");
        log_auth_failure(call, "HTTP 401", err->detail);
        return -1;
    case 502:
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_http_502", "the national system answered HTTP 502");
    case 503:
        lt_error_set(err, LT_ERR_UPSTREAM_UNAVAILABLE, "upstream_http_503", "the national system answered HTTP 503");
        err->retryable = true;
        err->retry_after_s = lt_adapter_retry_after_seconds(resp->retry_after, (int)s->unavailable_retry_after_s);
        return -1;
    case 504:
        lt_error_set(err, LT_ERR_UPSTREAM_TIMEOUT, "upstream_http_504", "the national system answered HTTP 504");
        err->retryable = true;
        return -1;
    default:
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_http_status", "the national system answered HTTP %ld",
                            resp->status);
    }
}

static int map_failure(const lt_call_t *call, const lt_upstream_response_t *resp, const json_t *body, lt_error_t *err)
{
    const char *status = json_string_value(json_object_get(body, "status"));
    const lt_insurance_answer_t *row = lt_insurance_answer_find(resp->status, status);
    return row ? map_documented(call, row, resp, err) : map_undocumented(call, resp, err);
}

/*
 * The record must be about the number asked for: someone else's must never
 * reach the caller. A record that does not carry the number asked by (the ICD
 * does not say maSoBhxh or soDinhDanh is always sent) is the answer about
 * that number, and carries it from here on.
 */
static bool same_person(const json_t *input, json_t *record)
{
    const char *asked = json_string_value(json_object_get(input, PARAM));
    const char *key = asked && strlen(asked) == 12 ? "personal_id" : "insurance_number";
    const char *got = json_string_value(json_object_get(record, key));
    if (asked != NULL && got == NULL) {
        json_object_set_new(record, key, json_string(asked));
        return true;
    }
    return asked && got && strcmp(asked, got) == 0;
}

/* The ICD's 200 says "status": "OK"; one that says something else is not a record, one that says nothing is. */
static bool status_ok(const json_t *body)
{
    const json_t *status = json_object_get(body, "status");
    return status == NULL || json_is_null(status) ||
           (json_is_string(status) && strcmp(json_string_value(status), "OK") == 0);
}

static lt_step_t parse(lt_call_t *call, const lt_upstream_response_t *resp, json_t **result,
                       lt_upstream_request_t *next, lt_error_t *err)
{
    const json_t *body = load_object(call->arena, resp);
    if (resp->status != 200) {
        map_failure(call, resp, body, err);
        return LT_STEP_FAIL;
    }
    if (body == NULL || !status_ok(body)) {
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "bad_response",
                     body ? "the response's status is not OK" : "the response is not a JSON object");
        return LT_STEP_FAIL;
    }
    json_t *record;
    if (lt_insurance_insured_to_json(call->arena, json_object_get(body, "data"), &record, err) != 0)
        return LT_STEP_FAIL;
    if (!same_person(call->input, record)) {
        json_decref(record);
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_record_mismatch",
                     "the national system returned a record for a different number");
        return LT_STEP_FAIL;
    }
    *result = record;
    return LT_STEP_DONE;
}

static const lt_operation_t operations[] = {
    {
        .name = "lookup",
        .method = "GET",
        .route = "/v1/insured/",
        .input_kind = LT_INPUT_PATH_PARAM,
        .param_name = PARAM,
        .idempotent = true,
        .personal_data = true,
        .validate = validate,
        .build = build,
        .parse = parse,
    },
    {.name = NULL},
};

const lt_adapter_t lt_insurance_adapter = {
    .name = "insurance",
    .title = "Bảo hiểm xã hội · Social insurance",
    .operations = operations,
    .settings_load = settings_load,
    .settings_free = settings_free,
};
