/*
 * The civil-status adapter (icd/civil-status.md): birth, marriage and death
 * registrations and the current marital status, from the Ministry of
 * Justice's electronic civil-status database over REST/JSON, with a session
 * token that the core fetches through this adapter's token hooks (session.c).
 * Pure build and parse; the core owns TLS, retries and the token's life.
 * See README.md in this folder for the mappings and the decisions behind them.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil_status.h"
#include "codes.h"
#include "lt_body.h"
#include "lt_conf.h"
#include "lt_ident.h"
#include "lt_text.h"
#include "records.h"

#define PASSWORD_MAX  1024 /* bytes: a password is a line of text, not a document */
#define TEXT_MAX      64   /* bytes of user_name and unit_code */
#define FULL_NAME_MAX 200  /* bytes, after NFC */
#define INVALID_BODY  LT_BODY_INVALID

/* ---- settings ---- */

static const lt_conf_field_t settings_fields[] = {
    {.key = "unit_code",
     .type = LT_CONF_STRING,
     .offset = offsetof(lt_civil_status_settings_t, unit_code),
     .required = true},
    {.key = "user_name",
     .type = LT_CONF_STRING,
     .offset = offsetof(lt_civil_status_settings_t, user_name),
     .required = true},
    {.key = "password_file",
     .type = LT_CONF_FILE,
     .offset = offsetof(lt_civil_status_settings_t, password_file),
     .required = true},
    LT_ADAPTER_RETRY_AFTER_FIELD(lt_civil_status_settings_t, rate_retry_after_s, 1),
    LT_ADAPTER_RETRY_AFTER_FIELD(lt_civil_status_settings_t, unavailable_retry_after_s, 30),
    LT_CONF_END,
};

static void settings_free(void *settings)
{
    lt_civil_status_settings_t *s = settings;
    if (s == NULL)
        return;
    if (s->password != NULL) {
        OPENSSL_cleanse(s->password, strlen(s->password)); /* a secret should not linger in freed memory */
        free(s->password);
    }
    lt_conf_free(settings_fields, s);
    free(s);
}

/* Printable text without control characters, valid UTF-8: it goes into every JSON request. */
static bool is_plain_text(const char *v, size_t max)
{
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n > max || !lt_text_is_utf8(v))
        return false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static int settings_check(const lt_civil_status_settings_t *s, const char *path, lt_error_t *err)
{
    if (!is_plain_text(s->unit_code, TEXT_MAX))
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.unit_code: must be 1-%d bytes of printable UTF-8 text",
                            path, TEXT_MAX);
    if (!is_plain_text(s->user_name, TEXT_MAX))
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.user_name: must be 1-%d bytes of printable UTF-8 text",
                            path, TEXT_MAX);
    return 0;
}

/* Reads the password file once at start-up; the message names the key, never the content. */
static int read_password(lt_civil_status_settings_t *s, const char *path, lt_error_t *err)
{
    FILE *f = fopen(s->password_file, "rb");
    if (f == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.password_file: cannot open '%s'", path,
                            s->password_file);
    char buf[PASSWORD_MAX + 2];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    buf[n] = '\0';
    int rc = 0;
    lt_arena_t *a = lt_arena_new();
    const char *t = lt_text_trim(a, buf);
    if (failed)
        rc = lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.password_file: cannot read '%s'", path, s->password_file);
    else if (n > PASSWORD_MAX)
        rc = lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.password_file: the file is over %d bytes", path,
                          PASSWORD_MAX);
    /* A NUL inside the file would silently shorten the password. */
    else if (memchr(buf, '\0', n) != NULL || !is_plain_text(t, PASSWORD_MAX))
        rc = lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.password_file: must hold one line of printable text",
                          path);
    else if ((s->password = strdup(t)) == NULL)
        rc = lt_error_set(err, LT_ERR_INTERNAL, "out_of_memory", "cannot allocate the civil-status password");
    OPENSSL_cleanse((void *)t, strlen(t));
    lt_arena_destroy(a);
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

