/*
 * sim_land: the national land database, as the land ICD describes it and
 * nothing more.
 *
 * Two lookups answer the same parcel document:
 *   GET /api/v1/thua-dat?maXa={5 digits}&soTo={sheet}&soThua={parcel}
 *   GET /api/v1/giay-chung-nhan/{soPhatHanh}   (the serial's space as %20)
 * Mutual TLS is the only authentication (the server requires a client
 * certificate of the national CA); X-Ma-Don-Vi, X-Ma-Can-Bo and X-Muc-Dich
 * must be on every call. Areas are strings with a decimal comma, terms are
 * "Lâu dài" or dd/MM/yyyy, and some parcels carry land-use codes the ICD's
 * list does not name ("Unknown codes may appear"). Above 10 requests/s per
 * unit the answer is 429 with Retry-After. Every night from 23:00 to 05:00
 * UTC+07:00 the database synchronises and answers an HTML 503 without
 * Retry-After; tests cannot wait for the night, so the window can be forced
 * closed or open over the control API (or --window).
 *
 * The parcels are a pure function of (commune, sheet, parcel): a commune of
 * the new (2025) province table, sheets 1-40, parcels 1-500, of which about
 * 85% exist. Certificate serials map back to their parcel without a table:
 * the 8 digits are an invertible affine map of the parcel's index and the
 * certificate's generation (0 the current one, 1-2 replaced ones). Holders
 * are the shared synthetic people, so a holder's number is a real one in the
 * population simulator. The ICD's own example exists exactly as printed.
 */
#include "sim_land.h"
#include "sim_json.h"
#include "sim_perm.h"
#include "sim_text.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_LAND_PARCEL_PATH "/api/v1/thua-dat"
#define SIM_LAND_CERT_PATH   "/api/v1/giay-chung-nhan/"
#define SIM_LAND_SHEETS      40
#define SIM_LAND_PARCELS     500
#define SIM_LAND_GENERATIONS 3
#define SIM_LAND_LIMIT       10 /* requests per second per unit (ICD "Limits") */
#define SIM_LAND_LIMIT_MAX   100000
#define SIM_LAND_UNITS       16
#define SIM_LAND_SAMPLE_MAX  10000
#define SIM_LAND_WINDOW_FROM (23 * 3600) /* 23:00 UTC+07:00 */
#define SIM_LAND_WINDOW_TO   (5 * 3600)  /* 05:00 UTC+07:00 */
#define SIM_LAND_FAULT_RETRY "2"         /* the DD-429 fault's Retry-After, in seconds */
#define SIM_LAND_MAX_USES    3
#define SIM_LAND_MAX_CERTS   SIM_LAND_GENERATIONS

#define SIM_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const sim_land_ops[] = {"thua-dat", "giay-chung-nhan", NULL};
static const char *const sim_land_faults[] = {"DD-400", "DD-403",   "DD-404",       "DD-429",
                                              "window", "bad_area", "wrong_parcel", NULL};

/* The ICD's sample response, byte for byte as icd/land.md prints it. */
static const char sim_land_icd_example[] =
    "{\n"
    "  \"thuaDat\": {\n"
    "    \"maXa\": \"12616\", \"soHieuToBanDo\": \"12\", \"soThuTuThua\": \"345\",\n"
    "    \"dienTich\": \"152,5\",\n"
    "    \"diaChi\": \"Thôn Đông, xã Vũ Tiên, tỉnh Hưng Yên\",\n"
    "    \"mucDichSuDung\": [\n"
    "      {\"kyHieu\": \"ONT\", \"dienTich\": \"100\", \"thoiHan\": \"Lâu dài\"},\n"
    "      {\"kyHieu\": \"CLN\", \"dienTich\": \"52,5\", \"thoiHan\": \"15/10/2064\"}\n"
    "    ],\n"
    "    \"nguonGoc\": \"Công nhận quyền như giao đất có thu tiền sử dụng đất\"\n"
    "  },\n"
    "  \"giayChungNhan\": [\n"
    "    {\"soPhatHanh\": \"DA 01234567\", \"soVaoSo\": \"CS 00123\", \"ngayCap\": \"20/05/2021\", \"coQuanCap\": "
    "\"Sở Tài nguyên và Môi trường tỉnh Thái Bình\",\n"
    "     \"trangThai\": \"HIEU_LUC\",\n"
    "     \"chuSuDung\": [{\"loai\": \"VoChong\", \"hoTen\": \"Trần Văn Đức\", \"soDinhDanh\": \"001080012345\"},\n"
    "                   {\"loai\": \"VoChong\", \"hoTen\": \"Nguyễn Thị Hồng Nhung\", \"soDinhDanh\": "
    "\"034195001234\"}],\n"
    "     \"hanCheQuyen\": [{\"loai\": \"THE_CHAP\", \"noiDung\": \"Thế chấp tại Ngân hàng TMCP Ngoại thương Việt "
    "Nam - CN Thái Bình\",\n"
    "                      \"tuNgay\": \"01/06/2023\", \"denNgay\": null}]}\n"
    "  ]\n"
    "}\n";
#define SIM_LAND_ICD_COMMUNE "12616"
#define SIM_LAND_ICD_SHEET   12
#define SIM_LAND_ICD_PARCEL  345
#define SIM_LAND_ICD_SERIAL  "DA 01234567"

/* ---- code tables ---- */

/* Land-use categories the ICD lists, by what a parcel of each kind holds, and codes it does not list. */
static const char *const sim_land_rural_codes[] = {"LUC", "LUK", "LUN", "BHK", "NHK", "CLN", "NTS", "RSX"};
static const char *const sim_land_other_codes[] = {"RPH", "RDD", "LMU", "NKH", "TSC", "DGD",
                                                   "DYT", "DGT", "SKC", "TMD", "BCS"};
/* Real categories of the national table that the ICD's list leaves out: defence, security, cemetery, river. */
static const char *const sim_land_unlisted_codes[] = {"CQP", "CAN", "NTD", "SON", "MNC", "PNK"};

