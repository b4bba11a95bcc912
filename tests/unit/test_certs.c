/*
 * The certificate table (gateway/net/lt_certs.c): a peer's subject is untrusted text. Whatever string type or
 * bytes its common name holds, what the table keeps must be valid UTF-8 without control characters, or one odd
 * certificate would break the whole /metrics scrape and the operator's terminal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/x509.h>
#include <string.h>

#include "lt_certs.h"
#include "lt_text.h"

static X509 *cert_with_cn(int string_type, const unsigned char *cn, int len)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    assert_int_equal(X509_NAME_add_entry_by_NID(name, NID_commonName, string_type, cn, len, -1, 0), 1);
    X509_set_subject_name(x, name);
    X509_NAME_free(name);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    return x;
}

static const char *noted_subject(X509 *x, lt_cert_info_t *info)
{
    lt_certs_reset();
    lt_certs_note("upstream_server", "test", x);
    X509_free(x);
    assert_int_equal(lt_certs_snapshot(info, 1), 1);
    return info->subject;
}

static void utf8_common_name_is_kept(void **state)
{
    (void)state;
    lt_cert_info_t info;
    const char *cn = "C\xE1\xBB\x95ng d\xE1\xBB\x8B\x63h v\xE1\xBB\xA5"; /* "Cổng dịch vụ" */
    assert_string_equal(noted_subject(cert_with_cn(MBSTRING_UTF8, (const unsigned char *)cn, -1), &info), cn);
}

static void control_characters_are_replaced(void **state)
{
    (void)state;
    lt_cert_info_t info;
    const unsigned char cn[] = "evil\x1b]0;title\x07\x1b[2Jname\n";
    const char *got = noted_subject(cert_with_cn(V_ASN1_UTF8STRING, cn, (int)strlen((const char *)cn)), &info);
    assert_string_equal(got, "evil?]0;title??[2Jname?");
}

static void latin1_t61_and_bmp_names_become_utf8(void **state)
{
    (void)state;
    lt_cert_info_t info;
    const unsigned char latin1[] = {'C', 'a', 'f', 0xE9}; /* "Café" in a T61String: one byte per character */
    const char *got = noted_subject(cert_with_cn(V_ASN1_T61STRING, latin1, 4), &info);
    assert_true(lt_text_is_utf8(got));
    assert_string_equal(got, "Caf\xC3\xA9");
    const unsigned char bmp[] = {0x00, 'A', 0x1E, 0xA1}; /* "Aạ" in UCS-2 */
    got = noted_subject(cert_with_cn(V_ASN1_BMPSTRING, bmp, 4), &info);
    assert_string_equal(got, "A\xE1\xBA\xA1");
}

static void long_names_are_cut_on_a_character_boundary(void **state)
{
    (void)state;
    lt_cert_info_t info;
    char cn[64 * 3 + 1] = "";
    for (int i = 0; i < 64; i++)
        strcat(cn, "\xE1\xBA\xA1"); /* 64 three-byte characters: 192 bytes, more than the table holds */
    const char *got = noted_subject(cert_with_cn(MBSTRING_UTF8, (const unsigned char *)cn, -1), &info);
    assert_true(lt_text_is_utf8(got));
    assert_int_equal(strlen(got) % 3, 0);
    assert_true(strlen(got) > 0 && strlen(got) < sizeof(info.subject));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_common_name_is_kept),
        cmocka_unit_test(control_characters_are_replaced),
        cmocka_unit_test(latin1_t61_and_bmp_names_become_utf8),
        cmocka_unit_test(long_names_are_cut_on_a_character_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
