/*
 * Revocation lists (gateway/net/lt_crl.c): reading them from PEM and DER files, refusing lists that could not
 * protect anyone (another CA's, a forged signature, two for one CA, a CA without one), and where a list stands
 * in its validity. The CAs and lists are made here with OpenSSL and written to a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lt_crl.h"

typedef struct {
    EVP_PKEY *key;
    X509 *cert;
} ca_t;

static char dir[64];

static ca_t make_ca(const char *cn)
{
    ca_t ca = {.key = EVP_EC_gen("P-256"), .cert = X509_new()};
    assert_non_null(ca.key);
    X509_NAME *name = X509_NAME_new();
    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(ca.cert, name);
    X509_set_issuer_name(ca.cert, name);
    X509_NAME_free(name);
    X509_gmtime_adj(X509_getm_notBefore(ca.cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(ca.cert), 86400);
    X509_set_pubkey(ca.cert, ca.key);
    assert_true(X509_sign(ca.cert, ca.key, EVP_sha256()) > 0);
    return ca;
}

static void free_ca(ca_t *ca)
{
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
}

/* A list issued under issuer's name, signed by signer's key, revoking `revoked` serials, valid from last to next
 * (seconds from now; next 0: no nextUpdate), with crlNumber `number`. */
static X509_CRL *make_crl(const ca_t *issuer, const ca_t *signer, int revoked, long last, long next, long number)
{
    X509_CRL *crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer->cert));
    ASN1_TIME *t = X509_gmtime_adj(NULL, last);
    X509_CRL_set1_lastUpdate(crl, t);
    ASN1_TIME_free(t);
    if (next != 0) {
        t = X509_gmtime_adj(NULL, next);
        X509_CRL_set1_nextUpdate(crl, t);
        ASN1_TIME_free(t);
    }
    for (int i = 0; i < revoked; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *serial = ASN1_INTEGER_new();
        ASN1_INTEGER_set(serial, 1000 + i);
        X509_REVOKED_set_serialNumber(r, serial);
        ASN1_INTEGER_free(serial);
        t = X509_gmtime_adj(NULL, last);
        X509_REVOKED_set_revocationDate(r, t);
        ASN1_TIME_free(t);
        X509_CRL_add0_revoked(crl, r);
    }
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    ASN1_INTEGER_set(num, number);
    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
    ASN1_INTEGER_free(num);
    X509_CRL_sort(crl);
    assert_true(X509_CRL_sign(crl, signer->key, EVP_sha256()) > 0);
    return crl;
}

static char *path_of(const char *name)
{
    static char buf[8][128];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 128, "%s/%s", dir, name);
    return p;
}