static const char *const sim_land_origins[] = {
    "Công nhận quyền như giao đất có thu tiền sử dụng đất",
    "Công nhận quyền như giao đất không thu tiền sử dụng đất",
    "Nhà nước giao đất có thu tiền sử dụng đất",
    "Nhà nước giao đất không thu tiền sử dụng đất",
    "Nhận chuyển nhượng đất được công nhận quyền như giao đất có thu tiền sử dụng đất",
    "Nhà nước cho thuê đất trả tiền thuê đất hằng năm",
};
static const char *const sim_land_banks[] = {
    "Ngân hàng TMCP Ngoại thương Việt Nam", "Ngân hàng Nông nghiệp và Phát triển Nông thôn Việt Nam",
    "Ngân hàng TMCP Công thương Việt Nam",  "Ngân hàng TMCP Đầu tư và Phát triển Việt Nam",
    "Ngân hàng Chính sách xã hội",
};
static const char *const sim_land_companies[] = {
    "Công ty cổ phần phần mềm Hà Thành", "Công ty TNHH Nông sản Minh Khang", "Hợp tác xã nông nghiệp Đông Phú",
    "Công ty cổ phần Xây dựng Đại Việt", "Công ty TNHH Thương mại Sao Mai",
};
/* Serial prefixes: the current form's series, then older ones. */
static const char *const sim_land_series[] = {"DA", "DB", "DC", "CS", "CT", "CY", "BK", "BY", "AO"};

enum { SIM_LAND_CA_NHAN, SIM_LAND_VO_CHONG, SIM_LAND_HO_GIA_DINH, SIM_LAND_TO_CHUC, SIM_LAND_CONG_DONG };
static const char *const sim_land_holder_kinds[] = {"CaNhan", "VoChong", "HoGiaDinh", "ToChuc", "CongDong"};
static const char *const sim_land_restriction_kinds[] = {"THE_CHAP", "KE_BIEN", "TRANH_CHAP", "KHAC"};

/* ---- randomness and the serial scheme ---- */

static uint64_t sim_land_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned sim_land_below(uint64_t *s, unsigned n)
{
    return (unsigned)(sim_land_rng(s) % n);
}

/* A private stream per (parcel index, purpose), so adding a field never changes the others. */
static uint64_t sim_land_stream(uint64_t index, unsigned salt)
{
    uint64_t s = (index << 8) ^ salt ^ 0x4C414E44ull << 40; /* "LAND" */
    sim_land_rng(&s);
    return s;
}

/* 8 digits; the multiplier is odd and not a multiple of 5: invertible modulo 10^8. */
static sim_perm_t sim_land_serials(void)
{
    return sim_perm_make(100000000ull, 36912757ull, 24681357ull);
}

/* ---- communes: the new province table, 30 communes each ---- */

static size_t sim_land_communes(void)
{
    return sim_places_new_count() * SIM_PLACES_COMMUNES;
}

static sim_address_t sim_land_commune_address(size_t ci)
{
    uint64_t s = sim_land_stream(ci, 1);
    sim_address_t a = {.shape = SIM_ADDR_NEW,
                       .province = (uint8_t)(ci / SIM_PLACES_COMMUNES),
                       .commune = (uint8_t)(ci % SIM_PLACES_COMMUNES),
                       .urban = sim_land_below(&s, 3) == 0};
    return a;
}

static void sim_land_commune_code(size_t ci, char out[6])
{
    sim_address_t a = sim_land_commune_address(ci);
    sim_address_view_t v;
    sim_address_view(&a, &v);
    memcpy(out, v.commune_code, 6);
}

/* The commune index of a 5-digit code, or -1. */
static long sim_land_commune_index(const char *code)
{
    for (size_t ci = 0; ci < sim_land_communes(); ci++) {
        char c[6];
        sim_land_commune_code(ci, c);
        if (strcmp(c, code) == 0)
            return (long)ci;
    }
    return -1;
}

/* ---- parcels ---- */

typedef struct sim_land_use {
    const char *code;
    long long centi; /* area in hundredths of a m² */
    int permanent;
    sim_date_t until;
} sim_land_use_t;

typedef struct sim_land_holder {
    int kind;
    char name[256];
    char id[16];         /* soDinhDanh, "" for none */
    char enterprise[16]; /* maSoDoanhNghiep, "" for none */
} sim_land_holder_t;

typedef struct sim_land_restriction {
    int kind;
    char text[300];
    sim_date_t from, until; /* until.year 0: none (null) */
} sim_land_restriction_t;

typedef struct sim_land_cert {
    char serial[16];
    char book[16]; /* soVaoSo, "" when not recorded */
    sim_date_t issued;
    char issuer[200];
    const char *status;
    sim_land_holder_t holders[2];
    int nholders;
    sim_land_restriction_t restrictions[2];
    int nrestrictions;
} sim_land_cert_t;

typedef struct sim_land_parcel {
    char commune[6];
    int sheet, parcel;
    long long centi;
    char address[320];
    const char *origin; /* NULL: not recorded */
    sim_land_use_t uses[SIM_LAND_MAX_USES];
    int nuses;
    sim_land_cert_t certs[SIM_LAND_MAX_CERTS];
    int ncerts;
} sim_land_parcel_t;

static uint64_t sim_land_index(size_t ci, int sheet, int parcel)
{
    return ((uint64_t)ci * SIM_LAND_SHEETS + (uint64_t)(sheet - 1)) * SIM_LAND_PARCELS + (uint64_t)(parcel - 1);
}

static int sim_land_exists(size_t ci, int sheet, int parcel)
{
    if (ci >= sim_land_communes() || sheet < 1 || sheet > SIM_LAND_SHEETS || parcel < 1 || parcel > SIM_LAND_PARCELS)
        return 0;
    uint64_t s = sim_land_stream(sim_land_index(ci, sheet, parcel), 2);
    return sim_land_below(&s, 100) < 85;
}

/* How many certificates the parcel has had: 0 (never certified), 1, or 2-3 with replaced ones. */
static int sim_land_cert_count(uint64_t index)
{
    uint64_t s = sim_land_stream(index, 3);
    unsigned r = sim_land_below(&s, 100);
    return r < 5 ? 0 : r < 75 ? 1 : r < 95 ? 2 : 3;
}

static void sim_land_serial_of(uint64_t index, int generation, char out[16])
{
    uint64_t k = index * SIM_LAND_GENERATIONS + (uint64_t)generation;
    sim_perm_t serials = sim_land_serials();
    uint64_t m = sim_perm_apply(&serials, k);
    uint64_t s = sim_land_stream(k, 4);
    /* The current certificate carries a current series, replaced ones an older series. */
    size_t n = generation == 0 ? 6 : SIM_COUNT(sim_land_series);
    snprintf(out, 16, "%s %08llu", sim_land_series[sim_land_below(&s, (unsigned)n)], (unsigned long long)m);
}

