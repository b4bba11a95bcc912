/*
 * Civil-status record mapping. Every text is trimmed and composed as NFC; a
 * field the ICD shows but does not require may be absent, null or empty and
 * becomes null; unknown fields are ignored; a field of the wrong JSON type or
 * a malformed date makes the whole answer unusable (502), because guessing
 * would hand the caller a record the register never stated. The first
 * problem wins and is reported by its field name only.
 */
#include "records.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lt_date.h"
#include "lt_text.h"

#define BAD            "bad_response"
#define COUNT_DIGITS   3 /* soLanKH: the how-manieth marriage, a small number */
#define DATE_OF_BIRTH  '.'
#define DATE_OF_RECORD '/'

typedef struct reader {
    lt_arena_t *a;
    lt_error_t *err;
    bool failed;
} reader_t;

static void bad(reader_t *r, const char *key, const char *what)
{
    if (r->failed)
        return;
    r->failed = true;
    lt_error_set(r->err, LT_ERR_UPSTREAM_BAD, BAD, "civil-status record: %s %s", key, what);
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Trimmed NFC text, or NULL when absent, null or empty. */
static const char *text(reader_t *r, const json_t *obj, const char *key)
{
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        bad(r, key, "is not a string");
        return NULL;
    }
    const char *t = lt_text_nfc(r->a, lt_text_trim(r->a, json_string_value(v)));
    if (t == NULL) {
        bad(r, key, "is not valid UTF-8");
        return NULL;
    }
    return *t ? t : NULL;
}

static json_t *text_json(reader_t *r, const json_t *obj, const char *key)
{
    return string_or_null(text(r, obj, key));
}

/* A nested object, or NULL when absent or null (cha, me and canCu are null when there is none). */
static const json_t *object(reader_t *r, const json_t *obj, const char *key)
{
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_object(v)) {
        bad(r, key, "is not an object");
        return NULL;
    }
    return v;
}

/* Dates of birth are dd.MM.yyyy, the others dd/MM/yyyy, as the ICD writes them; either becomes yyyy-MM-dd. */
static json_t *date(reader_t *r, const json_t *obj, const char *key, char separator)
{
    const char *t = text(r, obj, key);
    if (t == NULL)
        return json_null();
    char iso[11];
    lt_error_t ignored;
    int rc =
        separator == DATE_OF_BIRTH ? lt_date_dotted_to_iso(t, iso, &ignored) : lt_date_dmy_to_iso(t, iso, &ignored);
    if (rc != 0) {
        bad(r, key, separator == DATE_OF_BIRTH ? "is not a valid dd.MM.yyyy date" : "is not a valid dd/MM/yyyy date");
        return json_null();
    }
    return json_string(iso);
}

/* {"code": English enum or null, "source_code"}, or null when the field carries no code. */
static json_t *coded(reader_t *r, const json_t *obj, const char *key, const lt_code_table_t *table)
{
    const char *source = text(r, obj, key);
    if (source == NULL)
        return json_null();
    return json_pack("{s:o, s:s}", "code", string_or_null(lt_code_value(table, source)), "source_code", source);
}

/* Ethnicity is an open list: {"name" or null, "source_code"}, as the canonical citizen gives it. */
static json_t *ethnicity(reader_t *r, const json_t *obj, const char *key)
{
    const char *source = text(r, obj, key);
    if (source == NULL)
        return json_null();
    return json_pack("{s:o, s:s}", "name", string_or_null(lt_code_value(&lt_civil_status_ethnicities, source)),
                     "source_code", source);
}

/* soLanKH: a digit string, carried as a number. */
static json_t *count(reader_t *r, const json_t *obj, const char *key)
{
    const char *t = text(r, obj, key);
    if (t == NULL)
        return json_null();
    size_t n = strlen(t);
    if (n > COUNT_DIGITS || strspn(t, "0123456789") != n) {
        bad(r, key, "is not a small whole number");
        return json_null();
    }
    json_int_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (t[i] - '0');
    return json_integer(v);
}

/* noiDangKy {ma, ten}: the registering office, null when it names nothing. */
static json_t *office(reader_t *r, const json_t *rec)
{
    const json_t *o = object(r, rec, "noiDangKy");
    const char *code = text(r, o, "ma"), *name = text(r, o, "ten");
    if (code == NULL && name == NULL)
        return json_null();
    return json_pack("{s:o, s:o}", "code", string_or_null(code), "name", string_or_null(name));
}

