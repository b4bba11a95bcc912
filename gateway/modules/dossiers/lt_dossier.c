/* Reading canonical dossiers and steps: a field table per record, one check per kind of field. */
#include "lt_dossier.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_arena.h"
#include "lt_date.h"
#include "lt_text.h"

const char *const lt_dos_statuses[] = {
    "submitted",
    "received",
    "not_received",
    "processing",
    "more_documents_required",
    "payment_required",
    "withdrawn",
    "stopped",
    "finished",
    "result_delivered",
    NULL,
};

int lt_dos_status_index(const char *name)
{
    for (int i = 0; name != NULL && lt_dos_statuses[i] != NULL; i++)
        if (strcmp(lt_dos_statuses[i], name) == 0)
            return i;
    return -1;
}

static bool is_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool only_chars(const char *s, const char *extra)
{
    for (const char *p = s; *p; p++)
        if (!is_alnum(*p) && strchr(extra, *p) == NULL)
            return false;
    return true;
}

bool lt_dos_id_is_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    return n >= 1 && n <= LT_DOS_ID_MAX && only_chars(id, ".-_");
}

/* ---- the field tables ----------------------------------------------------------------------------- */

typedef enum {
    F_TEXT,      /* free text, NFC, trimmed, no control characters */
    F_LONG_TEXT, /* the same, with line breaks and tabs allowed */
    F_CODE,      /* an identifier: letters, digits and . - _ / */
    F_DIGITS,    /* a code of digits, passed on as the portal's code (the ICD gives no table for it) */
    F_TIME,      /* ISO 8601 with an offset, kept as +07:00 */
    F_STATUS,    /* one of lt_dos_statuses */
    F_APPLICANT, /* citizen or enterprise */
    F_AMOUNT,    /* a non-negative integer of dong */
    F_FEES,      /* a list of fee objects (fee_fields) */
} field_kind_t;

typedef struct field {
    const char *key;
    field_kind_t kind;
    size_t max; /* bytes of text, digits of a code, items of a list */
} field_t;

static const field_t fee_fields[] = {
    {"name", F_TEXT, 500},       {"code", F_CODE, 64},       {"collection_method_code", F_DIGITS, 4},
    {"amount_vnd", F_AMOUNT, 0}, {"type_code", F_DIGITS, 4}, {NULL, 0, 0},
};

static const field_t snapshot_fields[] = {
    {"procedure_code", F_CODE, 64},
    {"procedure_name", F_TEXT, 1000},
    {"sector_code", F_CODE, 64},
    {"sector_name", F_TEXT, 500},
    {"receipt_number", F_CODE, 64},
    {"applicant_name", F_TEXT, 300},
    {"applicant_type", F_APPLICANT, 0},
    {"applicant_id", F_CODE, 64},
    {"received_at", F_TIME, 0},
    {"due_at", F_TIME, 0},
    {"status", F_STATUS, 0},
    {"returned_at", F_TIME, 0},
    {"finished_at", F_TIME, 0},
    {"channel_code", F_DIGITS, 4},
    {"processing_unit", F_TEXT, 500},
    {"note", F_LONG_TEXT, 2000},
    {"fees", F_FEES, 50},
    {NULL, 0, 0},
};

static const field_t step_fields[] = {
    {"officer_name", F_TEXT, 300}, {"officer_title", F_TEXT, 300}, {"processed_at", F_TIME, 0},
    {"department", F_TEXT, 500},   {"content", F_LONG_TEXT, 4000}, {"status", F_STATUS, 0},
    {"started_at", F_TIME, 0},     {"due_at", F_TIME, 0},          {NULL, 0, 0},
};

/* ---- one check per kind ------------------------------------------------------------------------------ */

static int bad(lt_error_t *err, const char *code, const char *path, const char *what)
{
    return lt_error_set(err, LT_ERR_BAD_REQUEST, code, "%s: %s", path, what);
}

static bool has_control(const char *s, bool allow_breaks)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && !(allow_breaks && (*p == '\n' || *p == '\t' || *p == '\r'))) || *p == 0x7f)
            return true;
    return false;
}

static int read_text(lt_arena_t *a, const json_t *v, const field_t *f, const char *path, json_t **out, lt_error_t *err)
{
    char what[120];
    snprintf(what, sizeof(what), "must be text of at most %zu bytes, without control characters", f->max);
    const char *s = json_string_value(v);
    if (s == NULL || has_control(s, f->kind == F_LONG_TEXT))
        return bad(err, "invalid_text", path, what);
    char *t = lt_text_trim(a, lt_text_nfc(a, s));
    if (t == NULL || strlen(t) > f->max)
        return bad(err, "invalid_text", path, what);
    *out = t[0] != '\0' ? json_string(t) : NULL; /* blank text says nothing: it is left out */
    return 0;
}

