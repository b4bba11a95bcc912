/* Code tables and fault mapping of icd/population.md. */
#include "codes.h"

#include <string.h>

/* Labelled as the ICD's sample comments each code. */
static const lt_code_t sex_rows[] = {{"0", "unknown", "unknown"}, {"1", "male", "male"}, {"2", "female", "female"}};
const lt_code_table_t lt_population_sex = LT_CODE_TABLE("GioiTinh", sex_rows);

/*
 * The ICD names only 01 = Kinh. The full list of 54 groups is published by the
 * General Statistics Office; add it here from the operating agency's code list
 * rather than from memory, so a name is never wrong.
 */
static const lt_code_t ethnicity_rows[] = {{"01", "Kinh", "Kinh"}};
const lt_code_table_t lt_population_ethnicity = LT_CODE_TABLE("DanToc", ethnicity_rows);

/* The ICD names only 00 = none; the same remark as for ethnicity applies. */
static const lt_code_t religion_rows[] = {{"00", "none", "none"}};
const lt_code_table_t lt_population_religion = LT_CODE_TABLE("TonGiao", religion_rows);

static const lt_code_t blood_rows[] = {
    {"00", "unknown", "unknown"}, {"01", "O", "O"}, {"02", "A", "A"}, {"03", "B", "B"}, {"04", "AB", "AB"},
};
const lt_code_table_t lt_population_blood_type = LT_CODE_TABLE("NhomMau", blood_rows);

static const lt_code_t marital_rows[] = {
    {"0", "unknown", "unknown"},
    {"1", "single", "single"},
    {"2", "married", "married"},
    {"3", "divorced", "divorced"},
};
const lt_code_table_t lt_population_marital_status = LT_CODE_TABLE("TinhTrangHonNhan", marital_rows);

/*
 * DC-403 is the province's own unit lacking the right at the national system:
 * nothing the caller can fix, so it is a 502 for the caller and an alert for
 * operators, not a 403 (which northbound means "this client may not").
 * DC-429 is the province's whole quota: the caller may try again after the
 * minute, but retrying inside this call would only burn more quota.
 */
const lt_population_fault_t lt_population_faults[] = {
    {"DC-400", LT_ERR_BAD_REQUEST, LT_POPULATION_RETRY_NONE, false,
     "the national system rejected the request as malformed"},
    {"DC-403", LT_ERR_UPSTREAM_BAD, LT_POPULATION_RETRY_NONE, false,
     "the province's unit is not authorised for this operation at the national system; operators must fix this"},
    {"DC-404", LT_ERR_NOT_FOUND, LT_POPULATION_RETRY_NONE, false, "no citizen matches the number, name and birth date"},
    {"DC-429", LT_ERR_UPSTREAM_UNAVAILABLE, LT_POPULATION_RETRY_QUOTA, false,
     "the province's quota at the national system is exhausted"},
    {"DC-500", LT_ERR_UPSTREAM_BAD, LT_POPULATION_RETRY_NONE, false, "the national system had an internal error"},
    {"DC-503", LT_ERR_UPSTREAM_UNAVAILABLE, LT_POPULATION_RETRY_MAINTENANCE, true,
     "the national system is in a maintenance window"},
};
const size_t lt_population_nfaults = sizeof(lt_population_faults) / sizeof(lt_population_faults[0]);

const lt_population_fault_t *lt_population_fault_find(const char *maloi)
{
    if (maloi == NULL)
        return NULL;
    for (size_t i = 0; i < lt_population_nfaults; i++)
        if (strcmp(lt_population_faults[i].maloi, maloi) == 0)
            return &lt_population_faults[i];
    return NULL;
}