/* so, quyenSo, trangSo, ngayDangKy, noiDangKy: where the entry stands in which register. */
static json_t *registration(reader_t *r, const json_t *rec)
{
    json_t *o = json_object();
    json_object_set_new(o, "number", text_json(r, rec, "so"));
    json_object_set_new(o, "book", text_json(r, rec, "quyenSo"));
    json_object_set_new(o, "page", text_json(r, rec, "trangSo"));
    json_object_set_new(o, "registered_on", date(r, rec, "ngayDangKy", DATE_OF_RECORD));
    json_object_set_new(o, "office", office(r, rec));
    return o;
}

/* me / cha: {hoTen, ngaySinh, danToc, quocTich, soDDCN}, or null when the register has none. */
static json_t *parent(reader_t *r, const json_t *rec, const char *key)
{
    const json_t *p = object(r, rec, key);
    if (p == NULL)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "id", text_json(r, p, "soDDCN"));
    json_object_set_new(o, "full_name", text_json(r, p, "hoTen"));
    json_object_set_new(o, "birth_date", date(r, p, "ngaySinh", DATE_OF_BIRTH));
    json_object_set_new(o, "ethnicity", ethnicity(r, p, "danToc"));
    json_object_set_new(o, "nationality", text_json(r, p, "quocTich"));
    return o;
}

static json_t *birth(reader_t *r, const json_t *rec)
{
    json_t *reg = registration(r, rec);
    json_object_set_new(reg, "kind", coded(r, rec, "loaiDangKy", &lt_civil_status_registration_kinds));
    json_t *child = json_object();
    json_object_set_new(child, "id", text_json(r, rec, "nksSoDinhDanhCaNhan"));
    json_object_set_new(child, "full_name", text_json(r, rec, "nksHoTen"));
    json_object_set_new(child, "sex", coded(r, rec, "nksGioiTinh", &lt_civil_status_sexes));
    json_object_set_new(child, "birth_date", date(r, rec, "nksNgaySinh", DATE_OF_BIRTH));
    json_object_set_new(child, "birth_place", text_json(r, rec, "nksNoiSinh"));
    json_object_set_new(child, "ethnicity", ethnicity(r, rec, "nksDanToc"));
    json_object_set_new(child, "nationality", text_json(r, rec, "nksQuocTich"));
    return json_pack("{s:o, s:o, s:o, s:o}", "registration", reg, "child", child, "mother", parent(r, rec, "me"),
                     "father", parent(r, rec, "cha"));
}

/* chong* / vo*: the husband's and the wife's columns of the register. */
static json_t *spouse(reader_t *r, const json_t *rec, const char *prefix)
{
    char key[32];
    json_t *o = json_object();
    snprintf(key, sizeof(key), "%sSoDDCN", prefix);
    json_object_set_new(o, "id", text_json(r, rec, key));
    snprintf(key, sizeof(key), "%sHoTen", prefix);
    json_object_set_new(o, "full_name", text_json(r, rec, key));
    snprintf(key, sizeof(key), "%sNgaySinh", prefix);
    json_object_set_new(o, "birth_date", date(r, rec, key, DATE_OF_BIRTH));
    snprintf(key, sizeof(key), "%sSoLanKH", prefix);
    json_object_set_new(o, "marriage_count", count(r, rec, key));
    return o;
}

static json_t *marriage(reader_t *r, const json_t *rec)
{
    return json_pack("{s:o, s:o, s:o, s:o}", "registration", registration(r, rec), "status",
                     coded(r, rec, "trangThai", &lt_civil_status_marriage_states), "husband", spouse(r, rec, "chong"),
                     "wife", spouse(r, rec, "vo"));
}

/* gbt*: the death notice the registration rests on, null when the record names none. */
static json_t *death_notice(reader_t *r, const json_t *rec)
{
    json_t *kind = coded(r, rec, "gbtLoai", &lt_civil_status_death_notices);
    json_t *number = text_json(r, rec, "gbtSo"), *issued_on = date(r, rec, "gbtNgay", DATE_OF_RECORD);
    json_t *issued_by = text_json(r, rec, "gbtCoQuanCap");
    if (json_is_null(kind) && json_is_null(number) && json_is_null(issued_on) && json_is_null(issued_by))
        return json_null();
    return json_pack("{s:o, s:o, s:o, s:o}", "kind", kind, "number", number, "issued_on", issued_on, "issued_by",
                     issued_by);
}

static json_t *death(reader_t *r, const json_t *rec)
{
    json_t *deceased = json_object();
    json_object_set_new(deceased, "id", text_json(r, rec, "nktSoDDCN"));
    json_object_set_new(deceased, "full_name", text_json(r, rec, "nktHoTen"));
    /* The ICD writes the date of death like a date of birth: dd.MM.yyyy. */
    json_object_set_new(deceased, "died_on", date(r, rec, "nktNgayChet", DATE_OF_BIRTH));
    json_object_set_new(deceased, "place_of_death", text_json(r, rec, "nktNoiChet"));
    return json_pack("{s:o, s:o, s:o}", "registration", registration(r, rec), "deceased", deceased, "death_notice",
                     death_notice(r, rec));
}

