/* The portal's wire format: canonical records to its fields, its answers to one outcome. */
#include "lt_dos_portal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_adapter.h"
#include "lt_date.h"

/* TrangThaiHoSo and TrangThai, by the position of the canonical name in lt_dos_statuses (ICD code table). */
static const char *const status_codes[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"};

typedef enum {
    M_STRING,    /* the same text */
    M_TIME,      /* ISO 8601 to yyyyMMddHHmmss in UTC+07:00 */
    M_STATUS,    /* a status name to its code */
    M_APPLICANT, /* LoaiDoiTuong: 1 a citizen, 2 an enterprise */
    M_AMOUNT,    /* an integer to its decimal text (the ICD writes "Gia":"150000") */
    M_FEES,      /* DanhSachLePhi */
} map_kind_t;

typedef struct mapping {
    const char *canonical, *portal;
    map_kind_t kind;
} mapping_t;

/* In the ICD sample's order. finished_at has no field at the portal: it stays ours (the province's indicators). */
static const mapping_t snapshot_map[] = {
    {"procedure_code", "MaTTHC", M_STRING},
    {"procedure_name", "TenTTHC", M_STRING},
    {"sector_code", "MaLinhVuc", M_STRING},
    {"sector_name", "TenLinhVuc", M_STRING},
    {"receipt_number", "SoBienNhan", M_STRING},
    {"applicant_name", "ChuHoSo", M_STRING},
    {"applicant_type", "LoaiDoiTuong", M_APPLICANT},
    {"applicant_id", "MaDoiTuong", M_STRING},
    {"received_at", "NgayTiepNhan", M_TIME},
    {"due_at", "NgayHenTra", M_TIME},
    {"status", "TrangThaiHoSo", M_STATUS},
    {"returned_at", "NgayTra", M_TIME},
    {"channel_code", "HinhThuc", M_STRING},
    {"processing_unit", "DonViXuLy", M_STRING},
    {"note", "GhiChu", M_STRING},
    {"fees", "DanhSachLePhi", M_FEES},
    {NULL, NULL, 0},
};

static const mapping_t fee_map[] = {
    {"name", "TenPhiLePhi", M_STRING},
    {"code", "MaPhiLePhi", M_STRING},
    {"collection_method_code", "HinhThucThu", M_STRING},
    {"amount_vnd", "Gia", M_AMOUNT},
    {"type_code", "LoaiPhiLePhi", M_STRING},
    {NULL, NULL, 0},
};

static const mapping_t step_map[] = {
    {"officer_name", "NguoiXuLy", M_STRING},
    {"officer_title", "ChucDanh", M_STRING},
    {"processed_at", "ThoiDiemXuLy", M_TIME},
    {"department", "PhongBanXuLy", M_STRING},
    {"content", "NoiDungXuLy", M_STRING},
    {"status", "TrangThai", M_STATUS},
    {"started_at", "NgayBatDau", M_TIME},
    {"due_at", "NgayKetThucTheoQuyDinh", M_TIME},
    {NULL, NULL, 0},
};

const char *lt_dos_portal_service_name(lt_portal_service_t service)
{
    return service == LT_PORTAL_SNAPSHOTS ? "DongBoHoSoMC" : "CapNhatTienDoHoSoMC";
}

char *lt_dos_portal_auth_body(const char *username, const char *password)
{
    json_t *body = json_pack("{s:s, s:s}", "username", username, "password", password);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

static void map_fields(const mapping_t *map, const json_t *from, json_t *to);

/* One value in the portal's form; NULL when the canonical value cannot be one (lt_dossier.c never stores such). */
static json_t *map_value(const mapping_t *m, const json_t *v)
{
    char text[32];
    time_t t;
    switch (m->kind) {
    case M_STRING:
        return json_is_string(v) ? json_string(json_string_value(v)) : NULL;
    case M_TIME:
        if (lt_date_parse_iso8601(json_string_value(v), &t) != 0)
            return NULL;
        lt_date_format_vn_compact(t, text);
        return json_string(text);
    case M_STATUS: {
        int i = lt_dos_status_index(json_string_value(v));
        return i >= 0 ? json_string(status_codes[i]) : NULL;
    }
    case M_APPLICANT:
        return json_string(strcmp(json_string_value(v) ? json_string_value(v) : "", "enterprise") == 0 ? "2" : "1");
    case M_AMOUNT:
        snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
        return json_string(text);
    case M_FEES: {
        json_t *list = json_array();
        size_t i;
        const json_t *fee;
        json_array_foreach(v, i, fee)
        {
            json_t *out = json_object();
            map_fields(fee_map, fee, out);
            json_array_append_new(list, out);
        }
        return list;
    }
    }
    return NULL;
}

static void map_fields(const mapping_t *map, const json_t *from, json_t *to)
{
    for (const mapping_t *m = map; m->canonical != NULL; m++) {
        const json_t *v = json_object_get(from, m->canonical);
        json_t *out = v != NULL ? map_value(m, v) : NULL;
        if (out != NULL)
            json_object_set_new(to, m->portal, out);
    }
}

json_t *lt_dos_portal_record(lt_portal_service_t service, const char *dossier_id, const json_t *canonical)
{
    json_t *rec = json_pack("{s:s}", "MaHoSo", dossier_id);
    map_fields(service == LT_PORTAL_SNAPSHOTS ? snapshot_map : step_map, canonical, rec);
    return rec;
}

char *lt_dos_portal_call_body(lt_portal_service_t service, const char *session, const char *unit_code,
                              const json_t *records)
{
    json_t *body = json_pack("{s:s, s:s, s:s}", "session", session, "madonvi", unit_code, "service",
                             lt_dos_portal_service_name(service));
    if (service == LT_PORTAL_SNAPSHOTS)
        json_object_set_new(body, "isUpdating", json_false());
    json_object_set(body, "data", (json_t *)records);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

/* ---- answers ------------------------------------------------------------------------------------ */

static void set_message(lt_portal_answer_t *out, const char *msg)
{
    snprintf(out->message, sizeof(out->message), "%s", msg ? msg : "");
}

/* What the transport said before the body is read: 429, 5xx, another status. True when the body decides. */
static bool read_status(long status, const char *retry_after, lt_portal_answer_t *out)
{
    memset(out, 0, sizeof(*out));
    char why[80];
    if (status == 429) {
        out->outcome = LT_PORTAL_BUSY;
        out->retry_after_s = lt_adapter_retry_after_seconds(retry_after, 1);
        set_message(out, "the portal answered HTTP 429 (over 5 calls/s)");
        return false;
    }
    if (status >= 500) {
        out->outcome = LT_PORTAL_DOWN;
        snprintf(why, sizeof(why), "the portal answered HTTP %ld", status);
        set_message(out, why);
        return false;
    }
    if (status != 200) {
        out->outcome = LT_PORTAL_BAD;
        snprintf(why, sizeof(why), "the portal answered HTTP %ld, which the ICD does not use", status);
        set_message(out, why);
        return false;
    }
    return true;
}

/* The body's error_code and message: 0 with the document, or -1 (out says why). */
static json_t *read_body(const char *body, size_t len, json_int_t *code, lt_portal_answer_t *out)
{
    json_t *doc = body ? json_loadb(body, len, 0, NULL) : NULL;
    const json_t *ec = json_object_get(doc, "error_code");
    if (!json_is_integer(ec)) {
        out->outcome = LT_PORTAL_BAD;
        set_message(out, doc ? "the portal's answer has no error_code" : "the portal's answer is not JSON");
        json_decref(doc);
        return NULL;
    }
    *code = json_integer_value(ec);
    set_message(out, json_string_value(json_object_get(doc, "message")));
    return doc;
}

void lt_dos_portal_read_auth(long status, const char *retry_after, const char *body, size_t len,
                             lt_portal_answer_t *out)
{
    json_int_t code;
    json_t *doc;
    if (!read_status(status, retry_after, out) || (doc = read_body(body, len, &code, out)) == NULL)
        return;
    const char *session = json_string_value(json_object_get(doc, "session"));
    if (code == 0 && session != NULL && session[0] != '\0' && strlen(session) <= LT_PORTAL_SESSION_MAX) {
        out->outcome = LT_PORTAL_OK;
        snprintf(out->session, sizeof(out->session), "%s", session);
    } else if (code == 0) {
        out->outcome = LT_PORTAL_BAD;
        set_message(out, "the portal's session answer holds no usable session");
    } else {
        out->outcome = LT_PORTAL_REFUSED_ALL; /* a wrong account: -1 */
        if (out->message[0] == '\0')
            set_message(out, "the portal refused the account");
    }
    json_decref(doc);
}

/* "MaHoSo <id>: <reason>": the record the portal names, when it is one of the call's. */
static bool named_record(const char *message, const char *const *ids, size_t n, char *id_out)
{
    static const char prefix[] = "MaHoSo ";
    if (strncmp(message, prefix, sizeof(prefix) - 1) != 0)
        return false;
    const char *id = message + sizeof(prefix) - 1;
    size_t len = strcspn(id, ":");
    if (id[len] != ':' || len == 0 || len > LT_DOS_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strlen(ids[i]) == len && memcmp(ids[i], id, len) == 0) {
            memcpy(id_out, id, len);
            id_out[len] = '\0';
            return true;
        }
    }
    return false;
}

void lt_dos_portal_read_call(long status, const char *retry_after, const char *body, size_t len, const char *const *ids,
                             size_t n, lt_portal_answer_t *out)
{
    json_int_t code;
    json_t *doc;
    if (!read_status(status, retry_after, out) || (doc = read_body(body, len, &code, out)) == NULL)
        return;
    if (code == 0)
        out->outcome = LT_PORTAL_OK;
    else if (code == 401)
        out->outcome = LT_PORTAL_REAUTH;
    else if (code == -1 && named_record(out->message, ids, n, out->dossier_id))
        out->outcome = LT_PORTAL_REFUSED;
    else if (code == -1)
        out->outcome = LT_PORTAL_REFUSED_ALL;
    else
        out->outcome = LT_PORTAL_BAD;
    if (out->outcome == LT_PORTAL_BAD) {
        char why[300];
        snprintf(why, sizeof(why), "the portal answered error_code %lld, which the ICD does not use: %.200s",
                 (long long)code, out->message);
        set_message(out, why);
    }
    json_decref(doc);
}
