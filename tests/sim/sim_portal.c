/*
 * sim_portal: the national public-service portal's dossier synchronisation, as icd/national-portal.md describes
 * it and nothing more. Push-only, from the province:
 *
 *   POST /adapter/auth  {"username","password"} → {"session","error_code":0}, or {"error_code":-1,"message"} for a
 *                       wrong account. A session is valid for 30 minutes after its last use.
 *   POST /adapter/      header dstcode, body {"session","madonvi","service",...}:
 *     DongBoHoSoMC         "isUpdating" and "data": dossiers, created or replaced (the last one received is kept;
 *                          replacing one not held is a bad record; creating one held replaces it)
 *     CapNhatTienDoHoSoMC  "data": processing steps, appended as they arrive (a step equal in every field to one
 *                          held is ignored; a step for a dossier not held is a bad record)
 *   Answers: {"error_code":0,"message"}; {"error_code":-1,"message":"MaHoSo <id>: <reason>"} when a record is
 *   wrong, and then NO record of the call is applied (the ICD's "A call with a bad record"); {"error_code":-1,
 *   "message":"too many records"} above 100 records; {"error_code":401,"message":"session expired"}. Business
 *   outcomes are always HTTP 200; above 5 calls/s, HTTP 429 with Retry-After.
 *
 * The adapter URL of the gateway's configuration is https://HOST:PORT/adapter. The account is --portal-username
 * (default lienthong-dev) with the trimmed text of --portal-password-file (default DIR/public-portal.secret); the
 * dstcode header must be --portal-dstcode (default LTDEV-DST).
 *
 * Faults (besides the transport ones): rate_limit (429 with Retry-After: 1), session_expired (401 on calls).
 *
 * Control verbs under /control/public-portal/ (besides stats, faults, reset):
 *   GET  dossiers[?id=MaHoSo]  every dossier held: its last record, how many times it was received, its steps in
 *                              the order they were appended, and how many identical steps were ignored
 *   GET  calls                 the last 2000 requests (service, records, error_code, message) and their counts
 *   GET  config / POST config  {"refuse":[{"MaHoSo","service"?,"reason"?}],"calls_per_s":5,"session_ttl_s":1800}
 *                              replaced as a whole: a refused MaHoSo makes any call holding it a call with a bad
 *                              record; calls_per_s 0 lifts the rate limit
 *   POST expire                forgets every session, as 30 idle minutes would
 */
#include "sim_portal.h"
#include "sim_clock.h"
#include "sim_json.h"
#include "sim_text.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_PORTAL_BASE        "/adapter"
#define SIM_PORTAL_AUTH_PATH   SIM_PORTAL_BASE "/auth"
#define SIM_PORTAL_CALL_PATH   SIM_PORTAL_BASE "/"
#define SIM_PORTAL_SECRET_NAME "public-portal.secret"
#define SIM_PORTAL_SECRET_MAX  512
#define SIM_PORTAL_PATH_MAX    4096
#define SIM_PORTAL_MAX_RECORDS 100
#define SIM_PORTAL_LOG_MAX     2000
#define SIM_PORTAL_SESSIONS    64
#define SIM_PORTAL_RATE_MAX    1000

#define SIM_COUNT(a) (sizeof(a) / sizeof((a)[0]))

enum { SIM_PORTAL_OP_AUTH, SIM_PORTAL_OP_CALL };

static const char *const sim_portal_ops[] = {"auth", "call", NULL};
static const char *const sim_portal_faults[] = {"rate_limit", "session_expired", NULL};

static const sim_service_option_t sim_portal_options[] = {
    {"portal-username", "NAME", "the province's account (default lienthong-dev)"},
    {"portal-password-file", "FILE", "the account's password (default DIR/" SIM_PORTAL_SECRET_NAME ")"},
    {"portal-dstcode", "CODE", "the destination code the dstcode header must carry (default LTDEV-DST)"},
    {NULL, NULL, NULL},
};

static const char *const sim_portal_services[] = {"DongBoHoSoMC", "CapNhatTienDoHoSoMC"};

typedef struct sim_portal_session {
    char id[65];
    long long last_used_ms;
} sim_portal_session_t;

typedef struct sim_portal_logged {
    long long at_ms;
    char service[32];
    int records;
    int error_code; /* 0, -1, 401; 429 for a rate-limited request */
    char message[240];
} sim_portal_logged_t;