static int read_code(const json_t *v, const field_t *f, const char *path, json_t **out, lt_error_t *err)
{
    char what[120];
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (f->kind == F_DIGITS) {
        snprintf(what, sizeof(what), "must be a code of 1 to %zu digits, as a string", f->max);
        if (n == 0 || n > f->max || strspn(s, "0123456789") != n)
            return bad(err, "invalid_code", path, what);
    } else {
        snprintf(what, sizeof(what), "must be 1 to %zu characters of A-Z, a-z, 0-9, '.', '-', '_' or '/'", f->max);
        if (n == 0 || n > f->max || !only_chars(s, ".-_/"))
            return bad(err, "invalid_code", path, what);
    }
    *out = json_string(s);
    return 0;
}

static int read_time(const json_t *v, const char *path, json_t **out, lt_error_t *err)
{
    time_t t;
    if (!json_is_string(v) || lt_date_parse_iso8601(json_string_value(v), &t) != 0)
        return bad(err, "invalid_time", path,
                   "must be an ISO 8601 time with its offset, such as 2026-11-22T09:00:00+07:00");
    char iso[32];
    lt_date_format_iso8601(t, iso);
    *out = json_string(iso);
    return 0;
}

static int read_status(const json_t *v, const char *path, json_t **out, lt_error_t *err)
{
    if (lt_dos_status_index(json_string_value(v)) < 0)
        return bad(err, "invalid_status", path,
                   "must be one of submitted, received, not_received, processing, more_documents_required, "
                   "payment_required, withdrawn, stopped, finished, result_delivered");
    *out = json_string(json_string_value(v));
    return 0;
}

static int read_applicant(const json_t *v, const char *path, json_t **out, lt_error_t *err)
{
    const char *s = json_string_value(v);
    if (s == NULL || (strcmp(s, "citizen") != 0 && strcmp(s, "enterprise") != 0))
        return bad(err, "invalid_applicant_type", path, "must be citizen or enterprise");
    *out = json_string(s);
    return 0;
}

static int read_amount(const json_t *v, const char *path, json_t **out, lt_error_t *err)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 999999999999LL)
        return bad(err, "invalid_amount", path, "must be a non-negative integer number of dong");
    *out = json_integer(json_integer_value(v));
    return 0;
}

static int read_object(lt_arena_t *a, const json_t *body, const field_t *fields, const char *prefix,
                       const char *const *own, json_t *out, lt_error_t *err);

static int read_fees(lt_arena_t *a, const json_t *v, const field_t *f, const char *path, json_t **out, lt_error_t *err)
{
    if (!json_is_array(v) || json_array_size(v) > f->max)
        return bad(err, "invalid_fees", path, "must be a list of at most 50 fee objects");
    json_t *list = json_array();
    size_t i;
    const json_t *item;
    json_array_foreach(v, i, item)
    {
        char at[160];
        snprintf(at, sizeof(at), "%.128s[%zu]", path, i);
        json_t *fee = json_object();
        if (!json_is_object(item) || read_object(a, item, fee_fields, at, NULL, fee, err) != 0) {
            if (!json_is_object(item))
                bad(err, "invalid_fees", at, "must be an object");
            json_decref(fee);
            json_decref(list);
            return -1;
        }
        json_array_append_new(list, fee);
    }
    *out = list;
    return 0;
}

/* One field: *out is its canonical value, or NULL when it says nothing (null, blank text). */
static int read_field(lt_arena_t *a, const json_t *v, const field_t *f, const char *path, json_t **out, lt_error_t *err)
{
    *out = NULL;
    if (json_is_null(v))
        return 0; /* null is absent: the ICD requires none of these fields */
    switch (f->kind) {
    case F_TEXT:
    case F_LONG_TEXT:
        return read_text(a, v, f, path, out, err);
    case F_CODE:
    case F_DIGITS:
        return read_code(v, f, path, out, err);
    case F_TIME:
        return read_time(v, path, out, err);
    case F_STATUS:
        return read_status(v, path, out, err);
    case F_APPLICANT:
        return read_applicant(v, path, out, err);
    case F_AMOUNT:
        return read_amount(v, path, out, err);
    case F_FEES:
        return read_fees(a, v, f, path, out, err);
    }
    return bad(err, "invalid_body", path, "unexpected field");
}

static const field_t *find_field(const field_t *fields, const char *key)
{
    for (const field_t *f = fields; f->key != NULL; f++)
        if (strcmp(f->key, key) == 0)
            return f;
    return NULL;
}

static bool is_own(const char *const *own, const char *key)
{
    for (size_t i = 0; own != NULL && own[i] != NULL; i++)
        if (strcmp(own[i], key) == 0)
            return true;
    return false;
}

