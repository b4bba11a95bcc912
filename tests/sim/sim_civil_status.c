/*
 * sim_civil_status: the civil-status database's session and lookup, as the
 * civil-status ICD describes them and nothing more.
 *
 * POST /api/auth/token takes {"userName","password"} and answers
 * {"status":"1","token","hetHan"}, hetHan being the expiry as yyyyMMddHHmmss
 * in UTC+07:00; a wrong account is HTTP 200 with status 0 and HT-401. The
 * token goes into Authorization as it is, with no "Bearer", and is refused
 * from hetHan on. POST /api/hotich/tracuu answers every business outcome with
 * HTTP 200 and the envelope {"status","errorCode","errorDescription","value"};
 * HT-401 is a token missing, expired or revoked. Over 20 lookups per second:
 * HTTP 429 with an empty body and Retry-After.
 *
 * The records are derived from the shared synthetic people, so the systems
 * agree on who exists: a person with a full birth date born from 1955 on has a
 * birth registration (parents from the household when it has them, otherwise
 * made up, sometimes without a number); couples of the households (Vợ, Chồng)
 * share one marriage registration, other adults may be married to someone
 * outside the population, some have divorced before; a few older people are
 * dead, and their spouses widowed. The marital status is read off those
 * registrations, as the ICD says. The four people of the ICD's samples exist
 * exactly as printed there (KH and KT with their placeholders filled in).
 *
 * Account: user "lienthong-dev" (PUT /control/civil-status/token
 * {"user_name"} changes it), password = the trimmed text of
 * --certs-dir/civil-status.password. Tokens live 1800 s unless PUT
 * /control/civil-status/token {"lifetime_s"} says otherwise.
 *
 * Control verbs under /control/civil-status/ (besides stats, faults, reset):
 *   GET  token         {"user_name","lifetime_s","issued","active","expired_on_demand","wrong_account",
 *                       "lookup_refused","rate_limited"}
 *   PUT  token         {"lifetime_s": 1-86400, "user_name": "..."} (either), answers as GET
 *   POST expire        every live token reaches its hetHan now (the next lookup with it gets HT-401):
 *                      {"expired": n}
 *   GET|PUT limit      {"per_second": 1-100000} (default 20)
 *   GET  sample?n=N    the lines --sample prints (see sim_civil_status.h)
 *   GET  record?id=ID&type=KS|KH|KT|TTHN   the envelope a lookup answers, without a token or a count
 * stats counts by_operation "lookup" and "token" separately.
 */
#include "sim_civil_status.h"
#include "sim_clock.h"
#include "sim_json.h"
#include "sim_text.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define SIM_CS_TOKEN_PATH     "/api/auth/token"
#define SIM_CS_LOOKUP_PATH    "/api/hotich/tracuu"
#define SIM_CS_PASSWORD_FILE  "civil-status.password"
#define SIM_CS_DEFAULT_USER   "lienthong-dev"
#define SIM_CS_LIFETIME       1800 /* the ICD: tokens usually live 30 minutes */
#define SIM_CS_LIFETIME_MAX   86400
#define SIM_CS_LIMIT          20 /* lookups per second per unit (ICD "Limits") */
#define SIM_CS_LIMIT_MAX      100000
#define SIM_CS_MAX_TOKENS     1024 /* issued tokens remembered; older ones are forgotten, i.e. refused */
#define SIM_CS_TOKEN_BYTES    24
#define SIM_CS_NOW_YEAR       2025 /* records are made as of this year, so they never change */
#define SIM_CS_FIRST_REGISTER 1955 /* births before this were not registered electronically */
#define SIM_CS_SAMPLE_MAX     100000

enum { SIM_CS_OP_LOOKUP, SIM_CS_OP_TOKEN };
static const char *const sim_cs_ops[] = {"lookup", "token", NULL};
/*
 * HT-* answer lookups whatever the request (HT-401 as if the token were
 * refused); wrong_account answers token requests. wrong_person, bad_json and
 * no_status are lookup answers a client must handle: a record about someone
 * else, a truncated body, and an envelope without status (which the ICD shows
 * but never says is always sent).
 */
static const char *const sim_cs_faults[] = {"HT-400",       "HT-401",   "HT-403",    "HT-500",     "wrong_account",
                                            "wrong_person", "bad_json", "no_status", "rate_limit", NULL};

static const char *const sim_cs_types[] = {"KS", "KH", "KT", "TTHN"};

/* ---- names of people outside the population (parents, spouses) ---- */

static const char *const sim_cs_families[] = {"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ",
                                              "Đặng",   "Bùi",  "Đỗ", "Ngô",  "Dương", "Lý"};
static const char *const sim_cs_middles[2][5] = {{"Văn", "Đức", "Minh", "Quang", "Hữu"},
                                                 {"Thị", "Thu", "Ngọc", "Thanh", "Thị"}};
static const char *const sim_cs_givens[2][8] = {{"Hùng", "Dũng", "Tuấn", "Nam", "Long", "Phong", "Sơn", "Hải"},
                                                {"Lan", "Hoa", "Hương", "Mai", "Thảo", "Hạnh", "Nga", "Yến"}};

/* ---- the people of the ICD's samples ---- */

typedef struct sim_cs_icd_person {
    const char *id;
    const char *name;
    const char *records[4]; /* KS, KH, KT, TTHN: the `value` array as JSON text; NULL: computed or none */
    int known;              /* TTHN is computed for them when records[3] is NULL */
} sim_cs_icd_person_t;

#define SIM_CS_ICD_KH                                                                                                  \
    "[{\"so\":\"18\",\"quyenSo\":\"01/2020\",\"ngayDangKy\":\"20/10/2020\",\"noiDangKy\":{\"ma\":\"12631\","           \
    "\"ten\":\"UBND xã Vũ Hội\"},\"chongHoTen\":\"Trần Văn Minh\",\"chongNgaySinh\":\"05.07.1993\","            \
    "\"chongSoDDCN\":\"034093004567\",\"chongSoLanKH\":\"1\",\"voHoTen\":\"Nguyễn Thị Hồng Nhung\","             \
    "\"voNgaySinh\":\"12.03.1995\",\"voSoDDCN\":\"034195001234\",\"voSoLanKH\":\"1\",\"trangThai\":\"HIEU_LUC\"}]"

