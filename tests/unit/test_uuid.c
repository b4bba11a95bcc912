/* Request and message ids (gateway/core/lt_uuid.c): version 4 UUIDs, RFC 9562's layout, never the same twice,
 * across more ids than one refill of a thread's pool gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <regex.h>
#include <string.h>

#include "lt_uuid.h"

#define IDS 200

static void ids_are_version_4_and_distinct(void **state)
{
    regex_t re;
    assert_int_equal(
        regcomp(&re, "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", REG_EXTENDED | REG_NOSUB),
        0);
    static char ids[IDS][LT_UUID_LEN + 1];
    for (int i = 0; i < IDS; i++) {
        lt_uuid_v4(ids[i]);
        assert_int_equal(strlen(ids[i]), LT_UUID_LEN);
        assert_int_equal(regexec(&re, ids[i], 0, NULL, 0), 0);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
    }
    regfree(&re);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ids_are_version_4_and_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
