/*
 * Identifier validators for the national identifiers of icd/README.md. They run
 * before any upstream call, so a caller learns *why* an identifier is wrong
 * (400 with a reason) instead of the national system answering "not found".
 * Every detail names the rule that failed and never echoes the identifier: it
 * is personal data, and error details end up in responses and logs.
 */
#ifndef LT_IDENT_H
#define LT_IDENT_H

#include <stdbool.h>

#include "lt_error.h"

/*
 * Personal identification number (CCCD): 12 digits, province 001-096, digit 4
 * 0-3 (century and sex). When birth_year is not -1, digit 4 and digits 5-6 must
 * give that year. Fails with LT_ERR_BAD_REQUEST, code "invalid_identifier".
 */
int lt_ident_check_personal_id(const char *id, int birth_year, lt_error_t *err);

/* The birth year encoded in a personal identification number already checked, or -1. */
int lt_ident_personal_id_year(const char *id);

/* Tax / enterprise code: 10 digits with a valid check digit, optionally "-NNN" (001-999). */
int lt_ident_check_tax_code(const char *code, lt_error_t *err);

/* Social insurance number: 10 digits, or a valid 12-digit personal identification number. */
int lt_ident_check_insurance_number(const char *n, lt_error_t *err);

/* 8-4-4-4-12 hexadecimal digits, either case. */
bool lt_ident_is_uuid(const char *s);

#endif
