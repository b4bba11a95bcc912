/* Code tables and error mapping of icd/civil-status.md. */
#include "codes.h"

#include <string.h>

/* Labelled as the ICD describes each code. */
static const lt_code_t registration_kind_rows[] = {
    {"1", "on_time", "on time"},                 /* đăng ký đúng hạn */
    {"2", "late", "late"},                       /* đăng ký quá hạn */
    {"3", "re_registration", "re-registration"}, /* đăng ký lại */
};
const lt_code_table_t lt_civil_status_registration_kinds = LT_CODE_TABLE("loaiDangKy", registration_kind_rows);

static const lt_code_t sex_rows[] = {{"1", "male", "male"}, {"2", "female", "female"}};
const lt_code_table_t lt_civil_status_sexes = LT_CODE_TABLE("nksGioiTinh", sex_rows);

/*
 * Ethnicity is an open national list (54 groups, General Statistics Office):
 * a name, not an enum. Only 01 = Kinh is named by an ICD (the population
 * one); the rest should come from the operating agency's list, not memory.
 */
static const lt_code_t ethnicity_rows[] = {{"01", "Kinh", "Kinh"}};
const lt_code_table_t lt_civil_status_ethnicities = LT_CODE_TABLE("danToc", ethnicity_rows);

static const lt_code_t marriage_state_rows[] = {
    {"HIEU_LUC", "in_force", "in force"},
    {"DA_LY_HON", "divorced", "dissolved by divorce"},
    {"DA_HUY", "annulled", "annulled"},
};
const lt_code_table_t lt_civil_status_marriage_states = LT_CODE_TABLE("trangThai", marriage_state_rows);

static const lt_code_t death_notice_rows[] = {
    {"1", "hospital", "hospital"},
    {"2", "police", "police"},
    {"3", "court", "court"},
    {"4", "other", "other"},
};
const lt_code_table_t lt_civil_status_death_notices = LT_CODE_TABLE("gbtLoai", death_notice_rows);

static const lt_code_t marital_status_rows[] = {
    {"CHUA_DANG_KY_KET_HON", "never_married", "never registered a marriage"},
    {"DANG_CO_VO_CHONG", "married", "married"},
    {"DA_LY_HON", "divorced", "divorced"},
    {"GOA", "widowed", "widowed"},
};
const lt_code_table_t lt_civil_status_marital_statuses = LT_CODE_TABLE("tinhTrangHonNhan", marital_status_rows);

static const lt_code_t basis_kind_rows[] = {{"KH", "marriage", "marriage registration"},
                                            {"KT", "death", "death registration"}};
const lt_code_table_t lt_civil_status_basis_kinds = LT_CODE_TABLE("canCu.loai", basis_kind_rows);

const lt_civil_status_type_t lt_civil_status_types[] = {
    {"birth", "KS", false, "birth registration"},
    {"marriages", "KH", true, "marriage registration"},
    {"death", "KT", false, "death registration"},
    {"marital_status", "TTHN", false, "marital status"},
};
const size_t lt_civil_status_ntypes = sizeof(lt_civil_status_types) / sizeof(lt_civil_status_types[0]);

const lt_civil_status_type_t *lt_civil_status_type_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < lt_civil_status_ntypes; i++)
        if (strcmp(lt_civil_status_types[i].name, name) == 0)
            return &lt_civil_status_types[i];
    return NULL;
}

/*
 * HT-400 is a 400 although the gateway checked the input first: the
 * database is the authority on what it accepts, and the caller is the one who
 * can correct it. HT-403 is the province's own unit lacking the right: nothing
 * the caller can fix, so a 502 for the operators, never a 403 (which
 * northbound means "this client may not"). HT-401 asks for a new token; it
 * reaches the caller only when a fresh token is refused too.
 */
const lt_civil_status_fault_t lt_civil_status_faults[] = {
    {"HT-400", LT_ERR_BAD_REQUEST, "HT-400", "the civil-status database rejected the request as malformed"},
    {"HT-401", LT_ERR_UPSTREAM_BAD, "HT-401", "the civil-status database refused the gateway's session token"},
    {"HT-403", LT_ERR_UPSTREAM_BAD, "HT-403",
     "the province's unit may not use this lookup type at the civil-status database; operators must fix this"},
    {"HT-500", LT_ERR_UPSTREAM_BAD, "HT-500", "the civil-status database had an internal error"},
};
const size_t lt_civil_status_nfaults = sizeof(lt_civil_status_faults) / sizeof(lt_civil_status_faults[0]);

const lt_civil_status_fault_t *lt_civil_status_fault_find(const char *error_code)
{
    if (error_code == NULL)
        return NULL;
    for (size_t i = 0; i < lt_civil_status_nfaults; i++)
        if (strcmp(lt_civil_status_faults[i].error_code, error_code) == 0)
            return &lt_civil_status_faults[i];
    return NULL;
}
