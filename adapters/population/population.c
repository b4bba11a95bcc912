/*
 * The population adapter (icd/population.md): citizen lookup and verification
 * against the National Population Database over SOAP 1.1 with X-Road v4
 * headers. Pure build and parse; the core owns the mutual-TLS transport.
 * See README.md in this folder for the mappings and the decisions behind them.
 */
#include <stdlib.h>
#include <string.h>

#include "citizen.h"
#include "lt_adapter.h"
#include "lt_body.h"
#include "lt_conf.h"
#include "lt_date.h"
#include "lt_ident.h"
#include "lt_text.h"
#include "lt_xml.h"
#include "soap.h"

#define DC            LT_POPULATION_NS_DC
#define FULL_NAME_MAX 200 /* bytes, after NFC */
#define INVALID_BODY  LT_BODY_INVALID

/* ---- settings ---- */

#define STR(k)                                                                                                         \
    {                                                                                                                  \
        .key = #k, .type = LT_CONF_STRING, .offset = offsetof(lt_population_settings_t, k), .required = true           \
    }
static const lt_conf_field_t settings_fields[] = {
    STR(xroad_instance),
    STR(member_class),
    STR(member_code),
    STR(subsystem_code),
    STR(service_member_code),
    STR(service_subsystem_code),
    STR(service_version),
    STR(integration_code),
    STR(default_procedure_code),
    LT_ADAPTER_RETRY_AFTER_FIELD(lt_population_settings_t, quota_retry_after_s, 60),
    LT_ADAPTER_RETRY_AFTER_FIELD(lt_population_settings_t, maintenance_retry_after_s, 300),
    LT_ADAPTER_RETRY_AFTER_FIELD(lt_population_settings_t, platform_retry_after_s, 30),
    LT_CONF_END,
};

static void settings_free(void *settings)
{
    if (settings == NULL)
        return;
    lt_conf_free(settings_fields, settings);
    free(settings);
}

/* Every string goes into each request's envelope, so an empty or unwritable one is a start-up error. */
static int settings_check_strings(const lt_population_settings_t *s, const char *path, lt_error_t *err)
{
    for (const lt_conf_field_t *f = settings_fields; f->key != NULL; f++) {
        if (f->type != LT_CONF_STRING)
            continue;
        const char *v = *(char *const *)((const char *)s + f->offset);
        if (v == NULL || *v == '\0' || !lt_xml_is_valid_text(v))
            return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.%s: must be a non-empty string of printable text",
                                path, f->key);
    }
    return 0;
}

static int settings_load(const json_t *section, const char *path, void **settings, lt_error_t *err)
{
    lt_population_settings_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "out_of_memory", "cannot allocate population settings");
    if (lt_conf_read(section, path, settings_fields, s, err) != 0 || settings_check_strings(s, path, err) != 0) {
        settings_free(s);
        return -1;
    }
    *settings = s;
    return 0;
}

/* ---- validate ---- */

static const char *const body_fields[] = {"id", "full_name", "birth_date", NULL};

/* Trims and composes full_name, then writes it back so the upstream gets exactly what was checked. */
static int normalise_full_name(json_t *input, lt_error_t *err)
{
    lt_arena_t *a = lt_arena_new();
    const char *nfc = lt_text_nfc(a, lt_text_trim(a, json_string_value(json_object_get(input, "full_name"))));
    int rc = 0;
    if (nfc == NULL)
        rc = lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_BODY, "full_name is not valid UTF-8");
    else if (*nfc == '\0')
        rc = lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_BODY, "full_name must not be empty");
    else if (strlen(nfc) > FULL_NAME_MAX)
        rc = lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_BODY, "full_name must be at most %d bytes of UTF-8",
                          FULL_NAME_MAX);
    else if (!lt_xml_is_valid_text(nfc))
        rc = lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_BODY, "full_name contains control characters");
    else
        json_object_set_new(input, "full_name", json_string(nfc));
    lt_arena_destroy(a);
    return rc;
}

static int validate(json_t *input, lt_error_t *err)
{
    if (lt_body_check(input, body_fields, body_fields, err) != 0)
        return -1;
    int year;
    if (lt_date_parse_request(json_string_value(json_object_get(input, "birth_date")), NULL, &year, err) != 0)
        return -1;
    if (lt_ident_check_personal_id(json_string_value(json_object_get(input, "id")), year, err) != 0)
        return -1;
    return normalise_full_name(input, err);
}

/* ---- build ---- */

/* Header values from the caller go into the envelope: they must be present and representable in XML. */
static int context_value(const char *v, const char *header, bool required, lt_error_t *err)
{
    if (v == NULL || *v == '\0')
        return required ? lt_error_set(err, LT_ERR_BAD_REQUEST, "missing_header", "%s is required", header) : 0;
    if (!lt_xml_is_valid_text(v))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_header",
                            "%s holds characters that cannot be sent upstream", header);
    return 0;
}

static int check_context(const lt_call_context_t *ctx, lt_error_t *err)
{
    if (ctx == NULL || !lt_ident_is_uuid(ctx->message_id))
        return lt_error_set(err, LT_ERR_INTERNAL, "bad_message_id", "the upstream message id must be a UUID");
    if (context_value(ctx->officer_id, "X-Officer-Id", true, err) != 0 ||
        context_value(ctx->purpose, "X-Purpose", true, err) != 0 ||
        context_value(ctx->procedure_code, "X-Procedure-Code", false, err) != 0)
        return -1;
    return 0;
}