static sim_date_t sim_land_date(uint64_t *s, int from_year, int to_year)
{
    sim_date_t d;
    d.year = (uint16_t)(from_year + (int)sim_land_below(s, (unsigned)(to_year - from_year + 1)));
    d.month = (uint8_t)(1 + sim_land_below(s, 12));
    d.day = (uint8_t)(1 + sim_land_below(s, 28));
    return d;
}

static void sim_land_make_uses(uint64_t *s, int urban, int unlisted, sim_land_parcel_t *p)
{
    int residential = sim_land_below(s, 100) < (urban ? 90 : 60);
    p->nuses = 0;
    if (residential) {
        sim_land_use_t *u = &p->uses[p->nuses++];
        u->code = urban ? "ODT" : "ONT";
        u->centi = (long long)(40 + sim_land_below(s, 260)) * 100 + (sim_land_below(s, 2) ? 50 : 0);
        u->permanent = 1;
    }
    int extra = residential ? (int)sim_land_below(s, 2) : 1 + (int)sim_land_below(s, 2);
    for (int i = 0; i < extra && p->nuses < SIM_LAND_MAX_USES; i++) {
        sim_land_use_t *u = &p->uses[p->nuses++];
        const int other = sim_land_below(s, 5) == 0;
        u->code = other ? sim_land_other_codes[sim_land_below(s, SIM_COUNT(sim_land_other_codes))]
                        : sim_land_rural_codes[sim_land_below(s, SIM_COUNT(sim_land_rural_codes))];
        u->centi = (long long)(50 + sim_land_below(s, 3000)) * 100 + (long long)sim_land_below(s, 4) * 25;
        u->permanent = sim_land_below(s, 4) == 0;
        u->until = sim_land_date(s, 2030, 2075);
    }
    if (unlisted) {
        sim_land_use_t *u = &p->uses[p->nuses < SIM_LAND_MAX_USES ? p->nuses++ : SIM_LAND_MAX_USES - 1];
        u->code = sim_land_unlisted_codes[sim_land_below(s, SIM_COUNT(sim_land_unlisted_codes))];
        u->centi = (long long)(20 + sim_land_below(s, 500)) * 100 + 10;
        u->permanent = 1;
    }
    p->centi = 0;
    for (int i = 0; i < p->nuses; i++)
        p->centi += p->uses[i].centi;
}

/* The ICD README's rule: 10 - (digits 1-9 weighted 31,29,23,19,17,13,7,5,3) mod 11; 10 is never valid. */
static void sim_land_enterprise_code(uint64_t *s, char out[16])
{
    static const int w[9] = {31, 29, 23, 19, 17, 13, 7, 5, 3};
    for (;;) {
        int sum = 0;
        out[0] = '0';
        out[1] = (char)('1' + sim_land_below(s, 9));
        for (int i = 2; i < 9; i++)
            out[i] = (char)('0' + sim_land_below(s, 10));
        for (int i = 0; i < 9; i++)
            sum += w[i] * (out[i] - '0');
        int check = 10 - sum % 11;
        if (check == 10)
            continue;
        out[9] = (char)('0' + check % 10);
        out[10] = '\0';
        return;
    }
}

static void sim_land_person(const sim_people_t *people, uint64_t *s, sim_land_holder_t *h, int kind)
{
    const sim_person_t *p = sim_people_at(people, sim_land_below(s, (unsigned)sim_people_count(people)));
    h->kind = kind;
    sim_person_full_name(p, h->name, sizeof h->name);
    snprintf(h->id, sizeof h->id, "%s", p->id);
    h->enterprise[0] = '\0';
}

static void sim_land_make_holders(const sim_people_t *people, uint64_t *s, const char *hamlet, sim_land_cert_t *c)
{
    unsigned r = sim_land_below(s, 100);
    int kind = r < 35   ? SIM_LAND_CA_NHAN
               : r < 70 ? SIM_LAND_VO_CHONG
               : r < 90 ? SIM_LAND_HO_GIA_DINH
               : r < 98 ? SIM_LAND_TO_CHUC
                        : SIM_LAND_CONG_DONG;
    c->nholders = 1;
    sim_land_holder_t *h = &c->holders[0];
    memset(c->holders, 0, sizeof c->holders);
    switch (kind) {
    case SIM_LAND_VO_CHONG:
        sim_land_person(people, s, &c->holders[0], kind);
        sim_land_person(people, s, &c->holders[1], kind);
        c->nholders = 2;
        break;
    case SIM_LAND_TO_CHUC:
        /* An organisation has maSoDoanhNghiep instead of soDinhDanh. */
        h->kind = kind;
        snprintf(h->name, sizeof h->name, "%s", sim_land_companies[sim_land_below(s, SIM_COUNT(sim_land_companies))]);
        sim_land_enterprise_code(s, h->enterprise);
        break;
    case SIM_LAND_CONG_DONG:
        h->kind = kind;
        snprintf(h->name, sizeof h->name, "Cộng đồng dân cư %s", hamlet);
        break;
    default:
        sim_land_person(people, s, h, kind);
    }
}

static void sim_land_make_restrictions(uint64_t *s, sim_date_t issued, sim_land_cert_t *c)
{
    unsigned r = sim_land_below(s, 100);
    c->nrestrictions = 0;
    if (r >= 30)
        return;
    sim_land_restriction_t *x = &c->restrictions[c->nrestrictions++];
    x->kind = r < 20 ? 0 : r < 24 ? 1 : r < 27 ? 2 : 3;
    x->from = sim_land_date(s, issued.year < 2024 ? issued.year + 1 : 2025, 2025);
    x->until.year = 0;
    if (sim_land_below(s, 3) == 0)
        x->until = sim_land_date(s, 2026, 2035);
    switch (x->kind) {
    case 0:
        snprintf(x->text, sizeof x->text, "Thế chấp tại %s",
                 sim_land_banks[sim_land_below(s, SIM_COUNT(sim_land_banks))]);
        break;
    case 1:
        snprintf(x->text, sizeof x->text, "%s", "Kê biên theo quyết định của cơ quan thi hành án dân sự");
        break;
    case 2:
        snprintf(x->text, sizeof x->text, "%s", "Đang có tranh chấp về ranh giới thửa đất");
        break;
    default:
        snprintf(x->text, sizeof x->text, "%s", "Hạn chế khác theo quy hoạch sử dụng đất");
    }
}

