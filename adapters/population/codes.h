/*
 * The population ICD's code tables and its fault mapping, as const data in one
 * place (style.md: code tables are data, not scattered ifs). The tables hold
 * only what icd/population.md defines; a code they do not know maps to "no
 * meaning" (JSON null) with the source code kept, never to a guess.
 */
#ifndef LT_POPULATION_CODES_H
#define LT_POPULATION_CODES_H

#include <stdbool.h>
#include <stddef.h>

#include "lt_codes.h"
#include "lt_error.h"

extern const lt_code_table_t lt_population_sex;            /* GioiTinh */
extern const lt_code_table_t lt_population_ethnicity;      /* DanToc */
extern const lt_code_table_t lt_population_religion;       /* TonGiao */
extern const lt_code_table_t lt_population_blood_type;     /* NhomMau */
extern const lt_code_table_t lt_population_marital_status; /* TinhTrangHonNhan */

/* Which configured delay a fault's Retry-After takes. */
typedef enum {
    LT_POPULATION_RETRY_NONE,
    LT_POPULATION_RETRY_QUOTA,       /* settings quota_retry_after_s */
    LT_POPULATION_RETRY_MAINTENANCE, /* settings maintenance_retry_after_s */
    LT_POPULATION_RETRY_PLATFORM,    /* settings platform_retry_after_s */
} lt_population_retry_t;

typedef struct lt_population_fault {
    const char *maloi; /* dc:MaLoi */
    lt_error_kind_t kind;
    lt_population_retry_t retry_after;
    bool retryable;
    const char *detail; /* what the caller is told; the upstream faultstring may follow */
} lt_population_fault_t;

/* The row for a MaLoi, or NULL for a code the ICD does not list. */
const lt_population_fault_t *lt_population_fault_find(const char *maloi);

/* The rows, for the README's table and for tests. */
extern const lt_population_fault_t lt_population_faults[];
extern const size_t lt_population_nfaults;

#endif
