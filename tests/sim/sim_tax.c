/*
 * sim_tax: the taxpayer registry's lookup service, as the tax ICD describes it
 * and nothing more.
 *
 * POST /api/tracuu/nnt carries a YeuCauTraCuu in the namespace
 * urn:gdt:tracuu:nnt:1.0 and an X-API-Key. Every business outcome is HTTP 200
 * with a MaKetQua; a refused key is MaKetQua 3 with HTTP 401; above 30
 * requests per second the answer is HTTP 503 with an empty body.
 *
 * The taxpayers are derived from the shared synthetic people, so the systems
 * agree: taxpayer t belongs to person t. An adult person is an individual
 * (CN) or runs a household business (HKD), under their own name; otherwise
 * taxpayer t is an organisation (TC) with a synthetic name, sometimes with
 * dependent units ("-001"). Every tax code carries a valid check digit (ICD
 * README) and maps back to t without a table, so 5,000,000 taxpayers cost no
 * memory. The ICD's own example, 0100233488, exists exactly as printed there.
 *
 * Replies vary their form on purpose, because the ICD allows it: some begin
 * with a UTF-8 byte-order mark, some write Vietnamese letters as numeric
 * character references (decimal or hex), and some use a prefix instead of the
 * default namespace. A client that only handles the ICD's sample breaks here.
 */
#include "sim_tax.h"
#include "sim_perm.h"
#include "sim_text.h"

#include <ctype.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <utf8proc.h>

#define SIM_TAX_NS           "urn:gdt:tracuu:nnt:1.0"
#define SIM_TAX_PATH         "/api/tracuu/nnt"
#define SIM_TAX_KEY_FILE     "tax-api.key"
#define SIM_TAX_KEY_MAX      512
#define SIM_TAX_LIMIT        30 /* requests per second per key (ICD "Limits") */
#define SIM_TAX_LIMIT_MAX    100000
#define SIM_TAX_SAMPLE_MAX   100000
#define SIM_TAX_NOW_YEAR     2025
#define SIM_TAX_ADULT_BEFORE 2008 /* born before this year: 18 or older in SIM_TAX_NOW_YEAR */
#define SIM_TAX_ICD_CODE     "0100233488"

#define SIM_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const sim_tax_ops[] = {"TraCuuNNT", NULL};
/* no_echo answers without MaYeuCau: the ICD shows it in the answer but never says it is always sent. */
static const char *const sim_tax_faults[] = {"MaKetQua2", "MaKetQua9", "dtd",        "xxe",     "bom",
                                             "ncr",       "wrong_id",  "rate_limit", "no_echo", NULL};

enum { SIM_TAX_TC, SIM_TAX_HKD, SIM_TAX_CN };
static const char *const sim_tax_kind_codes[] = {"TC", "HKD", "CN"};

/* ---- code tables ---- */

/*
 * One tax office per code prefix. The ICD names only 10100 (Cục Thuế Thành
 * phố Hà Nội, codes 01...); the others follow the same pattern, 1 + the
 * province's administrative code + 00, and are synthetic. Organisations and
 * household businesses carry the office's two-digit prefix, individuals one of
 * 80-89, as personal tax codes do.
 */
typedef struct sim_tax_office {
    const char *prefix;
    const char *personal_prefix;
    const char *code;
    const char *name;
    int province; /* administrative code since 2025, for organisations' addresses */
} sim_tax_office_t;

static const sim_tax_office_t sim_tax_offices[] = {
    {"01", "80", "10100", "Cục Thuế Thành phố Hà Nội", 1},
    {"02", "81", "13100", "Cục Thuế Thành phố Hải Phòng", 31},
    {"03", "82", "17900", "Cục Thuế Thành phố Hồ Chí Minh", 79},
    {"04", "83", "14800", "Cục Thuế Thành phố Đà Nẵng", 48},
    {"18", "84", "19200", "Cục Thuế Thành phố Cần Thơ", 92},
    {"57", "85", "12200", "Cục Thuế tỉnh Quảng Ninh", 22},
    {"28", "86", "13800", "Cục Thuế tỉnh Thanh Hóa", 38},
    {"29", "87", "14000", "Cục Thuế tỉnh Nghệ An", 40},
    {"36", "88", "17500", "Cục Thuế tỉnh Đồng Nai", 75},
    {"42", "89", "15600", "Cục Thuế tỉnh Khánh Hòa", 56},
};
_Static_assert(SIM_COUNT(sim_tax_offices) == 10, "the code scheme needs ten prefixes");

/* Organisation names are upper case, as the registry writes them (the ICD's example). */
static const char *const sim_tax_forms[] = {
    "CÔNG TY TNHH", "CÔNG TY CỔ PHẦN", "CÔNG TY TNHH MỘT THÀNH VIÊN", "DOANH NGHIỆP TƯ NHÂN", "HỢP TÁC XÃ",
};
static const char *const sim_tax_trades[] = {
    "THƯƠNG MẠI VÀ DỊCH VỤ",
    "XÂY DỰNG",
    "PHẦN MỀM",
    "VẬN TẢI",
    "THỰC PHẨM",
    "DƯỢC PHẨM",
    "ĐẦU TƯ",
    "CƠ KHÍ",
    "NÔNG SẢN",
    "DU LỊCH",
    "MAY MẶC",
    "ĐIỆN TỬ",
};
static const char *const sim_tax_brands[] = {
    "HÀ THÀNH",  "AN PHÁT",    "MINH KHANG", "ĐẠI VIỆT", "PHÚ THỊNH",  "HƯNG THỊNH", "SAO MAI",
    "TRƯỜNG AN", "HOÀNG LONG", "VIỆT ÚC",    "NAM SƠN",  "THIÊN PHÚC", "ĐÔNG Á",     "BẢO NGỌC",
};
static const char *const sim_tax_shops[] = {
    "Tạp hóa", "Cà phê", "Quán cơm", "Sửa xe", "May đo", "Tiệm vàng", "Điện thoại", "Thuốc thú y",
};