static void sim_land_make_cert(const sim_people_t *people, uint64_t index, int generation,
                               const sim_province_t *province, const char *hamlet, sim_land_cert_t *c)
{
    uint64_t s = sim_land_stream(index * SIM_LAND_GENERATIONS + (uint64_t)generation, 5);
    memset(c, 0, sizeof *c);
    sim_land_serial_of(index, generation, c->serial);
    /* Newest first: generation 0 is the latest; older ones were issued earlier, in their own decade. */
    int newest = 2025 - generation * 10, oldest = newest - 9;
    c->issued = sim_land_date(&s, oldest, newest);
    if (c->issued.year >= 2005 || sim_land_below(&s, 2) == 0)
        snprintf(c->book, sizeof c->book, "%s %05u", c->issued.year >= 2010 ? "CS" : "CH",
                 1 + sim_land_below(&s, 99999));
    const char *kind = province->is_city ? "thành phố" : "tỉnh";
    if (c->issued.year >= 2025 && c->issued.month >= 3)
        snprintf(c->issuer, sizeof c->issuer, "Sở Nông nghiệp và Môi trường %s %s", kind, province->name);
    else
        snprintf(c->issuer, sizeof c->issuer, "Sở Tài nguyên và Môi trường %s %s", kind, province->name);
    c->status = generation > 0 ? "DA_CAP_DOI" : sim_land_below(&s, 100) < 3 ? "DA_THU_HOI" : "HIEU_LUC";
    sim_land_make_holders(people, &s, hamlet, c);
    sim_land_make_restrictions(&s, c->issued, c);
}

/* Parcel (ci, sheet, parcel), which must exist. */
static void sim_land_make(const sim_people_t *people, size_t ci, int sheet, int parcel, sim_land_parcel_t *p)
{
    memset(p, 0, sizeof *p);
    uint64_t index = sim_land_index(ci, sheet, parcel);
    uint64_t s = sim_land_stream(index, 6);
    sim_land_commune_code(ci, p->commune);
    p->sheet = sheet;
    p->parcel = parcel;
    sim_address_t a = sim_land_commune_address(ci);
    a.street = (uint8_t)sim_land_below(&s, 250);
    a.house = (uint16_t)(1 + sim_land_below(&s, 300));
    sim_address_view_t v;
    sim_address_view(&a, &v);
    snprintf(p->address, sizeof p->address, "%s", v.text);
    char hamlet[40];
    snprintf(hamlet, sizeof hamlet, "Thôn %u", (unsigned)(a.house % 20 + 1));
    p->origin = sim_land_below(&s, 10) == 0 ? NULL : sim_land_origins[sim_land_below(&s, SIM_COUNT(sim_land_origins))];
    int unlisted = sim_land_below(&s, 10) == 0;
    sim_land_make_uses(&s, a.urban, unlisted, p);
    p->ncerts = sim_land_cert_count(index);
    const sim_province_t *province = sim_places_new(a.province);
    for (int g = 0; g < p->ncerts; g++)
        sim_land_make_cert(people, index, g, province, hamlet, &p->certs[g]);
}

static int sim_land_has_unlisted(const sim_land_parcel_t *p)
{
    for (int i = 0; i < p->nuses; i++)
        for (size_t k = 0; k < SIM_COUNT(sim_land_unlisted_codes); k++)
            if (strcmp(p->uses[i].code, sim_land_unlisted_codes[k]) == 0)
                return 1;
    return 0;
}

/* ---- the document ---- */

/* An area as the ICD writes it: digits, a decimal comma only when there is a fraction, no thousands separator. */
static void sim_land_area(long long centi, int point, char out[32])
{
    long long whole = centi / 100, frac = centi % 100;
    char sep = point ? '.' : ',';
    if (frac == 0)
        snprintf(out, 32, "%lld", whole);
    else if (frac % 10 == 0)
        snprintf(out, 32, "%lld%c%lld", whole, sep, frac / 10);
    else
        snprintf(out, 32, "%lld%c%02lld", whole, sep, frac);
}

static json_t *sim_land_date_json(sim_date_t d)
{
    if (d.year == 0)
        return json_null();
    char t[16];
    snprintf(t, sizeof t, "%02u/%02u/%04u", (unsigned)d.day % 100, (unsigned)d.month % 100, (unsigned)d.year % 10000);
    return json_string(t);
}

static json_t *sim_land_cert_json(const sim_land_cert_t *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "soPhatHanh", json_string(c->serial));
    if (c->book[0] != '\0')
        json_object_set_new(o, "soVaoSo", json_string(c->book));
    json_object_set_new(o, "ngayCap", sim_land_date_json(c->issued));
    json_object_set_new(o, "coQuanCap", json_string(c->issuer));
    json_object_set_new(o, "trangThai", json_string(c->status));
    json_t *holders = json_array();
    for (int i = 0; i < c->nholders; i++) {
        const sim_land_holder_t *h = &c->holders[i];
        json_t *j = json_pack("{s:s, s:s}", "loai", sim_land_holder_kinds[h->kind], "hoTen", h->name);
        if (h->id[0] != '\0')
            json_object_set_new(j, "soDinhDanh", json_string(h->id));
        if (h->enterprise[0] != '\0')
            json_object_set_new(j, "maSoDoanhNghiep", json_string(h->enterprise));
        json_array_append_new(holders, j);
    }
    json_object_set_new(o, "chuSuDung", holders);
    json_t *limits = json_array();
    for (int i = 0; i < c->nrestrictions; i++) {
        const sim_land_restriction_t *x = &c->restrictions[i];
        json_array_append_new(limits, json_pack("{s:s, s:s, s:o, s:o}", "loai", sim_land_restriction_kinds[x->kind],
                                                "noiDung", x->text, "tuNgay", sim_land_date_json(x->from), "denNgay",
                                                sim_land_date_json(x->until)));
    }
    json_object_set_new(o, "hanCheQuyen", limits);
    return o;
}

/* The ICD's document for p. bad_area writes its areas with a decimal point, as the ICD says they never are. */
static json_t *sim_land_document(const sim_land_parcel_t *p, int bad_area)
{
    char area[32], sheet[16], parcel[16];
    sim_land_area(p->centi, bad_area, area);
    snprintf(sheet, sizeof sheet, "%d", p->sheet);
    snprintf(parcel, sizeof parcel, "%d", p->parcel);
    json_t *t = json_pack("{s:s, s:s, s:s, s:s, s:s}", "maXa", p->commune, "soHieuToBanDo", sheet, "soThuTuThua",
                          parcel, "dienTich", area, "diaChi", p->address);
    json_t *uses = json_array();
    for (int i = 0; i < p->nuses; i++) {
        const sim_land_use_t *u = &p->uses[i];
        sim_land_area(u->centi, bad_area, area);
        json_array_append_new(uses, json_pack("{s:s, s:s, s:o}", "kyHieu", u->code, "dienTich", area, "thoiHan",
                                              u->permanent ? json_string("Lâu dài") : sim_land_date_json(u->until)));
    }
    json_object_set_new(t, "mucDichSuDung", uses);
    if (p->origin != NULL)
        json_object_set_new(t, "nguonGoc", json_string(p->origin));
    json_t *certs = json_array();
    for (int g = 0; g < p->ncerts; g++)
        json_array_append_new(certs, sim_land_cert_json(&p->certs[g]));
    return json_pack("{s:o, s:o}", "thuaDat", t, "giayChungNhan", certs);
}

