/*
 * sim_places: province code tables (real codes) and the synthetic districts,
 * communes and streets below them.
 *
 * The 63 former provinces carry the codes of Decision 124/2004/QĐ-TTg, which
 * are also the 3-digit prefixes of personal identification numbers. The 34 new
 * provinces carry the codes in force since 1 July 2025. Lower levels are made
 * up: picked from name pools by a fixed formula, so an address is a handful of
 * small indices and still always renders the same way.
 */
#include "sim_places.h"
#include "sim_text.h"

#include <stdio.h>
#include <string.h>

static const sim_province_t sim_old_provinces[] = {
    {1, "Hà Nội", 1},
    {2, "Hà Giang", 0},
    {4, "Cao Bằng", 0},
    {6, "Bắc Kạn", 0},
    {8, "Tuyên Quang", 0},
    {10, "Lào Cai", 0},
    {11, "Điện Biên", 0},
    {12, "Lai Châu", 0},
    {14, "Sơn La", 0},
    {15, "Yên Bái", 0},
    {17, "Hòa Bình", 0},
    {19, "Thái Nguyên", 0},
    {20, "Lạng Sơn", 0},
    {22, "Quảng Ninh", 0},
    {24, "Bắc Giang", 0},
    {25, "Phú Thọ", 0},
    {26, "Vĩnh Phúc", 0},
    {27, "Bắc Ninh", 0},
    {30, "Hải Dương", 0},
    {31, "Hải Phòng", 1},
    {33, "Hưng Yên", 0},
    {34, "Thái Bình", 0},
    {35, "Hà Nam", 0},
    {36, "Nam Định", 0},
    {37, "Ninh Bình", 0},
    {38, "Thanh Hóa", 0},
    {40, "Nghệ An", 0},
    {42, "Hà Tĩnh", 0},
    {44, "Quảng Bình", 0},
    {45, "Quảng Trị", 0},
    {46, "Thừa Thiên Huế", 0},
    {48, "Đà Nẵng", 1},
    {49, "Quảng Nam", 0},
    {51, "Quảng Ngãi", 0},
    {52, "Bình Định", 0},
    {54, "Phú Yên", 0},
    {56, "Khánh Hòa", 0},
    {58, "Ninh Thuận", 0},
    {60, "Bình Thuận", 0},
    {62, "Kon Tum", 0},
    {64, "Gia Lai", 0},
    {66, "Đắk Lắk", 0},
    {67, "Đắk Nông", 0},
    {68, "Lâm Đồng", 0},
    {70, "Bình Phước", 0},
    {72, "Tây Ninh", 0},
    {74, "Bình Dương", 0},
    {75, "Đồng Nai", 0},
    {77, "Bà Rịa - Vũng Tàu", 0},
    {79, "Hồ Chí Minh", 1},
    {80, "Long An", 0},
    {82, "Tiền Giang", 0},
    {83, "Bến Tre", 0},
    {84, "Trà Vinh", 0},
    {86, "Vĩnh Long", 0},
    {87, "Đồng Tháp", 0},
    {89, "An Giang", 0},
    {91, "Kiên Giang", 0},
    {92, "Cần Thơ", 1},
    {93, "Hậu Giang", 0},
    {94, "Sóc Trăng", 0},
    {95, "Bạc Liêu", 0},
    {96, "Cà Mau", 0},
};
_Static_assert(sizeof sim_old_provinces / sizeof sim_old_provinces[0] == 63, "63 former provinces");

static const sim_province_t sim_new_provinces[] = {
    {1, "Hà Nội", 1},     {4, "Cao Bằng", 0},    {8, "Tuyên Quang", 0},  {11, "Điện Biên", 0}, {12, "Lai Châu", 0},
    {14, "Sơn La", 0},    {15, "Lào Cai", 0},    {19, "Thái Nguyên", 0}, {20, "Lạng Sơn", 0},  {22, "Quảng Ninh", 0},
    {24, "Bắc Ninh", 0},  {25, "Phú Thọ", 0},    {31, "Hải Phòng", 1},   {33, "Hưng Yên", 0},  {37, "Ninh Bình", 0},
    {38, "Thanh Hóa", 0}, {40, "Nghệ An", 0},    {42, "Hà Tĩnh", 0},     {44, "Quảng Trị", 0}, {46, "Huế", 1},
    {48, "Đà Nẵng", 1},   {51, "Quảng Ngãi", 0}, {52, "Gia Lai", 0},     {56, "Khánh Hòa", 0}, {66, "Đắk Lắk", 0},
    {68, "Lâm Đồng", 0},  {75, "Đồng Nai", 0},   {79, "Hồ Chí Minh", 1}, {80, "Tây Ninh", 0},  {82, "Đồng Tháp", 0},
    {86, "Vĩnh Long", 0}, {91, "An Giang", 0},   {92, "Cần Thơ", 1},     {96, "Cà Mau", 0},
};
_Static_assert(sizeof sim_new_provinces / sizeof sim_new_provinces[0] == 34, "34 provinces since 2025");