/* TrangThai (ICD): weights per kind. 04 is "active, household or individual". */
typedef struct sim_tax_status_weight {
    const char *code;
    unsigned tc, person;
} sim_tax_status_weight_t;

static const sim_tax_status_weight_t sim_tax_statuses[] = {
    {"00", 70, 10}, {"01", 8, 8}, {"02", 4, 5}, {"03", 4, 5}, {"04", 0, 60}, {"05", 5, 6}, {"06", 5, 6}, {"07", 4, 0},
};

/* MoTa per MaKetQua; the ICD gives only "Thành công". */
static const char *const sim_tax_mota[10] = {
    [0] = "Thành công",           [1] = "Không tìm thấy người nộp thuế",      [2] = "Mã số thuế không đúng định dạng",
    [3] = "API key không hợp lệ", [9] = "Lỗi hệ thống, vui lòng thử lại sau",
};

/* ---- randomness and the code scheme ---- */

static uint64_t sim_tax_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned sim_tax_below(uint64_t *s, unsigned n)
{
    return (unsigned)(sim_tax_rng(s) % n);
}

/* A private stream per (taxpayer, unit, purpose), so adding a field never changes the others. */
static uint64_t sim_tax_stream(size_t t, unsigned branch, unsigned salt)
{
    uint64_t s = ((uint64_t)t << 12) ^ ((uint64_t)branch << 4) ^ salt ^ 0x7A78ull << 48;
    sim_tax_rng(&s);
    return s;
}

/*
 * Taxpayer t's serial is an invertible affine map of t modulo 10^7: the top
 * digit picks the office, the other six are the serial. The multiplier is odd
 * and not a multiple of 5, so the map is a bijection and neighbouring taxpayers get unrelated codes.
 */
#define SIM_TAX_SPACE 10000000ull

static sim_perm_t sim_tax_serials(void)
{
    return sim_perm_make(SIM_TAX_SPACE, 7654321ull, 1234567ull);
}

/* The ICD README's rule: 10 - (sum of digits 1-9 weighted 31,29,23,19,17,13,7,5,3) mod 11; 10 is never valid. */
static int sim_tax_check_digit(const char *d)
{
    static const int w[9] = {31, 29, 23, 19, 17, 13, 7, 5, 3};
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += w[i] * (d[i] - '0');
    return 10 - sum % 11;
}

static int sim_tax_all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* 10 digits with a valid check digit, or that and "-NNN" with NNN 001-999. */
static int sim_tax_code_valid(const char *s)
{
    size_t n = strlen(s);
    if (n != 10 && n != 14)
        return 0;
    if (!sim_tax_all_digits(s, 10) || sim_tax_check_digit(s) != s[9] - '0')
        return 0;
    return n == 10 || (s[10] == '-' && sim_tax_all_digits(s + 11, 3) && strcmp(s + 11, "000") != 0);
}

static int sim_tax_kind(const sim_people_t *people, size_t t)
{
    const sim_person_t *p = sim_people_at(people, t);
    uint64_t s = sim_tax_stream(t, 0, 1);
    unsigned r = sim_tax_below(&s, 100);
    if (p == NULL || p->birth.year >= SIM_TAX_ADULT_BEFORE || r < 45)
        return SIM_TAX_TC;
    return r < 65 ? SIM_TAX_HKD : SIM_TAX_CN;
}

/* Dependent units of organisation t: 0 for most, up to 3. */
static unsigned sim_tax_branches(size_t t)
{
    uint64_t s = sim_tax_stream(t, 0, 2);
    unsigned r = sim_tax_below(&s, 100);
    return r < 80 ? 0 : 1 + r % 3;
}

/* The 10-digit code of taxpayer t. The ninth digit is nudged so that the check value is never 10. */
static void sim_tax_code_of(size_t t, int kind, char out[11])
{
    sim_perm_t serials = sim_tax_serials();
    uint64_t m = sim_perm_apply(&serials, (uint64_t)t);
    const sim_tax_office_t *o = &sim_tax_offices[m / 1000000];
    snprintf(out, 11, "%s%06u0", kind == SIM_TAX_CN ? o->personal_prefix : o->prefix, (unsigned)(m % 1000000));
    /* Digit 9 weighs 3, which is invertible mod 11: at most one of 0..9 gives check value 10. */
    for (char nudge = '0'; nudge <= '9'; nudge++) {
        out[8] = nudge;
        if (sim_tax_check_digit(out) != 10)
            break;
    }
    out[9] = (char)('0' + sim_tax_check_digit(out));
    out[10] = '\0';
}

static const sim_tax_office_t *sim_tax_office_of(const char *code, int *personal)
{
    for (size_t i = 0; i < SIM_COUNT(sim_tax_offices); i++) {
        if (strncmp(code, sim_tax_offices[i].prefix, 2) == 0) {
            *personal = 0;
            return &sim_tax_offices[i];
        }
        if (strncmp(code, sim_tax_offices[i].personal_prefix, 2) == 0) {
            *personal = 1;
            return &sim_tax_offices[i];
        }
    }
    return NULL;
}

static const uint64_t sim_tax_pow10[] = {1, 10, 100, 1000, 10000, 100000};