/* ---- lookups ---- */

typedef struct sim_land_key {
    char commune[6];
    int sheet, parcel;
} sim_land_key_t;

static int sim_land_is_icd_example(const sim_land_key_t *k)
{
    return strcmp(k->commune, SIM_LAND_ICD_COMMUNE) == 0 && k->sheet == SIM_LAND_ICD_SHEET &&
           k->parcel == SIM_LAND_ICD_PARCEL;
}

/* bad_area on the ICD's example: its areas with a decimal point instead of the comma. */
static void sim_land_point_area(json_t *obj)
{
    const char *v = json_string_value(json_object_get(obj, "dienTich"));
    char *t = v ? strdup(v) : NULL;
    char *comma = t ? strchr(t, ',') : NULL;
    if (comma != NULL) {
        *comma = '.';
        json_object_set_new(obj, "dienTich", json_string(t));
    }
    free(t);
}

static json_t *sim_land_icd_document(int bad_area)
{
    json_t *doc = json_loads(sim_land_icd_example, 0, NULL);
    json_t *t = json_object_get(doc, "thuaDat");
    size_t i;
    json_t *u;
    if (bad_area) {
        sim_land_point_area(t);
        json_array_foreach(json_object_get(t, "mucDichSuDung"), i, u) sim_land_point_area(u);
    }
    return doc;
}

/* The document of parcel k, or NULL when there is no such parcel. */
static json_t *sim_land_find(const sim_people_t *people, const sim_land_key_t *k, int bad_area)
{
    if (sim_land_is_icd_example(k))
        return sim_land_icd_document(bad_area);
    long ci = sim_land_commune_index(k->commune);
    if (ci < 0 || !sim_land_exists((size_t)ci, k->sheet, k->parcel))
        return NULL;
    sim_land_parcel_t p;
    sim_land_make(people, (size_t)ci, k->sheet, k->parcel, &p);
    return sim_land_document(&p, bad_area);
}

/* The parcel a serial belongs to; 0 when no certificate has this serial. */
static int sim_land_serial_parcel(const char *serial, sim_land_key_t *k)
{
    if (strcmp(serial, SIM_LAND_ICD_SERIAL) == 0) {
        snprintf(k->commune, sizeof k->commune, "%s", SIM_LAND_ICD_COMMUNE);
        k->sheet = SIM_LAND_ICD_SHEET;
        k->parcel = SIM_LAND_ICD_PARCEL;
        return 1;
    }
    if (strlen(serial) != 11)
        return 0; /* this database's own serials have 8 digits */
    uint64_t m = strtoull(serial + 3, NULL, 10);
    sim_perm_t serials = sim_land_serials();
    uint64_t key = sim_perm_invert(&serials, m);
    uint64_t index = key / SIM_LAND_GENERATIONS;
    int generation = (int)(key % SIM_LAND_GENERATIONS);
    uint64_t per_commune = (uint64_t)SIM_LAND_SHEETS * SIM_LAND_PARCELS;
    size_t ci = (size_t)(index / per_commune);
    int sheet = (int)(index % per_commune / SIM_LAND_PARCELS) + 1, parcel = (int)(index % SIM_LAND_PARCELS) + 1;
    if (!sim_land_exists(ci, sheet, parcel) || generation >= sim_land_cert_count(index))
        return 0;
    char expected[16];
    sim_land_serial_of(index, generation, expected);
    if (strcmp(expected, serial) != 0)
        return 0;
    sim_land_commune_code(ci, k->commune);
    k->sheet = sheet;
    k->parcel = parcel;
    return 1;
}

/* ---- state: the rate limit per unit, the window mode ---- */

typedef enum { SIM_LAND_WINDOW_CLOCK, SIM_LAND_WINDOW_CLOSED, SIM_LAND_WINDOW_OPEN } sim_land_window_t;
static const char *const sim_land_window_names[] = {"clock", "closed", "open"};

typedef struct sim_land_unit {
    char code[65];
    int64_t *stamps; /* ring of the last `limit` accepted requests, in ms */
    size_t next, count;
} sim_land_unit_t;

typedef struct sim_land_state {
    const sim_people_t *people;
    long limit;
    sim_land_unit_t units[SIM_LAND_UNITS];
    sim_land_window_t window, window_at_start;
} sim_land_state_t;

static int64_t sim_land_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sim_land_units_clear(sim_land_state_t *st)
{
    for (size_t i = 0; i < SIM_LAND_UNITS; i++) {
        free(st->units[i].stamps);
        memset(&st->units[i], 0, sizeof st->units[i]);
    }
}

/* The unit's ring, made on first use; a 17th unit takes over the slot its name hashes to. */
static sim_land_unit_t *sim_land_unit(sim_land_state_t *st, const char *code)
{
    size_t h = 5381;
    for (const char *p = code; *p; p++)
        h = h * 33 + (unsigned char)*p;
    for (size_t i = 0; i < SIM_LAND_UNITS; i++)
        if (strcmp(st->units[i].code, code) == 0 && st->units[i].stamps != NULL)
            return &st->units[i];
    sim_land_unit_t *u = NULL;
    for (size_t i = 0; i < SIM_LAND_UNITS && u == NULL; i++)
        if (st->units[i].stamps == NULL)
            u = &st->units[i];
    if (u == NULL)
        u = &st->units[h % SIM_LAND_UNITS];
    free(u->stamps);
    memset(u, 0, sizeof *u);
    snprintf(u->code, sizeof u->code, "%s", code);
    u->stamps = calloc((size_t)st->limit, sizeof *u->stamps);
    return u->stamps ? u : NULL;
}

/*
 * A sliding window per unit: over the limit when `limit` requests of that
 * unit were accepted within the last second. Returns the seconds to wait (the
 * Retry-After), or 0 when the request may go. Refused requests do not count.
 */
