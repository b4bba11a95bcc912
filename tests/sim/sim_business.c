/*
 * sim_business: the enterprise lookup and its OAuth 2.0 token endpoint, as the
 * business registration ICD describes them and nothing more.
 *
 * Enterprises are a pure function of the shared synthetic people and an index:
 * the same population (seed and size) always holds the same enterprises under
 * the same codes, every code has a valid check digit, and the legal
 * representatives are people of sim_people, so a director found here is the
 * same person the population service knows. Lookups need no index: a code's
 * digits 3-9 are a bijection of the enterprise index, so a code is decoded,
 * not searched.
 *
 * The token endpoint keeps the ICD's rules: Basic client authentication, the
 * client-credentials grant for scope dkdn.read, 10 requests per minute per
 * client, and tokens that expire or are revoked. The lookup checks the bearer
 * token and the 20 requests per second per client limit.
 *
 * Client: id "lienthong-dev" (PUT /control/business/token {"client_id"} changes
 * it), secret = the trimmed text of --certs-dir/business-client.secret.
 * Over 10 token requests in a sliding minute: 429 {"error":"too_many_requests"}
 * with Retry-After (RFC 6749 has no code for it; 429 is what RFC 6585 says).
 * Only admitted requests fill the window, so a client that waits gets in.
 *
 * Control verbs under /control/business/ (besides stats, faults, reset):
 *   GET  token            {"client_id","expires_in","issued","active","revoked","invalid_client",
 *                          "bad_request","rate_limited","max_per_minute","lookup_invalid_token",
 *                          "lookup_rate_limited"}
 *   PUT  token            {"expires_in": 1-86400, "client_id": "..."} (either), answers as GET
 *   POST revoke           revokes every live token: {"revoked": n}
 *   GET  sample?n=N       the lines --sample prints (see sim_business.h)
 *   GET  record?code=C    the 200 body a lookup of C gets, without a token or a count
 * stats counts by_operation "lookup" and "token" separately.
 */
#include "sim_business.h"
#include "sim_text.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SIM_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define SIM_BIZ_TOKEN_PATH      "/oauth2/token"
#define SIM_BIZ_LOOKUP_PREFIX   "/api/v2/doanh-nghiep/"
#define SIM_BIZ_SCOPE           "dkdn.read"
#define SIM_BIZ_DEFAULT_CLIENT  "lienthong-dev"
#define SIM_BIZ_SECRET_FILE     "business-client.secret"
#define SIM_BIZ_DEFAULT_EXPIRES 300 /* the ICD's example */
#define SIM_BIZ_MAX_EXPIRES     86400
#define SIM_BIZ_TOKEN_LIMIT     10 /* per client per minute (ICD "Token") */
#define SIM_BIZ_TOKEN_WINDOW_MS 60000
#define SIM_BIZ_LOOKUP_LIMIT    20 /* per client per second (ICD "Errors", 429) */
#define SIM_BIZ_LOOKUP_WINDOW   1000
#define SIM_BIZ_MAX_TOKENS      4096 /* issued tokens remembered; older ones are forgotten, i.e. invalid */
#define SIM_BIZ_TOKEN_LEN       43   /* base64url of 32 random bytes, unpadded */
#define SIM_BIZ_HISTORY         64   /* token request times kept for the per-minute maximum */
#define SIM_BIZ_SEQ_MOD         10000000ull
#define SIM_BIZ_SEQ_MUL         7919777ull /* odd and not a multiple of 5: a bijection modulo 10^7 */
#define SIM_BIZ_MAX_ENTERPRISES 250000
#define SIM_BIZ_MAINTENANCE_S   "30"

enum { SIM_BIZ_OP_LOOKUP, SIM_BIZ_OP_TOKEN };
static const char *const sim_biz_ops[] = {"lookup", "token", NULL};
/*
 * DN-* and invalid_token answer lookups; invalid_client answers token
 * requests. Each is ignored by the other endpoint (the server still counts the
 * request against "remaining"). wrong_code, bad_json and capital_overflow are
 * 200 answers that a client must refuse.
 */
static const char *const sim_biz_faults[] = {
    "DN-400",         "DN-404",     "DN-429",   "DN-500",           "DN-503", "invalid_token",
    "invalid_client", "wrong_code", "bad_json", "capital_overflow", NULL};

/* ---- deterministic enterprises ---- */

typedef struct sim_biz_type {
    const char *code; /* loaiHinh.ma */
    const char *name; /* loaiHinh.ten */
    const char *prefix;
    const char *english; /* NULL: no foreign name is registered */
    const char *abbrev;
    const char *title; /* the legal representative's title */
    unsigned weight;
} sim_biz_type_t;

/* The five forms of the ICD, and DNXH standing for "another code that may be added later". */
static const sim_biz_type_t sim_biz_types[] = {
    {"DNTN", "Doanh nghiệp tư nhân", "DOANH NGHIỆP TƯ NHÂN", NULL, NULL, "Chủ doanh nghiệp", 12},
    {"TNHH1TV", "Công ty trách nhiệm hữu hạn một thành viên", "CÔNG TY TNHH MỘT THÀNH VIÊN", "COMPANY LIMITED",
     "CO., LTD", "Giám đốc", 30},
    {"TNHH2TV", "Công ty trách nhiệm hữu hạn hai thành viên trở lên", "CÔNG TY TNHH", "COMPANY LIMITED", "CO., LTD",
     "Giám đốc", 25},
    {"CTCP", "Công ty cổ phần", "CÔNG TY CỔ PHẦN", "JOINT STOCK COMPANY", "JSC", "Tổng giám đốc", 25},
    {"CTHD", "Công ty hợp danh", "CÔNG TY HỢP DANH", "PARTNERSHIP", "PTNS", "Thành viên hợp danh", 3},
    {"DNXH", "Doanh nghiệp xã hội", "DOANH NGHIỆP XÃ HỘI", "SOCIAL ENTERPRISE", "SE", "Giám đốc", 5},
};

typedef struct sim_biz_status {
    const char *code; /* tinhTrang.ma */
    const char *name;
    unsigned weight;
} sim_biz_status_t;

static const sim_biz_status_t sim_biz_statuses[] = {
    {"01", "Đang hoạt động", 80},
    {"02", "Tạm ngừng kinh doanh", 6},
    {"03", "Đang làm thủ tục giải thể", 4},
    {"04", "Đã giải thể", 4},
    {"05", "Bị thu hồi Giấy chứng nhận đăng ký doanh nghiệp", 3},
    {"06", "Phá sản", 3},
};

typedef struct sim_biz_line {
    const char *code; /* VSIC 2018, 4 digits */
    const char *name;
} sim_biz_line_t;

typedef struct sim_biz_sector {
    const char *name; /* upper case, as registered names are written */
    const char *english;
    sim_biz_line_t lines[3];
} sim_biz_sector_t;