typedef struct sim_portal_state {
    char username[128], dstcode[128];
    char password_file[SIM_PORTAL_PATH_MAX];
    unsigned char password[SIM_PORTAL_SECRET_MAX];
    size_t password_len;
    sim_portal_session_t sessions[SIM_PORTAL_SESSIONS];
    /* {MaHoSo: {"record": last DongBoHoSoMC record, "received": n, "steps": [...], "steps_ignored": n}} */
    json_t *dossiers;
    json_t *refuse; /* [{"MaHoSo","service"?,"reason"?}] */
    long calls_per_s;
    long long session_ttl_s;
    long long recent[SIM_PORTAL_RATE_MAX]; /* a ring of request times, for the calls/s limit */
    size_t recent_next;
    sim_portal_logged_t log[SIM_PORTAL_LOG_MAX];
    size_t log_next, log_n;
    unsigned long long calls, applied, refused, expired, rate_limited, auths, auth_refused;
    unsigned long long by_service[SIM_COUNT(sim_portal_services)];
    unsigned long long snapshots_applied, steps_applied, steps_ignored;
    int max_records;
} sim_portal_state_t;

/* ---- state ---- */

static void sim_portal_defaults(sim_portal_state_t *st)
{
    json_decref(st->refuse);
    st->refuse = json_array();
    st->calls_per_s = 5;
    st->session_ttl_s = 1800;
}

static void *sim_portal_state_new(const sim_people_t *people, const char *certs_dir)
{
    sim_portal_state_t *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    snprintf(st->username, sizeof st->username, "lienthong-dev");
    snprintf(st->dstcode, sizeof st->dstcode, "LTDEV-DST");
    if (certs_dir != NULL)
        snprintf(st->password_file, sizeof st->password_file, "%s/%s", certs_dir, SIM_PORTAL_SECRET_NAME);
    st->dossiers = json_object();
    sim_portal_defaults(st);
    return st;
}

static int sim_portal_set_option(void *state, const char *name, const char *value, char *err, size_t errlen)
{
    sim_portal_state_t *st = state;
    if (strcmp(name, "portal-username") == 0)
        snprintf(st->username, sizeof st->username, "%s", value);
    else if (strcmp(name, "portal-password-file") == 0)
        snprintf(st->password_file, sizeof st->password_file, "%s", value);
    else if (strcmp(name, "portal-dstcode") == 0)
        snprintf(st->dstcode, sizeof st->dstcode, "%s", value);
    else {
        snprintf(err, errlen, "not a public-portal flag");
        return -1;
    }
    return 0;
}

static int sim_portal_start(void *state, struct event_base *base, char *err, size_t errlen)
{
    sim_portal_state_t *st = state;
    if (st->password_file[0] == '\0') {
        snprintf(err, errlen, "needs --certs-dir or --portal-password-file (the account's password)");
        return -1;
    }
    return sim_secret_load(st->password_file, st->password, sizeof st->password, &st->password_len, err, errlen);
}

static void sim_portal_forget(sim_portal_state_t *st)
{
    json_object_clear(st->dossiers);
    memset(st->sessions, 0, sizeof st->sessions);
    memset(st->recent, 0, sizeof st->recent);
    st->log_next = st->log_n = 0;
    st->calls = st->applied = st->refused = st->expired = st->rate_limited = st->auths = st->auth_refused = 0;
    memset(st->by_service, 0, sizeof st->by_service);
    st->snapshots_applied = st->steps_applied = st->steps_ignored = 0;
    st->max_records = 0;
}

static void sim_portal_state_reset(void *state)
{
    sim_portal_state_t *st = state;
    sim_portal_forget(st);
    sim_portal_defaults(st);
}

static void sim_portal_state_free(void *state)
{
    sim_portal_state_t *st = state;
    if (st == NULL)
        return;
    json_decref(st->dossiers);
    json_decref(st->refuse);
    OPENSSL_cleanse(st->password, sizeof st->password);
    free(st);
}

/* ---- replies ---- */

static void sim_portal_log(sim_portal_state_t *st, const char *service, int records, int code, const char *message)
{
    sim_portal_logged_t *l = &st->log[st->log_next];
    l->at_ms = sim_clock_now_ms();
    snprintf(l->service, sizeof l->service, "%s", service ? service : "");
    l->records = records;
    l->error_code = code;
    snprintf(l->message, sizeof l->message, "%s", message ? message : "");
    st->log_next = (st->log_next + 1) % SIM_PORTAL_LOG_MAX;
    if (st->log_n < SIM_PORTAL_LOG_MAX)
        st->log_n++;
}