/* Maps a valid code back to its taxpayer; 0 when no taxpayer has it. */
static int sim_tax_decode(const sim_people_t *people, const char *code, size_t *t, unsigned *branch)
{
    int personal;
    const sim_tax_office_t *o = sim_tax_office_of(code, &personal);
    if (o == NULL)
        return 0;
    uint64_t m = (uint64_t)(o - sim_tax_offices) * 1000000;
    for (int i = 2; i < 8; i++)
        m += (uint64_t)(code[i] - '0') * sim_tax_pow10[7 - i];
    sim_perm_t serials = sim_tax_serials();
    uint64_t idx = sim_perm_invert(&serials, m);
    if (idx >= sim_people_count(people))
        return 0;
    int kind = sim_tax_kind(people, (size_t)idx);
    char canonical[11];
    sim_tax_code_of((size_t)idx, kind, canonical);
    if (memcmp(canonical, code, 10) != 0)
        return 0;
    *t = (size_t)idx;
    *branch = code[10] == '-' ? (unsigned)atoi(code + 11) : 0;
    return *branch == 0 || (kind == SIM_TAX_TC && *branch <= sim_tax_branches(*t));
}

/* ---- taxpayers ---- */

typedef struct sim_tax_date {
    int year, month, day; /* year 0: none recorded */
} sim_tax_date_t;

typedef struct sim_taxpayer {
    char code[16];
    int kind;
    char name[400];
    char address[400];
    const sim_tax_office_t *office;
    const char *status;
    sim_tax_date_t issued, changed;
    int ncr; /* 0 plain UTF-8, 1 decimal references, 2 hexadecimal references */
    int bom;
    int prefixed;
} sim_taxpayer_t;

static sim_tax_date_t sim_tax_date_between(uint64_t *s, int from_year, int to_year)
{
    sim_tax_date_t d;
    d.year = from_year + (int)sim_tax_below(s, (unsigned)(to_year - from_year + 1));
    d.month = 1 + (int)sim_tax_below(s, 12);
    d.day = 1 + (int)sim_tax_below(s, 28);
    return d;
}

static const char *sim_tax_pick_status(uint64_t *s, int kind)
{
    unsigned total = 0;
    for (size_t i = 0; i < SIM_COUNT(sim_tax_statuses); i++)
        total += kind == SIM_TAX_TC ? sim_tax_statuses[i].tc : sim_tax_statuses[i].person;
    unsigned r = sim_tax_below(s, total);
    for (size_t i = 0; i < SIM_COUNT(sim_tax_statuses); i++) {
        unsigned w = kind == SIM_TAX_TC ? sim_tax_statuses[i].tc : sim_tax_statuses[i].person;
        if (r < w)
            return sim_tax_statuses[i].code;
        r -= w;
    }
    return "00";
}

/* An urban address in a province of the new (2025) table, by administrative code. */
static void sim_tax_org_address(uint64_t *s, int province_code, char *out, size_t len)
{
    sim_address_t a = {.shape = SIM_ADDR_NEW, .urban = 1};
    for (size_t i = 0; i < sim_places_new_count(); i++)
        if (sim_places_new(i)->code == province_code)
            a.province = (uint8_t)i;
    a.commune = (uint8_t)sim_tax_below(s, SIM_PLACES_COMMUNES);
    a.street = (uint8_t)sim_tax_below(s, 250);
    a.house = (uint16_t)(1 + sim_tax_below(s, 300));
    sim_address_view_t v;
    sim_address_view(&a, &v);
    snprintf(out, len, "%s", v.text);
}

static void sim_tax_org_name(uint64_t *s, char *out, size_t len)
{
    const char *form = sim_tax_forms[sim_tax_below(s, SIM_COUNT(sim_tax_forms))];
    const char *trade = sim_tax_trades[sim_tax_below(s, SIM_COUNT(sim_tax_trades))];
    const char *brand = sim_tax_brands[sim_tax_below(s, SIM_COUNT(sim_tax_brands))];
    snprintf(out, len, "%s %s %s", form, trade, brand);
}

static void sim_tax_person_name(uint64_t *s, int kind, const sim_person_t *p, char *out, size_t len)
{
    char full[256];
    sim_person_full_name(p, full, sizeof full);
    if (kind == SIM_TAX_CN)
        snprintf(out, len, "%s", full);
    else if (sim_tax_below(s, 2) == 0)
        snprintf(out, len, "Hộ kinh doanh %s", full);
    else
        snprintf(out, len, "Hộ kinh doanh %s %s", sim_tax_shops[sim_tax_below(s, SIM_COUNT(sim_tax_shops))], p->given);
}

/* Changes are recorded for every inactive status and for some active taxpayers (reactivated, moved back). */
static void sim_tax_dates(uint64_t *s, sim_taxpayer_t *tp, int first_year)
{
    tp->issued = sim_tax_date_between(s, first_year, SIM_TAX_NOW_YEAR - 2);
    int active = strcmp(tp->status, "00") == 0 || strcmp(tp->status, "04") == 0;
    if (!active || sim_tax_below(s, 100) < 15)
        tp->changed = sim_tax_date_between(s, tp->issued.year + 1, SIM_TAX_NOW_YEAR);
}