/* canCu: the registration the status rests on (a marriage, or the spouse's death), null when there is none. */
static json_t *basis(reader_t *r, const json_t *rec)
{
    const json_t *c = object(r, rec, "canCu");
    if (c == NULL)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "kind", coded(r, c, "loai", &lt_civil_status_basis_kinds));
    json_object_set_new(o, "number", text_json(r, c, "so"));
    json_object_set_new(o, "book", text_json(r, c, "quyenSo"));
    json_object_set_new(o, "registered_on", date(r, c, "ngayDangKy", DATE_OF_RECORD));
    return o;
}

static json_t *marital_status(reader_t *r, const json_t *rec)
{
    return json_pack("{s:o, s:o, s:o, s:o}", "id", text_json(r, rec, "soDDCN"), "status",
                     coded(r, rec, "tinhTrangHonNhan", &lt_civil_status_marital_statuses), "as_of",
                     date(r, rec, "tinhDenNgay", DATE_OF_RECORD), "basis", basis(r, rec));
}

/* A present identifier must be the one asked about; an absent one leaves the answer as the answer to our lookup. */
static bool is_other(const char *got, const char *asked)
{
    return got != NULL && (asked == NULL || strcmp(got, asked) != 0);
}

/* Whose record this is: the child, the deceased, the person; for a marriage, either spouse. */
static bool about_someone_else(reader_t *r, const lt_civil_status_type_t *type, const json_t *rec, const char *asked)
{
    if (strcmp(type->loai_tra_cuu, "KH") == 0) {
        const char *husband = text(r, rec, "chongSoDDCN"), *wife = text(r, rec, "voSoDDCN");
        if (husband == NULL && wife == NULL)
            return false;
        return (husband == NULL || is_other(husband, asked)) && (wife == NULL || is_other(wife, asked));
    }
    const char *key = strcmp(type->loai_tra_cuu, "KS") == 0   ? "nksSoDinhDanhCaNhan"
                      : strcmp(type->loai_tra_cuu, "KT") == 0 ? "nktSoDDCN"
                                                              : "soDDCN";
    return is_other(text(r, rec, key), asked);
}

static json_t *record(reader_t *r, const lt_civil_status_type_t *type, const json_t *rec)
{
    const char *loai = type->loai_tra_cuu;
    if (strcmp(loai, "KS") == 0)
        return birth(r, rec);
    if (strcmp(loai, "KH") == 0)
        return marriage(r, rec);
    if (strcmp(loai, "KT") == 0)
        return death(r, rec);
    return marital_status(r, rec); /* TTHN: codes.c lists no other type */
}

static int check_value(const lt_civil_status_type_t *type, const json_t *value, lt_error_t *err)
{
    size_t n = json_is_array(value) ? json_array_size(value) : 0;
    if (value != NULL && !json_is_null(value) && !json_is_array(value))
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, BAD, "civil-status answer: value is not a list");
    /* The database cannot tell an unknown person, a name that does not match and a person without such a record
     * apart, and neither can we: each is "not found". */
    if (n == 0)
        return lt_error_set(err, LT_ERR_NOT_FOUND, "record_not_found",
                            "the civil-status database holds no %s for this person", type->what);
    if (!type->list && n > 1)
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, BAD,
                            "the civil-status database returned %zu records for a %s, where the ICD allows one", n,
                            type->what);
    return 0;
}

int lt_civil_status_answer_to_json(lt_arena_t *a, const lt_civil_status_type_t *type, const json_t *value,
                                   const char *asked, json_t **out, lt_error_t *err)
{
    if (check_value(type, value, err) != 0)
        return -1;
    reader_t r = {.a = a, .err = err};
    json_t *records = json_array();
    size_t i;
    const json_t *rec;
    json_array_foreach(value, i, rec)
    {
        if (!json_is_object(rec)) {
            bad(&r, "value", "holds an entry that is not an object");
            break;
        }
        json_array_append_new(records, record(&r, type, rec));
        if (!r.failed && about_someone_else(&r, type, rec, asked)) {
            json_decref(records);
            return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_record_mismatch",
                                "the civil-status database returned a %s about another person", type->what);
        }
    }
    if (r.failed) {
        json_decref(records);
        return -1;
    }
    if (type->list)
        *out = json_pack("{s:s, s:o}", "type", type->name, "records", records);
    else {
        *out = json_pack("{s:s, s:O}", "type", type->name, "record", json_array_get(records, 0));
        json_decref(records);
    }
    return 0;
}