#define SIM_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const sim_rural_districts[] = {
    "Vũ Thư",     "Kiến Xương", "Đông Hưng", "Thái Thụy",   "Quỳnh Phụ",  "Hưng Hà",   "Tiền Hải",   "Ba Vì",
    "Gia Lâm",    "Đông Anh",   "Sóc Sơn",   "Thạch Thất",  "Quốc Oai",   "Hoài Đức",  "Chương Mỹ",  "Ứng Hòa",
    "Phú Xuyên",  "Yên Dũng",   "Lục Nam",   "Tân Yên",     "Hiệp Hòa",   "Quế Võ",    "Tiên Du",    "Gia Bình",
    "Lương Tài",  "Cẩm Giàng",  "Gia Lộc",   "Tứ Kỳ",       "Ninh Giang", "Nam Sách",  "Hải Hậu",    "Giao Thủy",
    "Ý Yên",      "Vụ Bản",     "Hoằng Hóa", "Quảng Xương", "Nông Cống",  "Diễn Châu", "Quỳnh Lưu",  "Yên Thành",
    "Đô Lương",   "Nam Đàn",    "Can Lộc",   "Đức Thọ",     "Hương Sơn",  "Phú Vang",  "Quảng Điền", "Điện Bàn",
    "Duy Xuyên",  "Tư Nghĩa",   "Mộ Đức",    "Tuy Phước",   "Phù Cát",    "Củ Chi",    "Hóc Môn",    "Bình Chánh",
    "Long Thành", "Nhơn Trạch", "Trảng Bom", "Châu Thành",  "Cai Lậy",    "Chợ Gạo",   "Cầu Kè",     "Tam Bình",
    "Lai Vung",   "Chợ Mới",    "Phú Tân",   "Thới Bình",   "Năm Căn",    "Krông Pắc", "Đức Trọng",  "Mường Thanh",
};

static const char *const sim_urban_districts[] = {
    "Ba Đình",   "Hoàn Kiếm", "Đống Đa",   "Hai Bà Trưng", "Cầu Giấy",   "Thanh Xuân", "Hoàng Mai", "Long Biên",
    "Tây Hồ",    "Hà Đông",   "Lê Chân",   "Ngô Quyền",    "Hải Châu",   "Thanh Khê",  "Sơn Trà",   "Ninh Kiều",
    "Bình Thủy", "Tân Bình",  "Phú Nhuận", "Gò Vấp",       "Bình Thạnh", "Thủ Đức",    "Hồng Bàng", "Cẩm Lệ",
};

static const char *const sim_communes[] = {
    "Vũ Hội",      "Vũ Tiên",    "An Khánh",  "An Bình",    "Bình Minh",   "Cẩm Phúc",    "Đại Đồng",    "Đông Phương",
    "Đồng Tâm",    "Hòa Bình",   "Hòa Lạc",   "Hồng Phong", "Hợp Thành",   "Hưng Đạo",    "Kim Liên",    "Liên Hiệp",
    "Minh Khai",   "Nam Hồng",   "Nghĩa Dân", "Phú Lương",  "Phúc Thịnh",  "Quang Trung", "Quyết Thắng", "Tam Hiệp",
    "Tân Lập",     "Tân Phong",  "Tân Tiến",  "Thanh Xuân", "Thắng Lợi",   "Thượng Lâm",  "Tiên Phong",  "Trung Hòa",
    "Trường Xuân", "Văn Lang",   "Việt Hưng", "Vĩnh Hòa",   "Xuân Lâm",    "Yên Bình",    "Yên Sở",      "Đức Giang",
    "Phước Long",  "Long Phước", "Tân Hưng",  "Thạnh Mỹ",   "Mỹ Phước",    "Bình An",     "Hiệp Bình",   "Phú Mỹ",
    "Tân Định",    "Bến Thành",  "Nghĩa Đô",  "Dịch Vọng",  "Láng Thượng", "Kim Mã",      "Liễu Giai",   "Phúc Xá",
    "Tràng Tiền",  "Thạch Bàn",  "Ngọc Thụy", "Ea Kao",     "Hòa Thắng",   "Ô Chợ Dừa",   "Khương Đình", "Ất Sơn",
};

static const char *const sim_streets[] = {
    "Lê Lợi",        "Trần Hưng Đạo", "Nguyễn Trãi",     "Hai Bà Trưng", "Lý Thường Kiệt",
    "Quang Trung",   "Hùng Vương",    "Phan Đình Phùng", "Nguyễn Huệ",   "Lê Duẩn",
    "Điện Biên Phủ", "Võ Thị Sáu",    "Nguyễn Văn Cừ",   "Trần Phú",     "Bà Triệu",
    "Lạc Long Quân", "Âu Cơ",         "Ngô Quyền",       "Hoàng Diệu",   "Đinh Tiên Hoàng",
};

size_t sim_places_old_count(void)
{
    return SIM_COUNT(sim_old_provinces);
}

const sim_province_t *sim_places_old(size_t i)
{
    return &sim_old_provinces[i % SIM_COUNT(sim_old_provinces)];
}