static void sim_tax_make(const sim_people_t *people, size_t t, unsigned branch, sim_taxpayer_t *tp)
{
    memset(tp, 0, sizeof *tp);
    tp->kind = sim_tax_kind(people, t);
    char code[11];
    sim_tax_code_of(t, tp->kind, code);
    snprintf(tp->code, sizeof tp->code, branch ? "%s-%03u" : "%s", code, branch);
    int personal;
    tp->office = sim_tax_office_of(code, &personal);
    uint64_t s = sim_tax_stream(t, branch, 3);
    tp->status = sim_tax_pick_status(&s, tp->kind);
    if (tp->kind == SIM_TAX_TC) {
        uint64_t parent = sim_tax_stream(t, 0, 4); /* the parent's name, also for its units */
        char org[320];
        sim_tax_org_name(&parent, org, sizeof org);
        if (branch)
            snprintf(tp->name, sizeof tp->name, "CHI NHÁNH SỐ %u - %s", branch, org);
        else
            snprintf(tp->name, sizeof tp->name, "%s", org);
        int province =
            branch ? sim_places_new(sim_tax_below(&s, (unsigned)sim_places_new_count()))->code : tp->office->province;
        sim_tax_org_address(&s, province, tp->address, sizeof tp->address);
        sim_tax_dates(&s, tp, 1995);
    } else {
        const sim_person_t *p = sim_people_at(people, t);
        sim_tax_person_name(&s, tp->kind, p, tp->name, sizeof tp->name);
        sim_address_view_t v;
        sim_address_view(&p->permanent, &v);
        snprintf(tp->address, sizeof tp->address, "%s", v.text);
        int adult = p->birth.year + 18;
        sim_tax_dates(&s, tp, adult > 1998 ? (adult < SIM_TAX_NOW_YEAR - 2 ? adult : SIM_TAX_NOW_YEAR - 2) : 1998);
    }
    tp->ncr = (t + branch) % 5 == 1 ? 1 + (int)((t / 5) % 2) : 0;
    tp->bom = (t + branch) % 7 == 3;
    tp->prefixed = (t + branch) % 3 == 2;
}

/* The ICD's example record, exactly as printed there. */
static void sim_tax_icd_example(sim_taxpayer_t *tp)
{
    memset(tp, 0, sizeof *tp);
    snprintf(tp->code, sizeof tp->code, "%s", SIM_TAX_ICD_CODE);
    tp->kind = SIM_TAX_TC;
    snprintf(tp->name, sizeof tp->name, "%s", "CÔNG TY CỔ PHẦN PHẦN MỀM HÀ THÀNH");
    snprintf(tp->address, sizeof tp->address, "%s",
             "Số 12 phố Lý Thường Kiệt, Phường Phan Chu Trinh, Quận Hoàn Kiếm, Hà Nội");
    tp->office = &sim_tax_offices[0];
    tp->status = "00";
    tp->issued = (sim_tax_date_t){2010, 5, 20};
}

/* The taxpayer with this (valid) code, or 0. */
static int sim_tax_find(const sim_people_t *people, const char *code, sim_taxpayer_t *tp)
{
    if (strcmp(code, SIM_TAX_ICD_CODE) == 0) {
        sim_tax_icd_example(tp);
        return 1;
    }
    size_t t;
    unsigned branch;
    if (!sim_tax_decode(people, code, &t, &branch))
        return 0;
    sim_tax_make(people, t, branch, tp);
    return 1;
}

/* ---- state: the key and the rate limit ---- */

typedef struct sim_tax_state {
    const sim_people_t *people; /* for the sample control verb */
    char key[SIM_TAX_KEY_MAX + 1];
    size_t key_len;
    long limit;         /* requests per second */
    int64_t *stamps;    /* ring of the last `limit` accepted requests, in ms */
    size_t next, count; /* ring position and fill */
} sim_tax_state_t;

static int64_t sim_tax_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sim_tax_set_limit(sim_tax_state_t *st, long limit)
{
    int64_t *stamps = calloc((size_t)limit, sizeof *stamps);
    if (stamps == NULL)
        return -1;
    free(st->stamps);
    st->stamps = stamps;
    st->limit = limit;
    st->next = st->count = 0;
    return 0;
}

/*
 * A sliding window: the request is over the limit when `limit` requests were
 * already accepted within the last second. Refused requests are not counted,
 * so a client that backs off gets through again after a second.
 */
static int sim_tax_over_limit(sim_tax_state_t *st)
{
    int64_t now = sim_tax_now_ms();
    if (st->count == (size_t)st->limit && now - st->stamps[st->next] < 1000)
        return 1;
    st->stamps[st->next] = now;
    st->next = (st->next + 1) % (size_t)st->limit;
    if (st->count < (size_t)st->limit)
        st->count++;
    return 0;
}

/* Every hand-typed table must be NFC (ICD README); a mistake here would break the NFC tests silently. */
static const char *sim_tax_check_nfc(void)
{
    for (size_t i = 0; i < SIM_COUNT(sim_tax_offices); i++)
        if (!sim_text_is_nfc(sim_tax_offices[i].name))
            return sim_tax_offices[i].name;
    const char *const *pools[] = {sim_tax_forms, sim_tax_trades, sim_tax_brands, sim_tax_shops};
    const size_t sizes[] = {SIM_COUNT(sim_tax_forms), SIM_COUNT(sim_tax_trades), SIM_COUNT(sim_tax_brands),
                            SIM_COUNT(sim_tax_shops)};
    for (size_t p = 0; p < SIM_COUNT(pools); p++)
        for (size_t i = 0; i < sizes[p]; i++)
            if (!sim_text_is_nfc(pools[p][i]))
                return pools[p][i];
    for (size_t i = 0; i < SIM_COUNT(sim_tax_mota); i++)
        if (sim_tax_mota[i] != NULL && !sim_text_is_nfc(sim_tax_mota[i]))
            return sim_tax_mota[i];
    return NULL;
}