static int sim_land_over_limit(sim_land_state_t *st, const char *unit)
{
    sim_land_unit_t *u = sim_land_unit(st, unit);
    if (u == NULL)
        return 0;
    int64_t now = sim_land_now_ms();
    if (u->count == (size_t)st->limit && now - u->stamps[u->next] < 1000)
        return (int)((u->stamps[u->next] + 1000 - now + 999) / 1000);
    u->stamps[u->next] = now;
    u->next = (u->next + 1) % (size_t)st->limit;
    if (u->count < (size_t)st->limit)
        u->count++;
    return 0;
}

/* 23:00 to 05:00 UTC+07:00 (Vietnam has no daylight saving time). */
static int sim_land_in_night(time_t t)
{
    long long local = ((long long)t + 7 * 3600) % 86400;
    return local >= SIM_LAND_WINDOW_FROM || local < SIM_LAND_WINDOW_TO;
}

static int sim_land_closed(const sim_land_state_t *st)
{
    return st->window == SIM_LAND_WINDOW_CLOSED ||
           (st->window == SIM_LAND_WINDOW_CLOCK && sim_land_in_night(time(NULL)));
}

/* Every hand-typed table must be NFC (ICD README). */
static const char *sim_land_check_nfc(void)
{
    const char *const *pools[] = {sim_land_origins, sim_land_banks, sim_land_companies};
    const size_t sizes[] = {SIM_COUNT(sim_land_origins), SIM_COUNT(sim_land_banks), SIM_COUNT(sim_land_companies)};
    for (size_t p = 0; p < SIM_COUNT(pools); p++)
        for (size_t i = 0; i < sizes[p]; i++)
            if (!sim_text_is_nfc(pools[p][i]))
                return pools[p][i];
    return sim_text_is_nfc(sim_land_icd_example) ? NULL : "the ICD example";
}

static void sim_land_state_free(void *state)
{
    sim_land_state_t *st = state;
    if (st == NULL)
        return;
    sim_land_units_clear(st);
    free(st);
}

static void *sim_land_state_new(const sim_people_t *people, const char *certs_dir)
{
    const char *bad = sim_land_check_nfc();
    if (bad != NULL) {
        fprintf(stderr, "lienthong-sim: land: internal table entry is not NFC: %s\n", bad);
        return NULL;
    }
    sim_land_state_t *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    st->people = people;
    st->limit = SIM_LAND_LIMIT;
    st->window = st->window_at_start = SIM_LAND_WINDOW_CLOCK;
    return st;
}

static void sim_land_state_reset(void *state)
{
    sim_land_state_t *st = state;
    sim_land_units_clear(st);
    st->limit = SIM_LAND_LIMIT;
    st->window = st->window_at_start;
}

static int sim_land_window_of(const char *name)
{
    for (size_t i = 0; i < SIM_COUNT(sim_land_window_names); i++)
        if (strcmp(sim_land_window_names[i], name) == 0)
            return (int)i;
    return -1;
}

static const sim_service_option_t sim_land_options[] = {
    {"window", "MODE", "the nightly window: clock (23:00-05:00 UTC+07:00, the default), closed or open"},
    {NULL, NULL, NULL},
};

static int sim_land_set_option(void *state, const char *name, const char *value, char *err, size_t errlen)
{
    sim_land_state_t *st = state;
    int mode = sim_land_window_of(value);
    if (strcmp(name, "window") != 0 || mode < 0) {
        snprintf(err, errlen, "must be clock, closed or open");
        return -1;
    }
    st->window = st->window_at_start = (sim_land_window_t)mode;
    return 0;
}

/* ---- reading the request ---- */

static void sim_land_error(sim_reply_t *reply, int status, const char *reason, const char *ma, const char *mo_ta)
{
    json_t *doc = json_pack("{s:s}", "ma", ma);
    if (mo_ta != NULL)
        json_object_set_new(doc, "moTa", json_string(mo_ta));
    sim_json_reply(reply, status, reason, doc);
}

static void sim_land_bad_request(sim_reply_t *reply, const char *mo_ta)
{
    sim_land_error(reply, 400, "Bad Request", "DD-400", mo_ta);
}

/* The nightly synchronisation page: any body, here HTML, and no Retry-After. */
static void sim_land_night(sim_reply_t *reply)
{
    reply->status = 503;
    reply->reason = "Service Unavailable";
    reply->content_type = "text/html; charset=utf-8";
    sim_buf_puts(&reply->body,
                 "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\"><title>Bảo trì hệ thống</title>"
                 "</head>\n<body><h1>Cơ sở dữ liệu quốc gia về đất đai đang đồng bộ dữ liệu</h1>\n"
                 "<p>Hệ thống tạm ngừng phục vụ từ 23:00 đến 05:00 hằng ngày. Vui lòng quay lại sau.</p>"
                 "</body></html>\n");
}

/* A positive decimal number of at most 6 digits (leading zeros allowed), as one query value; -1 otherwise. */
static int sim_land_number(const char *s, size_t len)
{
    if (len == 0 || len > 6 || strspn(s, "0123456789") < len)
        return -1;
    int n = 0;
    for (size_t i = 0; i < len; i++)
        n = n * 10 + (s[i] - '0');
    return n;
}

