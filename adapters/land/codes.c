/* Code tables of icd/land.md. */
#include "codes.h"

/*
 * The categories the ICD names, with their meaning in the land-use category
 * table (Đất ở tại nông thôn, Đất chuyên trồng lúa, ...). "and so on": the
 * others pass through as {"code": null, "source_code"}.
 */
static const lt_code_t use_rows[] = {
    {"ONT", "rural_residential", "Đất ở tại nông thôn"},
    {"ODT", "urban_residential", "Đất ở tại đô thị"},
    {"LUC", "rice_specialised", "Đất chuyên trồng lúa"},
    {"LUK", "rice_other", "Đất trồng lúa còn lại"},
    {"LUN", "rice_upland", "Đất lúa nương"},
    {"BHK", "annual_crops_flat", "Đất bằng trồng cây hàng năm khác"},
    {"NHK", "annual_crops_upland", "Đất nương rẫy trồng cây hàng năm khác"},
    {"CLN", "perennial_crops", "Đất trồng cây lâu năm"},
    {"RSX", "production_forest", "Đất rừng sản xuất"},
    {"RPH", "protection_forest", "Đất rừng phòng hộ"},
    {"RDD", "special_use_forest", "Đất rừng đặc dụng"},
    {"NTS", "aquaculture", "Đất nuôi trồng thủy sản"},
    {"LMU", "salt_production", "Đất làm muối"},
    {"NKH", "other_agricultural", "Đất nông nghiệp khác"},
    {"TSC", "government_office", "Đất xây dựng trụ sở cơ quan"},
    {"DGD", "education", "Đất xây dựng cơ sở giáo dục và đào tạo"},
    {"DYT", "health", "Đất xây dựng cơ sở y tế"},
    {"DGT", "transport", "Đất giao thông"},
    {"SKC", "non_agricultural_production", "Đất cơ sở sản xuất phi nông nghiệp"},
    {"TMD", "commercial_services", "Đất thương mại, dịch vụ"},
    {"BCS", "unused_flat", "Đất bằng chưa sử dụng"},
};
const lt_code_table_t lt_land_use_categories = LT_CODE_TABLE("mucDichSuDung.kyHieu", use_rows);

static const lt_code_t holder_rows[] = {
    {"CaNhan", "individual", NULL},   {"VoChong", "spouses", NULL},    {"HoGiaDinh", "household", NULL},
    {"ToChuc", "organisation", NULL}, {"CongDong", "community", NULL},
};
const lt_code_table_t lt_land_holder_kinds = LT_CODE_TABLE("chuSuDung.loai", holder_rows);

static const lt_code_t restriction_rows[] = {
    {"THE_CHAP", "mortgage", NULL},
    {"KE_BIEN", "seizure", NULL},
    {"TRANH_CHAP", "dispute", NULL},
    {"KHAC", "other", NULL},
};
const lt_code_table_t lt_land_restriction_kinds = LT_CODE_TABLE("hanCheQuyen.loai", restriction_rows);

static const lt_code_t status_rows[] = {
    {"HIEU_LUC", "in_force", NULL},
    {"DA_CAP_DOI", "replaced", NULL},
    {"DA_THU_HOI", "revoked", NULL},
};
const lt_code_table_t lt_land_certificate_statuses = LT_CODE_TABLE("giayChungNhan.trangThai", status_rows);