size_t sim_places_new_count(void)
{
    return SIM_COUNT(sim_new_provinces);
}

const sim_province_t *sim_places_new(size_t i)
{
    return &sim_new_provinces[i % SIM_COUNT(sim_new_provinces)];
}

/*
 * Lower levels are a pure function of (province code, district, commune), so
 * two people in the same synthetic commune agree on its name and code. The
 * multipliers only spread the picks over the pools; the code ranges follow the
 * real ones roughly (district ~ province * 10, commune 5 digits).
 */
static const char *sim_district_name(int province_code, const sim_address_t *a)
{
    if (a->urban)
        return sim_urban_districts[(size_t)(province_code * 7 + a->district) % SIM_COUNT(sim_urban_districts)];
    return sim_rural_districts[(size_t)(province_code * 11 + a->district) % SIM_COUNT(sim_rural_districts)];
}

static const char *sim_commune_name(int province_code, const sim_address_t *a)
{
    size_t k = (size_t)province_code * 31 + (size_t)a->district * 17 + a->commune;
    return sim_communes[k % SIM_COUNT(sim_communes)];
}

static int sim_commune_code(int province_code, const sim_address_t *a)
{
    if (a->shape == SIM_ADDR_OLD)
        return province_code * 330 + a->district * SIM_PLACES_COMMUNES + a->commune;
    return province_code * 300 + 100 + a->commune * 7;
}

/* "Số 12 Lê Lợi, " in a town, "Thôn 3, " in the countryside, nothing when not recorded. */
static int sim_house_part(const sim_address_t *a, char *out, size_t len)
{
    if (a->house == 0)
        return snprintf(out, len, "%s", "");
    if (a->urban)
        return snprintf(out, len, "Số %u %s, ", (unsigned)a->house, sim_streets[a->street % SIM_COUNT(sim_streets)]);
    return snprintf(out, len, "Thôn %u, ", (unsigned)(a->house % 20 + 1));
}

static void sim_address_view_old(const sim_address_t *a, sim_address_view_t *out)
{
    const sim_province_t *p = sim_places_old(a->province);
    char house[96];
    sim_house_part(a, house, sizeof house);
    snprintf(out->province_code, sizeof out->province_code, "%02d", p->code);
    snprintf(out->district_code, sizeof out->district_code, "%03d", p->code * 10 + a->district);
    snprintf(out->commune_code, sizeof out->commune_code, "%05d", sim_commune_code(p->code, a));
    /* A provincial town is a "Thị xã"; in a centrally governed city the urban district is a "Quận". */
    const char *district_kind = a->urban ? (p->is_city ? "Quận" : "Thị xã") : "Huyện";
    snprintf(out->text, sizeof out->text, "%s%s %s, %s %s, %s %s", house, a->urban ? "Phường" : "Xã",
             sim_commune_name(p->code, a), district_kind, sim_district_name(p->code, a),
             p->is_city ? "Thành phố" : "Tỉnh", p->name);
}

static void sim_address_view_new(const sim_address_t *a, sim_address_view_t *out)
{
    const sim_province_t *p = sim_places_new(a->province);
    char house[96];
    sim_house_part(a, house, sizeof house);
    snprintf(out->province_code, sizeof out->province_code, "%02d", p->code);
    out->district_code[0] = '\0';
    snprintf(out->commune_code, sizeof out->commune_code, "%05d", sim_commune_code(p->code, a));
    snprintf(out->text, sizeof out->text, "%s%s %s, %s %s", house, a->urban ? "Phường" : "Xã",
             sim_commune_name(p->code, a), p->is_city ? "Thành phố" : "Tỉnh", p->name);
}

void sim_address_view(const sim_address_t *a, sim_address_view_t *out)
{
    memset(out, 0, sizeof *out);
    if (a->shape == SIM_ADDR_OLD)
        sim_address_view_old(a, out);
    else if (a->shape == SIM_ADDR_NEW)
        sim_address_view_new(a, out);
}

static const char *sim_check_pool(const char *const *pool, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!sim_text_is_nfc(pool[i]))
            return pool[i];
    return NULL;
}

const char *sim_places_check_nfc(void)
{
    const char *bad;
    for (size_t i = 0; i < SIM_COUNT(sim_old_provinces); i++)
        if (!sim_text_is_nfc(sim_old_provinces[i].name))
            return sim_old_provinces[i].name;
    for (size_t i = 0; i < SIM_COUNT(sim_new_provinces); i++)
        if (!sim_text_is_nfc(sim_new_provinces[i].name))
            return sim_new_provinces[i].name;
    if ((bad = sim_check_pool(sim_rural_districts, SIM_COUNT(sim_rural_districts))) != NULL)
        return bad;
    if ((bad = sim_check_pool(sim_urban_districts, SIM_COUNT(sim_urban_districts))) != NULL)
        return bad;
    if ((bad = sim_check_pool(sim_communes, SIM_COUNT(sim_communes))) != NULL)
        return bad;
    return sim_check_pool(sim_streets, SIM_COUNT(sim_streets));
}