/* The key file of certs/gen-pki.sh (hex), trimmed: the same file the gateway's api_key_file names. */
static int sim_tax_load_key(sim_tax_state_t *st, const char *certs_dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", certs_dir, SIM_TAX_KEY_FILE);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "lienthong-sim: tax: cannot read the API key %s\n", path);
        return -1;
    }
    char buf[SIM_TAX_KEY_MAX + 2];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    size_t len;
    const char *k = sim_text_trim(buf, &len);
    if (n > SIM_TAX_KEY_MAX || len == 0) {
        fprintf(stderr, "lienthong-sim: tax: %s must hold one key of at most %d bytes\n", path, SIM_TAX_KEY_MAX);
        return -1;
    }
    memcpy(st->key, k, len);
    st->key[len] = '\0';
    st->key_len = len;
    return 0;
}

static void sim_tax_state_free(void *state)
{
    sim_tax_state_t *st = state;
    if (st == NULL)
        return;
    OPENSSL_cleanse(st->key, sizeof st->key);
    free(st->stamps);
    free(st);
}

static void *sim_tax_state_new(const sim_people_t *people, const char *certs_dir)
{
    const char *bad = sim_tax_check_nfc();
    if (bad != NULL) {
        fprintf(stderr, "lienthong-sim: tax: internal table entry is not NFC: %s\n", bad);
        return NULL;
    }
    if (certs_dir == NULL) {
        fputs("lienthong-sim: tax: needs --certs-dir: the API key is DIR/" SIM_TAX_KEY_FILE "\n", stderr);
        return NULL;
    }
    sim_tax_state_t *st = calloc(1, sizeof *st);
    if (st != NULL)
        st->people = people;
    if (st == NULL || sim_tax_load_key(st, certs_dir) < 0 || sim_tax_set_limit(st, SIM_TAX_LIMIT) < 0) {
        sim_tax_state_free(st);
        return NULL;
    }
    return st;
}

static void sim_tax_state_reset(void *state)
{
    sim_tax_set_limit(state, SIM_TAX_LIMIT);
}

/* ---- reading the request, by namespace URI ---- */

typedef struct sim_tax_call {
    char *unit, *id, *officer, *code; /* MaDonVi, MaYeuCau, MaCanBo, MST; malloc'd */
    char problem[200];                /* the first reason the request is malformed, in Vietnamese */
} sim_tax_call_t;

static void sim_tax_problem(sim_tax_call_t *c, const char *what, const char *arg)
{
    if (c->problem[0] == '\0')
        snprintf(c->problem, sizeof c->problem, what, arg);
}

static int sim_tax_is(const xmlNode *n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           strcmp((const char *)n->ns->href, SIM_TAX_NS) == 0 && strcmp((const char *)n->name, name) == 0;
}

/* The trimmed text of the one child <name>; records a problem when it is missing, repeated or empty. */
static char *sim_tax_field(sim_tax_call_t *c, const xmlNode *root, const char *name)
{
    const xmlNode *found = NULL;
    for (const xmlNode *n = root->children; n; n = n->next) {
        if (!sim_tax_is(n, name))
            continue;
        if (found != NULL) {
            sim_tax_problem(c, "Yêu cầu không hợp lệ: phần tử %s lặp lại", name);
            return NULL;
        }
        found = n;
    }
    if (found == NULL) {
        sim_tax_problem(c, "Yêu cầu không hợp lệ: thiếu phần tử %s", name);
        return NULL;
    }
    xmlChar *raw = xmlNodeGetContent(found);
    size_t len;
    const char *t = sim_text_trim(raw ? (const char *)raw : "", &len);
    char *out = strndup(t, len);
    xmlFree(raw);
    if (out != NULL && *out == '\0')
        sim_tax_problem(c, "Yêu cầu không hợp lệ: phần tử %s trống", name);
    return out;
}

static int sim_tax_is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

static void sim_tax_read_fields(sim_tax_call_t *c, const xmlDoc *doc)
{
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (!sim_tax_is(root, "YeuCauTraCuu")) {
        sim_tax_problem(c, "Yêu cầu không hợp lệ: %s", "phần tử gốc phải là YeuCauTraCuu (" SIM_TAX_NS ")");
        return;
    }
    c->unit = sim_tax_field(c, root, "MaDonVi");
    c->id = sim_tax_field(c, root, "MaYeuCau");
    c->officer = sim_tax_field(c, root, "MaCanBo");
    c->code = sim_tax_field(c, root, "MST");
    if (c->id != NULL && *c->id != '\0' && !sim_tax_is_uuid(c->id))
        sim_tax_problem(c, "Yêu cầu không hợp lệ: %s", "MaYeuCau phải là UUID");
}

/* Parses with no network and no entities, and refuses a DTD: the ICD's messages never carry one. */
static void sim_tax_parse(const sim_request_t *req, sim_tax_call_t *c)
{
    if (!sim_text_media_type_is(req->header(req, "Content-Type"), "application/xml"))
        sim_tax_problem(c, "Yêu cầu không hợp lệ: %s", "Content-Type phải là application/xml; charset=utf-8");
    if (req->body_len == 0 || req->body_len > INT_MAX) {
        sim_tax_problem(c, "Yêu cầu không hợp lệ: %s", "thân yêu cầu trống");
        return;
    }
    xmlDoc *doc = xmlReadMemory((const char *)req->body, (int)req->body_len, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        sim_tax_problem(c, "Yêu cầu không hợp lệ: %s", "XML không đúng cú pháp");
        return;
    }
    if (doc->intSubset != NULL || doc->extSubset != NULL)
        sim_tax_problem(c, "Yêu cầu không hợp lệ: %s", "không chấp nhận DTD");
    else
        sim_tax_read_fields(c, doc);
    xmlFreeDoc(doc);
}