static int settings_load(const json_t *section, const char *path, void **settings, lt_error_t *err)
{
    lt_civil_status_settings_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "out_of_memory", "cannot allocate civil-status settings");
    if (lt_conf_read(section, path, settings_fields, s, err) != 0 || settings_check(s, path, err) != 0 ||
        read_password(s, path, err) != 0) {
        settings_free(s);
        return -1;
    }
    *settings = s;
    return 0;
}

/* ---- validate ---- */

static const char *const body_fields[] = {"id", "type", "full_name", NULL};
static const char *const required_fields[] = {"id", "type", NULL};

/* full_name is optional; when given it is trimmed and composed, so the database gets exactly what was checked. */
static int normalise_full_name(json_t *input, lt_error_t *err)
{
    json_t *v = json_object_get(input, "full_name");
    if (v == NULL)
        return 0;
    if (json_is_null(v)) {
        json_object_del(input, "full_name"); /* null means "not given": one form for the cache key */
        return 0;
    }
    if (!lt_body_is_c_string(v))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_BODY, "field full_name must be a string");
    lt_arena_t *a = lt_arena_new();
    const char *nfc = lt_text_nfc(a, lt_text_trim(a, json_string_value(v)));
    int rc = 0;
    if (nfc == NULL)
        rc = lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_BODY, "full_name is not valid UTF-8");
    else if (*nfc == '\0')
        rc = lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_BODY, "full_name must not be empty when it is given");
    else if (strlen(nfc) > FULL_NAME_MAX)
        rc = lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_BODY, "full_name must be at most %d bytes of UTF-8",
                          FULL_NAME_MAX);
    else if (!is_plain_text(nfc, FULL_NAME_MAX))
        rc = lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_BODY, "full_name contains control characters");
    else
        json_object_set_new(input, "full_name", json_string(nfc));
    lt_arena_destroy(a);
    return rc;
}

static int validate(json_t *input, lt_error_t *err)
{
    if (lt_body_check(input, body_fields, required_fields, err) != 0)
        return -1;
    if (lt_civil_status_type_find(json_string_value(json_object_get(input, "type"))) == NULL)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_type",
                            "type must be birth, marriages, death or marital_status");
    /* The birth year is not known here, so only the number's own rules are checked. */
    if (lt_ident_check_personal_id(json_string_value(json_object_get(input, "id")), -1, err) != 0)
        return -1;
    return normalise_full_name(input, err);
}

/* ---- build ---- */

static int context_value(const char *v, const char *header, lt_error_t *err)
{
    if (v == NULL || *v == '\0')
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "missing_header", "%s is required", header);
    if (!is_plain_text(v, strlen(v)))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_header",
                            "%s holds characters that cannot be sent upstream", header);
    return 0;
}

static int check_context(const lt_call_t *call, lt_error_t *err)
{
    const lt_call_context_t *ctx = call->ctx;
    if (ctx == NULL || !lt_ident_is_uuid(ctx->message_id))
        return lt_error_set(err, LT_ERR_INTERNAL, "bad_message_id", "the upstream request id must be a UUID");
    if (call->token == NULL || *call->token == '\0')
        return lt_error_set(err, LT_ERR_INTERNAL, "no_token", "build() was called without a session token");
    /* maCanBo and mucDich: Law 91/2025 wants the officer and the purpose of every personal-data lookup. */
    if (context_value(ctx->officer_id, "X-Officer-Id", err) != 0 || context_value(ctx->purpose, "X-Purpose", err) != 0)
        return -1;
    return 0;
}

/* The ICD's request, in its order; hoTen only when the caller gave a name (the ICD: the name is optional). */
static char *request_body(const lt_call_t *call, const lt_civil_status_type_t *type)
{
    const lt_civil_status_settings_t *s = call->settings;
    const char *name = json_string_value(json_object_get(call->input, "full_name"));
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "maDonVi", s->unit_code, "maYeuCau", call->ctx->message_id,
                  "maCanBo", call->ctx->officer_id, "mucDich", call->ctx->purpose, "loaiTraCuu", type->loai_tra_cuu,
                  "soDinhDanh", json_string_value(json_object_get(call->input, "id")));
    if (body != NULL && name != NULL)
        json_object_set_new(body, "hoTen", json_string(name));
    /* jansson writes UTF-8 as it is (no \u escapes) and escapes quotes and controls. */
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return text;
}