static const sim_cs_icd_person_t sim_cs_icd_people[] = {
    {"034219004321",
     "Nguyễn Minh Khôi",
     {"[{\"so\":\"125\",\"quyenSo\":\"01/2019\",\"trangSo\":\"42\",\"ngayDangKy\":\"15/03/2019\",\"loaiDangKy\":\"1\","
      "\"noiDangKy\":{\"ma\":\"12631\",\"ten\":\"UBND xã Vũ Hội\"},\"nksHoTen\":\"Nguyễn Minh Khôi\","
      "\"nksGioiTinh\":\"1\",\"nksNgaySinh\":\"02.03.2019\",\"nksNoiSinh\":\"Bệnh viện Đa khoa tỉnh Thái Bình\","
      "\"nksDanToc\":\"01\",\"nksQuocTich\":\"VN\",\"nksSoDinhDanhCaNhan\":\"034219004321\","
      "\"me\":{\"hoTen\":\"Nguyễn Thị Hồng Nhung\",\"ngaySinh\":\"12.03.1995\",\"danToc\":\"01\",\"quocTich\":\"VN\","
      "\"soDDCN\":\"034195001234\"},\"cha\":null}]",
      NULL, NULL, NULL},
     1},
    {"034195001234",
     "Nguyễn Thị Hồng Nhung",
     {NULL, SIM_CS_ICD_KH, NULL,
      "[{\"soDDCN\":\"034195001234\",\"tinhTrangHonNhan\":\"DANG_CO_VO_CHONG\",\"tinhDenNgay\":\"22/11/2026\","
      "\"canCu\":{\"loai\":\"KH\",\"so\":\"18\",\"quyenSo\":\"01/2020\",\"ngayDangKy\":\"20/10/2020\"}}]"},
     1},
    {"034093004567",
     "Trần Văn Minh",
     {NULL, SIM_CS_ICD_KH, NULL,
      "[{\"soDDCN\":\"034093004567\",\"tinhTrangHonNhan\":\"DANG_CO_VO_CHONG\",\"tinhDenNgay\":\"@TODAY@\","
      "\"canCu\":{\"loai\":\"KH\",\"so\":\"18\",\"quyenSo\":\"01/2020\",\"ngayDangKy\":\"20/10/2020\"}}]"},
     1},
    {"034045000789",
     "Phạm Văn Thành",
     {NULL, NULL,
      "[{\"so\":\"7\",\"quyenSo\":\"01/2024\",\"ngayDangKy\":\"05/01/2024\",\"noiDangKy\":{\"ma\":\"12631\","
      "\"ten\":\"UBND xã Vũ Hội\"},\"nktHoTen\":\"Phạm Văn Thành\",\"nktSoDDCN\":\"034045000789\","
      "\"nktNgayChet\":\"03.01.2024\",\"nktNoiChet\":\"Bệnh viện Đa khoa tỉnh Thái Bình\",\"gbtLoai\":\"1\","
      "\"gbtSo\":\"125/GBT\",\"gbtNgay\":\"03/01/2024\",\"gbtCoQuanCap\":\"Bệnh viện Đa khoa tỉnh Thái Bình\"}]",
      NULL},
     1},
};

static const sim_cs_icd_person_t *sim_cs_icd_find(const char *id)
{
    for (size_t i = 0; i < SIM_COUNT(sim_cs_icd_people); i++)
        if (strcmp(sim_cs_icd_people[i].id, id) == 0)
            return &sim_cs_icd_people[i];
    return NULL;
}

/* ---- randomness and dates ---- */

