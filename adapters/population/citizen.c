/* dc:CongDan to canonical JSON. Optional or empty elements become null; unknown elements are ignored. */
#include "citizen.h"

#include "codes.h"
#include "lt_date.h"
#include "lt_text.h"
#include "lt_xml.h"
#include "soap.h"

#define DC LT_POPULATION_NS_DC

/* The trimmed, NFC text of parent's dc:<local>, or NULL when the element is absent or empty. */
static const char *field(lt_arena_t *a, const xmlNode *parent, const char *local)
{
    char *t = lt_xml_text(a, lt_xml_child(parent, DC, local));
    if (t == NULL || *t == '\0')
        return NULL;
    return lt_text_nfc(a, t); /* libxml2 hands out valid UTF-8, so this does not fail */
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* {"<key>": meaning or null, "source_code": code}, or null when the element carries no code. */
static json_t *coded(lt_arena_t *a, const xmlNode *parent, const char *local, const lt_code_table_t *table,
                     const char *key)
{
    const char *source = field(a, parent, local);
    if (source == NULL)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, key, string_or_null(lt_code_value(table, source)));
    json_object_set_new(o, "source_code", json_string(source));
    return o;
}

/*
 * HoVaTen is either structured (dc:Ho, dc:ChuDem, dc:Ten) or plain text. The
 * full name is the non-empty parts joined by single spaces; *name gets the
 * parts, or null for plain text, which is never split: not every name is
 * family-middle-given.
 */
static const char *person_name(lt_arena_t *a, const xmlNode *hovaten, json_t **name)
{
    if (name != NULL)
        *name = json_null();
    if (hovaten == NULL)
        return NULL;
    if (!lt_xml_has_element_children(hovaten)) {
        const char *plain = lt_text_nfc(a, lt_text_squeeze(a, lt_xml_text(a, hovaten)));
        return plain && *plain ? plain : NULL;
    }
    const char *parts[3] = {field(a, hovaten, "Ho"), field(a, hovaten, "ChuDem"), field(a, hovaten, "Ten")};
    for (int i = 0; i < 3; i++)
        parts[i] = lt_text_squeeze(a, parts[i]);
    const char *full = lt_text_join(a, parts, 3, " ");
    if (name != NULL) {
        json_decref(*name);
        *name = json_object();
        json_object_set_new(*name, "family", string_or_null(parts[0] && *parts[0] ? parts[0] : NULL));
        json_object_set_new(*name, "middle", string_or_null(parts[1] && *parts[1] ? parts[1] : NULL));
        json_object_set_new(*name, "given", string_or_null(parts[2] && *parts[2] ? parts[2] : NULL));
    }
    return *full ? full : NULL;
}

/* Both address shapes (before and after the 2025 reform) carried as they are: no code translation. */
static json_t *address(lt_arena_t *a, const xmlNode *parent, const char *local)
{
    const xmlNode *n = lt_xml_child(parent, DC, local);
    const char *province = field(a, n, "MaTinhThanh"), *district = field(a, n, "MaQuanHuyen");
    const char *commune = field(a, n, "MaPhuongXa"), *detail = field(a, n, "ChiTiet");
    if (!province && !district && !commune && !detail)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "province_code", string_or_null(province));
    json_object_set_new(o, "district_code", string_or_null(district));
    json_object_set_new(o, "commune_code", string_or_null(commune));
    json_object_set_new(o, "detail", string_or_null(detail));
    return o;
}

static json_t *head_of_household(lt_arena_t *a, const xmlNode *parent)
{
    const xmlNode *n = lt_xml_child(parent, DC, "ChuHo");
    const char *id = field(a, n, "SoDinhDanh"), *relationship = field(a, n, "QuanHe");
    const char *full = person_name(a, lt_xml_child(n, DC, "HoVaTen"), NULL);
    if (!id && !full && !relationship)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "id", string_or_null(id));
    json_object_set_new(o, "full_name", string_or_null(full));
    json_object_set_new(o, "relationship", string_or_null(relationship));
    return o;
}

static int missing(lt_error_t *err, const char *what)
{
    return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "bad_response", "citizen record has no %s", what);
}

int lt_population_citizen_to_json(lt_arena_t *a, const xmlNode *cd, json_t **out, lt_error_t *err)
{
    const char *id = field(a, cd, "SoDinhDanh");
    if (id == NULL)
        return missing(err, "SoDinhDanh");
    json_t *name = NULL;
    const char *full_name = person_name(a, lt_xml_child(cd, DC, "HoVaTen"), &name);
    if (full_name == NULL) {
        json_decref(name);
        return missing(err, "HoVaTen");
    }
    const char *birth = field(a, lt_xml_child(cd, DC, "NgayThangNamSinh"), "NgayThangNam");
    char birth_iso[11];
    if (birth == NULL || lt_date_compact_to_iso(birth, birth_iso, err) != 0) {
        json_decref(name);
        return birth == NULL ? missing(err, "NgayThangNamSinh/NgayThangNam") : -1;
    }
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "old_id_number", string_or_null(field(a, cd, "SoCMND")));
    json_object_set_new(o, "full_name", json_string(full_name));
    json_object_set_new(o, "name", name);
    json_object_set_new(o, "sex", coded(a, cd, "GioiTinh", &lt_population_sex, "code"));
    json_object_set_new(o, "birth_date", json_string(birth_iso));
    json_object_set_new(o, "ethnicity", coded(a, cd, "DanToc", &lt_population_ethnicity, "name"));
    json_object_set_new(o, "religion", coded(a, cd, "TonGiao", &lt_population_religion, "name"));
    json_object_set_new(o, "nationality", string_or_null(field(a, cd, "QuocTich")));
    json_object_set_new(o, "blood_type", coded(a, cd, "NhomMau", &lt_population_blood_type, "code"));
    json_object_set_new(o, "marital_status", coded(a, cd, "TinhTrangHonNhan", &lt_population_marital_status, "code"));
    json_object_set_new(o, "place_of_origin", address(a, cd, "QueQuan"));
    json_object_set_new(o, "permanent_residence", address(a, cd, "ThuongTru"));
    json_object_set_new(o, "current_residence", address(a, cd, "NoiOHienTai"));
    json_object_set_new(o, "head_of_household", head_of_household(a, cd));
    *out = o;
    return 0;
}