/* Every business outcome is HTTP 200 with an error_code (the ICD: "never returns HTTP errors for business"). */
static void sim_portal_answer(sim_reply_t *reply, int code, const char *message)
{
    sim_json_reply(reply, 200, "OK", json_pack("{s:i,s:s}", "error_code", code, "message", message));
}

/* ---- sessions ---- */

static sim_portal_session_t *sim_portal_session_find(sim_portal_state_t *st, const char *id, long long now)
{
    for (size_t i = 0; id != NULL && i < SIM_COUNT(st->sessions); i++) {
        sim_portal_session_t *s = &st->sessions[i];
        if (s->id[0] == '\0' || strcmp(s->id, id) != 0)
            continue;
        if (now - s->last_used_ms > st->session_ttl_s * 1000) {
            s->id[0] = '\0'; /* 30 minutes after its last use: gone */
            return NULL;
        }
        return s;
    }
    return NULL;
}

static const char *sim_portal_session_new(sim_portal_state_t *st, long long now)
{
    size_t slot = 0;
    for (size_t i = 0; i < SIM_COUNT(st->sessions); i++) {
        if (st->sessions[i].id[0] == '\0') {
            slot = i;
            break;
        }
        if (st->sessions[i].last_used_ms < st->sessions[slot].last_used_ms)
            slot = i; /* full: the least recently used goes */
    }
    unsigned char rnd[32];
    RAND_bytes(rnd, sizeof rnd);
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(st->sessions[slot].id + 2 * i, 3, "%02x", rnd[i]);
    st->sessions[slot].last_used_ms = now;
    return st->sessions[slot].id;
}

static int sim_portal_password_ok(const sim_portal_state_t *st, const char *given)
{
    size_t n = given ? strlen(given) : 0;
    return given != NULL && n == st->password_len && CRYPTO_memcmp(given, st->password, n) == 0;
}

static void sim_portal_auth(sim_portal_state_t *st, const json_t *doc, sim_reply_t *reply)
{
    const char *user = json_string_value(json_object_get(doc, "username"));
    const char *pass = json_string_value(json_object_get(doc, "password"));
    st->auths++;
    if (user == NULL || strcmp(user, st->username) != 0 || !sim_portal_password_ok(st, pass)) {
        st->auth_refused++;
        sim_portal_log(st, "auth", 0, -1, "wrong account");
        sim_portal_answer(reply, -1, "Sai tên đăng nhập hoặc mật khẩu");
        return;
    }
    const char *session = sim_portal_session_new(st, sim_clock_now_ms());
    sim_portal_log(st, "auth", 0, 0, "session issued");
    sim_json_reply(reply, 200, "OK", json_pack("{s:s,s:i}", "session", session, "error_code", 0));
}

/* ---- checking records ---- */

static const char *const sim_portal_snapshot_dates[] = {"NgayTiepNhan", "NgayHenTra", "NgayTra", NULL};
static const char *const sim_portal_step_dates[] = {"ThoiDiemXuLy", "NgayBatDau", "NgayKetThucTheoQuyDinh", NULL};
static const char *const sim_portal_lists[] = {"DanhSachLePhi", "TaiLieuNop", "DanhSachGiayToKetQua", NULL};

static int sim_portal_in(const char *const *names, const char *key)
{
    for (size_t i = 0; names[i] != NULL; i++)
        if (strcmp(names[i], key) == 0)
            return 1;
    return 0;
}