static const sim_biz_sector_t sim_biz_sectors[] = {
    {"PHẦN MỀM",
     "SOFTWARE",
     {{"6201", "Lập trình máy vi tính"},
      {"6202", "Tư vấn máy vi tính và quản trị hệ thống máy vi tính"},
      {"6311", "Xử lý dữ liệu, cho thuê và các hoạt động liên quan"}}},
    {"XÂY DỰNG",
     "CONSTRUCTION",
     {{"4101", "Xây dựng nhà để ở"},
      {"4299", "Xây dựng công trình kỹ thuật dân dụng khác"},
      {"4322", "Lắp đặt hệ thống cấp, thoát nước, hệ thống sưởi và điều hoà không khí"}}},
    {"THƯƠNG MẠI",
     "TRADING",
     {{"4690", "Bán buôn tổng hợp"},
      {"4719", "Bán lẻ khác trong các cửa hàng kinh doanh tổng hợp"},
      {"4649", "Bán buôn đồ dùng khác cho gia đình"}}},
    {"VẬN TẢI",
     "TRANSPORT",
     {{"4933", "Vận tải hàng hóa bằng đường bộ"},
      {"5022", "Vận tải hàng hóa đường thủy nội địa"},
      {"5210", "Kho bãi và lưu giữ hàng hóa"}}},
    {"THỰC PHẨM",
     "FOOD",
     {{"1079", "Sản xuất thực phẩm khác chưa được phân vào đâu"},
      {"4632", "Bán buôn thực phẩm"},
      {"1050", "Chế biến sữa và các sản phẩm từ sữa"}}},
    {"DỆT MAY",
     "TEXTILE",
     {{"1410", "May trang phục (trừ trang phục từ da lông thú)"},
      {"1311", "Sản xuất sợi"},
      {"4641", "Bán buôn vải, hàng may mặc, giày dép"}}},
    {"DU LỊCH",
     "TRAVEL",
     {{"7911", "Đại lý du lịch"}, {"5510", "Dịch vụ lưu trú ngắn ngày"}, {"7912", "Điều hành tua du lịch"}}},
    {"NÔNG SẢN",
     "AGRICULTURAL PRODUCTS",
     {{"4620", "Bán buôn nông, lâm sản nguyên liệu (trừ gỗ, tre, nứa) và động vật sống"},
      {"0111", "Trồng lúa"},
      {"1061", "Xay xát và sản xuất bột thô"}}},
    {"DƯỢC PHẨM",
     "PHARMACEUTICAL",
     {{"2100", "Sản xuất thuốc, hoá dược và dược liệu"},
      {"4772", "Bán lẻ thuốc, dụng cụ y tế, mỹ phẩm và vật phẩm vệ sinh trong các cửa hàng chuyên doanh"},
      {"7210", "Nghiên cứu và phát triển thực nghiệm khoa học tự nhiên và kỹ thuật"}}},
    {"THỦY SẢN",
     "SEAFOOD",
     {{"1020", "Chế biến, bảo quản thuỷ sản và các sản phẩm từ thuỷ sản"},
      {"0321", "Nuôi trồng thuỷ sản biển"},
      {"4632", "Bán buôn thực phẩm"}}},
    {"CƠ KHÍ",
     "MECHANICAL ENGINEERING",
     {{"2592", "Gia công cơ khí; xử lý và tráng phủ kim loại"},
      {"3312", "Sửa chữa máy móc, thiết bị"},
      {"2811", "Sản xuất động cơ, tuabin (trừ động cơ máy bay, ô tô, mô tô và xe máy)"}}},
    {"GIÁO DỤC",
     "EDUCATION",
     {{"8559", "Giáo dục khác chưa được phân vào đâu"},
      {"8560", "Dịch vụ hỗ trợ giáo dục"},
      {"8532", "Đào tạo trung cấp"}}},
};

typedef struct sim_biz_brand {
    const char *name;  /* upper case Vietnamese */
    const char *ascii; /* the same without diacritics, for foreign names */
} sim_biz_brand_t;

static const sim_biz_brand_t sim_biz_brands[] = {
    {"HÀ THÀNH", "HA THANH"},     {"ĐÔNG Á", "DONG A"},
    {"HOÀNG LONG", "HOANG LONG"}, {"NAM TRUNG", "NAM TRUNG"},
    {"ĐẤT VIỆT", "DAT VIET"},     {"THIÊN PHÚC", "THIEN PHUC"},
    {"ÁNH DƯƠNG", "ANH DUONG"},   {"HẠ LONG XANH", "HA LONG XANH"},
    {"MIỀN TÂY", "MIEN TAY"},     {"QUANG TRUNG", "QUANG TRUNG"},
    {"BÌNH MINH", "BINH MINH"},   {"TRƯỜNG AN", "TRUONG AN"},
    {"PHÚ QUÝ", "PHU QUY"},       {"SÔNG HỒNG", "SONG HONG"},
    {"KIM CƯƠNG", "KIM CUONG"},   {"ĐẠI PHÁT", "DAI PHAT"},
    {"TÂN THỊNH", "TAN THINH"},   {"HƯNG THỊNH", "HUNG THINH"},
    {"VĨNH PHÁT", "VINH PHAT"},   {"LẠC HỒNG", "LAC HONG"},
};

static const char *const sim_biz_communes[] = {
    "Phường Phan Chu Trinh", "Phường Bến Nghé",  "Phường Hải Châu", "Phường Tân Định", "Xã Đông Anh",
    "Xã Vĩnh Ngọc",          "Phường Ninh Kiều", "Phường Lê Lợi",   "Xã Tiên Du",      "Phường Thủ Dầu Một",
    "Phường Hồng Gai",       "Xã Phù Đổng",      "Phường Vĩnh Yên", "Xã Hòa Vang",     "Phường Ngũ Hành Sơn",
};

static const char *const sim_biz_streets[] = {
    "phố Lý Thường Kiệt", "đường Trần Hưng Đạo", "đường Nguyễn Huệ", "phố Hàng Bạc",      "đường Lê Duẩn",
    "đường Hùng Vương",   "đường Bạch Đằng",     "phố Bà Triệu",     "đường Võ Văn Kiệt", "đường 3 Tháng 2",
};

/* Charter capital in VND: several beyond 2^32, one beyond 2^53 (exact only as a 64-bit integer). */
static const long long sim_biz_capitals[] = {
    100000000LL,   500000000LL,   1000000000LL,   2000000000LL,    3500000000LL,       5000000000LL,
    12000000000LL, 45000000000LL, 250000000000LL, 1800000000000LL, 9007199254740993LL,
};

/* Prefixes of real tax offices' first two digits; the prefix never affects uniqueness, only the check digit. */
static const char *const sim_biz_prefixes[] = {"01", "02", "03", "04", "05", "06", "08", "10", "22", "25", "27",
                                               "28", "29", "30", "31", "32", "34", "36", "37", "38", "40", "42",
                                               "44", "46", "48", "52", "56", "58", "60", "62", "64", "66", "70"};