static uint64_t sim_cs_mix(uint64_t x)
{
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A private stream per (person, purpose), so adding a field never changes the others. */
static uint64_t sim_cs_hash(uint64_t who, unsigned salt)
{
    return sim_cs_mix(who * 0x2545F4914F6CDD1Dull ^ ((uint64_t)salt << 40) ^ 0xC1u);
}

static unsigned sim_cs_below(uint64_t h, unsigned n)
{
    return (unsigned)(h % n);
}

typedef struct sim_cs_date {
    int y, m, d;
} sim_cs_date_t;

static sim_cs_date_t sim_cs_add_days(sim_cs_date_t from, int days)
{
    struct tm tm = {.tm_year = from.y - 1900, .tm_mon = from.m - 1, .tm_mday = from.d + days, .tm_hour = 12};
    time_t t = timegm(&tm);
    gmtime_r(&t, &tm);
    return (sim_cs_date_t){tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
}

static sim_cs_date_t sim_cs_date_in(uint64_t h, int year)
{
    return (sim_cs_date_t){year, 1 + (int)sim_cs_below(h, 12), 1 + (int)sim_cs_below(h >> 8, 28)};
}

/* Dates of birth (and of death) are dd.MM.yyyy; every other date is dd/MM/yyyy (ICD "Record shapes"). */
static json_t *sim_cs_dotted(sim_cs_date_t d)
{
    char out[16];
    snprintf(out, sizeof out, "%02d.%02d.%04d", d.d % 100, d.m % 100, d.y % 10000);
    return json_string(out);
}

static json_t *sim_cs_slashed(sim_cs_date_t d)
{
    char out[16];
    snprintf(out, sizeof out, "%02d/%02d/%04d", d.d % 100, d.m % 100, d.y % 10000);
    return json_string(out);
}

static void sim_cs_today(char out[16])
{
    time_t t = time(NULL) + 7 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%d/%m/%Y", &tm);
}

/* ---- who is who ---- */

/* Someone a record names: a person of the population, or one made up for it (then without a number). */
typedef struct sim_cs_who {
    char id[13]; /* "" when the register holds no number */
    char name[160];
    sim_cs_date_t birth;
    int birth_known; /* 0 for a person known only by birth year: no dd.MM.yyyy to write, the field is left out */
    int sex;         /* 1 male, 2 female */
    char ethnicity[4];
} sim_cs_who_t;

/* Digit 4 of the number is century and sex (ICD README): the true sex, whatever was recorded elsewhere. */
static int sim_cs_sex_of(const sim_person_t *p)
{
    return (p->id[3] - '0') % 2 == 0 ? 1 : 2;
}

static void sim_cs_who_of(const sim_person_t *p, sim_cs_who_t *w)
{
    memset(w, 0, sizeof *w);
    snprintf(w->id, sizeof w->id, "%s", p->id);
    sim_person_full_name(p, w->name, sizeof w->name);
    w->birth = (sim_cs_date_t){p->birth.year, p->birth.month, p->birth.day};
    w->birth_known = p->birth.month != 0;
    w->sex = sim_cs_sex_of(p);
    snprintf(w->ethnicity, sizeof w->ethnicity, "%02u", (unsigned)p->ethnicity % 100);
}

static void sim_cs_made_up(uint64_t h, int sex, int born, sim_cs_who_t *w)
{
    memset(w, 0, sizeof *w);
    int k = sex == 2;
    snprintf(w->name, sizeof w->name, "%s %s %s", sim_cs_families[sim_cs_below(h, SIM_COUNT(sim_cs_families))],
             sim_cs_middles[k][sim_cs_below(h >> 8, 5)], sim_cs_givens[k][sim_cs_below(h >> 16, 8)]);
    w->birth = sim_cs_date_in(h >> 24, born);
    w->birth_known = 1;
    w->sex = sex;
    snprintf(w->ethnicity, sizeof w->ethnicity, "%s", sim_cs_below(h >> 40, 100) < 86 ? "01" : "05");
}

/* "UBND xã Vũ Hội" and the commune code of an address; the province's name for its hospital. */
typedef struct sim_cs_place {
    char office[340], code[8], province[340];
} sim_cs_place_t;

static void sim_cs_place_of(const sim_address_t *a, sim_cs_place_t *out)
{
    sim_address_view_t v;
    sim_address_view(a, &v);
    memset(out, 0, sizeof *out);
    snprintf(out->code, sizeof out->code, "%s", v.commune_code);
    const char *commune = strstr(v.text, "Xã ") ? strstr(v.text, "Xã ") : strstr(v.text, "Phường ");
    const char *end = commune ? strchr(commune, ',') : NULL;
    if (commune != NULL) {
        int urban = strncmp(commune, "Phường ", strlen("Phường ")) == 0;
        const char *rest = commune + (urban ? strlen("Phường ") : strlen("Xã "));
        snprintf(out->office, sizeof out->office, "UBND %s %.*s", urban ? "phường" : "xã",
                 (int)(end ? (size_t)(end - rest) : strlen(rest)), rest);
    }
    const char *last = strrchr(v.text, ',');
    last = last ? last + 2 : v.text;
    if (strncmp(last, "Tỉnh ", strlen("Tỉnh ")) == 0)
        snprintf(out->province, sizeof out->province, "tỉnh %s", last + strlen("Tỉnh "));
    else if (strncmp(last, "Thành phố ", strlen("Thành phố ")) == 0)
        snprintf(out->province, sizeof out->province, "thành phố %s", last + strlen("Thành phố "));
    else
        snprintf(out->province, sizeof out->province, "%s", last);
}

static json_t *sim_cs_office(const sim_cs_place_t *p)
{
    return json_pack("{s:s, s:s}", "ma", p->code, "ten", p->office);
}

/* ---- protocol state ---- */

typedef struct sim_cs_token {
    char value[2 * SIM_CS_TOKEN_BYTES + 1];
    time_t expires; /* hetHan as a Unix time: refused from then on */
} sim_cs_token_t;

typedef struct sim_cs_counters {
    unsigned long long issued, wrong_account, expired_on_demand, lookup_refused, rate_limited;
} sim_cs_counters_t;

typedef struct sim_cs_state {
    const sim_people_t *people;
    int32_t *spouse; /* the population spouse of each person, -1 when none: couples of the households */
    char user_name[128];
    char password[512];
    long lifetime_s;
    long per_second;
    sim_cs_token_t tokens[SIM_CS_MAX_TOKENS];
    size_t ntokens, next_token; /* a ring: the oldest are forgotten first */
    long long window_start_ms;
    long window_count;
    sim_cs_counters_t c;
} sim_cs_state_t;

/* ---- the registers, derived ---- */

static int sim_cs_is_registered_birth(const sim_person_t *p)
{
    return p->birth.month != 0 && p->birth.year >= SIM_CS_FIRST_REGISTER;
}

static int sim_cs_is_dead(size_t i, const sim_person_t *p)
{
    return p->birth.year < 1960 && sim_cs_below(sim_cs_hash(i, 1), 100) < 6;
}

static int sim_cs_is_adult_in(const sim_person_t *p, int year)
{
    return year - p->birth.year >= 18;
}

/* A death, for a person of the population or a made-up spouse (who = a hash then). */
typedef struct sim_cs_death {
    sim_cs_date_t died, registered, notice;
    unsigned so, kind;
} sim_cs_death_t;

static void sim_cs_death_of(uint64_t who, int born, sim_cs_death_t *d)
{
    uint64_t h = sim_cs_hash(who, 2);
    int year = born + 60 > 2015 ? (born + 60 > SIM_CS_NOW_YEAR ? SIM_CS_NOW_YEAR : born + 60) : 2015;
    year += (int)sim_cs_below(h, (unsigned)(SIM_CS_NOW_YEAR - year + 1));
    d->died = sim_cs_date_in(h >> 4, year);
    d->notice = sim_cs_add_days(d->died, (int)sim_cs_below(h >> 20, 2));
    d->registered = sim_cs_add_days(d->notice, 1 + (int)sim_cs_below(h >> 24, 14));
    d->so = 1 + sim_cs_below(h >> 32, 300);
    unsigned r = sim_cs_below(h >> 44, 100);
    d->kind = r < 70 ? 1 : r < 90 ? 2 : r < 93 ? 3 : 4;
}

static json_t *sim_cs_death_record(const sim_person_t *p, size_t i)
{
    sim_cs_death_t d;
    sim_cs_death_of(i, p->birth.year, &d);
    sim_cs_place_t home;
    sim_cs_place_of(&p->permanent, &home);
    char hospital[512], name[160], notice_no[32], book[16];
    snprintf(hospital, sizeof hospital, "Bệnh viện Đa khoa %s", home.province);
    sim_person_full_name(p, name, sizeof name);
    snprintf(notice_no, sizeof notice_no, "%u/GBT", 1 + sim_cs_below(sim_cs_hash(i, 3), 900));
    snprintf(book, sizeof book, "01/%04d", d.registered.y % 10000);
    char issuer[1024];
    const char *commune = home.office + strlen("UBND "); /* "xã Vũ Hội" */
    if (d.kind == 1)
        snprintf(issuer, sizeof issuer, "%s", hospital);
    else if (d.kind == 2)
        snprintf(issuer, sizeof issuer, "Công an %s", commune);
    else if (d.kind == 3)
        snprintf(issuer, sizeof issuer, "Tòa án nhân dân %s", home.province);
    else
        snprintf(issuer, sizeof issuer, "%s", home.office);
    json_t *rec = json_object();
    json_object_set_new(rec, "so", json_sprintf("%u", d.so));
    json_object_set_new(rec, "quyenSo", json_string(book));
    json_object_set_new(rec, "ngayDangKy", sim_cs_slashed(d.registered));
    json_object_set_new(rec, "noiDangKy", sim_cs_office(&home));
    json_object_set_new(rec, "nktHoTen", json_string(name));
    json_object_set_new(rec, "nktSoDDCN", json_string(p->id));
    json_object_set_new(rec, "nktNgayChet", sim_cs_dotted(d.died));
    json_object_set_new(rec, "nktNoiChet", json_string(d.kind == 1 ? hospital : "Tại nơi cư trú"));
    json_object_set_new(rec, "gbtLoai", json_sprintf("%u", d.kind));
    json_object_set_new(rec, "gbtSo", json_string(notice_no));
    json_object_set_new(rec, "gbtNgay", sim_cs_slashed(d.notice));
    json_object_set_new(rec, "gbtCoQuanCap", json_string(issuer));
    return rec;
}

static void sim_cs_parent_json(json_t *rec, const char *key, const sim_cs_who_t *w)
{
    json_t *o = json_object();
    json_object_set_new(o, "hoTen", json_string(w->name));
    if (w->birth_known)
        json_object_set_new(o, "ngaySinh", sim_cs_dotted(w->birth));
    json_object_set_new(o, "danToc", json_string(w->ethnicity));
    json_object_set_new(o, "quocTich", json_string("VN"));
    /* A parent who is not in the population has no number in the register: the field is left out. */
    if (w->id[0] != '\0')
        json_object_set_new(o, "soDDCN", json_string(w->id));
    json_object_set_new(rec, key, o);
}

/* The household's head is a parent when the household says Con and the ages fit. */
static const sim_person_t *sim_cs_household_parent(const sim_people_t *people, const sim_person_t *p)
{
    if (p->head < 0 || strcmp(sim_person_relation(p), "Con") != 0)
        return NULL;
    const sim_person_t *h = sim_people_at(people, (size_t)p->head);
    int gap = p->birth.year - h->birth.year;
    return h != NULL && gap >= 17 && gap <= 45 && h->birth.month != 0 ? h : NULL;
}

static void sim_cs_parents(const sim_people_t *people, size_t i, const sim_person_t *p, json_t *rec)
{
    const sim_person_t *known = sim_cs_household_parent(people, p);
    uint64_t h = sim_cs_hash(i, 4);
    sim_cs_who_t mother, father;
    int have_mother = 1, have_father = sim_cs_below(h, 100) < 85;
    sim_cs_made_up(h >> 3, 2, p->birth.year - 20 - (int)sim_cs_below(h >> 11, 15), &mother);
    sim_cs_made_up(h >> 7, 1, p->birth.year - 22 - (int)sim_cs_below(h >> 13, 15), &father);
    if (known != NULL && sim_cs_sex_of(known) == 2) {
        sim_cs_who_of(known, &mother);
    } else if (known != NULL) {
        sim_cs_who_of(known, &father);
        have_father = 1;
    }
    /* The child carries the father's family name when there is a father; the register says what it says. */
    if (have_mother)
        sim_cs_parent_json(rec, "me", &mother);
    if (have_father)
        sim_cs_parent_json(rec, "cha", &father);
    else
        json_object_set_new(rec, "cha", json_null());
}

static json_t *sim_cs_birth_record(const sim_people_t *people, size_t i, const sim_person_t *p)
{
    uint64_t h = sim_cs_hash(i, 5);
    sim_cs_date_t born = {p->birth.year, p->birth.month, p->birth.day};
    unsigned r = sim_cs_below(h, 100);
    const char *kind = r < 90 ? "1" : r < 97 ? "2" : "3";
    int delay = kind[0] == '1' ? 1 + (int)sim_cs_below(h >> 8, 59) : 70 + (int)sim_cs_below(h >> 8, 3000);
    sim_cs_date_t registered = sim_cs_add_days(born, delay);
    sim_cs_place_t origin;
    sim_cs_place_of(&p->origin, &origin);
    char name[160], book[16], hospital[512], ethnicity[4];
    sim_person_full_name(p, name, sizeof name);
    snprintf(book, sizeof book, "01/%04d", registered.y % 10000);
    snprintf(hospital, sizeof hospital, "Bệnh viện Đa khoa %s", origin.province);
    snprintf(ethnicity, sizeof ethnicity, "%02u", (unsigned)p->ethnicity % 100);
    json_t *rec = json_object();
    json_object_set_new(rec, "so", json_sprintf("%u", 1 + sim_cs_below(h >> 20, 400)));
    json_object_set_new(rec, "quyenSo", json_string(book));
    json_object_set_new(rec, "trangSo", json_sprintf("%u", 1 + sim_cs_below(h >> 30, 200)));
    json_object_set_new(rec, "ngayDangKy", sim_cs_slashed(registered));
    json_object_set_new(rec, "loaiDangKy", json_string(kind));
    json_object_set_new(rec, "noiDangKy", sim_cs_office(&origin));
    json_object_set_new(rec, "nksHoTen", json_string(name));
    /* A sex recorded as unknown elsewhere is simply not written here: the ICD knows only 1 and 2. */
    if (p->sex == 1 || p->sex == 2)
        json_object_set_new(rec, "nksGioiTinh", json_sprintf("%u", (unsigned)p->sex));
    json_object_set_new(rec, "nksNgaySinh", sim_cs_dotted(born));
    json_object_set_new(rec, "nksNoiSinh", json_string(sim_cs_below(h >> 40, 100) < 80 ? hospital : "Tại nhà"));
    json_object_set_new(rec, "nksDanToc", json_string(ethnicity));
    json_object_set_new(rec, "nksQuocTich", json_string("VN"));
    json_object_set_new(rec, "nksSoDinhDanhCaNhan", json_string(p->id));
    sim_cs_parents(people, i, p, rec);
    return rec;
}

/* One marriage registration, from one side: the other side is a person of the population or made up. */
typedef struct sim_cs_marriage {
    sim_cs_who_t husband, wife;
    int husband_count, wife_count; /* soLanKH */
    sim_cs_date_t registered;
    unsigned so;
    const char *state; /* trangThai */
    sim_cs_place_t where;
    int spouse_dead;     /* the other side died: the survivor is widowed */
    uint64_t spouse_key; /* the other side, for their death registration */
    int spouse_born;
} sim_cs_marriage_t;

/* A second, earlier marriage that ended in divorce, for some adults. */
static int sim_cs_married_before(const sim_person_t *p, size_t i)
{
    return sim_cs_is_adult_in(p, SIM_CS_NOW_YEAR - 8) && sim_cs_below(sim_cs_hash(i, 6), 100) < 12;
}

/* The marriage between population persons i and j (j may be SIZE_MAX: someone made up), seen from i. */
static int sim_cs_current_marriage(const sim_cs_state_t *s, size_t i, sim_cs_marriage_t *m)
{
    const sim_person_t *p = sim_people_at(s->people, i);
    memset(m, 0, sizeof *m);
    int32_t j = s->spouse[i];
    uint64_t key =
        j >= 0 ? sim_cs_mix((uint64_t)(i < (size_t)j ? i : (size_t)j) << 23 ^ (uint64_t)(i < (size_t)j ? (size_t)j : i))
               : sim_cs_hash(i, 7);
    sim_cs_who_t me, other;
    sim_cs_who_of(p, &me);
    int younger_birth = p->birth.year;
    if (j >= 0) {
        const sim_person_t *q = sim_people_at(s->people, (size_t)j);
        sim_cs_who_of(q, &other);
        younger_birth = q->birth.year > younger_birth ? q->birth.year : younger_birth;
        m->spouse_dead = sim_cs_is_dead((size_t)j, q);
        m->spouse_key = (uint64_t)j;
        m->spouse_born = q->birth.year;
        sim_cs_place_of(&sim_people_at(s->people, i < (size_t)j ? i : (size_t)j)->permanent, &m->where);
        unsigned r = sim_cs_below(key, 100);
        m->state = r < 90 ? "HIEU_LUC" : "DA_LY_HON";
    } else {
        if (!sim_cs_is_adult_in(p, SIM_CS_NOW_YEAR) || sim_cs_below(key, 100) >= 55)
            return 0;
        int other_sex = me.sex == 1 ? 2 : 1;
        m->spouse_born = p->birth.year + (me.sex == 1 ? 3 : -3) - (int)sim_cs_below(key >> 5, 5);
        sim_cs_made_up(key >> 9, other_sex, m->spouse_born, &other);
        m->spouse_key = (uint64_t)1 << 62 | key;
        sim_cs_place_of(&p->permanent, &m->where);
        unsigned r = sim_cs_below(key >> 3, 100);
        m->state = r < 80 ? "HIEU_LUC" : r < 93 ? "DA_LY_HON" : r < 96 ? "DA_HUY" : "HIEU_LUC";
        m->spouse_dead = r >= 96;
    }
    int year = younger_birth + 20 + (int)sim_cs_below(key >> 13, 12);
    if (year > SIM_CS_NOW_YEAR)
        year = SIM_CS_NOW_YEAR;
    if (year - younger_birth < 18)
        return 0;
    m->registered = sim_cs_date_in(key >> 21, year);
    m->so = 1 + sim_cs_below(key >> 33, 300);
    m->husband = me.sex == 1 ? me : other;
    m->wife = me.sex == 1 ? other : me;
    int my_count = 1 + sim_cs_married_before(p, i);
    int other_count = j >= 0 ? 1 + sim_cs_married_before(sim_people_at(s->people, (size_t)j), (size_t)j) : 1;
    m->husband_count = me.sex == 1 ? my_count : other_count;
    m->wife_count = me.sex == 1 ? other_count : my_count;
    return 1;
}

/* The earlier, dissolved marriage of sim_cs_married_before(), with someone made up. */
static int sim_cs_earlier_marriage(const sim_cs_state_t *s, size_t i, const sim_cs_marriage_t *current,
                                   sim_cs_marriage_t *m)
{
    const sim_person_t *p = sim_people_at(s->people, i);
    if (!sim_cs_married_before(p, i))
        return 0;
    uint64_t key = sim_cs_hash(i, 8);
    int year = current->registered.y - 2 - (int)sim_cs_below(key, 5);
    if (year - p->birth.year < 18)
        return 0;
    memset(m, 0, sizeof *m);
    sim_cs_who_t me, other;
    sim_cs_who_of(p, &me);
    sim_cs_made_up(key >> 7, me.sex == 1 ? 2 : 1, p->birth.year + (int)sim_cs_below(key >> 3, 5) - 2, &other);
    m->husband = me.sex == 1 ? me : other;
    m->wife = me.sex == 1 ? other : me;
    m->husband_count = m->wife_count = 1;
    m->registered = sim_cs_date_in(key >> 15, year);
    m->so = 1 + sim_cs_below(key >> 27, 300);
    m->state = "DA_LY_HON";
    sim_cs_place_of(&p->permanent, &m->where);
    return 1;
}

static json_t *sim_cs_marriage_json(const sim_cs_marriage_t *m)
{
    char book[16];
    snprintf(book, sizeof book, "01/%04d", m->registered.y % 10000);
    json_t *rec = json_object();
    json_object_set_new(rec, "so", json_sprintf("%u", m->so));
    json_object_set_new(rec, "quyenSo", json_string(book));
    json_object_set_new(rec, "ngayDangKy", sim_cs_slashed(m->registered));
    json_object_set_new(rec, "noiDangKy", sim_cs_office(&m->where));
    const sim_cs_who_t *side[2] = {&m->husband, &m->wife};
    const char *prefix[2] = {"chong", "vo"};
    int count[2] = {m->husband_count, m->wife_count};
    for (int k = 0; k < 2; k++) {
        char key[32];
        snprintf(key, sizeof key, "%sHoTen", prefix[k]);
        json_object_set_new(rec, key, json_string(side[k]->name));
        snprintf(key, sizeof key, "%sNgaySinh", prefix[k]);
        if (side[k]->birth_known)
            json_object_set_new(rec, key, sim_cs_dotted(side[k]->birth));
        snprintf(key, sizeof key, "%sSoDDCN", prefix[k]);
        /* Someone outside the population has no number here: the field is left out. */
        if (side[k]->id[0] != '\0')
            json_object_set_new(rec, key, json_string(side[k]->id));
        snprintf(key, sizeof key, "%sSoLanKH", prefix[k]);
        json_object_set_new(rec, key, json_sprintf("%d", count[k]));
    }
    json_object_set_new(rec, "trangThai", json_string(m->state));
    return rec;
}

/* Newest first (ICD "KH"): the current marriage, then an earlier one. Returns how many. */
static size_t sim_cs_marriages(const sim_cs_state_t *s, size_t i, sim_cs_marriage_t out[2])
{
    if (!sim_cs_current_marriage(s, i, &out[0]))
        return 0;
    return 1 + (size_t)sim_cs_earlier_marriage(s, i, &out[0], &out[1]);
}

static json_t *sim_cs_basis(const char *loai, unsigned so, sim_cs_date_t registered)
{
    char book[16];
    snprintf(book, sizeof book, "01/%04d", registered.y % 10000);
    return json_pack("{s:s, s:o, s:s, s:o}", "loai", loai, "so", json_sprintf("%u", so), "quyenSo", book, "ngayDangKy",
                     sim_cs_slashed(registered));
}

/* The status is read off the registrations, newest first; an annulled marriage never happened. */
static const char *sim_cs_marital(const sim_cs_state_t *s, size_t i, json_t **basis)
{
    sim_cs_marriage_t m[2];
    size_t n = sim_cs_marriages(s, i, m);
    *basis = json_null();
    for (size_t k = 0; k < n; k++) {
        if (strcmp(m[k].state, "DA_HUY") == 0)
            continue;
        if (strcmp(m[k].state, "DA_LY_HON") == 0) {
            json_decref(*basis);
            *basis = sim_cs_basis("KH", m[k].so, m[k].registered);
            return "DA_LY_HON";
        }
        if (m[k].spouse_dead) {
            sim_cs_death_t d;
            sim_cs_death_of(m[k].spouse_key, m[k].spouse_born, &d);
            json_decref(*basis);
            *basis = sim_cs_basis("KT", d.so, d.registered);
            return "GOA";
        }
        json_decref(*basis);
        *basis = sim_cs_basis("KH", m[k].so, m[k].registered);
        return "DANG_CO_VO_CHONG";
    }
    return "CHUA_DANG_KY_KET_HON";
}

static json_t *sim_cs_marital_record(const sim_cs_state_t *s, size_t i, const sim_person_t *p)
{
    json_t *basis;
    const char *status = sim_cs_marital(s, i, &basis);
    char today[16];
    sim_cs_today(today);
    return json_pack("{s:s, s:s, s:s, s:o}", "soDDCN", p->id, "tinhTrangHonNhan", status, "tinhDenNgay", today, "canCu",
                     basis);
}

/* The `value` of a lookup of type t (index into sim_cs_types) about population person i. */
static json_t *sim_cs_population_value(const sim_cs_state_t *s, size_t i, int t)
{
    const sim_person_t *p = sim_people_at(s->people, i);
    json_t *value = json_array();
    if (t == 0 && sim_cs_is_registered_birth(p)) {
        json_array_append_new(value, sim_cs_birth_record(s->people, i, p));
    } else if (t == 1) {
        sim_cs_marriage_t m[2];
        size_t n = sim_cs_marriages(s, i, m);
        for (size_t k = 0; k < n; k++)
            json_array_append_new(value, sim_cs_marriage_json(&m[k]));
    } else if (t == 2 && sim_cs_is_dead(i, p)) {
        json_array_append_new(value, sim_cs_death_record(p, i));
    } else if (t == 3) {
        json_array_append_new(value, sim_cs_marital_record(s, i, p));
    }
    return value;
}

static json_t *sim_cs_icd_value(const sim_cs_icd_person_t *who, int t)
{
    if (who->records[t] == NULL && t == 3) {
        char today[16];
        sim_cs_today(today);
        return json_pack("[{s:s, s:s, s:s, s:n}]", "soDDCN", who->id, "tinhTrangHonNhan", "CHUA_DANG_KY_KET_HON",
                         "tinhDenNgay", today, "canCu");
    }
    if (who->records[t] == NULL)
        return json_array();
    const char *text = who->records[t];
    char today[16], buf[2048];
    const char *at = strstr(text, "@TODAY@");
    if (at != NULL) {
        sim_cs_today(today);
        snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - text), text, today, at + strlen("@TODAY@"));
        text = buf;
    }
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    return v ? v : json_array();
}