static int sim_portal_status_ok(const char *code)
{
    static const char *const codes[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", NULL};
    return code != NULL && sim_portal_in(codes, code);
}

/* NULL when rec is well formed for its service; else the reason (Vietnamese, as the portal's messages are). Only
 * MaHoSo is required: the ICD shows every other field without requiring it. Fields that are present must have the
 * ICD's form: strings (lists for the three lists), dates yyyyMMddHHmmss ("" for none, as the sample's NgayTra),
 * the status codes of the table, LoaiDoiTuong 1 or 2. */
static const char *sim_portal_record_problem(const json_t *rec, int steps)
{
    if (!json_is_object(rec))
        return "bản ghi không phải đối tượng JSON";
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)rec, key, v)
    {
        if (!steps && sim_portal_in(sim_portal_lists, key)) {
            if (!json_is_array(v))
                return "danh sách không hợp lệ";
            continue;
        }
        if (!json_is_string(v))
            return "trường không phải chuỗi";
        const char *s = json_string_value(v);
        const char *const *dates = steps ? sim_portal_step_dates : sim_portal_snapshot_dates;
        if (sim_portal_in(dates, key) && s[0] != '\0' && !sim_clock_vn_stamp_valid(s))
            return "ngày không đúng định dạng yyyyMMddHHmmss";
        if ((strcmp(key, "TrangThaiHoSo") == 0 || strcmp(key, "TrangThai") == 0) && !sim_portal_status_ok(s))
            return "trạng thái không hợp lệ";
        if (strcmp(key, "LoaiDoiTuong") == 0 && strcmp(s, "1") != 0 && strcmp(s, "2") != 0)
            return "LoaiDoiTuong phải là 1 hoặc 2";
    }
    const char *id = json_string_value(json_object_get(rec, "MaHoSo"));
    if (id == NULL || id[0] == '\0')
        return "thiếu MaHoSo";
    const json_t *fees = json_object_get(rec, "DanhSachLePhi");
    size_t i;
    json_array_foreach(fees, i, v)
    {
        if (!json_is_object(v))
            return "lệ phí không hợp lệ";
    }
    return NULL;
}

/* The reason a test told the simulator to refuse this record with, or NULL. */
static const char *sim_portal_refusal(const sim_portal_state_t *st, const char *service, const char *id)
{
    size_t i;
    const json_t *r;
    json_array_foreach(st->refuse, i, r)
    {
        const char *rid = json_string_value(json_object_get(r, "MaHoSo"));
        const char *rsvc = json_string_value(json_object_get(r, "service"));
        const char *reason = json_string_value(json_object_get(r, "reason"));
        if (rid != NULL && strcmp(rid, id) == 0 && (rsvc == NULL || strcmp(rsvc, service) == 0))
            return reason ? reason : "dữ liệu không hợp lệ";
    }
    return NULL;
}

/* Every record of the call, before anything is applied: the first bad one refuses the whole call. */
static int sim_portal_check_call(const sim_portal_state_t *st, int steps, int updating, const json_t *data,
                                 char *message, size_t len)
{
    const char *service = sim_portal_services[steps];
    size_t i;
    const json_t *rec;
    json_array_foreach(data, i, rec)
    {
        const char *id = json_string_value(json_object_get(rec, "MaHoSo"));
        const char *why = sim_portal_record_problem(rec, steps);
        if (why == NULL)
            why = sim_portal_refusal(st, service, id);
        if (why == NULL && steps && json_object_get(st->dossiers, id) == NULL)
            why = "hồ sơ không tồn tại";
        if (why == NULL && !steps && updating && json_object_get(st->dossiers, id) == NULL)
            why = "không thể cập nhật hồ sơ chưa có";
        if (why != NULL) {
            snprintf(message, len, "MaHoSo %s: %s", id ? id : "", why);
            return -1;
        }
    }
    return 0;
}

static json_t *sim_portal_dossier(sim_portal_state_t *st, const char *id)
{
    json_t *d = json_object_get(st->dossiers, id);
    if (d == NULL) {
        d = json_pack("{s:n,s:i,s:[],s:i}", "record", "received", 0, "steps", "steps_ignored", 0);
        json_object_set_new(st->dossiers, id, d);
    }
    return d;
}

static void sim_portal_apply(sim_portal_state_t *st, int steps, const json_t *data)
{
    size_t i;
    const json_t *rec;
    json_array_foreach(data, i, rec)
    {
        json_t *d = sim_portal_dossier(st, json_string_value(json_object_get(rec, "MaHoSo")));
        if (!steps) {
            json_object_set_new(d, "record", json_deep_copy(rec)); /* the last one received is kept */
            json_object_set_new(d, "received", json_integer(json_integer_value(json_object_get(d, "received")) + 1));
            st->snapshots_applied++;
            continue;
        }
        json_t *list = json_object_get(d, "steps");
        size_t k;
        const json_t *held;
        int same = 0;
        json_array_foreach(list, k, held) same |= json_equal((json_t *)held, (json_t *)rec);
        if (same) {
            json_object_set_new(d, "steps_ignored",
                                json_integer(json_integer_value(json_object_get(d, "steps_ignored")) + 1));
            st->steps_ignored++;
        } else {
            json_array_append_new(list, json_deep_copy(rec));
            st->steps_applied++;
        }
    }
}