/* splitmix64, as sim_people uses: neighbouring inputs look unrelated. */
static uint64_t sim_biz_mix(uint64_t x)
{
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The seed's fingerprint: person 0 is a pure function of the seed (sim_people.h). */
static uint64_t sim_biz_seed_key(const sim_people_t *people)
{
    const char *id = sim_people_at(people, 0)->id;
    uint64_t h = 1469598103934665603ull;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211ull;
    return sim_biz_mix(h);
}

static size_t sim_biz_count(const sim_people_t *people)
{
    size_t n = sim_people_count(people) / 4;
    if (n < 1)
        n = 1;
    return n > SIM_BIZ_MAX_ENTERPRISES ? SIM_BIZ_MAX_ENTERPRISES : n;
}

/* Branches: every fifth enterprise has -001, every tenth also -002. */
static int sim_biz_branches(size_t index)
{
    return index % 10 == 0 ? 2 : index % 5 == 0 ? 1 : 0;
}

/* icd/README.md: weights 31,29,23,19,17,13,7,5,3 on digits 1-9, check = 10 - (sum mod 11); 10 is never valid. */
static int sim_biz_check_digit(const char *d)
{
    static const int w[9] = {31, 29, 23, 19, 17, 13, 7, 5, 3};
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += w[i] * (d[i] - '0');
    return 10 - sum % 11;
}

typedef struct sim_biz {
    size_t index;
    int branch; /* 0: the enterprise itself; n: its branch -00n */
    uint64_t h; /* drives every choice for this unit */
    char code[16];
    const sim_biz_type_t *type;
    const sim_biz_status_t *status;
    const sim_biz_sector_t *sector;
    const sim_biz_brand_t *brand;
} sim_biz_t;

static uint64_t sim_biz_offset(const sim_people_t *people)
{
    return sim_biz_seed_key(people) % SIM_BIZ_SEQ_MOD;
}

static unsigned sim_biz_pick(uint64_t h, const unsigned *weights, size_t n)
{
    unsigned total = 0;
    for (size_t i = 0; i < n; i++)
        total += weights[i];
    unsigned r = (unsigned)(h % total);
    for (size_t i = 0; i < n; i++) {
        if (r < weights[i])
            return (unsigned)i;
        r -= weights[i];
    }
    return 0;
}

static const sim_biz_type_t *sim_biz_pick_type(uint64_t h)
{
    unsigned w[SIM_COUNT(sim_biz_types)];
    for (size_t i = 0; i < SIM_COUNT(w); i++)
        w[i] = sim_biz_types[i].weight;
    return &sim_biz_types[sim_biz_pick(h, w, SIM_COUNT(w))];
}

static const sim_biz_status_t *sim_biz_pick_status(uint64_t h)
{
    unsigned w[SIM_COUNT(sim_biz_statuses)];
    for (size_t i = 0; i < SIM_COUNT(w); i++)
        w[i] = sim_biz_statuses[i].weight;
    return &sim_biz_statuses[sim_biz_pick(h, w, SIM_COUNT(w))];
}

/* Enterprise `index` (and optionally one of its branches). Deterministic for a population. */
static void sim_biz_make(const sim_people_t *people, size_t index, int branch, sim_biz_t *b)
{
    memset(b, 0, sizeof *b);
    b->index = index;
    b->branch = branch;
    uint64_t key = sim_biz_seed_key(people);
    uint64_t h = sim_biz_mix(key ^ sim_biz_mix(index));
    b->h = branch ? sim_biz_mix(h + (uint64_t)branch) : h;
    unsigned long long seq = (index * SIM_BIZ_SEQ_MUL + key % SIM_BIZ_SEQ_MOD) % SIM_BIZ_SEQ_MOD;
    char nine[10];
    size_t p = (size_t)(h % SIM_COUNT(sim_biz_prefixes));
    for (size_t tries = 0; tries < SIM_COUNT(sim_biz_prefixes); tries++, p = (p + 1) % SIM_COUNT(sim_biz_prefixes)) {
        snprintf(nine, sizeof nine, "%s%07llu", sim_biz_prefixes[p], seq);
        if (sim_biz_check_digit(nine) != 10)
            break;
    }
    snprintf(b->code, sizeof b->code, "%s%d", nine, sim_biz_check_digit(nine));
    if (branch)
        snprintf(b->code + 10, sizeof b->code - 10, "-%03d", branch);
    /* A branch shares its enterprise's form and name; its status is its own. */
    b->type = sim_biz_pick_type(h >> 3);
    b->sector = &sim_biz_sectors[(h >> 17) % SIM_COUNT(sim_biz_sectors)];
    b->brand = &sim_biz_brands[(h >> 29) % SIM_COUNT(sim_biz_brands)];
    b->status = sim_biz_pick_status(b->h >> 41);
}

static int sim_biz_valid_code(const char *code)
{
    size_t n = strlen(code);
    if ((n != 10 && n != 14) || strspn(code, "0123456789") != 10)
        return 0;
    if (n == 14 && (code[10] != '-' || strspn(code + 11, "0123456789") != 3 || strcmp(code + 11, "000") == 0))
        return 0;
    return sim_biz_check_digit(code) == code[9] - '0';
}

/* x^-1 modulo m by the extended Euclidean algorithm (x and m coprime). */
static unsigned long long sim_biz_inverse(unsigned long long x, unsigned long long m)
{
    long long t = 0, nt = 1, r = (long long)m, nr = (long long)x;
    while (nr != 0) {
        long long q = r / nr, tmp = t - q * nt;
        t = nt;
        nt = tmp;
        tmp = r - q * nr;
        r = nr;
        nr = tmp;
    }
    return (unsigned long long)(t < 0 ? t + (long long)m : t);
}

/* Decodes a well-formed code into its enterprise; 0 when no enterprise or branch has it. */
static int sim_biz_find(const sim_people_t *people, const char *code, sim_biz_t *b)
{
    unsigned long long seq = strtoull(code + 2, NULL, 10) / 10; /* digits 3-9 */
    unsigned long long off = sim_biz_offset(people);
    unsigned long long index = ((seq + SIM_BIZ_SEQ_MOD - off) % SIM_BIZ_SEQ_MOD) *
                               sim_biz_inverse(SIM_BIZ_SEQ_MUL, SIM_BIZ_SEQ_MOD) % SIM_BIZ_SEQ_MOD;
    if (index >= sim_biz_count(people))
        return 0;
    int branch = strlen(code) == 14 ? atoi(code + 11) : 0;
    if (branch > sim_biz_branches((size_t)index))
        return 0;
    sim_biz_make(people, (size_t)index, branch, b);
    return strcmp(b->code, code) == 0;
}

/* ---- rendering a record (ICD "Lookup", 200) ---- */

static void sim_biz_set_str(json_t *o, const char *key, const char *value)
{
    json_object_set_new(o, key, json_string(value));
}

static void sim_biz_name(const sim_biz_t *b, char *out, size_t len)
{
    int n = snprintf(out, len, "%s %s %s", b->type->prefix, b->sector->name, b->brand->name);
    if (b->branch && n > 0 && (size_t)n < len) {
        char parent[256];
        snprintf(parent, sizeof parent, "%s", out);
        snprintf(out, len, "CHI NHÁNH SỐ %d - %s", b->branch, parent);
    }
}

/* Optional text: present, present as null, or missing, so clients meet all three. */
static void sim_biz_optional(json_t *o, const char *key, const char *value, uint64_t h)
{
    switch (h % 5) {
    case 0:
        return; /* missing */
    case 1:
        json_object_set_new(o, key, json_null());
        return;
    default:
        sim_biz_set_str(o, key, value);
    }
}

static void sim_biz_names(json_t *o, const sim_biz_t *b)
{
    char name[320];
    sim_biz_name(b, name, sizeof name);
    sim_biz_set_str(o, "tenDoanhNghiep", name);
    if (b->type->english == NULL || b->branch)
        return;
    char foreign[160], initials[16] = "", shortname[48];
    snprintf(foreign, sizeof foreign, "%s %s %s", b->brand->ascii, b->sector->english, b->type->english);
    sim_biz_optional(o, "tenNuocNgoai", foreign, b->h >> 5);
    /* "HTS JSC": the brand's initials and the sector's, then the form's abbreviation, as the ICD's sample has it. */
    size_t k = 0;
    for (const char *p = b->brand->ascii; *p && k < 8; p++)
        if (p == b->brand->ascii || p[-1] == ' ')
            initials[k++] = *p;
    initials[k++] = b->sector->english[0];
    initials[k] = '\0';
    snprintf(shortname, sizeof shortname, "%s %s", initials, b->type->abbrev);
    sim_biz_optional(o, "tenVietTat", shortname, b->h >> 9);
}

static json_t *sim_biz_coded(const char *code, const char *name)
{
    return json_pack("{s:s, s:s}", "ma", code, "ten", name);
}

static void sim_biz_dates(json_t *o, const sim_biz_t *b)
{
    int year = 1995 + (int)((b->h >> 13) % 30), month = 1 + (int)((b->h >> 23) % 12),
        day = 1 + (int)((b->h >> 27) % 28);
    if (b->branch)
        year += (2025 - year) / 2; /* branches open after their enterprise */
    char text[40];
    snprintf(text, sizeof text, "%04d-%02d-%02d", year, month, day);
    sim_biz_set_str(o, "ngayThanhLap", text);
    int uy = year + 1 + (int)((b->h >> 35) % (2026 - year - 1 > 0 ? 2026 - year - 1 : 1));
    if (uy > 2025)
        uy = 2025;
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d+07:00", uy, 1 + (int)((b->h >> 39) % 12),
             1 + (int)((b->h >> 43) % 28), 7 + (int)((b->h >> 47) % 11), (int)((b->h >> 51) % 60),
             (int)((b->h >> 55) % 60));
    sim_biz_set_str(o, "capNhatLuc", text);
}