static lt_step_t build(lt_call_t *call, const char *operation, lt_upstream_request_t *out, lt_error_t *err)
{
    const lt_population_settings_t *s = call->settings;
    const lt_call_context_t *ctx = call->ctx;
    if (check_context(ctx, err) != 0)
        return LT_STEP_FAIL;
    lt_population_query_t q = {
        .operation = operation,
        .message_id = ctx->message_id,
        .officer_id = ctx->officer_id,
        .purpose = ctx->purpose,
        .procedure_code = ctx->procedure_code && *ctx->procedure_code ? ctx->procedure_code : s->default_procedure_code,
        .id = json_string_value(json_object_get(call->input, "id")),
        .full_name = json_string_value(json_object_get(call->input, "full_name")),
        .birth_date = json_string_value(json_object_get(call->input, "birth_date")),
    };
    if (q.id == NULL || q.full_name == NULL || q.birth_date == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "unvalidated_input", "build() got input validate() did not pass");
        return LT_STEP_FAIL;
    }
    memset(out, 0, sizeof(*out));
    if (lt_population_soap_build(call->arena, s, &q, &out->body, &out->body_len, err) != 0)
        return LT_STEP_FAIL;
    out->method = "POST";
    out->path = "/ws/dancu/v1";
    lt_adapter_request_add_header(call->arena, out, "Content-Type", "text/xml; charset=utf-8");
    lt_adapter_request_add_header(call->arena, out, "SOAPAction", lt_arena_sprintf(call->arena, "\"%s\"", operation));
    /* Remember the id actually sent: the response must echo this one. */
    call->scratch = lt_arena_strdup(call->arena, ctx->message_id);
    return LT_STEP_DONE;
}

static lt_step_t build_lookup(lt_call_t *call, lt_upstream_request_t *out, lt_error_t *err)
{
    return build(call, LT_POPULATION_OP_LOOKUP, out, err);
}

static lt_step_t build_verify(lt_call_t *call, lt_upstream_request_t *out, lt_error_t *err)
{
    return build(call, LT_POPULATION_OP_VERIFY, out, err);
}

/* ---- parse ---- */

static const char *sent_message_id(const lt_call_t *call)
{
    if (call->scratch != NULL)
        return call->scratch;
    return call->ctx ? call->ctx->message_id : NULL;
}

static int read_response(lt_call_t *call, const lt_upstream_response_t *resp, const char *local, xmlNodePtr *el,
                         lt_error_t *err)
{
    return lt_population_soap_parse(call->arena, call->settings, resp, call->sent, sent_message_id(call), local, el,
                                    err);
}

static lt_step_t parse_lookup(lt_call_t *call, const lt_upstream_response_t *resp, json_t **result,
                              lt_upstream_request_t *next, lt_error_t *err)
{
    xmlNodePtr el;
    if (read_response(call, resp, LT_POPULATION_OP_LOOKUP "Response", &el, err) != 0)
        return LT_STEP_FAIL;
    xmlNodePtr cd = lt_xml_child(el, DC, "CongDan");
    if (cd == NULL) {
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "bad_response", "response has no dc:CongDan");
        return LT_STEP_FAIL;
    }
    json_t *citizen;
    if (lt_population_citizen_to_json(call->arena, cd, &citizen, err) != 0)
        return LT_STEP_FAIL;
    /* A record for another number than the one asked about must never reach the caller. */
    const char *asked = json_string_value(json_object_get(call->input, "id"));
    const char *got = json_string_value(json_object_get(citizen, "id"));
    if (asked == NULL || strcmp(asked, got) != 0) {
        json_decref(citizen);
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_record_mismatch",
                     "the national system returned a record for a different number");
        return LT_STEP_FAIL;
    }
    *result = citizen;
    return LT_STEP_DONE;
}

static lt_step_t parse_verify(lt_call_t *call, const lt_upstream_response_t *resp, json_t **result,
                              lt_upstream_request_t *next, lt_error_t *err)
{
    xmlNodePtr el;
    if (read_response(call, resp, LT_POPULATION_OP_VERIFY "Response", &el, err) != 0)
        return LT_STEP_FAIL;
    const char *v = lt_xml_text(call->arena, lt_xml_child(el, DC, "KetQua"));
    /* xs:boolean's lexical forms. */
    bool yes = v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
    bool no = v && (strcmp(v, "false") == 0 || strcmp(v, "0") == 0);
    if (!yes && !no) {
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "bad_response", "response KetQua is not true or false");
        return LT_STEP_FAIL;
    }
    *result = json_pack("{s:b}", "match", yes);
    return LT_STEP_DONE;
}

/* Sensitive personal data under Decree 13/2023 (Art. 2.4): released only to a client whose field list names it. */
static const char *const sensitive_citizen_fields[] = {"ethnicity", "religion", NULL};

static const lt_operation_t operations[] = {
    {
        .name = "lookup",
        .method = "POST",
        .route = "/v1/citizens/lookup",
        .input_kind = LT_INPUT_JSON_BODY,
        .idempotent = true,
        .personal_data = true,
        .sensitive_fields = sensitive_citizen_fields,
        .validate = validate,
        .build = build_lookup,
        .parse = parse_lookup,
    },
    {
        .name = "verify",
        .method = "POST",
        .route = "/v1/citizens/verify",
        .input_kind = LT_INPUT_JSON_BODY,
        .idempotent = true,
        .personal_data = true,
        .validate = validate,
        .build = build_verify,
        .parse = parse_verify,
    },
    {.name = NULL},
};

const lt_adapter_t lt_population_adapter = {
    .name = "population",
    .title = "Dân cư · Population",
    .operations = operations,
    .settings_load = settings_load,
    .settings_free = settings_free,
};