/* ---- calls ---- */

static int sim_portal_service_index(const char *name)
{
    for (size_t i = 0; name != NULL && i < SIM_COUNT(sim_portal_services); i++)
        if (strcmp(sim_portal_services[i], name) == 0)
            return (int)i;
    return -1;
}

static void sim_portal_refuse(sim_portal_state_t *st, const char *service, int n, const char *message,
                              sim_reply_t *reply)
{
    st->refused++;
    sim_portal_log(st, service, n, -1, message);
    sim_portal_answer(reply, -1, message);
}

static void sim_portal_call(sim_portal_state_t *st, const sim_request_t *req, const json_t *doc, const char *fault,
                            sim_reply_t *reply)
{
    const char *service = json_string_value(json_object_get(doc, "service"));
    const json_t *data = json_object_get(doc, "data");
    int n = json_is_array(data) ? (int)json_array_size(data) : 0;
    long long now = sim_clock_now_ms();
    st->calls++;
    sim_portal_session_t *session =
        sim_portal_session_find(st, json_string_value(json_object_get(doc, "session")), now);
    if (session == NULL || (fault != NULL && strcmp(fault, "session_expired") == 0)) {
        if (session != NULL)
            session->id[0] = '\0';
        st->expired++;
        sim_portal_log(st, service, n, 401, "session expired");
        sim_portal_answer(reply, 401, "session expired");
        return;
    }
    session->last_used_ms = now;
    const char *dstcode = req->header(req, "dstcode");
    const char *unit = json_string_value(json_object_get(doc, "madonvi"));
    int svc = sim_portal_service_index(service);
    const json_t *updating = json_object_get(doc, "isUpdating");
    char message[400];
    if (dstcode == NULL || strcmp(dstcode, st->dstcode) != 0)
        sim_portal_refuse(st, service, n, "dstcode không hợp lệ", reply);
    else if (unit == NULL || unit[0] == '\0')
        sim_portal_refuse(st, service, n, "thiếu madonvi", reply);
    else if (svc < 0)
        sim_portal_refuse(st, service, n, "service không hợp lệ", reply);
    else if (!json_is_array(data))
        sim_portal_refuse(st, service, n, "data phải là một danh sách", reply);
    else if (n > SIM_PORTAL_MAX_RECORDS)
        sim_portal_refuse(st, service, n, "too many records", reply);
    else if (updating != NULL && !json_is_boolean(updating))
        sim_portal_refuse(st, service, n, "isUpdating phải là true hoặc false", reply);
    else if (sim_portal_check_call(st, svc, json_is_true(updating), data, message, sizeof message) != 0)
        sim_portal_refuse(st, service, n, message, reply);
    else {
        sim_portal_apply(st, svc, data);
        st->applied++;
        st->by_service[svc]++;
        if (n > st->max_records)
            st->max_records = n;
        sim_portal_log(st, service, n, 0, "ok");
        sim_portal_answer(reply, 0, "Thành công");
    }
}

/* 5 calls/s per province (ICD "Limits"): over that, 429 with Retry-After. */
static int sim_portal_over_rate(sim_portal_state_t *st, long long now)
{
    long limit = st->calls_per_s;
    if (limit <= 0)
        return 0;
    size_t within = 0;
    for (size_t i = 0; i < SIM_COUNT(st->recent); i++)
        within += st->recent[i] > 0 && now - st->recent[i] < 1000;
    if ((long)within >= limit)
        return 1;
    st->recent[st->recent_next] = now;
    st->recent_next = (st->recent_next + 1) % SIM_COUNT(st->recent);
    return 0;
}

static void sim_portal_busy(sim_portal_state_t *st, sim_reply_t *reply)
{
    st->rate_limited++;
    sim_portal_log(st, "", 0, 429, "too many requests");
    sim_reply_add_header(reply, "Retry-After", "1");
    sim_json_reply(reply, 429, "Too Many Requests", json_pack("{s:s}", "message", "too many requests"));
}