static char *write_pem(const char *name, X509_CRL *a, X509_CRL *b)
{
    char *p = path_of(name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    PEM_write_X509_CRL(f, a);
    if (b != NULL)
        PEM_write_X509_CRL(f, b);
    fclose(f);
    X509_CRL_free(a);
    X509_CRL_free(b);
    return p;
}

static char *write_der(const char *name, X509_CRL *crl)
{
    char *p = path_of(name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    i2d_X509_CRL_fp(f, crl);
    fclose(f);
    X509_CRL_free(crl);
    return p;
}

static STACK_OF(X509) * cas_of(ca_t *a, ca_t *b)
{
    STACK_OF(X509) *cas = sk_X509_new_null();
    sk_X509_push(cas, a->cert);
    if (b != NULL)
        sk_X509_push(cas, b->cert);
    return cas;
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/lt-test-crl-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void pem_and_der_lists_are_read_with_what_they_say(void **state)
{
    ca_t province = make_ca("Province CA"), other = make_ca("District CA");
    char *both = write_pem("both.pem", make_crl(&province, &province, 2, -3600, 86400, 4096),
                           make_crl(&other, &other, 0, -60, 0, 7));
    lt_crl_set_t set;
    lt_error_t err;
    lt_error_clear(&err);
    STACK_OF(X509) *cas = cas_of(&province, &other);
    char *files[] = {both};
    assert_int_equal(lt_crl_set_load(&set, files, 1, cas, "crl_files", &err), 0);
    assert_int_equal(set.n, 2);
    assert_string_equal(set.info[0].issuer, "Province CA");
    assert_string_equal(set.info[0].number, "4096");
    assert_int_equal(set.info[0].revoked, 2);
    assert_string_equal(set.info[0].file, both);
    assert_int_equal(set.info[1].revoked, 0);
    assert_int_equal(set.info[1].next_update, 0);
    int64_t now = (int64_t)time(NULL);
    assert_true(set.info[0].next_update >= now + 86400 - 5 && set.info[0].next_update <= now + 86400 + 5);
    assert_int_equal(lt_crl_set_next_update(&set), set.info[0].next_update);
    lt_crl_set_free(&set);

    char *der = write_der("one.der", make_crl(&province, &province, 1, -60, 3600, 1));
    char *der_files[] = {der};
    sk_X509_pop(cas); /* the province CA alone */
    assert_int_equal(lt_crl_set_load(&set, der_files, 1, cas, "crl_files", &err), 0);
    assert_int_equal(set.n, 1);
    assert_int_equal(set.info[0].revoked, 1);
    lt_crl_set_free(&set);
    sk_X509_free(cas);
    free_ca(&province);
    free_ca(&other);
}

static void expect_refused(char **files, size_t n, STACK_OF(X509) * cas, const char *needle)
{
    lt_crl_set_t set;
    lt_error_t err;
    lt_error_clear(&err);
    assert_int_equal(lt_crl_set_load(&set, files, n, cas, "listeners.api.crl_files", &err), -1);
    assert_int_equal(set.n, 0);
    if (strstr(err.detail, needle) == NULL)
        fail_msg("'%s' does not say '%s'", err.detail, needle);
    assert_non_null(strstr(err.detail, "listeners.api.crl_files"));
    lt_crl_set_free(&set);
}

static void lists_that_protect_no_one_are_refused(void **state)
{
    ca_t province = make_ca("Province CA"), impostor = make_ca("Province CA"), outsider = make_ca("Outsider CA");
    STACK_OF(X509) *cas = cas_of(&province, NULL);
    /* Not a list at all: a certificate, then garbage. */
    char *cert = path_of("cert.pem");
    FILE *f = fopen(cert, "w");
    PEM_write_X509(f, province.cert);
    fclose(f);
    char *files[2] = {cert};
    expect_refused(files, 1, cas, "PEM or DER expected");
    char *junk = path_of("junk");
    f = fopen(junk, "w");
    fputs("-----BEGIN X509 CRL-----\nbm90IGEgbGlzdA==\n-----END X509 CRL-----\n", f);
    fclose(f);
    files[0] = junk;
    expect_refused(files, 1, cas, junk);
    /* Another CA's list; one under our CA's name but signed by another key. */
    files[0] = write_pem("outsider.pem", make_crl(&outsider, &outsider, 0, -60, 3600, 1), NULL);
    expect_refused(files, 1, cas, "which is not a CA of client_ca");
    files[0] = write_pem("forged.pem", make_crl(&province, &impostor, 0, -60, 3600, 1), NULL);
    expect_refused(files, 1, cas, "does not verify with that CA's key");
    /* Two lists of one CA. */
    files[0] = write_pem("a.pem", make_crl(&province, &province, 0, -60, 3600, 1), NULL);
    files[1] = write_pem("b.pem", make_crl(&province, &province, 1, -60, 3600, 2), NULL);
    expect_refused(files, 2, cas, "give one list per CA");
    /* A second client CA without its list. */
    sk_X509_push(cas, outsider.cert);
    expect_refused(files, 1, cas, "no list of Outsider CA");
    sk_X509_free(cas);
    free_ca(&province);
    free_ca(&impostor);
    free_ca(&outsider);
}

static void a_list_is_due_soon_for_the_last_quarter_of_its_validity(void **state)
{
    lt_crl_info_t c = {.last_update = 1000, .next_update = 1000 + 4 * 3600};
    assert_int_equal(lt_crl_time_state(&c, 1000), LT_CRL_CURRENT);
    assert_int_equal(lt_crl_time_state(&c, 1000 + 3 * 3600), LT_CRL_CURRENT);
    assert_int_equal(lt_crl_time_state(&c, 1000 + 3 * 3600 + 1), LT_CRL_DUE_SOON);
    assert_int_equal(lt_crl_time_state(&c, c.next_update), LT_CRL_DUE_SOON);
    assert_int_equal(lt_crl_time_state(&c, c.next_update + 1), LT_CRL_EXPIRED);
    assert_int_equal(lt_crl_time_state(&c, 999), LT_CRL_NOT_YET_VALID);
    c.next_update = 0; /* no nextUpdate: never expires */
    assert_int_equal(lt_crl_time_state(&c, 1000 + 100LL * 86400 * 365), LT_CRL_CURRENT);
    assert_string_equal(lt_crl_time_name(LT_CRL_EXPIRED), "expired");
}

static void metrics_show_each_list_in_force(void **state)
{
    lt_crl_reset();
    lt_crl_info_t info = {
        .file = "x.crl", .issuer = "Province \"CA\"", .last_update = 1000, .next_update = 5000, .revoked = 3};
    X509_CRL *none[1] = {NULL};
    lt_crl_set_t set = {.crls = none, .info = &info, .n = 1};
    lt_crl_publish(&set, true, 60);
    lt_crl_note_expired(true, 6000);
    lt_crl_note_expired(false, 6000);
    lt_buf_t b = {0};
    lt_crl_render_metrics(&b, 6000);
    assert_non_null(
        strstr(b.data, "lienthong_crl_age_seconds{listener=\"api\",issuer=\"Province \\\"CA\\\"\"} 5000\n"));
    assert_non_null(strstr(b.data, "lienthong_crl_next_update_seconds{listener=\"api\",issuer=\"Province \\\"CA\\\"\"} "
                                   "-1000\n"));
    assert_non_null(
        strstr(b.data, "lienthong_crl_revoked_certificates{listener=\"api\",issuer=\"Province \\\"CA\\\"\"} 3\n"));
    assert_non_null(strstr(b.data, "lienthong_crl_expired_handshakes_total{listener=\"api\",action=\"accepted\"} 1\n"));
    assert_non_null(strstr(b.data, "lienthong_crl_expired_handshakes_total{listener=\"api\",action=\"refused\"} 1\n"));
    lt_buf_free(&b);
    lt_crl_state_t st;
    lt_crl_snapshot(&st);
    assert_true(st.configured && st.warn_expired);
    assert_int_equal(st.loads, 1);
    lt_crl_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pem_and_der_lists_are_read_with_what_they_say),
        cmocka_unit_test(lists_that_protect_no_one_are_refused),
        cmocka_unit_test(a_list_is_due_soon_for_the_last_quarter_of_its_validity),
        cmocka_unit_test(metrics_show_each_list_in_force),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