static void sim_tax_call_free(sim_tax_call_t *c)
{
    free(c->unit);
    free(c->id);
    free(c->officer);
    free(c->code);
}

/* Constant-time comparison, as a real key check would do it. */
static int sim_tax_key_ok(const sim_tax_state_t *st, const sim_request_t *req)
{
    const char *k = req->header(req, "X-API-Key");
    return k != NULL && strlen(k) == st->key_len && CRYPTO_memcmp(k, st->key, st->key_len) == 0;
}

/* ---- writing the reply ---- */

/* How one reply is written: the ICD allows all of these, so the simulator uses all of them. */
typedef struct sim_tax_form {
    const char *pfx; /* "" for the default namespace, else "nnt:" */
    int ncr;         /* 0, 1 decimal, 2 hex references for every non-ASCII character */
    int bom;
} sim_tax_form_t;

/* Escaped text; with references, every character above U+007F written as &#N; or &#xN;. */
static void sim_tax_text(sim_buf_t *b, const char *s, int ncr)
{
    if (!ncr) {
        sim_buf_xml_text(b, s);
        return;
    }
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    utf8proc_ssize_t left = (utf8proc_ssize_t)strlen(s);
    while (left > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
        if (n <= 0)
            return; /* our own tables are valid UTF-8 */
        if (cp < 0x80) {
            char one[2] = {(char)cp, 0};
            sim_buf_xml_text(b, one);
        } else {
            sim_buf_printf(b, ncr == 1 ? "&#%d;" : "&#x%X;", (int)cp);
        }
        p += n;
        left -= n;
    }
}

static void sim_tax_element(sim_buf_t *b, const sim_tax_form_t *f, const char *name, const char *text)
{
    if (text == NULL || *text == '\0') {
        sim_buf_printf(b, "<%s%s/>", f->pfx, name);
        return;
    }
    sim_buf_printf(b, "<%s%s>", f->pfx, name);
    sim_tax_text(b, text, f->ncr);
    sim_buf_printf(b, "</%s%s>", f->pfx, name);
}

static void sim_tax_date_element(sim_buf_t *b, const sim_tax_form_t *f, const char *name, sim_tax_date_t d)
{
    char text[16] = "";
    if (d.year != 0)
        snprintf(text, sizeof text, "%02d/%02d/%04d", d.day % 100, d.month % 100, d.year % 10000);
    sim_tax_element(b, f, name, text);
}

static void sim_tax_open(sim_buf_t *b, const sim_tax_form_t *f)
{
    if (f->bom)
        sim_buf_puts(b, "\xEF\xBB\xBF");
    sim_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if (f->pfx[0] != '\0')
        sim_buf_printf(b, "<%sKetQuaTraCuu xmlns:%.*s=\"%s\">\n", f->pfx, (int)strlen(f->pfx) - 1, f->pfx, SIM_TAX_NS);
    else
        sim_buf_puts(b, "<KetQuaTraCuu xmlns=\"" SIM_TAX_NS "\">\n");
}

static void sim_tax_taxpayer(sim_buf_t *b, const sim_tax_form_t *f, const sim_taxpayer_t *tp)
{
    sim_buf_printf(b, "  <%sNguoiNopThue>\n    ", f->pfx);
    sim_tax_element(b, f, "MST", tp->code);
    sim_buf_puts(b, "\n    ");
    sim_tax_element(b, f, "TenNNT", tp->name);
    sim_buf_puts(b, "\n    ");
    sim_tax_element(b, f, "LoaiNNT", sim_tax_kind_codes[tp->kind]);
    sim_buf_puts(b, "\n    ");
    sim_tax_element(b, f, "DiaChiTruSo", tp->address);
    sim_buf_printf(b, "\n    <%sCoQuanThueQuanLy>", f->pfx);
    sim_tax_element(b, f, "Ma", tp->office->code);
    sim_tax_element(b, f, "Ten", tp->office->name);
    sim_buf_printf(b, "</%sCoQuanThueQuanLy>\n    ", f->pfx);
    sim_tax_element(b, f, "TrangThai", tp->status);
    sim_buf_puts(b, "\n    ");
    sim_tax_date_element(b, f, "NgayCapMST", tp->issued);
    sim_buf_puts(b, "\n    ");
    sim_tax_date_element(b, f, "NgayThayDoiTrangThai", tp->changed);
    sim_buf_printf(b, "\n  </%sNguoiNopThue>\n", f->pfx);
}

/* A KetQuaTraCuu with MaKetQua `result` (0-9), the record for 0; without MaYeuCau when echo is NULL. */
static void sim_tax_reply(sim_reply_t *reply, int http, const sim_tax_form_t *f, const char *echo, int result,
                          const char *mota, const sim_taxpayer_t *tp)
{
    sim_buf_t *b = &reply->body;
    sim_tax_open(b, f);
    if (echo != NULL) {
        sim_buf_puts(b, "  ");
        sim_tax_element(b, f, "MaYeuCau", echo);
        sim_buf_puts(b, "\n");
    }
    sim_buf_printf(b, "  <%sMaKetQua>%d</%sMaKetQua>\n  ", f->pfx, result, f->pfx);
    sim_tax_element(b, f, "MoTa", mota ? mota : sim_tax_mota[result]);
    sim_buf_puts(b, "\n");
    if (tp != NULL)
        sim_tax_taxpayer(b, f, tp);
    sim_buf_printf(b, "</%sKetQuaTraCuu>\n", f->pfx);
    reply->status = http;
    reply->reason = http == 200 ? "OK" : http == 401 ? "Unauthorized" : "Bad Request";
    reply->content_type = "application/xml; charset=utf-8";
}