/* Every record the register holds about id for type t, and whether the person is known at all. */
static json_t *sim_cs_value(const sim_cs_state_t *s, const char *id, int t, char *name, size_t namelen)
{
    const sim_cs_icd_person_t *icd = sim_cs_icd_find(id);
    if (icd != NULL) {
        snprintf(name, namelen, "%s", icd->name);
        return sim_cs_icd_value(icd, t);
    }
    const sim_person_t *p = sim_people_find(s->people, id);
    if (p == NULL) {
        name[0] = '\0';
        return json_array();
    }
    sim_person_full_name(p, name, namelen);
    return sim_cs_population_value(s, (size_t)(p - sim_people_at(s->people, 0)), t);
}

/* ---- state ---- */

static void sim_cs_state_defaults(sim_cs_state_t *s)
{
    s->ntokens = s->next_token = 0;
    s->window_start_ms = 0;
    s->window_count = 0;
    memset(&s->c, 0, sizeof s->c);
    s->lifetime_s = SIM_CS_LIFETIME;
    s->per_second = SIM_CS_LIMIT;
    snprintf(s->user_name, sizeof s->user_name, "%s", SIM_CS_DEFAULT_USER);
}

/* Couples of the households: a Vợ or Chồng and the head, each at most once, so every pairing is mutual. */
static int sim_cs_pair_households(sim_cs_state_t *s)
{
    size_t n = sim_people_count(s->people);
    s->spouse = malloc(n * sizeof *s->spouse);
    if (s->spouse == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        s->spouse[i] = -1;
    for (size_t i = 0; i < n; i++) {
        const sim_person_t *p = sim_people_at(s->people, i);
        const char *rel = sim_person_relation(p);
        if (p->head < 0 || (strcmp(rel, "Vợ") != 0 && strcmp(rel, "Chồng") != 0))
            continue;
        if (s->spouse[i] < 0 && s->spouse[p->head] < 0 &&
            sim_cs_sex_of(p) != sim_cs_sex_of(sim_people_at(s->people, (size_t)p->head))) {
            s->spouse[i] = p->head;
            s->spouse[p->head] = (int32_t)i;
        }
    }
    return 0;
}

static const char *sim_cs_check_tables(void)
{
    for (size_t i = 0; i < SIM_COUNT(sim_cs_families); i++)
        if (!sim_text_is_nfc(sim_cs_families[i]))
            return sim_cs_families[i];
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < 5; i++)
            if (!sim_text_is_nfc(sim_cs_middles[k][i]))
                return sim_cs_middles[k][i];
        for (size_t i = 0; i < 8; i++)
            if (!sim_text_is_nfc(sim_cs_givens[k][i]))
                return sim_cs_givens[k][i];
    }
    for (size_t i = 0; i < SIM_COUNT(sim_cs_icd_people); i++)
        for (int t = 0; t < 4; t++)
            if (sim_cs_icd_people[i].records[t] && !sim_text_is_nfc(sim_cs_icd_people[i].records[t]))
                return sim_cs_icd_people[i].name;
    return NULL;
}

