/*
 * The tax ICD's code tables (LoaiNNT, TrangThai) and its result codes
 * (MaKetQua), as const data in one place (style.md: code tables are data, not
 * scattered ifs). The tables hold only what icd/tax.md defines; a code they do
 * not know maps to "no meaning" (JSON null) with the source code kept.
 */
#ifndef LT_TAX_CODES_H
#define LT_TAX_CODES_H

#include <stdbool.h>
#include <stddef.h>

#include "lt_codes.h"
#include "lt_error.h"

extern const lt_code_table_t lt_tax_taxpayer_types; /* LoaiNNT */
extern const lt_code_table_t lt_tax_statuses;       /* TrangThai */

/* What one MaKetQua means for the caller. MaKetQua 0 (found) is not an error and has no row. */
typedef struct lt_tax_result {
    const char *ma_ket_qua;
    lt_error_kind_t kind;
    const char *code;   /* the problem code, stable for programs */
    const char *detail; /* what the caller is told; the registry's MoTa may follow */
} lt_tax_result_t;

/* The row for a MaKetQua other than 0, or NULL for a value the ICD does not list. */
const lt_tax_result_t *lt_tax_result_find(const char *ma_ket_qua);

extern const lt_tax_result_t lt_tax_results[];
extern const size_t lt_tax_nresults;

/* MaKetQua 3 (the ICD sends it with HTTP 401): the row the HTTP status alone also maps to. */
#define LT_TAX_RESULT_KEY_REJECTED "3"

#endif
