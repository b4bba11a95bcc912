/*
 * Enterprise record mapping. Every text is trimmed and composed as NFC; an
 * optional field that is absent, null or empty becomes null; unknown fields
 * are ignored; a field of the wrong JSON type makes the whole answer unusable
 * (502), because guessing would hand the caller a record the national system
 * never stated.
 */
#include "enterprise.h"

#include <string.h>

#include "business.h"
#include "codes.h"
#include "lt_date.h"
#include "lt_text.h"

#define BAD "bad_response"

static int bad(lt_error_t *err, const char *what, const char *key)
{
    return lt_error_set(err, LT_ERR_UPSTREAM_BAD, BAD, "response field %s %s", key, what);
}

/* A string member as trimmed NFC, or NULL when absent, null or empty. */
static int text_of(lt_arena_t *a, const json_t *obj, const char *key, const char **out, lt_error_t *err)
{
    const char *v;
    *out = NULL;
    if (lt_business_json_string(obj, key, &v, err) != 0)
        return -1;
    if (v == NULL)
        return 0;
    const char *t = lt_text_nfc(a, lt_text_trim(a, v));
    if (t == NULL)
        return bad(err, "is not valid UTF-8", key);
    *out = *t ? t : NULL;
    return 0;
}

static json_t *json_text(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Sets rec[name] to the text of obj[key] (or null). */
static int set_text(lt_arena_t *a, json_t *rec, const char *name, const json_t *obj, const char *key, lt_error_t *err)
{
    const char *t;
    if (text_of(a, obj, key, &t, err) != 0)
        return -1;
    json_object_set_new(rec, name, json_text(t));
    return 0;
}

/* A nested object member: NULL (no error) when absent or null, an error when it is some other type. */
static int object_of(const json_t *obj, const char *key, const json_t **out, lt_error_t *err)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return bad(err, "is not an object", key);
    *out = v;
    return 0;
}

static int array_of(const json_t *obj, const char *key, const json_t **out, lt_error_t *err)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return bad(err, "is not an array", key);
    *out = v;
    return 0;
}

/*
 * The record's code, when it has one, must be the one asked about: a record
 * for another enterprise must never reach the caller. The ICD shows
 * maSoDoanhNghiep and tenDoanhNghiep but never says they are always sent, so
 * a record without its code is the answer about the code asked (it came on
 * GET .../{that code}), and one without its name has a null name.
 */
static int map_code(lt_arena_t *a, json_t *rec, const json_t *doc, const char *asked, lt_error_t *err)
{
    const char *code;
    if (text_of(a, doc, "maSoDoanhNghiep", &code, err) != 0)
        return -1;
    if (code == NULL)
        code = asked;
    if (asked == NULL || strcmp(code, asked) != 0)
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_record_mismatch",
                            "the national system returned a record for a different enterprise code");
    json_object_set_new(rec, "code", json_string(code));
    return 0;
}

static int map_name(lt_arena_t *a, json_t *rec, const json_t *doc, lt_error_t *err)
{
    if (set_text(a, rec, "name", doc, "tenDoanhNghiep", err) != 0 ||
        set_text(a, rec, "foreign_name", doc, "tenNuocNgoai", err) != 0 ||
        set_text(a, rec, "short_name", doc, "tenVietTat", err) != 0)
        return -1;
    return 0;
}

/* {"ma","ten"} → {"code", "source_code"[, "name"]}: an unknown ma keeps source_code with code null. */
static int map_coded(lt_arena_t *a, json_t *rec, const char *name, const json_t *doc, const char *key,
                     const lt_code_table_t *table, bool with_name, lt_error_t *err)
{
    const json_t *obj;
    const char *ma = NULL, *ten = NULL;
    if (object_of(doc, key, &obj, err) != 0)
        return -1;
    if (obj != NULL && (text_of(a, obj, "ma", &ma, err) != 0 || text_of(a, obj, "ten", &ten, err) != 0))
        return -1;
    if (ma == NULL && (ten == NULL || !with_name)) {
        json_object_set_new(rec, name, json_null());
        return 0;
    }
    json_t *v = json_pack("{s:o, s:o}", "code", json_text(lt_code_value(table, ma)), "source_code", json_text(ma));
    if (with_name)
        json_object_set_new(v, "name", json_text(ten));
    json_object_set_new(rec, name, v);
    return 0;
}

static int map_established(lt_arena_t *a, json_t *rec, const json_t *doc, lt_error_t *err)
{
    const char *d;
    if (text_of(a, doc, "ngayThanhLap", &d, err) != 0)
        return -1;
    if (d != NULL && !lt_date_is_iso_date(d))
        return bad(err, "is not a yyyy-MM-dd date", "ngayThanhLap");
    json_object_set_new(rec, "established_on", json_text(d));
    return 0;
}