static void *sim_cs_state_new(const sim_people_t *people, const char *certs_dir)
{
    const char *bad = sim_cs_check_tables();
    if (bad != NULL) {
        fprintf(stderr, "lienthong-sim: civil-status: internal table entry is not NFC: %s\n", bad);
        return NULL;
    }
    sim_cs_state_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->people = people;
    sim_cs_state_defaults(s);
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/%s", certs_dir ? certs_dir : ".", SIM_CS_PASSWORD_FILE);
    size_t len = 0;
    if (sim_secret_load(path, (unsigned char *)s->password, sizeof s->password - 1, &len, err, sizeof err) < 0 ||
        sim_cs_pair_households(s) < 0) {
        fprintf(stderr, "lienthong-sim: civil-status: %s (certs/gen-pki.sh makes it)\n", err);
        free(s->spouse);
        free(s);
        return NULL;
    }
    s->password[len] = '\0';
    return s;
}

static void sim_cs_state_reset(void *state)
{
    sim_cs_state_defaults(state);
}

static void sim_cs_state_free(void *state)
{
    sim_cs_state_t *s = state;
    if (s == NULL)
        return;
    OPENSSL_cleanse(s->password, sizeof s->password);
    free(s->spouse);
    free(s);
}

/* ---- replies ---- */

