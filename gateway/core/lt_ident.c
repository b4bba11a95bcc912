/* Identifier validators: format rules of icd/README.md, with reasons that never echo the value. */
#include "lt_ident.h"

#include <ctype.h>
#include <string.h>

#define INVALID_ID "invalid_identifier"

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int digits_value(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int lt_ident_personal_id_year(const char *id)
{
    if (id == NULL || strlen(id) != 12 || !all_digits(id, 12) || id[3] > '3')
        return -1;
    /* 0/1: born in the 1900s, 2/3: in the 2000s; the parity is the sex. */
    return (id[3] <= '1' ? 1900 : 2000) + digits_value(id + 4, 2);
}

int lt_ident_check_personal_id(const char *id, int birth_year, lt_error_t *err)
{
    if (id == NULL || strlen(id) != 12 || !all_digits(id, 12))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_ID, "personal identification number must be 12 digits");
    int province = digits_value(id, 3);
    /* The province prefix is the one part of the number safe to quote: it names a province, not a person. */
    if (province < 1 || province > 96)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_ID, "province code %03d is not between 001 and 096",
                            province);
    if (id[3] > '3')
        return lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_ID, "digit 4 (century and sex) must be 0-3");
    int year = lt_ident_personal_id_year(id);
    if (birth_year != -1 && year != birth_year)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_ID, "digit 4 and digits 5-6 say %d but birth_date says %d",
                            year, birth_year);
    return 0;
}

/* 10 - (weighted sum mod 11); 10 means no digit can be right. */
static int tax_check_digit(const char *d)
{
    static const int weights[9] = {31, 29, 23, 19, 17, 13, 7, 5, 3};
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += weights[i] * (d[i] - '0');
    return 10 - sum % 11;
}

int lt_ident_check_tax_code(const char *code, lt_error_t *err)
{
    size_t n = code ? strlen(code) : 0;
    bool shape = (n == 10 && all_digits(code, 10)) ||
                 (n == 14 && all_digits(code, 10) && code[10] == '-' && all_digits(code + 11, 3));
    if (!shape)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_ID,
                            "tax code must be 10 digits, or 10 digits, '-' and a 3-digit branch suffix");
    if (n == 14 && digits_value(code + 11, 3) == 0)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_ID, "tax code branch suffix must be 001-999");
    int check = tax_check_digit(code);
    if (check == 10)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_ID,
                            "tax code cannot be valid: its first 9 digits give check value 10");
    if (code[9] - '0' != check)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_ID, "tax code check digit is wrong");
    return 0;
}

int lt_ident_check_insurance_number(const char *n, lt_error_t *err)
{
    size_t len = n ? strlen(n) : 0;
    if (len == 10 && all_digits(n, 10))
        return 0;
    /* Since 2025 the personal identification number stands in for a BHXH number. */
    if (len == 12 && all_digits(n, 12))
        return lt_ident_check_personal_id(n, -1, err);
    return lt_error_set(err, LT_ERR_BAD_REQUEST, INVALID_ID,
                        "social insurance number must be 10 digits or a 12-digit personal identification number");
}

bool lt_ident_is_uuid(const char *s)
{
    if (s == NULL || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}
