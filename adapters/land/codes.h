/*
 * The land ICD's code tables (kyHieu, chuSuDung.loai, hanCheQuyen.loai,
 * giayChungNhan.trangThai) as const data in one place (style.md: code tables
 * are data, not scattered ifs). The tables hold only what icd/land.md lists;
 * a code they do not know maps to null with the source code kept, never to a
 * guess: the ICD says unknown land-use codes appear and must pass through.
 */
#ifndef LT_LAND_CODES_H
#define LT_LAND_CODES_H

#include "lt_codes.h"

extern const lt_code_table_t lt_land_use_categories;       /* mucDichSuDung[].kyHieu */
extern const lt_code_table_t lt_land_holder_kinds;         /* chuSuDung[].loai */
extern const lt_code_table_t lt_land_restriction_kinds;    /* hanCheQuyen[].loai */
extern const lt_code_table_t lt_land_certificate_statuses; /* giayChungNhan[].trangThai */

#endif