static void sim_cs_reply(sim_reply_t *reply, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    reply->status = 200; /* every answer, errors included (ICD "Lookup") */
    reply->reason = "OK";
    reply->content_type = "application/json; charset=utf-8";
    if (text != NULL) {
        sim_buf_puts(&reply->body, text);
        free(text);
    }
}

static void sim_cs_error(sim_reply_t *reply, const char *code, const char *description)
{
    sim_cs_reply(reply, json_pack("{s:s, s:s, s:s, s:[]}", "status", "0", "errorCode", code, "errorDescription",
                                  description, "value"));
}

/* The session's answers have no value (ICD "Session"). */
static void sim_cs_session_error(sim_reply_t *reply, const char *code, const char *description)
{
    sim_cs_reply(reply,
                 json_pack("{s:s, s:s, s:s}", "status", "0", "errorCode", code, "errorDescription", description));
}

static json_t *sim_cs_envelope(json_t *value)
{
    return json_pack("{s:s, s:s, s:s, s:o}", "status", "1", "errorCode", "", "errorDescription", "", "value", value);
}

/* ---- the session ---- */

static void sim_cs_issue(sim_cs_state_t *s, sim_reply_t *reply)
{
    unsigned char raw[SIM_CS_TOKEN_BYTES];
    sim_cs_token_t *t = &s->tokens[s->next_token];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        sim_cs_session_error(reply, "HT-500", "Lỗi hệ thống");
        return;
    }
    for (size_t k = 0; k < sizeof raw; k++)
        snprintf(t->value + 2 * k, 3, "%02x", raw[k]);
    t->expires = time(NULL) + s->lifetime_s;
    s->next_token = (s->next_token + 1) % SIM_CS_MAX_TOKENS;
    if (s->ntokens < SIM_CS_MAX_TOKENS)
        s->ntokens++;
    s->c.issued++;
    char het_han[SIM_CLOCK_VN_LEN + 1];
    sim_clock_vn_stamp(t->expires, het_han);
    sim_cs_reply(reply, json_pack("{s:s, s:s, s:s}", "status", "1", "token", t->value, "hetHan", het_han));
}

static void sim_cs_token(sim_cs_state_t *s, const sim_request_t *req, const char *fault, sim_reply_t *reply)
{
    char err[256];
    json_t *body = sim_json_body_object(req, err, sizeof err);
    const char *user = json_string_value(json_object_get(body, "userName"));
    const char *password = json_string_value(json_object_get(body, "password"));
    if (strcmp(req->method, "POST") != 0 ||
        !sim_text_media_type_is(req->header(req, "Content-Type"), "application/json") || body == NULL || user == NULL ||
        password == NULL) {
        json_decref(body);
        sim_cs_session_error(reply, "HT-400", "Yêu cầu không hợp lệ: cần userName và password");
        return;
    }
    int ok = strcmp(user, s->user_name) == 0 && strcmp(password, s->password) == 0;
    json_decref(body);
    if (!ok || (fault && strcmp(fault, "wrong_account") == 0)) {
        s->c.wrong_account++;
        sim_cs_session_error(reply, "HT-401", "Tên đăng nhập hoặc mật khẩu không đúng");
        return;
    }
    sim_cs_issue(s, reply);
}

/* ---- the lookup ---- */

static int sim_cs_token_live(const sim_cs_state_t *s, const char *value)
{
    if (value == NULL)
        return 0;
    time_t now = time(NULL);
    for (size_t i = 0; i < s->ntokens; i++)
        if (strcmp(s->tokens[i].value, value) == 0)
            return now < s->tokens[i].expires; /* refused from hetHan on */
    return 0;
}

/* 20 lookups per second per unit; over that, 429 with an empty body (the sim serves one unit). */
static int sim_cs_admit(sim_cs_state_t *s)
{
    long long now = sim_clock_now_ms();
    if (now - s->window_start_ms >= 1000) {
        s->window_start_ms = now;
        s->window_count = 0;
    }
    return ++s->window_count <= s->per_second;
}

static int sim_cs_valid_id(const char *v)
{
    if (v == NULL || strlen(v) != 12 || strspn(v, "0123456789") != 12)
        return 0;
    int province = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
    return province >= 1 && province <= 96 && v[3] <= '3';
}

static int sim_cs_type_index(const char *loai)
{
    for (int t = 0; loai && t < 4; t++)
        if (strcmp(sim_cs_types[t], loai) == 0)
            return t;
    return -1;
}