static lt_step_t build(lt_call_t *call, lt_upstream_request_t *out, lt_error_t *err)
{
    const lt_civil_status_type_t *type =
        lt_civil_status_type_find(json_string_value(json_object_get(call->input, "type")));
    if (type == NULL || json_string_value(json_object_get(call->input, "id")) == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "unvalidated_input", "build() got input validate() did not pass");
        return LT_STEP_FAIL;
    }
    if (check_context(call, err) != 0)
        return LT_STEP_FAIL;
    char *text = request_body(call, type);
    if (text == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "request_build", "could not write the civil-status lookup request");
        return LT_STEP_FAIL;
    }
    lt_arena_t *a = call->arena;
    memset(out, 0, sizeof(*out));
    out->method = "POST";
    out->path = LT_CIVIL_STATUS_LOOKUP_PATH;
    out->body = lt_arena_strdup(a, text);
    out->body_len = strlen(text);
    free(text);
    /* The ICD: the token itself, with no "Bearer" in front. */
    if (lt_adapter_request_add_header(a, out, "Authorization", call->token) != 0 ||
        lt_adapter_request_add_header(a, out, "Content-Type", "application/json; charset=utf-8") != 0 ||
        lt_adapter_request_add_header(a, out, "Accept", "application/json") != 0) {
        lt_error_set(err, LT_ERR_INTERNAL, "too_many_headers", "lookup request has too many headers");
        return LT_STEP_FAIL;
    }
    return LT_STEP_DONE;
}

/* ---- parse ---- */

static lt_step_t parse(lt_call_t *call, const lt_upstream_response_t *resp, json_t **result,
                       lt_upstream_request_t *next, lt_error_t *err)
{
    lt_civil_status_envelope_t env;
    if (lt_civil_status_answer_read(call->arena, call->settings, resp, "civil-status lookup answer", &env, err) != 0)
        return LT_STEP_FAIL;
    if (env.failed) {
        /* HT-401 inside HTTP 200: the token expired or was revoked. The core gets a new one and retries once;
         * a second HT-401 becomes its 502 token_refused. */
        if (env.error_code != NULL && strcmp(env.error_code, LT_CIVIL_STATUS_TOKEN_REFUSED) == 0)
            return LT_STEP_REAUTH;
        lt_civil_status_map_fault(&env, err);
        return LT_STEP_FAIL;
    }
    const lt_civil_status_type_t *type =
        lt_civil_status_type_find(json_string_value(json_object_get(call->input, "type")));
    const char *asked = json_string_value(json_object_get(call->input, "id"));
    if (type == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "unvalidated_input", "parse() got input validate() did not pass");
        return LT_STEP_FAIL;
    }
    if (lt_civil_status_answer_to_json(call->arena, type, json_object_get(env.doc, "value"), asked, result, err) != 0)
        return LT_STEP_FAIL;
    return LT_STEP_DONE;
}

static const lt_operation_t operations[] = {
    {
        .name = "lookup",
        .method = "POST",
        .route = "/v1/civil-status/lookup",
        .input_kind = LT_INPUT_JSON_BODY,
        .idempotent = true,
        .personal_data = true,
        .validate = validate,
        .build = build,
        .parse = parse,
    },
    {.name = NULL},
};

const lt_adapter_t lt_civil_status_adapter = {
    .name = "civil-status",
    .title = "Hộ tịch · Civil status",
    .operations = operations,
    .settings_load = settings_load,
    .settings_free = settings_free,
    .token_build = lt_civil_status_token_build,
    .token_parse = lt_civil_status_token_parse,
};