static json_t *sim_biz_address(const sim_biz_t *b)
{
    uint64_t h = sim_biz_mix(b->h ^ 0xADD8E55ull);
    const sim_province_t *prov = sim_places_new((size_t)(h % sim_places_new_count()));
    size_t commune = (size_t)((h >> 8) % SIM_COUNT(sim_biz_communes));
    char street[160], code[8], pcode[4], pname[96];
    snprintf(street, sizeof street, "Số %u %s", 1 + (unsigned)((h >> 16) % 300),
             sim_biz_streets[(h >> 28) % SIM_COUNT(sim_biz_streets)]);
    snprintf(code, sizeof code, "%05u", (unsigned)((prov->code * 700 + commune * 37) % 100000));
    snprintf(pcode, sizeof pcode, "%02d", prov->code);
    snprintf(pname, sizeof pname, "%s %s", prov->is_city ? "Thành phố" : "Tỉnh", prov->name);
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "soNhaDuong", street, "maPhuongXa", code, "tenPhuongXa",
                     sim_biz_communes[commune], "maTinh", pcode, "tenTinh", pname);
}

/* An adult of the shared population, picked from h: the same person other systems know. */
static const sim_person_t *sim_biz_person(const sim_people_t *people, uint64_t h)
{
    size_t n = sim_people_count(people), i = (size_t)(h % n);
    for (size_t step = 0; step < n; step++, i = (i + 1) % n) {
        const sim_person_t *p = sim_people_at(people, i);
        if (p->birth.year <= 2005)
            return p;
    }
    return sim_people_at(people, (size_t)(h % n));
}

static json_t *sim_biz_rep(const sim_person_t *p, const char *title)
{
    char name[256];
    sim_person_full_name(p, name, sizeof name);
    return json_pack("{s:s, s:s}", "hoTen", name, "chucDanh", title);
}

static json_t *sim_biz_reps(const sim_people_t *people, const sim_biz_t *b)
{
    json_t *reps = json_array();
    if (b->branch) {
        json_array_append_new(reps, sim_biz_rep(sim_biz_person(people, sim_biz_mix(b->h)), "Giám đốc chi nhánh"));
        return reps;
    }
    json_array_append_new(reps, sim_biz_rep(sim_biz_person(people, sim_biz_mix(b->h ^ 1)), b->type->title));
    /* Some joint stock companies register their chair as a second legal representative (Law on Enterprises 2020). */
    if (strcmp(b->type->code, "CTCP") == 0 && (b->h >> 57) % 2)
        json_array_append_new(reps,
                              sim_biz_rep(sim_biz_person(people, sim_biz_mix(b->h ^ 2)), "Chủ tịch Hội đồng quản trị"));
    return reps;
}

static json_t *sim_biz_lines(const sim_biz_t *b)
{
    json_t *lines = json_array();
    size_t n = 1 + (size_t)((b->h >> 59) % 3);
    for (size_t i = 0; i < n; i++) {
        const sim_biz_line_t *l = &b->sector->lines[i];
        json_t *line = json_pack("{s:s, s:s}", "ma", l->code, "ten", l->name);
        /* The ICD marks the main line with true; some records leave "chinh" out on the others. */
        if (i == 0 || (b->h >> (50 + i)) % 2)
            json_object_set_new(line, "chinh", json_boolean(i == 0));
        json_array_append_new(lines, line);
    }
    return lines;
}

static json_t *sim_biz_record(const sim_people_t *people, const sim_biz_t *b)
{
    json_t *o = json_object();
    sim_biz_set_str(o, "maSoDoanhNghiep", b->code);
    sim_biz_names(o, b);
    json_object_set_new(o, "loaiHinh", sim_biz_coded(b->type->code, b->type->name));
    json_object_set_new(o, "tinhTrang", sim_biz_coded(b->status->code, b->status->name));
    sim_biz_dates(o, b);
    json_object_set_new(o, "diaChiTruSo", sim_biz_address(b));
    json_object_set_new(o, "nguoiDaiDienPhapLuat", sim_biz_reps(people, b));
    json_object_set_new(o, "nganhNghe", sim_biz_lines(b));
    /* A branch has no charter capital of its own. */
    if (!b->branch)
        json_object_set_new(o, "vonDieuLe", json_integer(sim_biz_capitals[(b->h >> 45) % SIM_COUNT(sim_biz_capitals)]));
    /* "Unknown fields may appear." */
    if ((b->h >> 61) % 4 == 0) {
        sim_biz_set_str(o, "maSoThue", b->code);
        json_object_set_new(o, "nguonDuLieu", json_pack("{s:s, s:i}", "he", "DKDN", "phienBan", 2));
    }
    return o;
}

/* The capNhatLuc key moves last, where the ICD's sample has it. */
static void sim_biz_order(json_t *o)
{
    json_t *t = json_object_get(o, "capNhatLuc");
    json_incref(t);
    json_object_del(o, "capNhatLuc");
    json_object_set_new(o, "capNhatLuc", t);
}

/* ---- sampling ---- */

static void sim_biz_sample_line(const sim_people_t *people, size_t k, size_t n, sim_buf_t *out)
{
    size_t count = sim_biz_count(people);
    size_t j = n <= count ? (size_t)((unsigned long long)k * count / n) : k % count;
    int branch = 0;
    /* Every fourth line is a branch, so a sample of four or more holds NNNNNNNNNN-NNN codes. */
    if (k % 4 == 3) {
        j -= j % 5;
        branch = 1;
    }
    sim_biz_t b;
    sim_biz_make(people, j, branch, &b);
    char name[320];
    sim_biz_name(&b, name, sizeof name);
    json_t *line = json_pack("{s:s, s:s}", "code", b.code, "name", name);
    char *text = json_dumps(line, JSON_COMPACT);
    sim_buf_printf(out, "%s\n", text ? text : "{}");
    free(text);
    json_decref(line);
}

static void sim_biz_sample_buf(const sim_people_t *people, size_t n, sim_buf_t *out)
{
    for (size_t k = 0; k < n; k++)
        sim_biz_sample_line(people, k, n, out);
}

int sim_business_sample(const sim_people_t *people, size_t n, FILE *out)
{
    sim_buf_t b;
    sim_buf_init(&b);
    sim_biz_sample_buf(people, n, &b);
    int rc = b.len && fwrite(b.data, 1, b.len, out) != b.len ? 1 : 0;
    sim_buf_free(&b);
    return rc == 0 && fflush(out) == 0 ? 0 : 1;
}

/* ---- protocol state ---- */

typedef struct sim_biz_token {
    char value[SIM_BIZ_TOKEN_LEN + 1];
    long long expires_ms;
    int revoked;
} sim_biz_token_t;

typedef struct sim_biz_counters {
    unsigned long long issued, invalid_client, bad_request, rate_limited, revoked;
    unsigned long long lookup_invalid_token, lookup_rate_limited;
    unsigned long long max_per_minute; /* most authenticated token requests seen inside any 60 s */
} sim_biz_counters_t;

