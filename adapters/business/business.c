/*
 * The business registration adapter (icd/business-registration.md): enterprise
 * lookup by code over REST/JSON, authorised by an OAuth 2.0 client-credentials
 * token that the core fetches through this adapter's token hooks (oauth.c).
 * Pure build and parse; the core owns TLS, retries and the token's life.
 * See README.md in this folder for the mappings and the decisions behind them.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "business.h"
#include "enterprise.h"
#include "lt_conf.h"
#include "lt_ident.h"
#include "lt_text.h"

#define SECRET_MAX    4096 /* bytes: a client secret is a line of text, not a document */
#define CLIENT_ID_MAX 256
#define PARAM         "code"

/* ---- settings ---- */

static const lt_conf_field_t settings_fields[] = {
    {.key = "client_id",
     .type = LT_CONF_STRING,
     .offset = offsetof(lt_business_settings_t, client_id),
     .required = true},
    {.key = "client_secret_file",
     .type = LT_CONF_FILE,
     .offset = offsetof(lt_business_settings_t, client_secret_file),
     .required = true},
    {.key = "scope",
     .type = LT_CONF_STRING,
     .offset = offsetof(lt_business_settings_t, scope),
     .default_str = LT_BUSINESS_DEFAULT_SCOPE},
    LT_ADAPTER_RETRY_AFTER_FIELD(lt_business_settings_t, rate_retry_after_s, 1),
    LT_ADAPTER_RETRY_AFTER_FIELD(lt_business_settings_t, unavailable_retry_after_s, 30),
    LT_CONF_END,
};

/* The secret must not linger in freed memory. */
static void free_secret(char *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

static void settings_free(void *settings)
{
    lt_business_settings_t *s = settings;
    if (s == NULL)
        return;
    lt_conf_free(settings_fields, s);
    free_secret(s->client_secret);
    free_secret(s->authorization);
    free(s);
}

/* Printable ASCII without spaces: what a Basic credential and a form body carry unambiguously. */
static bool is_credential_text(const char *v, size_t max)
{
    size_t n = strlen(v);
    if (n == 0 || n > max)
        return false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return false;
    return true;
}

/* RFC 6749 §3.3: scope-tokens of NQCHAR (%x21 / %x23-5B / %x5D-7E) separated by single spaces. */
static bool is_scope(const char *v)
{
    if (*v == '\0' || *v == ' ' || v[strlen(v) - 1] == ' ' || strstr(v, "  ") != NULL)
        return false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p != ' ' && (*p < 0x21 || *p > 0x7e || *p == '"' || *p == '\\'))
            return false;
    return true;
}

/* Reads the secret file once at start-up; the message names the key, never the content. */
static int read_secret(lt_business_settings_t *s, const char *path, lt_error_t *err)
{
    FILE *f = fopen(s->client_secret_file, "rb");
    if (f == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.client_secret_file: cannot open '%s'", path,
                            s->client_secret_file);
    char buf[SECRET_MAX + 2];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    buf[n] = '\0';
    int rc = 0;
    if (failed)
        rc = lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.client_secret_file: cannot read '%s'", path,
                          s->client_secret_file);
    else if (n > SECRET_MAX)
        rc = lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.client_secret_file: the file is over %d bytes", path,
                          SECRET_MAX);
    if (rc == 0) {
        lt_arena_t *a = lt_arena_new();
        const char *t = lt_text_trim(a, buf);
        /* A NUL inside the file would silently shorten the secret. */
        if (memchr(buf, '\0', n) != NULL || !is_credential_text(t, SECRET_MAX))
            rc = lt_error_set(err, LT_ERR_INTERNAL, "config",
                              "%s.client_secret_file: must hold one line of printable ASCII without spaces", path);
        else
            s->client_secret = strdup(t);
        OPENSSL_cleanse((void *)t, strlen(t));
        lt_arena_destroy(a);
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

/* "Basic " base64(client_id ":" client_secret), exactly as the ICD writes it; made once, not per fetch. */
static int make_authorization(lt_business_settings_t *s, lt_error_t *err)
{
    size_t n = strlen(s->client_id) + 1 + strlen(s->client_secret);
    char *plain = malloc(n + 1);
    s->authorization = malloc(sizeof("Basic ") + 4 * ((n + 2) / 3));
    if (plain == NULL || s->authorization == NULL) {
        free(plain);
        free(s->authorization);
        s->authorization = NULL;
        return lt_error_set(err, LT_ERR_INTERNAL, "out_of_memory", "cannot allocate the business credential");
    }
    snprintf(plain, n + 1, "%s:%s", s->client_id, s->client_secret);
    memcpy(s->authorization, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)s->authorization + 6, (const unsigned char *)plain, (int)n);
    free_secret(plain);
    return 0;
}

static int settings_check(const lt_business_settings_t *s, const char *path, lt_error_t *err)
{
    /* RFC 7617: a user-id with ':' cannot be told apart from the password. */
    if (!is_credential_text(s->client_id, CLIENT_ID_MAX) || strchr(s->client_id, ':') != NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "config",
                            "%s.client_id: must be 1-%d characters of printable ASCII without spaces or ':'", path,
                            CLIENT_ID_MAX);
    if (!is_scope(s->scope))
        return lt_error_set(err, LT_ERR_INTERNAL, "config",
                            "%s.scope: must be RFC 6749 scope tokens separated by single spaces", path);
    return 0;
}

static int settings_load(const json_t *section, const char *path, void **settings, lt_error_t *err)
{
    lt_business_settings_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "out_of_memory", "cannot allocate business settings");
    if (lt_conf_read(section, path, settings_fields, s, err) != 0 || settings_check(s, path, err) != 0 ||
        read_secret(s, path, err) != 0 || make_authorization(s, err) != 0) {
        settings_free(s);
        return -1;
    }
    *settings = s;
    return 0;
}

