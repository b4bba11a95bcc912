/* NguoiNopThue to canonical JSON. Optional or empty elements become null; unknown elements are ignored. */
#include "taxpayer.h"

#include "codes.h"
#include "lt_date.h"
#include "lt_text.h"
#include "lt_xml.h"
#include "tracuu.h"

#define NS LT_TAX_NS

/* The trimmed, NFC text of parent's <local>, or NULL when the element is absent or empty. */
static const char *field(lt_arena_t *a, const xmlNode *parent, const char *local)
{
    char *t = lt_xml_text(a, lt_xml_child(parent, NS, local));
    if (t == NULL || *t == '\0')
        return NULL;
    return lt_text_nfc(a, t); /* libxml2 hands out valid UTF-8, numeric references already resolved */
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* {"code": meaning or null, "source_code": code}, or null when the element carries no code. */
static json_t *coded(lt_arena_t *a, const xmlNode *parent, const char *local, const lt_code_table_t *table)
{
    const char *source = field(a, parent, local);
    if (source == NULL)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "code", string_or_null(lt_code_value(table, source)));
    json_object_set_new(o, "source_code", json_string(source));
    return o;
}

static json_t *tax_office(lt_arena_t *a, const xmlNode *parent)
{
    const xmlNode *n = lt_xml_child(parent, NS, "CoQuanThueQuanLy");
    const char *code = field(a, n, "Ma"), *name = field(a, n, "Ten");
    if (code == NULL && name == NULL)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "code", string_or_null(code));
    json_object_set_new(o, "name", string_or_null(name));
    return o;
}

/* dd/MM/yyyy to yyyy-MM-dd into *out (a new reference): null when empty, an error when not a real date. */
static int date(lt_arena_t *a, const xmlNode *parent, const char *local, json_t **out, lt_error_t *err)
{
    const char *s = field(a, parent, local);
    char iso[11];
    if (s == NULL) {
        *out = json_null();
        return 0;
    }
    if (lt_date_dmy_to_iso(s, iso, err) != 0)
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "bad_response", "taxpayer %s is not a valid dd/MM/yyyy date",
                            local);
    *out = json_string(iso);
    return 0;
}

/*
 * The ICD shows every element of NguoiNopThue without saying any is always
 * sent, so each may be missing or empty: TenNNT gives a null name, and a
 * missing MST leaves tax_code null for the caller to fill with the code the
 * answer is about.
 */
int lt_tax_taxpayer_to_json(lt_arena_t *a, const xmlNode *nnt, json_t **out, lt_error_t *err)
{
    const char *mst = field(a, nnt, "MST"), *name = field(a, nnt, "TenNNT");
    json_t *registered = NULL, *changed = NULL;
    if (date(a, nnt, "NgayCapMST", &registered, err) != 0)
        return -1;
    if (date(a, nnt, "NgayThayDoiTrangThai", &changed, err) != 0) {
        json_decref(registered);
        return -1;
    }
    json_t *o = json_object();
    json_object_set_new(o, "tax_code", string_or_null(mst));
    json_object_set_new(o, "name", string_or_null(name));
    json_object_set_new(o, "taxpayer_type", coded(a, nnt, "LoaiNNT", &lt_tax_taxpayer_types));
    json_object_set_new(o, "head_office_address", string_or_null(field(a, nnt, "DiaChiTruSo")));
    json_object_set_new(o, "tax_office", tax_office(a, nnt));
    json_object_set_new(o, "status", coded(a, nnt, "TrangThai", &lt_tax_statuses));
    json_object_set_new(o, "registered_on", registered);
    json_object_set_new(o, "status_changed_on", changed);
    *out = o;
    return 0;
}