static void sim_tax_reply_empty(sim_reply_t *reply, int http, const char *reason)
{
    reply->status = http;
    reply->reason = reason;
    reply->content_type = NULL;
}

/* For wrong_id: a well-formed UUID derived from, and different from, the request's id. */
static void sim_tax_other_id(const char *id, char out[37])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_Digest(id, strlen(id), md, &md_len, EVP_sha256(), NULL);
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x40);
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
    char *o = out;
    for (int i = 0; i < 16; i++) {
        o += sprintf(o, "%02x", md[i]);
        if (i == 3 || i == 5 || i == 7 || i == 9)
            *o++ = '-';
    }
    *o = '\0';
}

/*
 * What the "dtd" and "xxe" faults send: an otherwise valid answer for the
 * code asked about, whose name is an entity. A client that expands it either
 * builds a billion "lol"s or reads a local file; one that refuses the DTD
 * never gets that far.
 */
static void sim_tax_reply_hostile(sim_reply_t *reply, const sim_tax_call_t *c, int external)
{
    sim_buf_t *b = &reply->body;
    sim_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if (external) {
        sim_buf_puts(b, "<!DOCTYPE KetQuaTraCuu [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n");
    } else {
        sim_buf_puts(b, "<!DOCTYPE KetQuaTraCuu [\n <!ENTITY lol \"lol\">\n");
        for (int i = 1; i <= 9; i++) {
            sim_buf_printf(b, " <!ENTITY lol%d \"", i);
            for (int k = 0; k < 10; k++)
                sim_buf_printf(b, i == 1 ? "&lol;" : "&lol%d;", i - 1);
            sim_buf_puts(b, "\">\n");
        }
        sim_buf_puts(b, "]>\n");
    }
    sim_buf_puts(b, "<KetQuaTraCuu xmlns=\"" SIM_TAX_NS "\">\n  ");
    sim_buf_xml_element(b, "MaYeuCau", c->id);
    sim_buf_puts(b, "\n  <MaKetQua>0</MaKetQua>\n  <NguoiNopThue>\n    ");
    sim_buf_xml_element(b, "MST", c->code);
    sim_buf_printf(b, "\n    <TenNNT>%s</TenNNT>\n    <LoaiNNT>TC</LoaiNNT>\n  </NguoiNopThue>\n</KetQuaTraCuu>\n",
                   external ? "&xxe;" : "&lol9;");
    reply->status = 200;
    reply->reason = "OK";
    reply->content_type = "application/xml; charset=utf-8";
}

static int sim_tax_is_fault(const char *fault, const char *name)
{
    return fault != NULL && strcmp(fault, name) == 0;
}

/* A well-formed request: the code's own rules, then the registry. */
static void sim_tax_answer(const sim_people_t *people, const sim_tax_call_t *c, const char *fault, sim_reply_t *reply)
{
    char echo[37];
    snprintf(echo, sizeof echo, "%s", c->id);
    if (sim_tax_is_fault(fault, "wrong_id"))
        sim_tax_other_id(c->id, echo);
    sim_taxpayer_t tp;
    int found = sim_tax_code_valid(c->code) && sim_tax_find(people, c->code, &tp);
    sim_tax_form_t f = {found && tp.prefixed ? "nnt:" : "", found ? tp.ncr : 0, found && tp.bom};
    if (sim_tax_is_fault(fault, "bom"))
        f.bom = 1;
    if (sim_tax_is_fault(fault, "ncr"))
        f.ncr = 1;
    const char *sent = sim_tax_is_fault(fault, "no_echo") ? NULL : echo;
    if (!sim_tax_code_valid(c->code))
        sim_tax_reply(reply, 200, &f, sent, 2, NULL, NULL);
    else if (!found)
        sim_tax_reply(reply, 200, &f, sent, 1, NULL, NULL);
    else
        sim_tax_reply(reply, 200, &f, sent, 0, NULL, &tp);
}

static void sim_tax_handle(void *state, const sim_people_t *people, const sim_request_t *req, const char *fault,
                           sim_reply_t *reply)
{
    sim_tax_state_t *st = state;
    static const sim_tax_form_t plain = {"", 0, 0};
    if (strcmp(req->method, "POST") != 0) {
        reply->status = 405;
        reply->reason = "Method Not Allowed";
        reply->content_type = "text/plain; charset=utf-8";
        sim_buf_puts(&reply->body, "POST only\n");
        return;
    }
    sim_tax_call_t c;
    memset(&c, 0, sizeof c);
    sim_tax_parse(req, &c);
    /* The key first: an unauthenticated caller learns nothing, not even that it is over the limit. */
    if (!sim_tax_key_ok(st, req))
        sim_tax_reply(reply, 401, &plain, c.id ? c.id : "", 3, NULL, NULL);
    else if (sim_tax_is_fault(fault, "rate_limit") || sim_tax_over_limit(st))
        sim_tax_reply_empty(reply, 503, "Service Unavailable");
    else if (c.problem[0] != '\0')
        sim_tax_reply(reply, 400, &plain, c.id ? c.id : "", 2, c.problem, NULL);
    else if (sim_tax_is_fault(fault, "MaKetQua2"))
        sim_tax_reply(reply, 200, &plain, c.id ? c.id : "", 2, NULL, NULL);
    else if (sim_tax_is_fault(fault, "MaKetQua9"))
        sim_tax_reply(reply, 200, &plain, c.id ? c.id : "", 9, NULL, NULL);
    else if (sim_tax_is_fault(fault, "dtd") || sim_tax_is_fault(fault, "xxe"))
        sim_tax_reply_hostile(reply, &c, sim_tax_is_fault(fault, "xxe"));
    else
        sim_tax_answer(people, &c, fault, reply);
    sim_tax_call_free(&c);
}

