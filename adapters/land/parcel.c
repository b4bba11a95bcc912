/*
 * ICD parcel document to canonical JSON. A missing or null member gives null;
 * a member of the wrong type or shape is a bad response, because guessing at a
 * land record's meaning is worse than refusing it. Unknown members are
 * ignored. The first problem wins and is reported by its JSON path only.
 */
#include "parcel.h"

#include <stdbool.h>
#include <string.h>

#include "codes.h"
#include "lt_date.h"
#include "lt_text.h"

#define AREA_INT_MAX  15 /* digits: far beyond any parcel, short of nonsense */
#define AREA_FRAC_MAX 10

typedef struct reader {
    lt_arena_t *a;
    lt_error_t *err;
    bool failed;
} reader_t;

/* path "" is the document itself: its members are named alone ("giayChungNhan[0].ngayCap"). */
static void bad(reader_t *r, const char *path, const char *key, const char *what)
{
    if (r->failed)
        return;
    r->failed = true;
    lt_error_set(r->err, LT_ERR_UPSTREAM_BAD, "bad_response", "land record: %s%s%s %s", path, *path ? "." : "", key,
                 what);
}

/* The member, or NULL when it is absent or JSON null (the ICD writes null for "none": denNgay). */
static const json_t *member(const json_t *obj, const char *key)
{
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Trimmed NFC text, or NULL when absent or empty. */
static const char *text(reader_t *r, const json_t *obj, const char *path, const char *key)
{
    const json_t *v = member(obj, key);
    if (v != NULL && !json_is_string(v)) {
        bad(r, path, key, "is not a string");
        return NULL;
    }
    if (v != NULL && strlen(json_string_value(v)) != json_string_length(v)) {
        bad(r, path, key, "holds a NUL character");
        return NULL;
    }
    const char *t = v ? lt_text_nfc(r->a, lt_text_trim(r->a, json_string_value(v))) : NULL;
    return t && *t ? t : NULL;
}

static json_t *text_json(reader_t *r, const json_t *obj, const char *path, const char *key)
{
    return string_or_null(text(r, obj, path, key));
}

char *lt_land_area_decimal(lt_arena_t *a, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t whole = strspn(s, "0123456789");
    if (whole == 0 || whole > AREA_INT_MAX || (s[0] == '0' && whole > 1))
        return NULL;
    size_t frac = 0;
    if (s[whole] == ',') {
        frac = strspn(s + whole + 1, "0123456789");
        if (frac == 0 || frac > AREA_FRAC_MAX || s[whole + 1 + frac] != '\0')
            return NULL;
    } else if (s[whole] != '\0') {
        return NULL;
    }
    char *out = lt_arena_strdup(a, s);
    if (frac > 0)
        out[whole] = '.';
    return out;
}

/* An area in m²: the exact decimal as a string, or null when absent. */
static json_t *area(reader_t *r, const json_t *obj, const char *path, const char *key)
{
    const json_t *v = member(obj, key);
    if (v == NULL)
        return json_null();
    const char *dec = json_is_string(v) ? lt_land_area_decimal(r->a, json_string_value(v)) : NULL;
    if (dec == NULL || strlen(json_string_value(v)) != json_string_length(v)) {
        bad(r, path, key, "is not an area with a decimal comma (digits, optionally ',' and digits)");
        return json_null();
    }
    return json_string(dec);
}

/* dd/MM/yyyy to yyyy-MM-dd (a real date), or null when absent. */
static json_t *date(reader_t *r, const json_t *obj, const char *path, const char *key)
{
    const char *t = text(r, obj, path, key);
    if (t == NULL)
        return json_null();
    char iso[11];
    lt_error_t ignored;
    if (lt_date_dmy_to_iso(t, iso, &ignored) != 0) {
        bad(r, path, key, "is not a valid dd/MM/yyyy date");
        return json_null();
    }
    return json_string(iso);
}

/* {"code": meaning or null, "source_code": code}, or null when the member carries no code. */
static json_t *coded(reader_t *r, const json_t *obj, const char *path, const char *key, const lt_code_table_t *table)
{
    const char *source = text(r, obj, path, key);
    if (source == NULL)
        return json_null();
    return json_pack("{s:o, s:s}", "code", string_or_null(lt_code_value(table, source)), "source_code", source);
}

/* thoiHan: "Lâu dài" is {"permanent": true, "until": null}; a date is {"permanent": false, "until": ISO}. */
static json_t *term(reader_t *r, const json_t *obj, const char *path)
{
    const char *t = text(r, obj, path, "thoiHan");
    if (t == NULL)
        return json_null();
    if (strcmp(t, LT_LAND_TERM_PERMANENT) == 0)
        return json_pack("{s:b, s:n}", "permanent", 1, "until");
    char iso[11];
    lt_error_t ignored;
    if (lt_date_dmy_to_iso(t, iso, &ignored) != 0) {
        bad(r, path, "thoiHan", "is neither \"L\xc3\xa2u d\xc3\xa0i\" nor a valid dd/MM/yyyy date");
        return json_null();
    }
    return json_pack("{s:b, s:s}", "permanent", 0, "until", iso);
}

/* An array member mapped element by element (each an object), or null when absent. */
static json_t *list(reader_t *r, const json_t *obj, const char *path, const char *key,
                    json_t *(*one)(reader_t *, const json_t *, const char *))
{
    const json_t *v = member(obj, key);
    if (v == NULL)
        return json_null();
    if (!json_is_array(v)) {
        bad(r, path, key, "is not an array");
        return json_null();
    }
    json_t *out = json_array();
    size_t i;
    const json_t *item;
    json_array_foreach(v, i, item)
    {
        const char *sub = lt_arena_sprintf(r->a, "%s%s%s[%zu]", path, *path ? "." : "", key, i);
        if (!json_is_object(item)) {
            bad(r, "", sub, "is not an object");
            break;
        }
        json_array_append_new(out, one(r, item, sub));
    }
    return out;
}

static json_t *land_use(reader_t *r, const json_t *u, const char *path)
{
    json_t *o = json_object();
    json_object_set_new(o, "category", coded(r, u, path, "kyHieu", &lt_land_use_categories));
    json_object_set_new(o, "area_m2", area(r, u, path, "dienTich"));
    json_object_set_new(o, "term", term(r, u, path));
    return o;
}

static json_t *parcel(reader_t *r, const json_t *doc)
{
    const char *path = "thuaDat";
    const json_t *t = member(doc, path);
    if (t == NULL)
        return json_null();
    if (!json_is_object(t)) {
        bad(r, "", path, "is not an object");
        return json_null();
    }
    json_t *o = json_object();
    json_object_set_new(o, "commune_code", text_json(r, t, path, "maXa"));
    json_object_set_new(o, "map_sheet", text_json(r, t, path, "soHieuToBanDo"));
    json_object_set_new(o, "parcel_number", text_json(r, t, path, "soThuTuThua"));
    json_object_set_new(o, "area_m2", area(r, t, path, "dienTich"));
    json_object_set_new(o, "address", text_json(r, t, path, "diaChi"));
    json_object_set_new(o, "land_uses", list(r, t, path, "mucDichSuDung", land_use));
    json_object_set_new(o, "origin", text_json(r, t, path, "nguonGoc"));
    return o;
}

/* An organisation has maSoDoanhNghiep instead of soDinhDanh: both keys are always there, one usually null. */
static json_t *holder(reader_t *r, const json_t *h, const char *path)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", coded(r, h, path, "loai", &lt_land_holder_kinds));
    json_object_set_new(o, "full_name", text_json(r, h, path, "hoTen"));
    json_object_set_new(o, "personal_id", text_json(r, h, path, "soDinhDanh"));
    json_object_set_new(o, "enterprise_code", text_json(r, h, path, "maSoDoanhNghiep"));
    return o;
}