static int sim_portal_owns_path(const char *path)
{
    return strcmp(path, SIM_PORTAL_AUTH_PATH) == 0 || strcmp(path, SIM_PORTAL_CALL_PATH) == 0;
}

static int sim_portal_operation_of(const sim_request_t *req)
{
    return strcmp(req->path, SIM_PORTAL_AUTH_PATH) == 0 ? SIM_PORTAL_OP_AUTH : SIM_PORTAL_OP_CALL;
}

static void sim_portal_handle(void *state, const sim_people_t *people, const sim_request_t *req, const char *fault,
                              sim_reply_t *reply)
{
    sim_portal_state_t *st = state;
    if (strcmp(req->method, "POST") != 0) {
        sim_reply_add_header(reply, "Allow", "POST");
        sim_json_error(reply, 405, "Method Not Allowed", "POST only");
        return;
    }
    if ((fault != NULL && strcmp(fault, "rate_limit") == 0) || sim_portal_over_rate(st, sim_clock_now_ms())) {
        sim_portal_busy(st, reply);
        return;
    }
    json_t *doc = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(doc)) {
        sim_portal_log(st, "", 0, -1, "body is not a JSON object");
        sim_portal_answer(reply, -1, "dữ liệu gửi lên không phải JSON");
    } else if (sim_portal_operation_of(req) == SIM_PORTAL_OP_AUTH) {
        sim_portal_auth(st, doc, reply);
    } else {
        sim_portal_call(st, req, doc, fault, reply);
    }
    json_decref(doc);
}

/* ---- control verbs ---- */

static json_t *sim_portal_calls_json(const sim_portal_state_t *st)
{
    json_t *log = json_array();
    size_t oldest = (st->log_next + SIM_PORTAL_LOG_MAX - st->log_n) % SIM_PORTAL_LOG_MAX;
    for (size_t i = 0; i < st->log_n; i++) {
        const sim_portal_logged_t *l = &st->log[(oldest + i) % SIM_PORTAL_LOG_MAX];
        char at[SIM_CLOCK_ISO_LEN + 1];
        sim_clock_iso(l->at_ms, at);
        json_array_append_new(log, json_pack("{s:s,s:s,s:i,s:i,s:s}", "at", at, "service", l->service, "records",
                                             l->records, "error_code", l->error_code, "message", l->message));
    }
    json_t *by = json_object();
    for (size_t i = 0; i < SIM_COUNT(sim_portal_services); i++)
        json_object_set_new(by, sim_portal_services[i], json_integer((json_int_t)st->by_service[i]));
    json_t *counts =
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:i}", "calls", (json_int_t)st->calls, "applied",
                  (json_int_t)st->applied, "refused", (json_int_t)st->refused, "session_expired",
                  (json_int_t)st->expired, "rate_limited", (json_int_t)st->rate_limited, "auths", (json_int_t)st->auths,
                  "auth_refused", (json_int_t)st->auth_refused, "applied_by_service", by, "snapshots_applied",
                  (json_int_t)st->snapshots_applied, "steps_applied", (json_int_t)st->steps_applied, "steps_ignored",
                  (json_int_t)st->steps_ignored, "max_records_per_call", st->max_records);
    return json_pack("{s:o,s:o}", "calls", log, "counts", counts);
}

static json_t *sim_portal_dossiers_json(const sim_portal_state_t *st, const char *only)
{
    json_t *out = json_array();
    const char *id;
    json_t *d;
    json_object_foreach(st->dossiers, id, d)
    {
        if (only != NULL && strcmp(only, id) != 0)
            continue;
        json_t *one = json_deep_copy(d);
        json_object_set_new(one, "MaHoSo", json_string(id));
        json_array_append_new(out, one);
    }
    return json_pack("{s:o,s:I}", "dossiers", out, "count", (json_int_t)json_object_size(st->dossiers));
}

static json_t *sim_portal_config_json(const sim_portal_state_t *st)
{
    return json_pack("{s:O,s:I,s:I}", "refuse", st->refuse, "calls_per_s", (json_int_t)st->calls_per_s, "session_ttl_s",
                     (json_int_t)st->session_ttl_s);
}