/* The first thing wrong with a lookup body, in Vietnamese, or NULL. */
static const char *sim_cs_body_problem(const sim_request_t *req, json_t *body)
{
    static const char *const required[] = {"maDonVi", "maYeuCau", "maCanBo", "mucDich", "loaiTraCuu", "soDinhDanh"};
    if (!sim_text_media_type_is(req->header(req, "Content-Type"), "application/json"))
        return "Content-Type phải là application/json";
    if (body == NULL)
        return "Nội dung yêu cầu không phải JSON";
    for (size_t k = 0; k < SIM_COUNT(required); k++) {
        const json_t *v = json_object_get(body, required[k]);
        if (!json_is_string(v) || json_string_length(v) == 0)
            return "Thiếu trường bắt buộc";
    }
    const json_t *name = json_object_get(body, "hoTen");
    if (name != NULL && !json_is_string(name))
        return "hoTen phải là chuỗi";
    if (sim_cs_type_index(json_string_value(json_object_get(body, "loaiTraCuu"))) < 0)
        return "loaiTraCuu phải là KS, KH, KT hoặc TTHN";
    if (!sim_cs_valid_id(json_string_value(json_object_get(body, "soDinhDanh"))))
        return "soDinhDanh không hợp lệ";
    return NULL;
}

/* The ICD: the name must match when given, ignoring case but not diacritics; otherwise nothing is found. */
static int sim_cs_name_matches(const char *given, const char *registered)
{
    if (given == NULL)
        return 1;
    char *a = sim_text_fold(given), *b = sim_text_fold(registered);
    int same = a && b && *b && strcmp(a, b) == 0;
    free(a);
    free(b);
    return same;
}

/* Faults that replace a well-formed answer. Returns 1 when one applied. */
static int sim_cs_lookup_fault(const sim_cs_state_t *s, const char *fault, const char *asked, int t, json_t *value,
                               sim_reply_t *reply)
{
    if (fault == NULL)
        return 0;
    if (strcmp(fault, "HT-400") == 0)
        sim_cs_error(reply, "HT-400", "Yêu cầu không hợp lệ");
    else if (strcmp(fault, "HT-403") == 0)
        sim_cs_error(reply, "HT-403", "Đơn vị không được phép sử dụng loại tra cứu này");
    else if (strcmp(fault, "HT-500") == 0)
        sim_cs_error(reply, "HT-500", "Lỗi hệ thống");
    else if (strcmp(fault, "bad_json") == 0) {
        reply->status = 200;
        reply->reason = "OK";
        reply->content_type = "application/json; charset=utf-8";
        sim_buf_puts(&reply->body, "{\"status\":\"1\",\"value\":[{\"so\":");
    } else if (strcmp(fault, "no_status") == 0) {
        /* The ICD shows status and errorCode on every answer but never says they are always sent. */
        sim_cs_reply(reply, json_pack("{s:O}", "value", value));
    } else if (strcmp(fault, "wrong_person") == 0) {
        /* A well-formed answer of the same type about someone else: the first other person who has one. */
        json_t *other = json_array();
        size_t n = sim_people_count(s->people);
        for (size_t i = 0; i < n && i < 5000 && json_array_size(other) == 0; i++) {
            json_decref(other);
            other =
                strcmp(sim_people_at(s->people, i)->id, asked) != 0 ? sim_cs_population_value(s, i, t) : json_array();
        }
        sim_cs_reply(reply, sim_cs_envelope(other));
    } else {
        return 0;
    }
    return 1;
}

static void sim_cs_lookup(sim_cs_state_t *s, const sim_request_t *req, const char *fault, sim_reply_t *reply)
{
    if (strcmp(req->method, "POST") != 0) {
        sim_json_error(reply, 405, "Method Not Allowed", "POST");
        sim_reply_add_header(reply, "Allow", "POST");
        return;
    }
    if ((fault && strcmp(fault, "HT-401") == 0) || !sim_cs_token_live(s, req->header(req, "Authorization"))) {
        s->c.lookup_refused++;
        sim_cs_error(reply, "HT-401", "Phiên làm việc không hợp lệ hoặc đã hết hạn");
        return;
    }
    if ((fault && strcmp(fault, "rate_limit") == 0) || !sim_cs_admit(s)) {
        s->c.rate_limited++;
        reply->status = 429;
        reply->reason = "Too Many Requests";
        sim_reply_add_header(reply, "Retry-After", "1");
        return;
    }
    char err[256];
    json_t *body = sim_json_body_object(req, err, sizeof err);
    const char *problem = sim_cs_body_problem(req, body);
    if (problem != NULL) {
        json_decref(body);
        sim_cs_error(reply, "HT-400", problem);
        return;
    }
    int t = sim_cs_type_index(json_string_value(json_object_get(body, "loaiTraCuu")));
    char name[160], asked[13];
    snprintf(asked, sizeof asked, "%s", json_string_value(json_object_get(body, "soDinhDanh")));
    json_t *value = sim_cs_value(s, asked, t, name, sizeof name);
    if (!sim_cs_name_matches(json_string_value(json_object_get(body, "hoTen")), name))
        json_array_clear(value);
    json_decref(body);
    if (sim_cs_lookup_fault(s, fault, asked, t, value, reply)) {
        json_decref(value);
        return;
    }
    sim_cs_reply(reply, sim_cs_envelope(value));
}

/* ---- the service ---- */

static int sim_cs_operation_of(const sim_request_t *req)
{
    if (strcmp(req->path, SIM_CS_TOKEN_PATH) == 0)
        return SIM_CS_OP_TOKEN;
    if (strcmp(req->path, SIM_CS_LOOKUP_PATH) == 0)
        return SIM_CS_OP_LOOKUP;
    return -1;
}

static int sim_cs_owns_path(const char *path)
{
    return strcmp(path, SIM_CS_TOKEN_PATH) == 0 || strcmp(path, SIM_CS_LOOKUP_PATH) == 0;
}

static void sim_cs_handle(void *state, const sim_people_t *people, const sim_request_t *req, const char *fault,
                          sim_reply_t *reply)
{
    if (sim_cs_operation_of(req) == SIM_CS_OP_TOKEN)
        sim_cs_token(state, req, fault, reply);
    else
        sim_cs_lookup(state, req, fault, reply);
}

/* ---- --sample ---- */

static void sim_cs_sample_line(const sim_cs_state_t *s, const char *id, sim_buf_t *out)
{
    char name[160];
    json_t *line = json_object();
    json_object_set_new(line, "id", json_string(id));
    json_t *v[4];
    for (int t = 0; t < 4; t++)
        v[t] = sim_cs_value(s, id, t, name, sizeof name);
    json_object_set_new(line, "full_name", json_string(name));
    json_object_set_new(line, "birth", json_boolean(json_array_size(v[0]) > 0));
    json_object_set_new(line, "marriages", json_integer((json_int_t)json_array_size(v[1])));
    json_object_set_new(line, "death", json_boolean(json_array_size(v[2]) > 0));
    json_t *status = json_object_get(json_array_get(v[3], 0), "tinhTrangHonNhan");
    json_object_set(line, "marital_status", status ? status : json_null());
    for (int t = 0; t < 4; t++)
        json_decref(v[t]);
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    sim_buf_printf(out, "%s\n", text ? text : "{}");
    free(text);
    json_decref(line);
}

static void sim_cs_sample_buf(const sim_cs_state_t *s, size_t n, sim_buf_t *out)
{
    size_t k = 0;
    for (; k < n && k < SIM_COUNT(sim_cs_icd_people); k++)
        sim_cs_sample_line(s, sim_cs_icd_people[k].id, out);
    size_t rest = n - k;
    size_t *picks = rest ? calloc(rest, sizeof *picks) : NULL;
    size_t got = picks ? sim_people_sample(s->people, rest, picks) : 0;
    for (size_t j = 0; j < got; j++)
        sim_cs_sample_line(s, sim_people_at(s->people, picks[j])->id, out);
    free(picks);
}