/* maXa, soTo and soThua, each exactly once and nothing else; a reason in Vietnamese when malformed. */
static const char *sim_land_read_query(const char *query, sim_land_key_t *k)
{
    int seen[3] = {0, 0, 0};
    const char *p = query ? query : "";
    while (*p != '\0') {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        if (eq == NULL)
            return "Tham số truy vấn không hợp lệ";
        size_t nlen = (size_t)(eq - p), vlen = len - nlen - 1;
        const char *v = eq + 1;
        int which = nlen == 4 && memcmp(p, "maXa", 4) == 0     ? 0
                    : nlen == 4 && memcmp(p, "soTo", 4) == 0   ? 1
                    : nlen == 6 && memcmp(p, "soThua", 6) == 0 ? 2
                                                               : -1;
        if (which < 0)
            return "Tham số truy vấn không được hỗ trợ";
        if (seen[which]++)
            return "Tham số truy vấn bị lặp lại";
        if (which == 0) {
            if (vlen != 5 || strspn(v, "0123456789") < 5)
                return "maXa phải gồm 5 chữ số";
            memcpy(k->commune, v, 5);
            k->commune[5] = '\0';
        } else {
            int n = sim_land_number(v, vlen);
            if (n <= 0)
                return which == 1 ? "soTo không hợp lệ" : "soThua không hợp lệ";
            if (which == 1)
                k->sheet = n;
            else
                k->parcel = n;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    if (!seen[0] || !seen[1] || !seen[2])
        return "Thiếu tham số maXa, soTo hoặc soThua";
    return NULL;
}

/* Two capital letters, a space, 6 to 8 digits. */
static int sim_land_serial_valid(const char *s)
{
    size_t n = strlen(s);
    return n >= 9 && n <= 11 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == ' ' &&
           strspn(s + 3, "0123456789") == n - 3;
}

/* The serial from the path, percent-decoded (the space arrives as %20); NULL-terminated in out, or a reason. */
static const char *sim_land_read_serial(const char *path, char out[16])
{
    const char *raw = path + strlen(SIM_LAND_CERT_PATH);
    int len = 0;
    char *decoded = *raw ? curl_easy_unescape(NULL, raw, 0, &len) : NULL;
    int ok = decoded != NULL && (size_t)len == strlen(decoded) && sim_land_serial_valid(decoded);
    if (ok)
        snprintf(out, 16, "%s", decoded);
    curl_free(decoded);
    return ok ? NULL : "Số phát hành không hợp lệ";
}

static int sim_land_is_fault(const char *fault, const char *name)
{
    return fault != NULL && strcmp(fault, name) == 0;
}

/* wrong_parcel: the document of the next parcel on the sheet, so neither its number nor its serials are the ones asked.
 */
static json_t *sim_land_wrong_document(const sim_people_t *people, const sim_land_key_t *k)
{
    sim_land_key_t other = *k;
    for (int i = 1; i <= SIM_LAND_PARCELS; i++) {
        other.parcel = k->parcel % SIM_LAND_PARCELS + i;
        json_t *doc = sim_land_find(people, &other, 0);
        if (doc != NULL)
            return doc;
    }
    return NULL;
}

static void sim_land_answer(sim_land_state_t *st, const sim_request_t *req, const char *fault, sim_reply_t *reply)
{
    sim_land_key_t k = {{0}, 0, 0};
    const char *problem;
    int by_serial = strncmp(req->path, SIM_LAND_CERT_PATH, strlen(SIM_LAND_CERT_PATH)) == 0;
    char serial[16] = "";
    if (by_serial) {
        problem = sim_land_read_serial(req->path, serial);
        if (problem == NULL && !sim_land_serial_parcel(serial, &k)) {
            sim_land_error(reply, 404, "Not Found", "DD-404", NULL);
            return;
        }
    } else {
        problem = sim_land_read_query(req->query, &k);
    }
    if (problem != NULL) {
        sim_land_bad_request(reply, problem);
        return;
    }
    json_t *doc = sim_land_is_fault(fault, "wrong_parcel")
                      ? sim_land_wrong_document(st->people, &k)
                      : sim_land_find(st->people, &k, sim_land_is_fault(fault, "bad_area"));
    if (doc == NULL) {
        sim_land_error(reply, 404, "Not Found", "DD-404", NULL);
        return;
    }
    sim_json_reply(reply, 200, "OK", doc);
}

static void sim_land_handle(void *state, const sim_people_t *people, const sim_request_t *req, const char *fault,
                            sim_reply_t *reply)
{
    sim_land_state_t *st = state;
    if (strcmp(req->method, "GET") != 0) {
        reply->status = 405;
        reply->reason = "Method Not Allowed";
        reply->content_type = "text/plain; charset=utf-8";
        sim_buf_puts(&reply->body, "GET only\n");
        return;
    }
    /* The whole database is closed at night, whoever asks. */
    if (sim_land_closed(st) || sim_land_is_fault(fault, "window")) {
        sim_land_night(reply);
        return;
    }
    const char *unit = req->header(req, "X-Ma-Don-Vi");
    const char *officer = req->header(req, "X-Ma-Can-Bo");
    const char *purpose = req->header(req, "X-Muc-Dich");
    if (unit == NULL || *unit == '\0' || officer == NULL || *officer == '\0' || purpose == NULL || *purpose == '\0') {
        sim_land_bad_request(reply, "Thiếu tiêu đề X-Ma-Don-Vi, X-Ma-Can-Bo hoặc X-Muc-Dich");
        return;
    }
    int wait = sim_land_is_fault(fault, "DD-429") ? atoi(SIM_LAND_FAULT_RETRY) : sim_land_over_limit(st, unit);
    if (wait > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", wait);
        sim_land_error(reply, 429, "Too Many Requests", "DD-429", NULL);
        sim_reply_add_header(reply, "Retry-After", ra);
    } else if (sim_land_is_fault(fault, "DD-400")) {
        sim_land_bad_request(reply, "Yêu cầu không hợp lệ");
    } else if (sim_land_is_fault(fault, "DD-403")) {
        sim_land_error(reply, 403, "Forbidden", "DD-403", NULL);
    } else if (sim_land_is_fault(fault, "DD-404")) {
        sim_land_error(reply, 404, "Not Found", "DD-404", NULL);
    } else {
        sim_land_answer(st, req, fault, reply);
    }
}

static int sim_land_owns_path(const char *path)
{
    size_t n = strlen(SIM_LAND_CERT_PATH);
    return strcmp(path, SIM_LAND_PARCEL_PATH) == 0 ||
           (strncmp(path, SIM_LAND_CERT_PATH, n) == 0 && path[n] != '\0' && strchr(path + n, '/') == NULL);
}

static int sim_land_operation_of(const sim_request_t *req)
{
    if (strcmp(req->method, "GET") != 0)
        return -1;
    return strcmp(req->path, SIM_LAND_PARCEL_PATH) == 0 ? 0 : 1;
}

/* ---- sample and control verbs ---- */

static void sim_land_sample_line(sim_buf_t *out, json_t *doc)
{
    json_t *t = json_object_get(doc, "thuaDat");
    json_t *serials = json_array(), *codes = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(doc, "giayChungNhan"), i, v)
        json_array_append(serials, json_object_get(v, "soPhatHanh"));
    json_array_foreach(json_object_get(t, "mucDichSuDung"), i, v)
        json_array_append(codes, json_object_get(v, "kyHieu"));
    json_t *line = json_pack("{s:O, s:O, s:O, s:o, s:o}", "commune", json_object_get(t, "maXa"), "sheet",
                             json_object_get(t, "soHieuToBanDo"), "parcel", json_object_get(t, "soThuTuThua"),
                             "serials", serials, "land_use_codes", codes);
    char *text = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text != NULL) {
        sim_buf_puts(out, text);
        sim_buf_puts(out, "\n");
    }
    free(text);
    json_decref(line);
    json_decref(doc);
}

