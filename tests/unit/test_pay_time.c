/*
 * The payment gateway's times (icd/payment.md: yyyyMMddHHmmss in UTC+07:00), read by lt_pay_parse_vn_time for a
 * payment's paid_at. Expected Unix times were computed with `date -u -d`, not with the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lt_pay_service.h"

static void reads_vietnam_time(void **state)
{
    (void)state;
    int64_t t = 0;
    /* 2024-11-22 10:30:00 +07:00 is 03:30:00 UTC: date -u -d "2024-11-22 03:30:00" +%s */
    assert_int_equal(lt_pay_parse_vn_time("20241122103000", &t), 0);
    assert_int_equal(t, 1732246200);
    /* A leap day: date -u -d "2024-02-29 00:00:00" +%s, seven hours later in Vietnam. */
    assert_int_equal(lt_pay_parse_vn_time("20240229070000", &t), 0);
    assert_int_equal(t, 1709164800);
    /* The epoch itself, 07:00 in Vietnam. */
    assert_int_equal(lt_pay_parse_vn_time("19700101070000", &t), 0);
    assert_int_equal(t, 0);
}

/* Each of these was read as some other moment (timegm() normalises), and that moment shown as paid_at. */
static void refuses_what_is_not_on_the_calendar(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "20240231103000", /* 31 February */
        "20230229103000", /* 29 February of a common year */
        "20241131103000", /* 31 November */
        "20241122103060", /* second 60 */
        "20241122106000", /* minute 60 */
        "20241122240000", /* hour 24 */
        "20241300103000", /* month 13, day 0 */
        "02141222103000", /* year 214 */
        "19691231235959", /* before the Unix epoch */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t t = 42;
        if (lt_pay_parse_vn_time(bad[i], &t) != -1)
            fail_msg("%s was read as %lld", bad[i], (long long)t);
    }
}

static void refuses_other_shapes(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(lt_pay_parse_vn_time(NULL, &t), -1);
    assert_int_equal(lt_pay_parse_vn_time("", &t), -1);
    assert_int_equal(lt_pay_parse_vn_time("2024112210300", &t), -1);
    assert_int_equal(lt_pay_parse_vn_time("202411221030000", &t), -1);
    assert_int_equal(lt_pay_parse_vn_time("2024-11-22T10:3", &t), -1);
    assert_int_equal(lt_pay_parse_vn_time("2024112210300x", &t), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_vietnam_time),
        cmocka_unit_test(refuses_what_is_not_on_the_calendar),
        cmocka_unit_test(refuses_other_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
