/* Identifier validators (gateway/core/lt_ident.c) against the rules of icd/README.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lt_ident.h"

/* Asserts a 400 invalid_identifier whose detail holds `reason` and never the identifier itself. */
static void assert_refused(int rc, const lt_error_t *err, const char *id, const char *reason)
{
    assert_int_equal(rc, -1);
    assert_int_equal(err->kind, LT_ERR_BAD_REQUEST);
    assert_string_equal(err->code, "invalid_identifier");
    assert_string_equal(err->detail, reason);
    if (id != NULL && strlen(id) >= 6)
        assert_null(strstr(err->detail, id));
}

static void personal_id_good(void **state)
{
    lt_error_t err = {0};
    assert_int_equal(lt_ident_check_personal_id("001095012345", -1, &err), 0);
    assert_int_equal(lt_ident_check_personal_id("001095012345", 1995, &err), 0);
    assert_int_equal(lt_ident_check_personal_id("096305000001", 2005, &err), 0); /* 3: 2000s, female */
    assert_int_equal(lt_ident_check_personal_id("079199000001", 1999, &err), 0); /* 1: 1900s, female */
    assert_int_equal(lt_ident_personal_id_year("001095012345"), 1995);
    assert_int_equal(lt_ident_personal_id_year("001203012345"), 2003);
}

static void personal_id_length_and_digits(void **state)
{
    lt_error_t err = {0};
    const char *reason = "personal identification number must be 12 digits";
    assert_refused(lt_ident_check_personal_id("00109501234", -1, &err), &err, "00109501234", reason);
    assert_refused(lt_ident_check_personal_id("0010950123456", -1, &err), &err, "0010950123456", reason);
    assert_refused(lt_ident_check_personal_id("00109501234a", -1, &err), &err, "00109501234a", reason);
    assert_refused(lt_ident_check_personal_id(" 01095012345", -1, &err), &err, NULL, reason);
    assert_refused(lt_ident_check_personal_id("", -1, &err), &err, NULL, reason);
    assert_refused(lt_ident_check_personal_id(NULL, -1, &err), &err, NULL, reason);
}

static void personal_id_province(void **state)
{
    lt_error_t err = {0};
    assert_refused(lt_ident_check_personal_id("000095012345", -1, &err), &err, "000095012345",
                   "province code 000 is not between 001 and 096");
    assert_refused(lt_ident_check_personal_id("097095012345", -1, &err), &err, "097095012345",
                   "province code 097 is not between 001 and 096");
    assert_refused(lt_ident_check_personal_id("999095012345", -1, &err), &err, "999095012345",
                   "province code 999 is not between 001 and 096");
}

static void personal_id_century_digit(void **state)
{
    lt_error_t err = {0};
    char id[] = "001095012345";
    for (char c = '4'; c <= '9'; c++) {
        id[3] = c;
        assert_refused(lt_ident_check_personal_id(id, -1, &err), &err, id, "digit 4 (century and sex) must be 0-3");
    }
}

static void personal_id_year_mismatch(void **state)
{
    lt_error_t err = {0};
    assert_refused(lt_ident_check_personal_id("001095012345", 1996, &err), &err, "001095012345",
                   "digit 4 and digits 5-6 say 1995 but birth_date says 1996");
    /* Same last two digits, other century: digit 4 says 1900s. */
    assert_refused(lt_ident_check_personal_id("001095012345", 2095, &err), &err, "001095012345",
                   "digit 4 and digits 5-6 say 1995 but birth_date says 2095");
}

static void tax_code(void **state)
{
    lt_error_t err = {0};
    assert_int_equal(lt_ident_check_tax_code("0100233488", &err), 0);
    assert_int_equal(lt_ident_check_tax_code("0100233488-001", &err), 0);
    assert_int_equal(lt_ident_check_tax_code("0100233488-999", &err), 0);
    assert_refused(lt_ident_check_tax_code("0100233487", &err), &err, "0100233487", "tax code check digit is wrong");
    assert_refused(lt_ident_check_tax_code("0100233489", &err), &err, "0100233489", "tax code check digit is wrong");
    assert_refused(lt_ident_check_tax_code("0100233488-000", &err), &err, NULL,
                   "tax code branch suffix must be 001-999");
    const char *shape = "tax code must be 10 digits, or 10 digits, '-' and a 3-digit branch suffix";
    assert_refused(lt_ident_check_tax_code("010023348", &err), &err, NULL, shape);
    assert_refused(lt_ident_check_tax_code("01002334888", &err), &err, NULL, shape);
    assert_refused(lt_ident_check_tax_code("0100233488-01", &err), &err, NULL, shape);
    assert_refused(lt_ident_check_tax_code("0100233488_001", &err), &err, NULL, shape);
    assert_refused(lt_ident_check_tax_code("01002334x8", &err), &err, NULL, shape);
    assert_refused(lt_ident_check_tax_code(NULL, &err), &err, NULL, shape);
    /* 0000000010: 1st 9 digits sum to 0, 0 mod 11 = 0, check 10 - 0 = 10: no digit is right. */
    assert_refused(lt_ident_check_tax_code("0000000000", &err), &err, NULL,
                   "tax code cannot be valid: its first 9 digits give check value 10");
    /* 100000000x: 31 mod 11 = 9, check 1. */
    assert_int_equal(lt_ident_check_tax_code("1000000001", &err), 0);
}

static void insurance_number(void **state)
{
    lt_error_t err = {0};
    assert_int_equal(lt_ident_check_insurance_number("0123456789", &err), 0);
    assert_int_equal(lt_ident_check_insurance_number("001095012345", &err), 0);
    assert_refused(lt_ident_check_insurance_number("097095012345", &err), &err, "097095012345",
                   "province code 097 is not between 001 and 096");
    const char *shape = "social insurance number must be 10 digits or a 12-digit personal identification number";
    assert_refused(lt_ident_check_insurance_number("012345678", &err), &err, NULL, shape);
    assert_refused(lt_ident_check_insurance_number("01234567890", &err), &err, NULL, shape);
    assert_refused(lt_ident_check_insurance_number("012345678a", &err), &err, NULL, shape);
}

static void uuid(void **state)
{
    assert_true(lt_ident_is_uuid("6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4e"));
    assert_true(lt_ident_is_uuid("6F1C2B9E-3D4A-4B5C-8D7E-9F0A1B2C3D4E"));
    assert_false(lt_ident_is_uuid("6f1c2b9e3d4a4b5c8d7e9f0a1b2c3d4e"));
    assert_false(lt_ident_is_uuid("6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4"));
    assert_false(lt_ident_is_uuid("6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4g"));
    assert_false(lt_ident_is_uuid("6f1c2b9e-3d4a-4b5c-8d7e_9f0a1b2c3d4e"));
    assert_false(lt_ident_is_uuid(""));
    assert_false(lt_ident_is_uuid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(personal_id_good),          cmocka_unit_test(personal_id_length_and_digits),
        cmocka_unit_test(personal_id_province),      cmocka_unit_test(personal_id_century_digit),
        cmocka_unit_test(personal_id_year_mismatch), cmocka_unit_test(tax_code),
        cmocka_unit_test(insurance_number),          cmocka_unit_test(uuid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