/*
 * n parcels that exist: the ICD's example first, then picks spread evenly over
 * the parcel space, each moved forward to the next parcel that exists and has
 * a certificate; every fourth one to the next parcel with a land-use code the
 * ICD does not list.
 */
static void sim_land_sample(const sim_people_t *people, size_t n, sim_buf_t *out)
{
    if (n == 0)
        return;
    sim_land_sample_line(out, json_loads(sim_land_icd_example, 0, NULL));
    uint64_t total = (uint64_t)sim_land_communes() * SIM_LAND_SHEETS * SIM_LAND_PARCELS;
    for (size_t k = 1; k < n; k++) {
        uint64_t index = (uint64_t)(k - 1) * total / (n - 1 > 0 ? n - 1 : 1);
        for (uint64_t tries = 0; tries < total; tries++, index = (index + 1) % total) {
            size_t ci = (size_t)(index / (SIM_LAND_SHEETS * SIM_LAND_PARCELS));
            int sheet = (int)(index % (SIM_LAND_SHEETS * SIM_LAND_PARCELS) / SIM_LAND_PARCELS) + 1;
            int parcel = (int)(index % SIM_LAND_PARCELS) + 1;
            if (!sim_land_exists(ci, sheet, parcel) || sim_land_cert_count(index) == 0)
                continue;
            sim_land_parcel_t p;
            sim_land_make(people, ci, sheet, parcel, &p);
            if (k % 4 == 3 && !sim_land_has_unlisted(&p))
                continue;
            sim_land_sample_line(out, sim_land_document(&p, 0));
            break;
        }
    }
}

int sim_land_print_sample(const sim_people_t *people, size_t n, FILE *out)
{
    sim_buf_t b;
    sim_buf_init(&b);
    sim_land_sample(people, n, &b);
    int rc = b.len == 0 || fwrite(b.data, 1, b.len, out) == b.len ? 0 : 1;
    sim_buf_free(&b);
    return rc;
}

/* GET|PUT /control/land/limit {"per_second": N}: tests lower the ICD's 10/s to meet it, or raise it to stay clear. */
static void sim_land_control_limit(sim_land_state_t *st, const sim_request_t *req, sim_reply_t *reply)
{
    if (strcmp(req->method, "PUT") == 0) {
        json_t *doc = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
        json_t *v = json_object_get(doc, "per_second");
        long n = json_is_integer(v) ? (long)json_integer_value(v) : 0;
        int ok = json_is_object(doc) && json_object_size(doc) == 1 && n >= 1 && n <= SIM_LAND_LIMIT_MAX;
        json_decref(doc);
        if (!ok) {
            sim_json_error(reply, 400, "Bad Request", "body must be {\"per_second\": 1..100000}");
            return;
        }
        sim_land_units_clear(st);
        st->limit = n;
    } else if (strcmp(req->method, "GET") != 0) {
        sim_json_error(reply, 405, "Method Not Allowed", "GET or PUT");
        return;
    }
    sim_json_reply(reply, 200, "OK", json_pack("{s:I}", "per_second", (json_int_t)st->limit));
}

/*
 * GET|PUT /control/land/window {"mode": "clock"|"closed"|"open"}: clock follows
 * the ICD's 23:00-05:00 UTC+07:00; closed forces the nightly window now;
 * open keeps it away (tests that run at night). The answer says whether the
 * database is closed at this moment.
 */
static void sim_land_control_window(sim_land_state_t *st, const sim_request_t *req, sim_reply_t *reply)
{
    if (strcmp(req->method, "PUT") == 0) {
        json_t *doc = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
        const char *name = json_string_value(json_object_get(doc, "mode"));
        int mode = name ? sim_land_window_of(name) : -1;
        int ok = json_is_object(doc) && json_object_size(doc) == 1 && mode >= 0;
        json_decref(doc);
        if (!ok) {
            sim_json_error(reply, 400, "Bad Request", "body must be {\"mode\": \"clock\" | \"closed\" | \"open\"}");
            return;
        }
        st->window = (sim_land_window_t)mode;
    } else if (strcmp(req->method, "GET") != 0) {
        sim_json_error(reply, 405, "Method Not Allowed", "GET or PUT");
        return;
    }
    sim_json_reply(reply, 200, "OK",
                   json_pack("{s:s, s:b, s:s, s:s}", "mode", sim_land_window_names[st->window], "closed_now",
                             sim_land_closed(st), "from", "23:00", "to", "05:00"));
}

/* GET /control/land/sample?n=N: what --sample prints, for tests that have the simulator running anyway. */
static void sim_land_control_sample(const sim_people_t *people, const sim_request_t *req, sim_reply_t *reply)
{
    long n = 20;
    if (req->query != NULL && strncmp(req->query, "n=", 2) == 0) {
        char *end;
        n = strtol(req->query + 2, &end, 10);
        if (*end != '\0')
            n = -1;
    }
    if (strcmp(req->method, "GET") != 0 || n < 1 || n > SIM_LAND_SAMPLE_MAX) {
        sim_json_error(reply, 400, "Bad Request", "GET sample?n=1..10000");
        return;
    }
    reply->status = 200;
    reply->reason = "OK";
    reply->content_type = "application/x-ndjson; charset=utf-8";
    sim_land_sample(people, (size_t)n, &reply->body);
}

static int sim_land_control(void *state, const char *verb, const sim_request_t *req, sim_reply_t *reply)
{
    sim_land_state_t *st = state;
    if (strcmp(verb, "limit") == 0)
        sim_land_control_limit(st, req, reply);
    else if (strcmp(verb, "window") == 0)
        sim_land_control_window(st, req, reply);
    else if (strcmp(verb, "sample") == 0)
        sim_land_control_sample(st->people, req, reply);
    else
        return -1;
    return 0;
}

const sim_service_t sim_land_service = {
    .name = "land",
    .path = SIM_LAND_PARCEL_PATH,
    .cert_name = "land-sim",
    .default_port = 9108,
    .client_auth = SIM_CLIENT_CERT_REQUIRED, /* "Mutual TLS is the only authentication" */
    .ops = sim_land_ops,
    .faults = sim_land_faults,
    .owns_path = sim_land_owns_path,
    .operation_of = sim_land_operation_of,
    .handle = sim_land_handle,
    .state_new = sim_land_state_new,
    .state_reset = sim_land_state_reset,
    .state_free = sim_land_state_free,
    .sample = sim_land_print_sample,
    .control = sim_land_control,
    .options = sim_land_options,
    .set_option = sim_land_set_option,
};