static json_t *restriction(reader_t *r, const json_t *h, const char *path)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", coded(r, h, path, "loai", &lt_land_restriction_kinds));
    json_object_set_new(o, "description", text_json(r, h, path, "noiDung"));
    json_object_set_new(o, "from", date(r, h, path, "tuNgay"));
    json_object_set_new(o, "until", date(r, h, path, "denNgay"));
    return o;
}

static json_t *certificate(reader_t *r, const json_t *c, const char *path)
{
    json_t *o = json_object();
    json_object_set_new(o, "serial", text_json(r, c, path, "soPhatHanh"));
    json_object_set_new(o, "register_number", text_json(r, c, path, "soVaoSo"));
    json_object_set_new(o, "issued_on", date(r, c, path, "ngayCap"));
    json_object_set_new(o, "issued_by", text_json(r, c, path, "coQuanCap"));
    json_object_set_new(o, "status", coded(r, c, path, "trangThai", &lt_land_certificate_statuses));
    json_object_set_new(o, "holders", list(r, c, path, "chuSuDung", holder));
    json_object_set_new(o, "restrictions", list(r, c, path, "hanCheQuyen", restriction));
    return o;
}

int lt_land_document_to_json(lt_arena_t *a, const json_t *doc, json_t **out, lt_error_t *err)
{
    reader_t r = {.a = a, .err = err};
    if (!json_is_object(doc))
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "bad_response", "land record: the response is not a JSON object");
    json_t *o = json_object();
    json_object_set_new(o, "parcel", parcel(&r, doc));
    /* Newest first, as the ICD sends them: the order is kept. */
    json_object_set_new(o, "certificates", list(&r, doc, "", "giayChungNhan", certificate));
    if (r.failed) {
        json_decref(o);
        return -1;
    }
    *out = o;
    return 0;
}
