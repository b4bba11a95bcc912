/*
 * The civil-status ICD's code tables and its error codes, as const data in one
 * place (style.md: code tables are data, not scattered ifs). The tables hold
 * only what icd/civil-status.md defines, plus the one ethnicity name the
 * national code list shares with the population ICD (01 = Kinh). A code they
 * do not know maps to JSON null with the source code kept, never to a guess.
 */
#ifndef LT_CIVIL_STATUS_CODES_H
#define LT_CIVIL_STATUS_CODES_H

#include <stdbool.h>
#include <stddef.h>

#include "lt_codes.h"
#include "lt_error.h"

extern const lt_code_table_t lt_civil_status_registration_kinds; /* loaiDangKy */
extern const lt_code_table_t lt_civil_status_sexes;              /* nksGioiTinh */
extern const lt_code_table_t lt_civil_status_ethnicities;        /* danToc (names, not enums) */
extern const lt_code_table_t lt_civil_status_marriage_states;    /* trangThai */
extern const lt_code_table_t lt_civil_status_death_notices;      /* gbtLoai */
extern const lt_code_table_t lt_civil_status_marital_statuses;   /* tinhTrangHonNhan */
extern const lt_code_table_t lt_civil_status_basis_kinds;        /* canCu.loai */

/* Record types: the northbound `type`, the ICD's loaiTraCuu, and how many records an answer may hold. */
typedef struct lt_civil_status_type {
    const char *name;         /* northbound: "birth", "marriages", "death", "marital_status" */
    const char *loai_tra_cuu; /* upstream: "KS", "KH", "KT", "TTHN" */
    bool list;                /* KH: zero or more, newest first; the others at most one */
    const char *what;         /* for details: "birth registration" */
} lt_civil_status_type_t;

extern const lt_civil_status_type_t lt_civil_status_types[];
extern const size_t lt_civil_status_ntypes;

/* The row for a northbound type name, or NULL. */
const lt_civil_status_type_t *lt_civil_status_type_find(const char *name);

/* What one errorCode (with status "0") means. HT-401 has a row, but the lookup turns it into a new token. */
typedef struct lt_civil_status_fault {
    const char *error_code;
    lt_error_kind_t kind;
    const char *code;   /* the problem code, stable for programs */
    const char *detail; /* what the caller is told */
} lt_civil_status_fault_t;

#define LT_CIVIL_STATUS_TOKEN_REFUSED "HT-401"

extern const lt_civil_status_fault_t lt_civil_status_faults[];
extern const size_t lt_civil_status_nfaults;

/* The row for an errorCode the ICD lists, or NULL. */
const lt_civil_status_fault_t *lt_civil_status_fault_find(const char *error_code);

#endif