int sim_civil_status_sample(const sim_people_t *people, size_t n, FILE *out)
{
    sim_cs_state_t s = {.people = people};
    if (sim_cs_pair_households(&s) < 0)
        return 1;
    sim_buf_t b;
    sim_buf_init(&b);
    sim_cs_sample_buf(&s, n, &b);
    int rc = b.len && fwrite(b.data, 1, b.len, out) != b.len ? 1 : 0;
    sim_buf_free(&b);
    free(s.spouse);
    return rc == 0 && fflush(out) == 0 ? 0 : 1;
}

/* ---- control verbs ---- */

static json_t *sim_cs_token_view(const sim_cs_state_t *s)
{
    time_t now = time(NULL);
    unsigned long long active = 0;
    for (size_t i = 0; i < s->ntokens; i++)
        active += now < s->tokens[i].expires;
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "user_name", s->user_name, "lifetime_s",
                     (json_int_t)s->lifetime_s, "issued", (json_int_t)s->c.issued, "active", (json_int_t)active,
                     "expired_on_demand", (json_int_t)s->c.expired_on_demand, "wrong_account",
                     (json_int_t)s->c.wrong_account, "lookup_refused", (json_int_t)s->c.lookup_refused, "rate_limited",
                     (json_int_t)s->c.rate_limited);
}

/* PUT token {"lifetime_s": N, "user_name": "..."}: checked whole before anything changes. */
static void sim_cs_put_token(sim_cs_state_t *s, const sim_request_t *req, sim_reply_t *reply)
{
    char err[256];
    json_t *doc = sim_json_body_object(req, err, sizeof err);
    const char *key, *problem = doc ? NULL : err;
    json_t *v;
    json_object_foreach(doc, key, v)
    {
        if (problem == NULL && strcmp(key, "lifetime_s") != 0 && strcmp(key, "user_name") != 0)
            problem = "unknown field (known: lifetime_s, user_name)";
    }
    json_t *life = json_object_get(doc, "lifetime_s"), *user = json_object_get(doc, "user_name");
    if (problem == NULL && life &&
        (!json_is_integer(life) || json_integer_value(life) < 1 || json_integer_value(life) > SIM_CS_LIFETIME_MAX))
        problem = "lifetime_s must be an integer from 1 to 86400";
    if (problem == NULL && user &&
        (!json_is_string(user) || json_string_length(user) == 0 || json_string_length(user) >= sizeof s->user_name))
        problem = "user_name must be a non-empty string";
    if (problem != NULL) {
        json_decref(doc);
        sim_json_error(reply, 400, "Bad Request", problem);
        return;
    }
    if (life)
        s->lifetime_s = (long)json_integer_value(life);
    if (user)
        snprintf(s->user_name, sizeof s->user_name, "%s", json_string_value(user));
    json_decref(doc);
    sim_json_reply(reply, 200, "OK", sim_cs_token_view(s));
}

/* POST expire: every live token reaches its hetHan now, as a token that simply ran out would. */
static void sim_cs_expire(sim_cs_state_t *s, sim_reply_t *reply)
{
    time_t now = time(NULL);
    unsigned long long n = 0;
    for (size_t i = 0; i < s->ntokens; i++)
        if (now < s->tokens[i].expires) {
            s->tokens[i].expires = now;
            n++;
        }
    s->c.expired_on_demand += n;
    sim_json_reply(reply, 200, "OK", json_pack("{s:I}", "expired", (json_int_t)n));
}

static void sim_cs_limit(sim_cs_state_t *s, const sim_request_t *req, sim_reply_t *reply)
{
    if (strcmp(req->method, "PUT") == 0) {
        char err[256];
        json_t *doc = sim_json_body_object(req, err, sizeof err);
        json_t *v = json_object_get(doc, "per_second");
        if (doc == NULL || json_object_size(doc) != 1 || !json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > SIM_CS_LIMIT_MAX) {
            json_decref(doc);
            sim_json_error(reply, 400, "Bad Request", "body must be {\"per_second\": 1-100000}");
            return;
        }
        s->per_second = (long)json_integer_value(v);
        json_decref(doc);
    }
    sim_json_reply(reply, 200, "OK", json_pack("{s:I}", "per_second", (json_int_t)s->per_second));
}

/* The value of a query parameter (raw: ids and types need no decoding), or NULL. */
static const char *sim_cs_query(const sim_request_t *req, const char *name, char *out, size_t len)
{
    size_t n = strlen(name);
    for (const char *p = req->query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t part = end ? (size_t)(end - p) : strlen(p);
        if (part > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            snprintf(out, len, "%.*s", (int)(part - n - 1), p + n + 1);
            return out;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

static void sim_cs_control_record(sim_cs_state_t *s, const sim_request_t *req, sim_reply_t *reply)
{
    char id[32], type[8], name[160];
    int t = sim_cs_type_index(sim_cs_query(req, "type", type, sizeof type));
    if (!sim_cs_valid_id(sim_cs_query(req, "id", id, sizeof id)) || t < 0) {
        sim_json_error(reply, 400, "Bad Request", "query must be id=<12 digits>&type=KS|KH|KT|TTHN");
        return;
    }
    sim_cs_reply(reply, sim_cs_envelope(sim_cs_value(s, id, t, name, sizeof name)));
}

static int sim_cs_control(void *state, const char *verb, const sim_request_t *req, sim_reply_t *reply)
{
    sim_cs_state_t *s = state;
    int get = strcmp(req->method, "GET") == 0;
    if (strcmp(verb, "token") == 0 && strcmp(req->method, "PUT") == 0) {
        sim_cs_put_token(s, req, reply);
    } else if (strcmp(verb, "token") == 0 && get) {
        sim_json_reply(reply, 200, "OK", sim_cs_token_view(s));
    } else if (strcmp(verb, "expire") == 0 && strcmp(req->method, "POST") == 0) {
        sim_cs_expire(s, reply);
    } else if (strcmp(verb, "limit") == 0 && (get || strcmp(req->method, "PUT") == 0)) {
        sim_cs_limit(s, req, reply);
    } else if (strcmp(verb, "sample") == 0 && get) {
        char n_text[16];
        const char *q = sim_cs_query(req, "n", n_text, sizeof n_text);
        long n = q && strspn(q, "0123456789") == strlen(q) && strlen(q) <= 6 ? atol(q) : 0;
        if (n < 1 || n > SIM_CS_SAMPLE_MAX) {
            sim_json_error(reply, 400, "Bad Request", "query must be n=N with N from 1 to 100000");
            return 0;
        }
        reply->status = 200;
        reply->reason = "OK";
        reply->content_type = "application/x-ndjson; charset=utf-8";
        sim_cs_sample_buf(s, (size_t)n, &reply->body);
    } else if (strcmp(verb, "record") == 0 && get) {
        sim_cs_control_record(s, req, reply);
    } else {
        return -1;
    }
    return 0;
}

const sim_service_t sim_civil_status_service = {
    .name = "civil-status",
    .path = SIM_CS_LOOKUP_PATH,
    .cert_name = "civil-status-sim",
    .default_port = 9107,
    /* The ICD: TLS 1.2+, server authentication only. */
    .client_auth = SIM_CLIENT_CERT_NONE,
    .ops = sim_cs_ops,
    .faults = sim_cs_faults,
    .owns_path = sim_cs_owns_path,
    .operation_of = sim_cs_operation_of,
    .handle = sim_cs_handle,
    .state_new = sim_cs_state_new,
    .state_reset = sim_cs_state_reset,
    .state_free = sim_cs_state_free,
    .control = sim_cs_control,
    .sample = sim_civil_status_sample,
};