typedef struct sim_biz_state {
    const sim_people_t *people;
    char client_id[128];
    char secret[512];
    long expires_in;
    sim_biz_token_t tokens[SIM_BIZ_MAX_TOKENS];
    size_t ntokens, next_token;              /* a ring: the oldest are forgotten first */
    long long admitted[SIM_BIZ_TOKEN_LIMIT]; /* times of the last admitted token requests */
    size_t nadmitted;
    long long history[SIM_BIZ_HISTORY]; /* times of the last authenticated token requests, for max_per_minute */
    size_t nhistory;
    long long lookups[SIM_BIZ_LOOKUP_LIMIT]; /* times of the last admitted lookups */
    size_t nlookups;
    sim_biz_counters_t c;
} sim_biz_state_t;

static long long sim_biz_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sim_biz_state_defaults(sim_biz_state_t *s)
{
    s->ntokens = s->next_token = s->nadmitted = s->nhistory = s->nlookups = 0;
    memset(&s->c, 0, sizeof s->c);
    s->expires_in = SIM_BIZ_DEFAULT_EXPIRES;
    snprintf(s->client_id, sizeof s->client_id, "%s", SIM_BIZ_DEFAULT_CLIENT);
}

static int sim_biz_read_secret(sim_biz_state_t *s, const char *certs_dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", certs_dir ? certs_dir : ".", SIM_BIZ_SECRET_FILE);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "lienthong-sim: business: cannot read the client secret %s (certs/gen-pki.sh makes it)\n",
                path);
        return -1;
    }
    char buf[sizeof s->secret + 1];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    size_t len;
    const char *t = sim_text_trim(buf, &len);
    if (len == 0 || len >= sizeof s->secret) {
        fprintf(stderr, "lienthong-sim: business: %s must hold one line of text\n", path);
        return -1;
    }
    memcpy(s->secret, t, len);
    s->secret[len] = '\0';
    OPENSSL_cleanse(buf, sizeof buf);
    return 0;
}

static const char *sim_biz_check_tables(void)
{
    for (size_t i = 0; i < SIM_COUNT(sim_biz_types); i++)
        if (!sim_text_is_nfc(sim_biz_types[i].name) || !sim_text_is_nfc(sim_biz_types[i].prefix) ||
            !sim_text_is_nfc(sim_biz_types[i].title))
            return sim_biz_types[i].name;
    for (size_t i = 0; i < SIM_COUNT(sim_biz_statuses); i++)
        if (!sim_text_is_nfc(sim_biz_statuses[i].name))
            return sim_biz_statuses[i].name;
    for (size_t i = 0; i < SIM_COUNT(sim_biz_sectors); i++)
        for (size_t k = 0; k < 3; k++)
            if (!sim_text_is_nfc(sim_biz_sectors[i].name) || !sim_text_is_nfc(sim_biz_sectors[i].lines[k].name))
                return sim_biz_sectors[i].lines[k].name;
    for (size_t i = 0; i < SIM_COUNT(sim_biz_brands); i++)
        if (!sim_text_is_nfc(sim_biz_brands[i].name))
            return sim_biz_brands[i].name;
    for (size_t i = 0; i < SIM_COUNT(sim_biz_communes); i++)
        if (!sim_text_is_nfc(sim_biz_communes[i]))
            return sim_biz_communes[i];
    for (size_t i = 0; i < SIM_COUNT(sim_biz_streets); i++)
        if (!sim_text_is_nfc(sim_biz_streets[i]))
            return sim_biz_streets[i];
    return NULL;
}

