/*
 * The tax adapter (icd/tax.md): taxpayer lookup by tax code against the
 * taxpayer registry, XML over HTTPS with a per-province API key. Pure build
 * and parse; the core owns the TLS transport, retries and the breaker.
 * See README.md in this folder for the mappings and the decisions behind them.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_adapter.h"
#include "lt_conf.h"
#include "lt_ident.h"
#include "lt_xml.h"
#include "taxpayer.h"
#include "tracuu.h"

#define PARAM         "tax_code"
#define API_KEY_MAX   512 /* bytes; a longer file is not an API key */
#define UNIT_CODE_MAX 64

/* ---- settings ---- */

static const lt_conf_field_t settings_fields[] = {
    {.key = "unit_code", .type = LT_CONF_STRING, .offset = offsetof(lt_tax_settings_t, unit_code), .required = true},
    {.key = "api_key_file",
     .type = LT_CONF_FILE,
     .offset = offsetof(lt_tax_settings_t, api_key_file),
     .required = true},
    LT_ADAPTER_RETRY_AFTER_FIELD(lt_tax_settings_t, retry_after_s, 1),
    LT_CONF_END,
};

static void settings_free(void *settings)
{
    lt_tax_settings_t *s = settings;
    if (s == NULL)
        return;
    if (s->api_key != NULL) {
        OPENSSL_cleanse(s->api_key, strlen(s->api_key)); /* a secret should not linger in freed memory */
        free(s->api_key);
    }
    lt_conf_free(settings_fields, s);
    free(s);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Visible ASCII only: the key goes into an HTTP header, where CR, LF or a space would change the request. */
static bool is_header_token(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return n > 0;
}

/* Reads the key file, trims it (editors add a newline) and checks it. Messages never quote the file's content. */
static int load_api_key(lt_tax_settings_t *s, const char *path, lt_error_t *err)
{
    char buf[API_KEY_MAX + 2];
    FILE *f = fopen(s->api_key_file, "rb");
    if (f == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.api_key_file: cannot open '%s'", path, s->api_key_file);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    bool too_long = n > API_KEY_MAX;
    fclose(f);
    const char *start = buf, *end = buf + n;
    while (start < end && is_space(*start))
        start++;
    while (end > start && is_space(end[-1]))
        end--;
    int rc = 0;
    if (too_long)
        rc = lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.api_key_file: longer than %d bytes", path, API_KEY_MAX);
    else if (!is_header_token(start, (size_t)(end - start)))
        rc = lt_error_set(err, LT_ERR_INTERNAL, "config",
                          "%s.api_key_file: must hold one non-empty key of visible ASCII characters", path);
    else
        s->api_key = strndup(start, (size_t)(end - start));
    OPENSSL_cleanse(buf, sizeof(buf));
    if (rc == 0 && s->api_key == NULL)
        rc = lt_error_set(err, LT_ERR_INTERNAL, "out_of_memory", "cannot allocate the tax API key");
    return rc;
}

/* MaDonVi goes into every request: an empty or unwritable one is a start-up error, not a per-request one. */
static int check_unit_code(const lt_tax_settings_t *s, const char *path, lt_error_t *err)
{
    const char *v = s->unit_code;
    if (v == NULL || *v == '\0' || strlen(v) > UNIT_CODE_MAX || !lt_xml_is_valid_text(v))
        return lt_error_set(err, LT_ERR_INTERNAL, "config",
                            "%s.unit_code: must be non-empty printable text of at most %d bytes", path, UNIT_CODE_MAX);
    return 0;
}

static int settings_load(const json_t *section, const char *path, void **settings, lt_error_t *err)
{
    lt_tax_settings_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "out_of_memory", "cannot allocate tax settings");
    if (lt_conf_read(section, path, settings_fields, s, err) != 0 || check_unit_code(s, path, err) != 0 ||
        load_api_key(s, path, err) != 0) {
        settings_free(s);
        return -1;
    }
    *settings = s;
    return 0;
}

/* ---- validate ---- */

/* The check digit is checked here, so a mistyped code costs no upstream call and the caller learns why. */
static int validate(json_t *input, lt_error_t *err)
{
    json_t *v = json_is_object(input) ? json_object_get(input, PARAM) : NULL;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_identifier", "the tax code must be a string");
    return lt_ident_check_tax_code(json_string_value(v), err);
}

/* ---- build ---- */

/* The officer goes into MaCanBo: it must be present (Decree 13) and representable in XML. */
static int check_context(const lt_call_context_t *ctx, lt_error_t *err)
{
    if (ctx == NULL || !lt_ident_is_uuid(ctx->message_id))
        return lt_error_set(err, LT_ERR_INTERNAL, "bad_message_id", "the upstream message id must be a UUID");
    if (ctx->officer_id == NULL || *ctx->officer_id == '\0')
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "missing_header", "X-Officer-Id is required");
    if (!lt_xml_is_valid_text(ctx->officer_id))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_header",
                            "X-Officer-Id holds characters that cannot be sent upstream");
    return 0;
}

