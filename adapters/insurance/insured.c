/*
 * ICD "data" to canonical JSON. The ICD shows every member without saying any
 * is always sent, so each may be missing: a missing or null member gives null;
 * a member of the wrong type or shape is a bad response, because guessing at
 * a national record's meaning is worse than refusing it. Unknown members are
 * ignored. The first problem wins and is reported by its JSON path only.
 */
#include "insured.h"

#include <stdbool.h>
#include <string.h>

#include "codes.h"
#include "lt_date.h"
#include "lt_text.h"

typedef struct reader {
    lt_arena_t *a;
    lt_error_t *err;
    bool failed;
} reader_t;

static void bad(reader_t *r, const char *path, const char *key, const char *what)
{
    if (r->failed)
        return;
    r->failed = true;
    lt_error_set(r->err, LT_ERR_UPSTREAM_BAD, "bad_response", "insured record: %s.%s %s", path, key, what);
}

/* The member, or NULL when it is absent or JSON null (the ICD uses null for "none"). */
static const json_t *member(const json_t *obj, const char *key)
{
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Trimmed NFC text, or NULL when absent or empty (then a problem if required). */
static const char *text(reader_t *r, const json_t *obj, const char *path, const char *key, bool required)
{
    const json_t *v = member(obj, key);
    if (v != NULL && !json_is_string(v)) {
        bad(r, path, key, "is not a string");
        return NULL;
    }
    const char *t = v ? lt_text_nfc(r->a, lt_text_trim(r->a, json_string_value(v))) : NULL;
    if (t != NULL && *t == '\0')
        t = NULL;
    if (t == NULL && required)
        bad(r, path, key, "is missing");
    return t;
}

static bool all_digits(const char *s, size_t n)
{
    return strlen(s) == n && strspn(s, "0123456789") == n;
}

/* Text that must be exactly n digits when present. */
static const char *digits(reader_t *r, const json_t *obj, const char *path, const char *key, size_t n, bool required)
{
    const char *t = text(r, obj, path, key, required);
    if (t != NULL && !all_digits(t, n)) {
        bad(r, path, key, n == 10 ? "is not 10 digits" : "is not 12 digits");
        return NULL;
    }
    return t;
}

/* dd/MM/yyyy to yyyy-MM-dd; yyyy stays yyyy where year_ok. JSON null when absent and not required. */
static json_t *date(reader_t *r, const json_t *obj, const char *path, const char *key, bool year_ok, bool required)
{
    const char *t = text(r, obj, path, key, required);
    if (t == NULL)
        return json_null();
    if (year_ok && all_digits(t, 4) && strcmp(t, "0000") != 0)
        return json_string(t);
    char iso[11];
    lt_error_t ignored;
    if (lt_date_dmy_to_iso(t, iso, &ignored) != 0) {
        bad(r, path, key, year_ok ? "is neither dd/MM/yyyy nor yyyy" : "is not a valid dd/MM/yyyy date");
        return json_null();
    }
    return json_string(iso);
}

static json_t *integer(reader_t *r, const json_t *obj, const char *path, const char *key, json_int_t min,
                       json_int_t max)
{
    const json_t *v = member(obj, key);
    if (v == NULL)
        return json_null();
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        bad(r, path, key, "is not an integer in the expected range");
        return json_null();
    }
    return json_integer(json_integer_value(v));
}

/* An object member, or NULL when absent or null. */
static const json_t *object(reader_t *r, const json_t *obj, const char *path, const char *key)
{
    const json_t *v = member(obj, key);
    if (v != NULL && !json_is_object(v)) {
        bad(r, path, key, "is not an object");
        return NULL;
    }
    return v;
}

/* {"code": meaning or null, "source_code": code}, or null when the member carries no code. */
static json_t *coded(reader_t *r, const json_t *obj, const char *path, const char *key, const lt_code_table_t *table)
{
    const char *source = text(r, obj, path, key, false);
    if (source == NULL)
        return json_null();
    return json_pack("{s:o, s:s}", "code", string_or_null(lt_code_value(table, source)), "source_code", source);
}

/* {"ma", "ten"} to {"code", "name"}; null when absent or both empty. */
static json_t *code_and_name(reader_t *r, const json_t *obj, const char *path, const char *key)
{
    const json_t *o = object(r, obj, path, key);
    if (o == NULL)
        return json_null();
    const char *sub = lt_arena_sprintf(r->a, "%s.%s", path, key);
    const char *code = text(r, o, sub, "ma", false), *name = text(r, o, sub, "ten", false);
    if (code == NULL && name == NULL)
        return json_null();
    return json_pack("{s:o, s:o}", "code", string_or_null(code), "name", string_or_null(name));
}

static json_t *health_card(reader_t *r, const json_t *data)
{
    const char *path = "data.theBhyt";
    const json_t *card = object(r, data, "data", "theBhyt");
    if (card == NULL)
        return json_null(); /* no current card */
    json_t *o = json_object();
    json_object_set_new(o, "card_number", string_or_null(text(r, card, path, "maThe", false)));
    json_object_set_new(o, "valid_from", date(r, card, path, "giaTriTu", false, false));
    json_object_set_new(o, "valid_to", date(r, card, path, "giaTriDen", false, false));
    json_object_set_new(o, "initial_care_facility", code_and_name(r, card, path, "noiDkKcbBanDau"));
    json_object_set_new(o, "benefit_level", integer(r, card, path, "mucHuong", 0, 99));
    return o;
}

static json_t *contribution_time(reader_t *r, const json_t *bhxh)
{
    const char *path = "data.bhxh.tongThoiGianDong";
    const json_t *t = object(r, bhxh, "data.bhxh", "tongThoiGianDong");
    if (t == NULL)
        return json_null();
    json_t *years = integer(r, t, path, "nam", 0, 999), *months = integer(r, t, path, "thang", 0, 999);
    return json_pack("{s:o, s:o}", "years", years, "months", months);
}

static json_t *social_insurance(reader_t *r, const json_t *data)
{
    const char *path = "data.bhxh";
    const json_t *bhxh = object(r, data, "data", "bhxh");
    if (bhxh == NULL)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "status", coded(r, bhxh, path, "trangThai", &lt_insurance_status));
    json_object_set_new(o, "employer", code_and_name(r, bhxh, path, "donVi")); /* null: a voluntary participant */
    json_object_set_new(o, "total_contribution", contribution_time(r, bhxh));
    return o;
}

int lt_insurance_insured_to_json(lt_arena_t *a, const json_t *data, json_t **out, lt_error_t *err)
{
    reader_t r = {.a = a, .err = err};
    if (!json_is_object(data))
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "bad_response", "insured record: data is not an object");
    json_t *o = json_object();
    json_object_set_new(o, "insurance_number", string_or_null(digits(&r, data, "data", "maSoBhxh", 10, false)));
    json_object_set_new(o, "personal_id", string_or_null(digits(&r, data, "data", "soDinhDanh", 12, false)));
    /* hoTen stays as the register writes it (upper case): re-casing Vietnamese names is not ours to do. */
    json_object_set_new(o, "full_name", string_or_null(text(&r, data, "data", "hoTen", false)));
    json_object_set_new(o, "birth_date", date(&r, data, "data", "ngaySinh", true, false));
    json_object_set_new(o, "sex", coded(&r, data, "data", "gioiTinh", &lt_insurance_sex));
    json_object_set_new(o, "health_insurance_card", health_card(&r, data));
    json_object_set_new(o, "social_insurance", social_insurance(&r, data));
    if (r.failed) {
        json_decref(o);
        return -1;
    }
    *out = o;
    return 0;
}