static void *sim_biz_state_new(const sim_people_t *people, const char *certs_dir)
{
    /* The ICD requires NFC on the wire; a table typed in NFD would break that silently. */
    const char *bad = sim_biz_check_tables();
    if (bad != NULL) {
        fprintf(stderr, "lienthong-sim: business: internal table entry is not NFC: %s\n", bad);
        return NULL;
    }
    sim_biz_state_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->people = people;
    sim_biz_state_defaults(s);
    if (sim_biz_read_secret(s, certs_dir) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

static void sim_biz_state_reset(void *state)
{
    sim_biz_state_defaults(state);
}

static void sim_biz_state_free(void *state)
{
    sim_biz_state_t *s = state;
    if (s != NULL)
        OPENSSL_cleanse(s->secret, sizeof s->secret);
    free(s);
}

/* ---- replies ---- */

static void sim_biz_reply_json(sim_reply_t *reply, int status, const char *reason, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    reply->status = status;
    reply->reason = reason;
    reply->content_type = "application/json; charset=utf-8";
    if (text != NULL) {
        sim_buf_puts(&reply->body, text);
        free(text);
    }
}

/* RFC 6749 §5.2 error response. */
static void sim_biz_oauth_error(sim_reply_t *reply, int status, const char *error, const char *description)
{
    json_t *doc = json_pack("{s:s}", "error", error);
    if (description != NULL)
        json_object_set_new(doc, "error_description", json_string(description));
    sim_biz_reply_json(reply, status,
                       status == 401   ? "Unauthorized"
                       : status == 429 ? "Too Many Requests"
                                       : "Bad Request",
                       doc);
    if (status == 401)
        sim_reply_add_header(reply, "WWW-Authenticate", "Basic realm=\"dkdn\"");
}

/* The ICD's error body {"maLoi","thongDiep"}. */
static void sim_biz_dn_error(sim_reply_t *reply, int status, const char *reason, const char *code, const char *message)
{
    json_t *doc = json_pack("{s:s}", "maLoi", code);
    if (message != NULL)
        json_object_set_new(doc, "thongDiep", json_string(message));
    sim_biz_reply_json(reply, status, reason, doc);
}

static void sim_biz_method_not_allowed(sim_reply_t *reply, const char *allow)
{
    reply->status = 405;
    reply->reason = "Method Not Allowed";
    reply->content_type = "text/plain; charset=utf-8";
    sim_reply_add_header(reply, "Allow", allow);
    sim_buf_printf(&reply->body, "%s only\n", allow);
}

/* ---- the token endpoint ---- */

/* Decodes "Basic base64(id:secret)"; 0 when the header is not that. */
static int sim_biz_basic(const char *header, char *id, size_t idlen, char *secret, size_t secretlen)
{
    if (header == NULL || strncasecmp(header, "Basic ", 6) != 0)
        return 0;
    const char *b64 = header + 6;
    while (*b64 == ' ')
        b64++;
    size_t n = strlen(b64);
    if (n == 0 || n % 4 != 0 || n > 2048)
        return 0;
    unsigned char plain[1600];
    int len = EVP_DecodeBlock(plain, (const unsigned char *)b64, (int)n);
    if (len < 0)
        return 0;
    len -= (b64[n - 1] == '=') + (n > 1 && b64[n - 2] == '='); /* EVP_DecodeBlock counts padding as zero bytes */
    plain[len] = '\0';
    if (memchr(plain, '\0', (size_t)len) != NULL)
        return 0;
    char *colon = strchr((char *)plain, ':');
    if (colon == NULL || (size_t)(colon - (char *)plain) >= idlen || strlen(colon + 1) >= secretlen)
        return 0;
    size_t idn = (size_t)(colon - (char *)plain); /* both lengths were checked against the buffers above */
    memcpy(id, plain, idn);
    id[idn] = '\0';
    memcpy(secret, colon + 1, strlen(colon + 1) + 1);
    OPENSSL_cleanse(plain, sizeof plain);
    return 1;
}

static int sim_biz_client_ok(const sim_biz_state_t *s, const sim_request_t *req)
{
    char id[256], secret[600];
    if (!sim_biz_basic(req->header(req, "Authorization"), id, sizeof id, secret, sizeof secret))
        return 0;
    size_t n = strlen(s->secret);
    int ok = strcmp(id, s->client_id) == 0 && strlen(secret) == n && CRYPTO_memcmp(secret, s->secret, n) == 0;
    OPENSSL_cleanse(secret, sizeof secret);
    return ok;
}

/* Keeps the times inside the window, in order; returns how many remain. */
static size_t sim_biz_window(long long *times, size_t n, long long now, long long window)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (now - times[i] < window)
            times[kept++] = times[i];
    return kept;
}

static void sim_biz_push(long long *times, size_t *n, size_t cap, long long now)
{
    if (*n == cap) {
        memmove(times, times + 1, (cap - 1) * sizeof *times);
        (*n)--;
    }
    times[(*n)++] = now;
}

/* Every authenticated token request counts toward the per-minute maximum that tests read. */
static void sim_biz_note_token_request(sim_biz_state_t *s, long long now)
{
    s->nhistory = sim_biz_window(s->history, s->nhistory, now, SIM_BIZ_TOKEN_WINDOW_MS);
    sim_biz_push(s->history, &s->nhistory, SIM_BIZ_HISTORY, now);
    if (s->nhistory > s->c.max_per_minute)
        s->c.max_per_minute = s->nhistory;
}

/*
 * The ICD's 10 per minute, as a sliding window over admitted requests: a
 * refused request does not count, so a client that waits as told gets in.
 * Returns the seconds to wait, or 0 when the request is admitted.
 */
static long sim_biz_token_admit(sim_biz_state_t *s, long long now)
{
    s->nadmitted = sim_biz_window(s->admitted, s->nadmitted, now, SIM_BIZ_TOKEN_WINDOW_MS);
    if (s->nadmitted >= SIM_BIZ_TOKEN_LIMIT) {
        long long wait = SIM_BIZ_TOKEN_WINDOW_MS - (now - s->admitted[0]);
        return (long)((wait + 999) / 1000);
    }
    sim_biz_push(s->admitted, &s->nadmitted, SIM_BIZ_TOKEN_LIMIT, now);
    return 0;
}

static int sim_biz_hex(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* application/x-www-form-urlencoded value decoding; 0 on a malformed escape. */
static int sim_biz_form_decode(const char *s, size_t n, char *out, size_t outlen)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w + 1 >= outlen)
            return 0;
        if (s[i] == '+') {
            out[w++] = ' ';
        } else if (s[i] == '%') {
            int hi = i + 2 < n ? sim_biz_hex((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? sim_biz_hex((unsigned char)s[i + 2]) : -1;
            /* %00 would cut the value short where C sees it: refuse it rather than read something else. */
            if (hi < 0 || lo < 0 || hi * 16 + lo == 0)
                return 0;
            out[w++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[w++] = s[i];
        }
    }
    out[w] = '\0';
    return 1;
}

typedef struct sim_biz_form {
    char grant_type[256];
    char scope[256];
    int has_grant, has_scope;
} sim_biz_form_t;

/* Reads the body's parameters; "" on success, or what is wrong (RFC 6749 invalid_request). */
static const char *sim_biz_parse_form(const sim_request_t *req, sim_biz_form_t *f)
{
    memset(f, 0, sizeof *f);
    const char *p = (const char *)req->body, *end = p + req->body_len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (eq == NULL)
            return "a parameter has no value";
        char name[64], value[256];
        if (!sim_biz_form_decode(p, (size_t)(eq - p), name, sizeof name) ||
            !sim_biz_form_decode(eq + 1, (size_t)(stop - eq - 1), value, sizeof value))
            return "a parameter is malformed or too long";
        int *seen = strcmp(name, "grant_type") == 0 ? &f->has_grant : strcmp(name, "scope") == 0 ? &f->has_scope : NULL;
        if (seen != NULL && *seen)
            return "a parameter is repeated"; /* RFC 6749 §3.2 */
        if (seen == &f->has_grant)
            snprintf(f->grant_type, sizeof f->grant_type, "%s", value);
        else if (seen == &f->has_scope)
            snprintf(f->scope, sizeof f->scope, "%s", value);
        if (seen != NULL)
            *seen = 1;
        p = amp ? amp + 1 : end;
    }
    return "";
}

static int sim_biz_form_content_type(const char *ct)
{
    static const char want[] = "application/x-www-form-urlencoded";
    if (ct == NULL || strncasecmp(ct, want, sizeof want - 1) != 0)
        return 0;
    char next = ct[sizeof want - 1];
    return next == '\0' || next == ';' || next == ' ';
}

/* A fresh opaque token: 32 random bytes as unpadded base64url. */
static void sim_biz_new_token(char out[SIM_BIZ_TOKEN_LEN + 1])
{
    unsigned char raw[32];
    char b64[48];
    RAND_bytes(raw, sizeof raw);
    EVP_EncodeBlock((unsigned char *)b64, raw, sizeof raw);
    for (int i = 0; i < SIM_BIZ_TOKEN_LEN; i++)
        out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    out[SIM_BIZ_TOKEN_LEN] = '\0';
}

static void sim_biz_issue(sim_biz_state_t *s, long long now, sim_reply_t *reply)
{
    sim_biz_token_t *t = &s->tokens[s->next_token];
    sim_biz_new_token(t->value);
    t->expires_ms = now + (long long)s->expires_in * 1000;
    t->revoked = 0;
    s->next_token = (s->next_token + 1) % SIM_BIZ_MAX_TOKENS;
    if (s->ntokens < SIM_BIZ_MAX_TOKENS)
        s->ntokens++;
    s->c.issued++;
    sim_biz_reply_json(reply, 200, "OK",
                       json_pack("{s:s, s:s, s:i, s:s}", "access_token", t->value, "token_type", "Bearer", "expires_in",
                                 (int)s->expires_in, "scope", SIM_BIZ_SCOPE));
    /* RFC 6749 §5.1 */
    sim_reply_add_header(reply, "Cache-Control", "no-store");
    sim_reply_add_header(reply, "Pragma", "no-cache");
}

static void sim_biz_token(sim_biz_state_t *s, const sim_request_t *req, const char *fault, sim_reply_t *reply)
{
    if (strcmp(req->method, "POST") != 0) {
        sim_biz_method_not_allowed(reply, "POST");
        return;
    }
    if ((fault && strcmp(fault, "invalid_client") == 0) || !sim_biz_client_ok(s, req)) {
        s->c.invalid_client++;
        sim_biz_oauth_error(reply, 401, "invalid_client", NULL);
        return;
    }
    long long now = sim_biz_now_ms();
    sim_biz_note_token_request(s, now);
    long wait = sim_biz_token_admit(s, now);
    if (wait > 0) {
        char ra[24];
        s->c.rate_limited++;
        snprintf(ra, sizeof ra, "%ld", wait);
        sim_biz_oauth_error(reply, 429, "too_many_requests", "Vượt quá 10 yêu cầu cấp token mỗi phút");
        sim_reply_add_header(reply, "Retry-After", ra);
        return;
    }
    sim_biz_form_t f;
    const char *problem = sim_biz_form_content_type(req->header(req, "Content-Type"))
                              ? sim_biz_parse_form(req, &f)
                              : "Content-Type must be application/x-www-form-urlencoded";
    const char *error = *problem ? "invalid_request" : NULL;
    if (error == NULL && !f.has_grant)
        error = "invalid_request", problem = "grant_type is required";
    else if (error == NULL && strcmp(f.grant_type, "client_credentials") != 0)
        error = "unsupported_grant_type", problem = NULL;
    /* The ICD always sends the scope; this service has no default to fall back on (RFC 6749 §3.3). */
    else if (error == NULL && (!f.has_scope || strcmp(f.scope, SIM_BIZ_SCOPE) != 0))
        error = "invalid_scope", problem = "scope must be dkdn.read";
    if (error != NULL) {
        s->c.bad_request++;
        sim_biz_oauth_error(reply, 400, error, problem);
        return;
    }
    sim_biz_issue(s, now, reply);
}

/* ---- the lookup ---- */

typedef enum { SIM_BIZ_AUTH_OK, SIM_BIZ_AUTH_REFUSED } sim_biz_auth_t;

static const sim_biz_token_t *sim_biz_find_token(const sim_biz_state_t *s, const char *value)
{
    for (size_t i = 0; i < s->ntokens; i++)
        if (strcmp(s->tokens[i].value, value) == 0)
            return &s->tokens[i];
    return NULL;
}

/* Missing, unknown, expired and revoked tokens all get the ICD's 401 invalid_token. */
static sim_biz_auth_t sim_biz_bearer(sim_biz_state_t *s, const sim_request_t *req, const char *fault, long long now)
{
    const char *h = req->header(req, "Authorization");
    if (fault && strcmp(fault, "invalid_token") == 0)
        return SIM_BIZ_AUTH_REFUSED;
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return SIM_BIZ_AUTH_REFUSED;
    const sim_biz_token_t *t = sim_biz_find_token(s, h + 7);
    if (t == NULL || t->revoked || now >= t->expires_ms)
        return SIM_BIZ_AUTH_REFUSED;
    return SIM_BIZ_AUTH_OK;
}

static void sim_biz_invalid_token(sim_biz_state_t *s, sim_reply_t *reply)
{
    s->c.lookup_invalid_token++;
    sim_biz_reply_json(reply, 401, "Unauthorized", json_pack("{s:s}", "error", "invalid_token"));
    sim_reply_add_header(reply, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
}

/* 20 lookups per second per client, as a sliding one-second window. */
static int sim_biz_lookup_admit(sim_biz_state_t *s, long long now)
{
    s->nlookups = sim_biz_window(s->lookups, s->nlookups, now, SIM_BIZ_LOOKUP_WINDOW);
    if (s->nlookups >= SIM_BIZ_LOOKUP_LIMIT)
        return 0;
    sim_biz_push(s->lookups, &s->nlookups, SIM_BIZ_LOOKUP_LIMIT, now);
    return 1;
}

static int sim_biz_is_uuid(const char *v)
{
    if (v == NULL || strlen(v) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? v[i] != '-' : !isxdigit((unsigned char)v[i]))
            return 0;
    }
    return 1;
}

/* The ICD's request headers; the first problem found, in Vietnamese, or NULL. */
static const char *sim_biz_header_problem(const sim_request_t *req)
{
    const char *accept = req->header(req, "Accept");
    if (accept == NULL || (strstr(accept, "application/json") == NULL && strstr(accept, "*/*") == NULL))
        return "Tiêu đề Accept phải là application/json";
    if (!sim_biz_is_uuid(req->header(req, "X-Request-ID")))
        return "Tiêu đề X-Request-ID phải là một UUID";
    const char *officer = req->header(req, "X-Officer-ID"), *purpose = req->header(req, "X-Purpose");
    if (officer == NULL || *officer == '\0')
        return "Thiếu tiêu đề X-Officer-ID";
    if (purpose == NULL || *purpose == '\0')
        return "Thiếu tiêu đề X-Purpose";
    return NULL;
}

static void sim_biz_send_record(const sim_people_t *people, const sim_biz_t *b, const char *fault, sim_reply_t *reply)
{
    json_t *rec = sim_biz_record(people, b);
    sim_biz_order(rec);
    if (fault && strcmp(fault, "capital_overflow") == 0) {
        /* One more digit than a 64-bit integer holds: a client must refuse, not wrap or round. */
        json_object_del(rec, "vonDieuLe");
        char *text = json_dumps(rec, JSON_COMPACT);
        json_decref(rec);
        sim_buf_append(&reply->body, text, strlen(text) - 1);
        sim_buf_puts(&reply->body, ",\"vonDieuLe\":99999999999999999999}");
        free(text);
        reply->status = 200;
        reply->reason = "OK";
        reply->content_type = "application/json; charset=utf-8";
        return;
    }
    sim_biz_reply_json(reply, 200, "OK", rec);
}

/* Faults that replace the answer once the request itself was good. Returns 1 when one applied. */
static int sim_biz_lookup_fault(const sim_people_t *people, const sim_biz_t *b, const char *fault, sim_reply_t *reply)
{
    if (fault == NULL)
        return 0;
    if (strcmp(fault, "DN-400") == 0)
        sim_biz_dn_error(reply, 400, "Bad Request", "DN-400", "Mã số doanh nghiệp không hợp lệ");
    else if (strcmp(fault, "DN-404") == 0)
        sim_biz_dn_error(reply, 404, "Not Found", "DN-404", "Không tìm thấy doanh nghiệp");
    else if (strcmp(fault, "DN-500") == 0)
        sim_biz_dn_error(reply, 500, "Internal Server Error", "DN-500", "Lỗi hệ thống");
    else if (strcmp(fault, "DN-503") == 0) {
        sim_biz_dn_error(reply, 503, "Service Unavailable", "DN-503", "Hệ thống đang bảo trì");
        sim_reply_add_header(reply, "Retry-After", SIM_BIZ_MAINTENANCE_S);
    } else if (strcmp(fault, "bad_json") == 0) {
        reply->status = 200;
        reply->reason = "OK";
        reply->content_type = "application/json; charset=utf-8";
        sim_buf_puts(&reply->body, "{\"maSoDoanhNghiep\": \"");
    } else if (strcmp(fault, "wrong_code") == 0) {
        /* A well-formed record of the next enterprise: the client must notice it is not the one asked about. */
        sim_biz_t other;
        sim_biz_make(people, b ? (b->index + 1) % sim_biz_count(people) : 0, 0, &other);
        sim_biz_send_record(people, &other, NULL, reply);
    } else {
        return 0;
    }
    return 1;
}

static void sim_biz_rate_limited(sim_biz_state_t *s, sim_reply_t *reply)
{
    s->c.lookup_rate_limited++;
    sim_biz_dn_error(reply, 429, "Too Many Requests", "DN-429", NULL);
    sim_reply_add_header(reply, "Retry-After", "1");
}

static void sim_biz_lookup(sim_biz_state_t *s, const sim_request_t *req, const char *fault, sim_reply_t *reply)
{
    if (strcmp(req->method, "GET") != 0) {
        sim_biz_method_not_allowed(reply, "GET");
        return;
    }
    long long now = sim_biz_now_ms();
    if (sim_biz_bearer(s, req, fault, now) != SIM_BIZ_AUTH_OK) {
        sim_biz_invalid_token(s, reply);
        return;
    }
    if ((fault && strcmp(fault, "DN-429") == 0) || !sim_biz_lookup_admit(s, now)) {
        sim_biz_rate_limited(s, reply);
        return;
    }
    const char *code = req->path + strlen(SIM_BIZ_LOOKUP_PREFIX);
    const char *problem = sim_biz_header_problem(req);
    if (problem == NULL && !sim_biz_valid_code(code))
        problem = "Mã số doanh nghiệp phải gồm 10 chữ số hoặc có dạng NNNNNNNNNN-NNN, với chữ số kiểm tra đúng";
    if (problem != NULL) {
        sim_biz_dn_error(reply, 400, "Bad Request", "DN-400", problem);
        return;
    }
    sim_biz_t b;
    int found = sim_biz_find(s->people, code, &b);
    if (sim_biz_lookup_fault(s->people, found ? &b : NULL, fault, reply))
        return;
    if (!found) {
        sim_biz_dn_error(reply, 404, "Not Found", "DN-404", "Không tìm thấy doanh nghiệp");
        return;
    }
    sim_biz_send_record(s->people, &b, fault, reply);
}

/* ---- the service ---- */

static int sim_biz_operation_of(const sim_request_t *req)
{
    if (strcmp(req->path, SIM_BIZ_TOKEN_PATH) == 0)
        return SIM_BIZ_OP_TOKEN;
    if (strncmp(req->path, SIM_BIZ_LOOKUP_PREFIX, strlen(SIM_BIZ_LOOKUP_PREFIX)) == 0)
        return SIM_BIZ_OP_LOOKUP;
    return -1;
}

static int sim_biz_owns_path(const char *path)
{
    size_t n = strlen(SIM_BIZ_LOOKUP_PREFIX);
    return strcmp(path, SIM_BIZ_TOKEN_PATH) == 0 ||
           (strncmp(path, SIM_BIZ_LOOKUP_PREFIX, n) == 0 && path[n] != '\0' && strchr(path + n, '/') == NULL);
}

static void sim_biz_handle(void *state, const sim_people_t *people, const sim_request_t *req, const char *fault,
                           sim_reply_t *reply)
{
    if (sim_biz_operation_of(req) == SIM_BIZ_OP_TOKEN)
        sim_biz_token(state, req, fault, reply);
    else
        sim_biz_lookup(state, req, fault, reply);
}

/* ---- control verbs ---- */

static json_t *sim_biz_token_view(const sim_biz_state_t *s)
{
    long long now = sim_biz_now_ms();
    unsigned long long active = 0;
    for (size_t i = 0; i < s->ntokens; i++)
        active += !s->tokens[i].revoked && now < s->tokens[i].expires_ms;
    json_t *v = json_object();
    json_object_set_new(v, "client_id", json_string(s->client_id));
    json_object_set_new(v, "expires_in", json_integer(s->expires_in));
    json_object_set_new(v, "issued", json_integer((json_int_t)s->c.issued));
    json_object_set_new(v, "active", json_integer((json_int_t)active));
    json_object_set_new(v, "revoked", json_integer((json_int_t)s->c.revoked));
    json_object_set_new(v, "invalid_client", json_integer((json_int_t)s->c.invalid_client));
    json_object_set_new(v, "bad_request", json_integer((json_int_t)s->c.bad_request));
    json_object_set_new(v, "rate_limited", json_integer((json_int_t)s->c.rate_limited));
    json_object_set_new(v, "max_per_minute", json_integer((json_int_t)s->c.max_per_minute));
    json_object_set_new(v, "lookup_invalid_token", json_integer((json_int_t)s->c.lookup_invalid_token));
    json_object_set_new(v, "lookup_rate_limited", json_integer((json_int_t)s->c.lookup_rate_limited));
    return v;
}

static void sim_biz_control_error(sim_reply_t *reply, int status, const char *message)
{
    sim_biz_reply_json(reply, status, status == 405 ? "Method Not Allowed" : "Bad Request",
                       json_pack("{s:s}", "error", message));
}

/* PUT /control/business/token {"expires_in": N, "client_id": "..."}: checked whole before anything changes. */
static void sim_biz_put_token(sim_biz_state_t *s, const sim_request_t *req, sim_reply_t *reply)
{
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    const char *key;
    json_t *v;
    const char *problem = doc && json_is_object(doc) ? NULL : "body must be a JSON object";
    json_object_foreach(doc, key, v)
    {
        if (problem == NULL && strcmp(key, "expires_in") != 0 && strcmp(key, "client_id") != 0)
            problem = "unknown field (known: expires_in, client_id)";
    }
    json_t *exp = json_object_get(doc, "expires_in"), *id = json_object_get(doc, "client_id");
    if (problem == NULL && exp &&
        (!json_is_integer(exp) || json_integer_value(exp) < 1 || json_integer_value(exp) > SIM_BIZ_MAX_EXPIRES))
        problem = "expires_in must be an integer from 1 to 86400";
    if (problem == NULL && id &&
        (!json_is_string(id) || json_string_length(id) == 0 || json_string_length(id) >= sizeof s->client_id ||
         strchr(json_string_value(id), ':') != NULL))
        problem = "client_id must be a non-empty string without ':'";
    if (problem != NULL) {
        json_decref(doc);
        sim_biz_control_error(reply, 400, problem);
        return;
    }
    if (exp)
        s->expires_in = (long)json_integer_value(exp);
    if (id)
        snprintf(s->client_id, sizeof s->client_id, "%s", json_string_value(id));
    json_decref(doc);
    sim_biz_reply_json(reply, 200, "OK", sim_biz_token_view(s));
}

static void sim_biz_revoke(sim_biz_state_t *s, sim_reply_t *reply)
{
    unsigned long long n = 0;
    long long now = sim_biz_now_ms();
    for (size_t i = 0; i < s->ntokens; i++)
        if (!s->tokens[i].revoked && now < s->tokens[i].expires_ms) {
            s->tokens[i].revoked = 1;
            n++;
        }
    s->c.revoked += n;
    sim_biz_reply_json(reply, 200, "OK", json_pack("{s:I}", "revoked", (json_int_t)n));
}

/* The n of a query string "n=N" (1-100000), or 0. */
static size_t sim_biz_query_n(const char *query)
{
    if (query == NULL || strncmp(query, "n=", 2) != 0 || strspn(query + 2, "0123456789") != strlen(query + 2) ||
        strlen(query + 2) == 0 || strlen(query + 2) > 6)
        return 0;
    long n = atol(query + 2);
    return n >= 1 && n <= 100000 ? (size_t)n : 0;
}

/* GET /control/business/record?code=C: the record a lookup of C answers, with no token and no counters. */
static void sim_biz_control_record(sim_biz_state_t *s, const sim_request_t *req, sim_reply_t *reply)
{
    const char *code = req->query && strncmp(req->query, "code=", 5) == 0 ? req->query + 5 : "";
    sim_biz_t b;
    if (!sim_biz_valid_code(code) || !sim_biz_find(s->people, code, &b)) {
        sim_biz_dn_error(reply, 404, "Not Found", "DN-404", "Không tìm thấy doanh nghiệp");
        return;
    }
    sim_biz_send_record(s->people, &b, NULL, reply);
}

static int sim_biz_control(void *state, const char *verb, const sim_request_t *req, sim_reply_t *reply)
{
    sim_biz_state_t *s = state;
    int get = strcmp(req->method, "GET") == 0;
    if (strcmp(verb, "token") == 0) {
        if (strcmp(req->method, "PUT") == 0)
            sim_biz_put_token(s, req, reply);
        else if (get)
            sim_biz_reply_json(reply, 200, "OK", sim_biz_token_view(s));
        else
            sim_biz_control_error(reply, 405, "GET or PUT");
    } else if (strcmp(verb, "revoke") == 0) {
        if (strcmp(req->method, "POST") == 0)
            sim_biz_revoke(s, reply);
        else
            sim_biz_control_error(reply, 405, "POST");
    } else if (strcmp(verb, "sample") == 0 && get) {
        size_t n = sim_biz_query_n(req->query);
        if (n == 0) {
            sim_biz_control_error(reply, 400, "query must be n=N with N from 1 to 100000");
            return 0;
        }
        reply->status = 200;
        reply->reason = "OK";
        reply->content_type = "application/x-ndjson; charset=utf-8";
        sim_biz_sample_buf(s->people, n, &reply->body);
    } else if (strcmp(verb, "record") == 0 && get) {
        sim_biz_control_record(s, req, reply);
    } else {
        return -1;
    }
    return 0;
}

const sim_service_t sim_business_service = {
    .name = "business",
    .path = SIM_BIZ_LOOKUP_PREFIX,
    .cert_name = "business-sim",
    .default_port = 9102,
    .ops = sim_biz_ops,
    .faults = sim_biz_faults,
    .owns_path = sim_biz_owns_path,
    .operation_of = sim_biz_operation_of,
    .handle = sim_biz_handle,
    .state_new = sim_biz_state_new,
    .state_reset = sim_biz_state_reset,
    .state_free = sim_biz_state_free,
    .control = sim_biz_control,
    /* The ICD: mutual TLS is optional at this service; a certificate that is presented must verify. */
    .client_auth = SIM_CLIENT_CERT_OPTIONAL,
    .sample = sim_business_sample,
};