static int sim_tax_operation_of(const sim_request_t *req)
{
    return strcmp(req->method, "POST") == 0 ? 0 : -1;
}

/* ---- sample and control verbs ---- */

static void sim_tax_sample_line(sim_buf_t *out, const sim_taxpayer_t *tp)
{
    json_t *line = json_pack("{s:s,s:s}", "tax_code", tp->code, "name", tp->name);
    char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
    if (text != NULL) {
        sim_buf_puts(out, text);
        sim_buf_puts(out, "\n");
    }
    free(text);
    json_decref(line);
}

/*
 * n taxpayers that exist: the ICD's example first, then picks spread evenly
 * over the people; every third organisation with dependent units is given as
 * its first unit, so samples hold 13-character codes too.
 */
static void sim_tax_sample(const sim_people_t *people, size_t n, sim_buf_t *out)
{
    sim_taxpayer_t tp;
    size_t count = sim_people_count(people);
    if (n > count + 1)
        n = count + 1;
    if (n == 0)
        return;
    sim_tax_icd_example(&tp);
    sim_tax_sample_line(out, &tp);
    for (size_t k = 1; k < n; k++) {
        size_t t = (size_t)((unsigned long long)(k - 1) * count / (n - 1));
        unsigned branch = sim_tax_kind(people, t) == SIM_TAX_TC && k % 3 == 0 && sim_tax_branches(t) > 0 ? 1 : 0;
        sim_tax_make(people, t, branch, &tp);
        sim_tax_sample_line(out, &tp);
    }
}

int sim_tax_print_sample(const sim_people_t *people, size_t n, FILE *out)
{
    sim_buf_t b;
    sim_buf_init(&b);
    sim_tax_sample(people, n, &b);
    int rc = b.len == 0 || fwrite(b.data, 1, b.len, out) == b.len ? 0 : 1;
    sim_buf_free(&b);
    return rc;
}

static void sim_tax_control_json(sim_reply_t *reply, int status, const char *reason, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    reply->status = status;
    reply->reason = reason;
    reply->content_type = "application/json";
    if (text != NULL) {
        sim_buf_puts(&reply->body, text);
        sim_buf_puts(&reply->body, "\n");
        free(text);
    }
}

/* GET|PUT /control/tax/limit {"per_second": N}: tests lower the ICD's 30/s to meet it, or raise it to stay clear. */
static void sim_tax_control_limit(sim_tax_state_t *st, const sim_request_t *req, sim_reply_t *reply)
{
    if (strcmp(req->method, "PUT") == 0) {
        json_t *doc = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
        json_t *v = json_object_get(doc, "per_second");
        long n = json_is_integer(v) ? (long)json_integer_value(v) : 0;
        int ok = json_is_object(doc) && json_object_size(doc) == 1 && n >= 1 && n <= SIM_TAX_LIMIT_MAX;
        json_decref(doc);
        if (!ok || sim_tax_set_limit(st, n) < 0) {
            sim_tax_control_json(reply, 400, "Bad Request",
                                 json_pack("{s:s}", "error", "body must be {\"per_second\": 1..100000}"));
            return;
        }
    } else if (strcmp(req->method, "GET") != 0) {
        sim_tax_control_json(reply, 405, "Method Not Allowed", json_pack("{s:s}", "error", "GET or PUT"));
        return;
    }
    sim_tax_control_json(reply, 200, "OK", json_pack("{s:I}", "per_second", (json_int_t)st->limit));
}

/* GET /control/tax/sample?n=N: what --sample prints, for tests that have the simulator running anyway. */
static void sim_tax_control_sample(const sim_people_t *people, const sim_request_t *req, sim_reply_t *reply)
{
    long n = 20;
    if (req->query != NULL && strncmp(req->query, "n=", 2) == 0) {
        char *end;
        n = strtol(req->query + 2, &end, 10);
        if (*end != '\0')
            n = -1;
    }
    if (strcmp(req->method, "GET") != 0 || n < 1 || n > SIM_TAX_SAMPLE_MAX) {
        sim_tax_control_json(reply, 400, "Bad Request", json_pack("{s:s}", "error", "GET sample?n=1..100000"));
        return;
    }
    reply->status = 200;
    reply->reason = "OK";
    reply->content_type = "application/x-ndjson; charset=utf-8";
    sim_tax_sample(people, (size_t)n, &reply->body);
}

static int sim_tax_control(void *state, const char *verb, const sim_request_t *req, sim_reply_t *reply)
{
    if (strcmp(verb, "limit") == 0) {
        sim_tax_control_limit(state, req, reply);
        return 0;
    }
    if (strcmp(verb, "sample") == 0) {
        sim_tax_control_sample(((sim_tax_state_t *)state)->people, req, reply);
        return 0;
    }
    return -1;
}

const sim_service_t sim_tax_service = {
    .name = "tax",
    .path = SIM_TAX_PATH,
    .cert_name = "tax-sim",
    .default_port = 9103,
    .ops = sim_tax_ops,
    .faults = sim_tax_faults,
    .operation_of = sim_tax_operation_of,
    .handle = sim_tax_handle,
    .state_new = sim_tax_state_new,
    .state_reset = sim_tax_state_reset,
    .state_free = sim_tax_state_free,
    .control = sim_tax_control,
    .client_auth = SIM_CLIENT_CERT_NONE,
    .sample = sim_tax_print_sample,
};
