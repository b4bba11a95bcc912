/*
 * The social insurance ICD's code tables and the mapping of its error answers,
 * as const data in one place (style.md: code tables are data, not scattered
 * ifs). The tables hold only what icd/social-insurance.md defines; a code they
 * do not know maps to null with the source code kept, never to a guess.
 */
#ifndef LT_INSURANCE_CODES_H
#define LT_INSURANCE_CODES_H

#include <stdbool.h>
#include <stddef.h>

#include "lt_codes.h"
#include "lt_error.h"

extern const lt_code_table_t lt_insurance_sex;    /* gioiTinh */
extern const lt_code_table_t lt_insurance_status; /* bhxh.trangThai */

/* One documented non-200 answer of the ICD ("Other outcomes" and the 401 bodies). */
typedef struct lt_insurance_answer {
    long http_status;
    const char *status; /* the body's "status"; NULL matches any body */
    lt_error_kind_t kind;
    const char *code;  /* northbound problem code */
    bool retryable;    /* another attempt (with a fresh nonce) may succeed */
    bool retry_after;  /* answer with Retry-After: the upstream's, else the configured default */
    bool auth_failure; /* logged as a warning for operators: the province's own credentials or clock */
    const char *detail;
} lt_insurance_answer_t;

/* The row for this HTTP status and body status, or NULL for an answer the ICD does not document. */
const lt_insurance_answer_t *lt_insurance_answer_find(long http_status, const char *status);

/* The rows, for the README's table and for tests. */
extern const lt_insurance_answer_t lt_insurance_answers[];
extern const size_t lt_insurance_nanswers;

#endif