static lt_step_t build(lt_call_t *call, lt_upstream_request_t *out, lt_error_t *err)
{
    const lt_tax_settings_t *s = call->settings;
    if (check_context(call->ctx, err) != 0)
        return LT_STEP_FAIL;
    lt_tax_query_t q = {
        .unit_code = s->unit_code,
        .message_id = call->ctx->message_id,
        .officer_id = call->ctx->officer_id,
        .tax_code = json_string_value(json_object_get(call->input, PARAM)),
    };
    if (q.tax_code == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "unvalidated_input", "build() got input validate() did not pass");
        return LT_STEP_FAIL;
    }
    memset(out, 0, sizeof(*out));
    if (lt_tax_request_build(call->arena, &q, &out->body, &out->body_len, err) != 0)
        return LT_STEP_FAIL;
    out->method = "POST";
    out->path = LT_TAX_PATH;
    lt_adapter_request_add_header(call->arena, out, "Content-Type", "application/xml; charset=utf-8");
    lt_adapter_request_add_header(call->arena, out, "X-API-Key", s->api_key);
    /* Remember the id actually sent: the response must echo this one. */
    call->scratch = lt_arena_strdup(call->arena, q.message_id);
    return LT_STEP_DONE;
}

/* ---- parse ---- */

static const char *sent_message_id(const lt_call_t *call)
{
    if (call->scratch != NULL)
        return call->scratch;
    return call->ctx ? call->ctx->message_id : NULL;
}

static lt_step_t parse(lt_call_t *call, const lt_upstream_response_t *resp, json_t **result,
                       lt_upstream_request_t *next, lt_error_t *err)
{
    xmlNodePtr nnt = NULL;
    if (lt_tax_response_read(call->arena, call->settings, resp, sent_message_id(call), &nnt, err) != 0)
        return LT_STEP_FAIL;
    json_t *taxpayer;
    if (lt_tax_taxpayer_to_json(call->arena, nnt, &taxpayer, err) != 0)
        return LT_STEP_FAIL;
    /* A record for another code than the one asked about must never reach the caller. One that names no code is
     * the registry's answer about the code this request asked about (MaKetQua 0 for our MST). */
    const char *asked = json_string_value(json_object_get(call->input, PARAM));
    const char *got = json_string_value(json_object_get(taxpayer, "tax_code"));
    if (got == NULL && asked != NULL) {
        json_object_set_new(taxpayer, "tax_code", json_string(asked));
        got = asked;
    }
    if (asked == NULL || strcmp(asked, got) != 0) {
        json_decref(taxpayer);
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_record_mismatch",
                     "the taxpayer registry returned a record for a different tax code");
        return LT_STEP_FAIL;
    }
    *result = taxpayer;
    return LT_STEP_DONE;
}

static const lt_operation_t operations[] = {
    {
        .name = "lookup",
        .method = "GET",
        .route = "/v1/taxpayers/",
        .input_kind = LT_INPUT_PATH_PARAM,
        .param_name = PARAM,
        .idempotent = true,
        .personal_data = true, /* individuals and household businesses are people */
        .validate = validate,
        .build = build,
        .parse = parse,
    },
    {.name = NULL},
};

const lt_adapter_t lt_tax_adapter = {
    .name = "tax",
    .title = "Thuế · Tax",
    .operations = operations,
    .settings_load = settings_load,
    .settings_free = settings_free,
};