/* The whole setting from a body; -1 with err, changing nothing, when a field is wrong or unknown. */
static int sim_portal_parse_config(sim_portal_state_t *st, const json_t *doc, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)doc, key, v)
    {
        if (strcmp(key, "refuse") != 0 && strcmp(key, "calls_per_s") != 0 && strcmp(key, "session_ttl_s") != 0) {
            snprintf(err, errlen, "unknown field \"%s\" (known: refuse, calls_per_s, session_ttl_s)", key);
            return -1;
        }
    }
    const json_t *refuse = json_object_get(doc, "refuse"), *rate = json_object_get(doc, "calls_per_s");
    const json_t *ttl = json_object_get(doc, "session_ttl_s");
    size_t i;
    const json_t *r;
    if (refuse != NULL && !json_is_array(refuse))
        goto bad_refuse;
    json_array_foreach(refuse, i, r)
    {
        if (!json_is_string(json_object_get(r, "MaHoSo")))
            goto bad_refuse;
    }
    if ((rate && (!json_is_integer(rate) || json_integer_value(rate) < 0 || json_integer_value(rate) > 1000)) ||
        (ttl && (!json_is_integer(ttl) || json_integer_value(ttl) < 1))) {
        snprintf(err, errlen, "calls_per_s must be 0-1000 (0: no limit) and session_ttl_s a positive integer");
        return -1;
    }
    json_decref(st->refuse);
    st->refuse = refuse ? json_deep_copy(refuse) : json_array();
    st->calls_per_s = rate ? (long)json_integer_value(rate) : 5;
    st->session_ttl_s = ttl ? json_integer_value(ttl) : 1800;
    return 0;
bad_refuse:
    snprintf(err, errlen, "refuse must be a list of {\"MaHoSo\", \"service\"?, \"reason\"?}");
    return -1;
}

static void sim_portal_control_config(sim_portal_state_t *st, const sim_request_t *req, sim_reply_t *reply)
{
    char err[200];
    if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
        json_t *doc = sim_json_body_object(req, err, sizeof err);
        int rc = doc ? sim_portal_parse_config(st, doc, err, sizeof err) : -1;
        json_decref(doc);
        if (rc < 0) {
            sim_json_error(reply, 400, "Bad Request", err);
            return;
        }
    } else if (strcmp(req->method, "GET") != 0) {
        sim_json_error(reply, 405, "Method Not Allowed", "GET or POST");
        return;
    }
    sim_json_reply(reply, 200, "OK", sim_portal_config_json(st));
}

static int sim_portal_control(void *state, const char *verb, const sim_request_t *req, sim_reply_t *reply)
{
    sim_portal_state_t *st = state;
    if (strcmp(verb, "dossiers") == 0) {
        const char *only = req->query && strncmp(req->query, "id=", 3) == 0 ? req->query + 3 : NULL;
        if (strcmp(req->method, "GET") != 0)
            sim_json_error(reply, 405, "Method Not Allowed", "GET only");
        else
            sim_json_reply(reply, 200, "OK", sim_portal_dossiers_json(st, only));
    } else if (strcmp(verb, "calls") == 0) {
        if (strcmp(req->method, "GET") != 0)
            sim_json_error(reply, 405, "Method Not Allowed", "GET only");
        else
            sim_json_reply(reply, 200, "OK", sim_portal_calls_json(st));
    } else if (strcmp(verb, "config") == 0) {
        sim_portal_control_config(st, req, reply);
    } else if (strcmp(verb, "expire") == 0) {
        if (strcmp(req->method, "POST") != 0) {
            sim_json_error(reply, 405, "Method Not Allowed", "POST only");
        } else {
            memset(st->sessions, 0, sizeof st->sessions);
            sim_json_reply(reply, 200, "OK", json_pack("{s:b}", "expired", 1));
        }
    } else {
        return -1;
    }
    return 0;
}

const sim_service_t sim_portal_service = {
    .name = "public-portal",
    .path = SIM_PORTAL_CALL_PATH,
    .cert_name = "public-portal-sim",
    .default_port = 9110,
    .client_auth = SIM_CLIENT_CERT_NONE,
    .ops = sim_portal_ops,
    .faults = sim_portal_faults,
    .owns_path = sim_portal_owns_path,
    .operation_of = sim_portal_operation_of,
    .handle = sim_portal_handle,
    .state_new = sim_portal_state_new,
    .state_reset = sim_portal_state_reset,
    .state_free = sim_portal_state_free,
    .control = sim_portal_control,
    .options = sim_portal_options,
    .set_option = sim_portal_set_option,
    .start = sim_portal_start,
};