/* Every key of body through its row of the table into out; `own` keys are the caller's (version, seq). */
static int read_object(lt_arena_t *a, const json_t *body, const field_t *fields, const char *prefix,
                       const char *const *own, json_t *out, lt_error_t *err)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        char path[128];
        snprintf(path, sizeof(path), "%s%s%.64s", prefix ? prefix : "", prefix ? "." : "", key);
        if (is_own(own, key))
            continue;
        const field_t *f = find_field(fields, key);
        if (f == NULL)
            return lt_error_set(err, LT_ERR_BAD_REQUEST, "unknown_field", "unknown field '%s'", path);
        json_t *value;
        if (read_field(a, v, f, path, &value, err) != 0)
            return -1;
        if (value != NULL)
            json_object_set_new(out, key, value);
    }
    return 0;
}

static int read_number(const json_t *body, const char *key, long long *out, lt_error_t *err)
{
    const json_t *v = json_object_get(body, key);
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > LT_DOS_NUMBER_MAX)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, strcmp(key, "seq") == 0 ? "invalid_seq" : "invalid_version",
                            "%s is required: a positive integer of at most 14 digits", key);
    *out = json_integer_value(v);
    return 0;
}

static int read_record(const char *id, const json_t *body, const field_t *fields, const char *number_key,
                       json_t **canonical, long long *number, lt_error_t *err)
{
    const char *const mine[] = {"dossier_id", number_key, NULL};
    *canonical = NULL;
    if (!json_is_object(body))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_body", "the body must be a JSON object");
    const json_t *given = json_object_get(body, "dossier_id");
    if (given != NULL && (!json_is_string(given) || strcmp(json_string_value(given), id) != 0))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "dossier_id_mismatch",
                            "dossier_id in the body must be the dossier id of the path");
    const char *other = strcmp(number_key, "seq") == 0 ? "version" : "seq";
    if (json_object_get(body, other) != NULL)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "unknown_field", "unknown field '%s'", other);
    if (read_number(body, number_key, number, err) != 0)
        return -1;
    lt_arena_t *a = lt_arena_new();
    json_t *out = json_object();
    int rc = read_object(a, body, fields, NULL, mine, out, err);
    lt_arena_destroy(a);
    if (rc != 0) {
        json_decref(out);
        return -1;
    }
    json_object_set_new(out, number_key, json_integer(*number));
    *canonical = out;
    return 0;
}

int lt_dos_snapshot_read(const char *id, const json_t *body, json_t **canonical, long long *version, lt_error_t *err)
{
    return read_record(id, body, snapshot_fields, "version", canonical, version, err);
}

int lt_dos_step_read(const char *id, const json_t *body, json_t **canonical, long long *seq, lt_error_t *err)
{
    return read_record(id, body, step_fields, "seq", canonical, seq, err);
}

int lt_dos_fee_read(const json_t *body, json_t **canonical, lt_error_t *err)
{
    *canonical = NULL;
    if (!json_is_object(body))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_fees", "a fee must be an object");
    lt_arena_t *a = lt_arena_new();
    json_t *out = json_object();
    int rc = read_object(a, body, fee_fields, "fee", NULL, out, err);
    lt_arena_destroy(a);
    if (rc != 0) {
        json_decref(out);
        return -1;
    }
    *canonical = out;
    return 0;
}

void lt_dos_with_fees(json_t *canonical, const char *fees)
{
    json_t *more = fees != NULL ? json_loads(fees, 0, NULL) : NULL;
    if (json_array_size(more) > 0 && json_is_object(canonical)) {
        json_t *list = json_object_get(canonical, "fees");
        if (!json_is_array(list)) {
            list = json_array();
            json_object_set_new(canonical, "fees", list);
        }
        json_array_extend(list, more);
    }
    json_decref(more);
}

char *lt_dos_canonical_text(const json_t *canonical)
{
    return json_dumps(canonical, JSON_COMPACT | JSON_SORT_KEYS);
}

void lt_dos_fingerprint(const char *text, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void lt_dos_record_id(const char *dossier_id, bool step, long long number, char out[LT_DOS_RECORD_ID_MAX + 1])
{
    snprintf(out, LT_DOS_RECORD_ID_MAX + 1, "%s:%c%lld", dossier_id, step ? 's' : 'v', number);
}

int lt_dos_record_id_parse(const char *text, char dossier_id[LT_DOS_ID_MAX + 1], bool *step, long long *number)
{
    const char *colon = text ? strrchr(text, ':') : NULL;
    if (colon == NULL || (size_t)(colon - text) > LT_DOS_ID_MAX || (colon[1] != 's' && colon[1] != 'v'))
        return -1;
    const char *digits = colon + 2;
    size_t n = strlen(digits);
    if (n == 0 || n > 16 || strspn(digits, "0123456789") != n || digits[0] == '0')
        return -1;
    memcpy(dossier_id, text, (size_t)(colon - text));
    dossier_id[colon - text] = '\0';
    *step = colon[1] == 's';
    *number = strtoll(digits, NULL, 10);
    return lt_dos_id_is_valid(dossier_id) && *number <= LT_DOS_NUMBER_MAX ? 0 : -1;
}
