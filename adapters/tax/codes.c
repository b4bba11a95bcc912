/* Code tables and result mapping of icd/tax.md. */
#include "codes.h"

#include <string.h>

/* Labelled as the ICD describes each code. */
static const lt_code_t type_rows[] = {
    {"TC", "organisation", "organisation"},
    {"HKD", "household_business", "household business"},
    {"CN", "individual", "individual"},
};
const lt_code_table_t lt_tax_taxpayer_types = LT_CODE_TABLE("LoaiNNT", type_rows);

static const lt_code_t status_rows[] = {
    {"00", "active", "active"},
    {"01", "ceased_closed", "ceased, tax code closed"},
    {"02", "moved", "moved to another tax office"},
    {"03", "ceased_not_closed", "ceased, closure not completed"},
    {"04", "active_household_individual", "active, household or individual"},
    {"05", "suspended", "temporarily suspended"},
    {"06", "not_at_address", "not operating at the registered address"},
    {"07", "pending_bankruptcy", "awaiting bankruptcy procedure"},
};
const lt_code_table_t lt_tax_statuses = LT_CODE_TABLE("TrangThai", status_rows);

/*
 * MaKetQua 2 is a 400 although the gateway checked the code first: the
 * registry is the authority on its own codes, and the caller is the one who
 * can correct the code. MaKetQua 3 is the province's own API key being
 * refused: nothing the caller can fix, so a 502 with its own code, for the
 * operators, never a 401 or 403 to the caller. MaKetQua 9 is a 502 even when
 * it arrives inside HTTP 200, and it is not retried: the ICD gives no hint
 * that it is transient, and the breaker sees it either way.
 */
const lt_tax_result_t lt_tax_results[] = {
    {"1", LT_ERR_NOT_FOUND, "record_not_found", "the taxpayer registry has no taxpayer with this tax code"},
    {"2", LT_ERR_BAD_REQUEST, "upstream_rejected_identifier", "the taxpayer registry says the tax code is malformed"},
    {"3", LT_ERR_UPSTREAM_BAD, "upstream_api_key_rejected",
     "the taxpayer registry rejected the gateway's API key; operators must check upstreams.tax.service.api_key_file"},
    {"9", LT_ERR_UPSTREAM_BAD, "upstream_system_error", "the taxpayer registry reported a system error"},
};
const size_t lt_tax_nresults = sizeof(lt_tax_results) / sizeof(lt_tax_results[0]);

const lt_tax_result_t *lt_tax_result_find(const char *ma_ket_qua)
{
    if (ma_ket_qua == NULL)
        return NULL;
    for (size_t i = 0; i < lt_tax_nresults; i++)
        if (strcmp(lt_tax_results[i].ma_ket_qua, ma_ket_qua) == 0)
            return &lt_tax_results[i];
    return NULL;
}