static int map_updated(lt_arena_t *a, json_t *rec, const json_t *doc, lt_error_t *err)
{
    const char *t;
    if (text_of(a, doc, "capNhatLuc", &t, err) != 0)
        return -1;
    /* capNhatLuc without an offset is Vietnam time (ICD README): lt_date writes +07:00 out, so callers never guess. */
    if (t != NULL && (t = lt_date_upstream_timestamp(a, t)) == NULL)
        return bad(err, "is not an ISO 8601 date and time", "capNhatLuc");
    json_object_set_new(rec, "updated_at", json_text(t));
    return 0;
}

static int map_head_office(lt_arena_t *a, json_t *rec, const json_t *doc, lt_error_t *err)
{
    static const char *const keys[][2] = {
        {"street", "soNhaDuong"},    {"commune_code", "maPhuongXa"}, {"commune_name", "tenPhuongXa"},
        {"province_code", "maTinh"}, {"province_name", "tenTinh"},
    };
    const json_t *addr;
    if (object_of(doc, "diaChiTruSo", &addr, err) != 0)
        return -1;
    if (addr == NULL) {
        json_object_set_new(rec, "head_office", json_null());
        return 0;
    }
    json_t *out = json_object();
    json_object_set_new(rec, "head_office", out);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (set_text(a, out, keys[i][0], addr, keys[i][1], err) != 0)
            return -1;
    return 0;
}

static int map_representatives(lt_arena_t *a, json_t *rec, const json_t *doc, lt_error_t *err)
{
    const json_t *list, *item;
    size_t i;
    if (array_of(doc, "nguoiDaiDienPhapLuat", &list, err) != 0)
        return -1;
    json_t *out = list ? json_array() : json_null();
    json_object_set_new(rec, "legal_representatives", out);
    json_array_foreach(list, i, item)
    {
        if (!json_is_object(item))
            return bad(err, "holds an entry that is not an object", "nguoiDaiDienPhapLuat");
        json_t *person = json_object();
        json_array_append_new(out, person);
        if (set_text(a, person, "full_name", item, "hoTen", err) != 0 ||
            set_text(a, person, "title", item, "chucDanh", err) != 0)
            return -1;
    }
    return 0;
}

static int map_business_lines(lt_arena_t *a, json_t *rec, const json_t *doc, lt_error_t *err)
{
    const json_t *list, *item;
    size_t i;
    if (array_of(doc, "nganhNghe", &list, err) != 0)
        return -1;
    json_t *out = list ? json_array() : json_null();
    json_object_set_new(rec, "business_lines", out);
    json_array_foreach(list, i, item)
    {
        if (!json_is_object(item))
            return bad(err, "holds an entry that is not an object", "nganhNghe");
        const json_t *primary = json_object_get(item, "chinh");
        if (primary != NULL && !json_is_null(primary) && !json_is_boolean(primary))
            return bad(err, "is not true or false", "nganhNghe[].chinh");
        json_t *line = json_object();
        json_array_append_new(out, line);
        if (set_text(a, line, "code", item, "ma", err) != 0 || set_text(a, line, "name", item, "ten", err) != 0)
            return -1;
        /* Absent means "not the main line": the ICD marks the main one with true. */
        json_object_set_new(line, "primary", json_boolean(json_is_true(primary)));
    }
    return 0;
}

/* vonDieuLe: whole VND, beyond 2^32 and up to jansson's 64-bit json_int_t; a fraction or a sign is refused. */
static int map_capital(json_t *rec, const json_t *doc, lt_error_t *err)
{
    const json_t *v = json_object_get(doc, "vonDieuLe");
    if (v == NULL || json_is_null(v)) {
        json_object_set_new(rec, "charter_capital_vnd", json_null());
        return 0;
    }
    if (!json_is_integer(v))
        return bad(err, "is not a whole number of VND", "vonDieuLe");
    if (json_integer_value(v) < 0)
        return bad(err, "is negative", "vonDieuLe");
    json_object_set_new(rec, "charter_capital_vnd", json_integer(json_integer_value(v)));
    return 0;
}

int lt_business_enterprise_to_json(lt_arena_t *a, const json_t *doc, const char *code, json_t **out, lt_error_t *err)
{
    json_t *rec = json_object();
    int rc = map_code(a, rec, doc, code, err);
    if (rc == 0)
        rc = map_name(a, rec, doc, err);
    if (rc == 0)
        rc = map_coded(a, rec, "type", doc, "loaiHinh", &lt_business_types, true, err);
    if (rc == 0)
        rc = map_coded(a, rec, "status", doc, "tinhTrang", &lt_business_statuses, false, err);
    if (rc == 0)
        rc = map_established(a, rec, doc, err);
    if (rc == 0)
        rc = map_head_office(a, rec, doc, err);
    if (rc == 0)
        rc = map_representatives(a, rec, doc, err);
    if (rc == 0)
        rc = map_business_lines(a, rec, doc, err);
    if (rc == 0)
        rc = map_capital(rec, doc, err);
    if (rc == 0)
        rc = map_updated(a, rec, doc, err);
    if (rc != 0) {
        json_decref(rec);
        return -1;
    }
    *out = rec;
    return 0;
}