/* ---- validate ---- */

static int validate(json_t *input, lt_error_t *err)
{
    const json_t *code = json_object_get(input, PARAM);
    if (!json_is_string(code))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_identifier", "the enterprise code is missing");
    /* 10 digits or NNNNNNNNNN-NNN with the check digit right: the caller learns why, no upstream call is made. */
    return lt_ident_check_tax_code(json_string_value(code), err);
}

/* ---- build ---- */

/* Caller values go into HTTP header lines: no control characters, valid UTF-8 (the core checked; this is defence). */
static int header_value(const char *v, const char *header, lt_error_t *err)
{
    if (v == NULL || *v == '\0')
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "missing_header", "%s is required", header);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_header",
                                "%s holds characters that cannot be sent upstream", header);
    if (!lt_text_is_utf8(v))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_header", "%s is not valid UTF-8", header);
    return 0;
}

static int check_context(const lt_call_t *call, lt_error_t *err)
{
    const lt_call_context_t *ctx = call->ctx;
    if (ctx == NULL || !lt_ident_is_uuid(ctx->message_id))
        return lt_error_set(err, LT_ERR_INTERNAL, "bad_message_id", "the upstream request id must be a UUID");
    if (call->token == NULL || *call->token == '\0')
        return lt_error_set(err, LT_ERR_INTERNAL, "no_token", "build() was called without a bearer token");
    if (header_value(ctx->officer_id, "X-Officer-Id", err) != 0 || header_value(ctx->purpose, "X-Purpose", err) != 0)
        return -1;
    return 0;
}

static lt_step_t build(lt_call_t *call, lt_upstream_request_t *out, lt_error_t *err)
{
    const char *code = json_string_value(json_object_get(call->input, PARAM));
    if (code == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "unvalidated_input", "build() got input validate() did not pass");
        return LT_STEP_FAIL;
    }
    if (check_context(call, err) != 0)
        return LT_STEP_FAIL;
    lt_arena_t *a = call->arena;
    memset(out, 0, sizeof(*out));
    out->method = "GET";
    /* validate() allowed only digits and '-', so the code needs no percent-encoding. */
    out->path = lt_arena_sprintf(a, "/api/v2/doanh-nghiep/%s", code);
    if (lt_adapter_request_add_header(a, out, "Authorization", lt_arena_sprintf(a, "Bearer %s", call->token)) != 0 ||
        lt_adapter_request_add_header(a, out, "Accept", "application/json") != 0 ||
        lt_adapter_request_add_header(a, out, "X-Request-ID", call->ctx->message_id) != 0 ||
        lt_adapter_request_add_header(a, out, "X-Officer-ID", call->ctx->officer_id) != 0 ||
        lt_adapter_request_add_header(a, out, "X-Purpose", call->ctx->purpose) != 0) {
        lt_error_set(err, LT_ERR_INTERNAL, "too_many_headers", "lookup request has too many headers");
        return LT_STEP_FAIL;
    }
    return LT_STEP_DONE;
}

/* ---- parse ---- */

/*
 * 401 is the ICD's "token expired or revoked: get a new token and retry once".
 * The core does not hand adapters WWW-Authenticate, so the body decides: an
 * RFC 6750 error other than invalid_token (invalid_request) is our bug, and
 * everything else, including a 401 without a JSON body, asks for a new token.
 * The core refreshes once; a second 401 becomes 502 token_refused.
 */
static lt_step_t parse_unauthorized(lt_call_t *call, const lt_upstream_response_t *resp, lt_error_t *err)
{
    lt_error_t ignored;
    const char *error = NULL;
    json_t *doc = lt_business_json_object(call->arena, resp, "401 body", &ignored);
    if (doc != NULL)
        lt_business_json_string(doc, "error", &error, &ignored);
    if (error == NULL || strcmp(error, "invalid_token") == 0)
        return LT_STEP_REAUTH;
    lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_http_401",
                 "the national system refused the lookup's authorisation with an error other than invalid_token");
    return LT_STEP_FAIL;
}

static lt_step_t parse(lt_call_t *call, const lt_upstream_response_t *resp, json_t **result,
                       lt_upstream_request_t *next, lt_error_t *err)
{
    if (resp->status == 401)
        return parse_unauthorized(call, resp, err);
    if (resp->status != 200) {
        lt_business_map_error(call->settings, call->arena, resp, err);
        return LT_STEP_FAIL;
    }
    json_t *doc = lt_business_json_object(call->arena, resp, "enterprise record", err);
    if (doc == NULL)
        return LT_STEP_FAIL;
    const char *asked = json_string_value(json_object_get(call->input, PARAM));
    if (lt_business_enterprise_to_json(call->arena, doc, asked, result, err) != 0)
        return LT_STEP_FAIL;
    return LT_STEP_DONE;
}

static const lt_operation_t operations[] = {
    {
        .name = "lookup",
        .method = "GET",
        .route = "/v1/businesses/",
        .input_kind = LT_INPUT_PATH_PARAM,
        .param_name = PARAM,
        .idempotent = true,
        /* Legal representatives are people, so a lookup is personal data: officer and purpose are required. */
        .personal_data = true,
        .validate = validate,
        .build = build,
        .parse = parse,
    },
    {.name = NULL},
};

const lt_adapter_t lt_business_adapter = {
    .name = "business",
    .title = "Đăng ký doanh nghiệp · Business registration",
    .operations = operations,
    .settings_load = settings_load,
    .settings_free = settings_free,
    .token_build = lt_business_token_build,
    .token_parse = lt_business_token_parse,
};
